using SparseNative.Bench.Common;
using static SparseNative.Bench.Quick.MarkdownReport;

namespace SparseNative.Bench.Quick;

/// <summary>(a) The fp32 FMA peak per accelerated vector width and thread count: the yardstick of every "% of peak".</summary>
/// <remarks>
/// Measured at the start (the figure every percentage uses) and again at the end of the run. The two agree on a quiet
/// machine; when they differ, another process was competing for the cores and the percentages are approximate.
/// </remarks>
internal sealed class PeakSection
{
    private static readonly VectorWidth[] s_widths = [VectorWidth.V512, VectorWidth.V256, VectorWidth.V128];
    private readonly Dictionary<(VectorWidth, int), double> _start = [], _end = [];

    /// <summary>Measures every accelerated width at every thread count: the first call fills the start figures, later ones the end.</summary>
    public void Measure(IReadOnlyList<int> threads)
    {
        var into = _start.Count == 0 ? _start : _end;
        foreach (var width in s_widths.Where(FmaPeak.IsAccelerated))
            foreach (int t in threads)
                into[(width, t)] = FmaPeak.Measure(width, t);
    }

    public void Write(MarkdownReport report, IReadOnlyList<int> threads)
    {
        bool final = _end.Count > 0;
        report.Line("### (a) fp32 FMA peak: register-resident C# loop, 12 independent accumulators per thread, fastest of 7 runs" +
                    (final ? " (start: used for every %; end: re-measured after the last section)" : ""));
        report.Line();
        if (final) report.Header("vector", "threads", "start GFLOP/s", "end GFLOP/s", "per thread GFLOP/s");
        else report.Header("vector", "threads", "GFLOP/s", "per thread GFLOP/s");
        foreach (var width in s_widths)
        {
            if (!FmaPeak.IsAccelerated(width))
            {
                report.Note($"Vector{(int)width}: not hardware accelerated here; no peak measured.");
                continue;
            }
            foreach (int t in threads)
            {
                double g = PeakFor(width, t);
                if (final) report.Row($"Vector{(int)width}", t.ToString(), F(g), F(_end[(width, t)]), F(g / t));
                else report.Row($"Vector{(int)width}", t.ToString(), F(g), F(g / t));
            }
        }
        report.Line();
    }

    /// <summary>The peak a backend is judged against at a thread count, or NaN when none applies.</summary>
    public double PeakFor(Backend backend, int threads) =>
        BackendCatalog.PeakWidth(backend) is { } w ? PeakFor(w, threads) : double.NaN;

    /// <summary>The start-of-run peak of a width at a thread count, or NaN when not measured.</summary>
    public double PeakFor(VectorWidth width, int threads) => _start.GetValueOrDefault((width, threads), double.NaN);
}
