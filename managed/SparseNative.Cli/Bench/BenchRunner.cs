using SparseNative.Cli.Compute;
using SparseNative.Cli.Patterns;

namespace SparseNative.Cli.Bench;

/// <summary>What to measure.</summary>
internal sealed record BenchPlan(int[] SequenceLengths, LayoutChoice Layouts, Backend[] Backends, int Batch, int Heads, int HeadDim,
    AttentionOptions Options, int Warmup, int Runs, int Seed);

/// <summary>
/// Runs every (sequence length, pattern, backend) of a plan plus dense attention on the same data and backend. Inputs, output
/// and log-sum-exp buffers are allocated once per sequence length and reused, so no timed call touches fresh pages.
/// </summary>
internal static class BenchRunner
{
    /// <summary>Steps the progress display counts: one per measurement.</summary>
    public static int Steps(BenchPlan p) => p.SequenceLengths.Length * (p.Layouts.Patterns.Length + 1) * p.Backends.Length;

    /// <summary>
    /// Runs the plan, appending to <paramref name="results"/> as it goes (so a cancelled run keeps what completed);
    /// <paramref name="step"/> is told what is about to run. Stops between runs on cancellation.
    /// </summary>
    public static void Run(BenchPlan p, List<BenchResult> results, Action<string> step, CancellationToken cancel)
    {
        foreach (int n in p.SequenceLengths)
        {
            cancel.ThrowIfCancellationRequested();
            var shape = AttentionShape.SelfAttention(p.Batch, p.Heads, n, p.HeadDim);
            var data = TensorSet.Random(shape, TensorFormat.Bhsd, p.Seed);
            var o = new float[shape.QueryElements];
            var lse = new float[shape.LogSumExpElements];
            var inputs = new PatternInputs(data.Query, data.Key, shape, TensorFormat.Bhsd, p.Options.Causal, p.Options.Scale);
            var layouts = new List<(string Name, BlockLayout Layout)> { ("dense", DenseBaseline(n, p.Layouts.BlockSize, p.Options.Causal)) };
            for (int i = 0; i < p.Layouts.Patterns.Length; i++)
                layouts.Add((p.Layouts.Label(i), p.Layouts.Build(i, n, n, p.Heads, inputs, out _)));
            // A causal layout without --causal is still causal attention: it is compared with causal dense attention.
            if (!p.Options.Causal && layouts.Any(x => Causality.EffectiveCausal(x.Layout, p.Options)))
                layouts.Insert(1, (CausalDense, DenseBaseline(n, p.Layouts.BlockSize, causal: true)));

            foreach (var backend in p.Backends)
            {
                var denseMs = new Dictionary<bool, double>();
                foreach (var (name, layout) in layouts)
                {
                    step($"{n} tokens, {name}, {backend}");
                    var options = p.Options with { Backend = backend };
                    bool causal = Causality.EffectiveCausal(layout, options) || name == CausalDense;
                    double flops = AttentionCost.Flops(shape, layout, causal);
                    string? skipped = WhyNot(shape, layout, options);
                    if (skipped is not null)
                    {
                        results.Add(new BenchResult(n, name, backend.ToString(), layout.Density, causal, flops, [], double.NaN, double.NaN, null, skipped));
                        continue;
                    }
                    // The causal dense baseline asks for the mask itself (its layout may not carry it).
                    var run = name == CausalDense ? options with { Causal = true } : options;
                    var times = Timing.Measure(() => SparseAttention.Forward(data.Query, data.Key, data.Value, o, shape, layout, run, lse),
                        p.Warmup, p.Runs, cancel);
                    double median = Timing.Median(times);
                    if (name is "dense" or CausalDense) denseMs[causal] = median;
                    results.Add(new BenchResult(n, name, backend.ToString(), layout.Density, causal, flops, times, median, flops / (median * 1e6),
                        denseMs.TryGetValue(causal, out double d) ? d / median : null, null));
                }
            }
        }
    }

    /// <summary>The name of the causal dense baseline, measured when a causal layout runs without <c>--causal</c>.</summary>
    public const string CausalDense = "dense-causal";

    private static BlockLayout DenseBaseline(int n, int blockSize, bool causal) =>
        causal ? BlockPatterns.Causal(n, blockSize) : BlockPatterns.Dense(n, blockSize);

    /// <summary>Backends to measure: the ones given, else every available one except the float64 reference (an oracle, not a contender) unless it is all there is.</summary>
    public static Backend[] DefaultBackends()
    {
        var available = SparseAttention.Backends.Where(b => b.IsAvailable).Select(b => b.Backend).ToArray();
        var fast = available.Where(b => b != Backend.Reference).ToArray();
        return fast.Length > 0 ? fast : available;
    }

    private static string? WhyNot(AttentionShape shape, BlockLayout layout, AttentionOptions options)
    {
        try
        {
            SparseAttention.SelectBackend(shape, layout, options);
            return null;
        }
        catch (BackendUnavailableException e) { return e.Message; }
    }
}
