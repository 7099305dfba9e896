namespace SparseNative.Cli.Bench;

/// <summary>One measurement of <c>bench</c>: a backend on a pattern at a sequence length. Also a row of <c>bench --json</c>.</summary>
/// <param name="SequenceLength">Tokens.</param>
/// <param name="Pattern">Pattern name; "dense" is the baseline on the same data.</param>
/// <param name="Backend">The backend asked for (and that ran).</param>
/// <param name="Density">Active fraction of the block grid.</param>
/// <param name="Causal">Whether this run was causal (<c>--causal</c>, or a causal layout).</param>
/// <param name="Flops">4·d per allowed pair (<see cref="AttentionCost.Flops"/>).</param>
/// <param name="TimesMs">Each timed run.</param>
/// <param name="MedianMs">Median of <paramref name="TimesMs"/>.</param>
/// <param name="Gflops">Flops / median time.</param>
/// <param name="SpeedupVsDense">Dense median / this median, same backend, data and causality (null when dense did not run).</param>
/// <param name="Skipped">Why this combination did not run (backend cannot run the problem), or null.</param>
internal sealed record BenchResult(int SequenceLength, string Pattern, string Backend, double Density, bool Causal, double Flops,
    IReadOnlyList<double> TimesMs, double MedianMs, double Gflops, double? SpeedupVsDense, string? Skipped);

/// <summary>The whole <c>bench --json</c> document.</summary>
internal sealed record BenchReport(string Cpu, int Threads, int Batch, int Heads, int HeadDim, int BlockSize, bool Causal, int Runs, int Warmup,
    bool Cancelled, IReadOnlyList<BenchResult> Results);
