using SparseNative.Bench.Common;
using static SparseNative.Bench.Quick.MarkdownReport;

namespace SparseNative.Bench.Quick;

/// <summary>(a) The fp32 FMA peak per accelerated vector width and thread count: the yardstick of every "% of peak".</summary>
internal sealed class PeakSection
{
    private readonly Dictionary<(VectorWidth, int), double> _peaks = [];

    public void Run(MarkdownReport report, IReadOnlyList<int> threads)
    {
        report.Line("### (a) fp32 FMA peak (register-resident loop in C#, 12 independent accumulators per thread; fastest of 7 runs)");
        report.Line();
        report.Header("vector", "threads", "GFLOP/s", "per thread GFLOP/s");
        foreach (var width in new[] { VectorWidth.V512, VectorWidth.V256, VectorWidth.V128 })
        {
            if (!FmaPeak.IsAccelerated(width))
            {
                report.Note($"{width}: not hardware accelerated here; no peak measured.");
                continue;
            }
            foreach (int t in threads)
            {
                double g = FmaPeak.Measure(width, t);
                _peaks[(width, t)] = g;
                report.Row($"Vector{(int)width}", t.ToString(), F(g), F(g / t));
            }
        }
        report.Line();
    }

    /// <summary>The peak a backend is judged against at a thread count, or NaN when none applies.</summary>
    public double PeakFor(Backend backend, int threads) =>
        BackendCatalog.PeakWidth(backend) is { } w ? PeakFor(w, threads) : double.NaN;

    public double PeakFor(VectorWidth width, int threads) => _peaks.GetValueOrDefault((width, threads), double.NaN);
}
