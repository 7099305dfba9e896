using Microsoft.ML.OnnxRuntime;
using SparseNative.Bench.Common;
using SparseNative.Bench.Onnx;
using static SparseNative.Bench.Quick.MarkdownReport;

namespace SparseNative.Bench.Quick;

/// <summary>
/// (d) dense and dense-causal attention against ONNX Runtime's MultiHeadAttention, and (e) the Phi-3-small layout against
/// ONNX Runtime's SparseAttention, on identical data and thread counts, with the outputs compared.
/// </summary>
internal sealed class OrtSection(MarkdownReport report, PeakSection peaks, BenchData data, int runs)
{
    /// <summary>Error above which a result is called wrong (fp32 attention on [−1, 1) data is ~1e-6 off float64).</summary>
    private const double WrongAbove = 1e-3;

    private readonly float[] _queryBshd = Transposed(data.Query, data.Shape.QueryHeads, data);
    private readonly float[] _keyBshd = Transposed(data.Key, data.Shape.KeyValueHeads, data);
    private readonly float[] _valueBshd = Transposed(data.Value, data.Shape.KeyValueHeads, data);
    private readonly float[] _ortOutput = new float[data.Shape.QueryElements];

    private static float[] Transposed(float[] bhsd, int heads, BenchData d) =>
        BenchData.Transpose(bhsd, d.Shape.Batch, heads, d.Shape.QueryLength, d.Shape.HeadDim);

    private static void Columns(MarkdownReport r) =>
        r.Header("case", "threads", "implementation", "ms", "GFLOP/s", "% of peak", "× vs ORT", "max abs diff vs ORT", "max err vs float64");

    /// <summary>(d): MultiHeadAttention, non-causal on the dense layout and causal on the lower-triangle layout.</summary>
    public void MultiHeadAttention(BenchCase dense, BenchCase causal, IReadOnlyList<int> threads)
    {
        var s = data.Shape;
        report.Line($"### (d) Dense attention vs ONNX Runtime {OrtSessions.Version} com.microsoft.MultiHeadAttention (CPU)");
        report.Line();
        Columns(report);
        string? causalNote = null;
        foreach (var c in new[] { dense, causal })
            foreach (int t in threads)
            {
                try
                {
                    var ort = new OrtMultiHeadAttention(s.Batch, s.QueryHeads, s.QueryLength, s.HeadDim, c.Causal, t,
                        _queryBshd, _keyBshd, _valueBshd, _ortOutput);
                    ort.Run();
                    if (c.Causal && OracleError(c) > WrongAbove)
                    {
                        // This runtime ignored unidirectional: express causality as an additive bias instead.
                        ort.Dispose();
                        ort = new OrtMultiHeadAttention(s.Batch, s.QueryHeads, s.QueryLength, s.HeadDim, true, t,
                            _queryBshd, _keyBshd, _valueBshd, _ortOutput, causalViaBias: true);
                    }
                    if (c.Causal) causalNote = $"ONNX Runtime causal via {ort.CausalMethod}.";
                    using (ort) CompareAll(c, t, "ORT MultiHeadAttention", ort.Run);
                }
                catch (OnnxRuntimeException e)
                {
                    report.Note($"ORT MultiHeadAttention failed for {c.Name}, {t} thread(s): {e.Message}");
                }
            }
        report.Line();
        if (causalNote is not null) report.Note(causalNote);
    }

