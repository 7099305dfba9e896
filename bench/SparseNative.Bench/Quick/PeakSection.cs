using SparseNative.Bench.Common;
using static SparseNative.Bench.Quick.MarkdownReport;

namespace SparseNative.Bench.Quick;

/// <summary>(a) The fp32 FMA peak per accelerated vector width and thread count: the yardstick of every "% of peak".</summary>
/// <remarks>
/// Measured at the start and again at the end of the run; the better of the two is the peak (a peak is a capability:
/// other processes can only lower a measurement). The console shows percentages against the start figure as rows finish;
/// the final report recomputes them against the better one. Start and end differ only when the machine was busy.
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

    /// <summary>The table, with start, end and the peak used; call after the second <see cref="Measure"/>.</summary>
    public void Write(MarkdownReport report, IReadOnlyList<int> threads)
    {
        report.Line("### (a) fp32 FMA peak: register-resident C# loop, 12 independent accumulators per thread, fastest of 7 runs, " +
                    "measured at the start and the end of the run; every \"% of peak\" divides by the better of the two");
        report.Line();
        report.Header("vector", "threads", "peak GFLOP/s", "per thread GFLOP/s", "start GFLOP/s", "end GFLOP/s");
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
                report.Row($"Vector{(int)width}", t.ToString(), F(g), F(g / t), F(_start[(width, t)]),
                    F(_end.GetValueOrDefault((width, t), double.NaN)));
            }
        }
        report.Line();
    }

    /// <summary>The peak a backend is judged against at a thread count, or NaN when none applies.</summary>
    public double PeakFor(Backend backend, int threads) =>
        BackendCatalog.PeakWidth(backend) is { } w ? PeakFor(w, threads) : double.NaN;

    /// <summary>The better of the start and end peaks of a width at a thread count (NaN when not measured).</summary>
    public double PeakFor(VectorWidth width, int threads)
    {
        double start = _start.GetValueOrDefault((width, threads), double.NaN);
        double end = _end.GetValueOrDefault((width, threads), double.NaN);
        return double.IsNaN(end) ? start : Math.Max(start, end);
    }

    /// <summary>A cell showing <paramref name="gflops"/> as a percentage of the peak, evaluated when rendered.</summary>
    public Cell Percent(double gflops, Backend backend, int threads) => new(() => F(100 * gflops / PeakFor(backend, threads)));

    /// <summary>A cell showing <paramref name="gflops"/> as a percentage of a width's peak, evaluated when rendered.</summary>
    public Cell Percent(double gflops, VectorWidth width, int threads) => new(() => F(100 * gflops / PeakFor(width, threads)));
}