    /// <summary>(e): SparseAttention on ONNX Runtime's own Phi-3-small layout; ours on the same CSR arrays.</summary>
    public void SparseAttentionPhi3(int local, int verticalStride, IReadOnlyList<int> threads)
    {
        var s = data.Shape;
        int bs = 64, blocks = (s.QueryLength + bs - 1) / bs, layouts = s.QueryHeads;
        if (s.QueryLength % bs != 0 || s.HeadDim % 8 != 0)
        {
            report.Note($"ORT SparseAttention section skipped: needs S % 64 == 0 and d % 8 == 0 (S={s.QueryLength}, d={s.HeadDim}).");
            return;
        }
        var (rows, cols, maxNnz) = BenchLayouts.Phi3SmallCsr(blocks, layouts, local, verticalStride);
        var layout = BenchLayouts.FromOnnxRuntimeCsr(bs, blocks, layouts, rows, cols, maxNnz);
        var phi3 = new BenchCase($"Phi-3 local {local} + vertical stride {verticalStride}", layout, true, s);
        report.Line($"### (e) Phi-3-small layout (local {local} + vertical stride {verticalStride}, block {bs}, causal, {layouts} layouts, " +
                    $"{100 * layout.Density:F1}% of all blocks, {100.0 * layout.ActiveBlocks / (layouts * blocks * (blocks + 1) / 2):F1}% of the causal triangle) " +
                    "vs ONNX Runtime com.microsoft.SparseAttention (CPU)");
        report.Line();
        Columns(report);
        foreach (int t in threads)
        {
            try
            {
                using var ort = new OrtSparseAttention(s.Batch, s.QueryHeads, s.KeyValueHeads, s.QueryLength, s.HeadDim, bs, t,
                    rows, cols, layouts, maxNnz, _queryBshd, _keyBshd, _valueBshd, _ortOutput);
                CompareAll(phi3, t, "ORT SparseAttention", ort.Run);
            }
            catch (OnnxRuntimeException e)
            {
                report.Note($"ORT SparseAttention failed, {t} thread(s): {e.Message}");
            }
        }
        report.Line();
        report.Note("ORT SparseAttention gets the same useful-flop count as ours (the layout's causal pairs), whatever it computes internally.");
    }

    /// <summary>Times ONNX Runtime, then every available backend on the same case; diffs each output against ORT's.</summary>
    private void CompareAll(BenchCase c, int threads, string ortName, Action ortRun)
    {
        var ortTiming = Timing.Measure(ortRun, runs);
        var ortBhsd = BenchData.Transpose(_ortOutput, data.Shape.Batch, data.Shape.QueryHeads, data.Shape.QueryLength,
            data.Shape.HeadDim, toBhsd: true);
        double ortErr = SampledOracle.MaxAbsError(data, ortBhsd, c.Layout, c.Causal);
        report.Row(c.Name, threads.ToString(), ortName, F(ortTiming.MedianMs), F(ortTiming.Gflops(c.Flops)),
            peaks.Percent(ortTiming.Gflops(c.Flops), BackendCatalog.Widest, threads), "1.0", "—", E(ortErr));
        foreach (var backend in BackendCatalog.Available())
        {
            if (BackendCatalog.SkipReason(backend, c.Flops) is not null)
            {
                report.Row(c.Name, threads.ToString(), backend.ToString(), "skipped", "—", "—", "—", "—", "— (float64 oracle, too slow here)");
                continue;
            }
            var timing = Timing.Measure(() => BackendCatalog.Forward(data, c.Layout, backend, c.Causal, threads), runs);
            double g = timing.Gflops(c.Flops);
            report.Row(c.Name, threads.ToString(), backend.ToString(), F(timing.MedianMs), F(g), peaks.Percent(g, backend, threads),
                F(ortTiming.MedianMs / timing.MedianMs, 2), E(SampledOracle.MaxAbsDiff(data.Output, ortBhsd)),
                E(SampledOracle.MaxAbsError(data, data.Output, c.Layout, c.Causal)));
        }
    }

    private double OracleError(BenchCase c)
    {
        var bhsd = BenchData.Transpose(_ortOutput, data.Shape.Batch, data.Shape.QueryHeads, data.Shape.QueryLength,
            data.Shape.HeadDim, toBhsd: true);
        return SampledOracle.MaxAbsError(data, bhsd, c.Layout, c.Causal, rowsPerHead: 4);
    }
}
