using System.CommandLine;
using SparseNative.Cli.Compute;
using SparseNative.Cli.Hosting;
using SparseNative.Cli.Patterns;
using Spectre.Console;

namespace SparseNative.Cli.Commands;

/// <summary>
/// <c>sparsenative demo</c> (what <c>./build.sh demo</c> runs): a long-sequence BigBird problem on the backend Auto picks,
/// against dense attention on the same data and backend, checked against the float64 reference on sampled query blocks.
/// </summary>
internal static class DemoCommand
{
    public static Command Create(CliContext ctx)
    {
        var pattern = new Argument<string?>("pattern") { Description = "The sparse pattern (default bigbird).", Arity = ArgumentArity.ZeroOrOne };
        var seq = new Option<int>("--seq", "-s") { Description = "Tokens.", DefaultValueFactory = _ => 16384 };
        var heads = new Option<int>("--heads") { Description = "Heads.", DefaultValueFactory = _ => 8 };
        var headDim = new Option<int>("--head-dim", "-d") { Description = "Head dimension.", DefaultValueFactory = _ => 64 };
        var seed = new Option<int>("--seed") { Description = "Seed of the random inputs.", DefaultValueFactory = _ => 0 };
        var checkBlocks = new Option<int>("--check-blocks") { Description = "Query blocks checked against the reference.", DefaultValueFactory = _ => 8 };
        var budget = new Option<double>("--time-budget") { Description = "Seconds each timing (sparse, dense) may take: slow backends get fewer runs, and dense attention beyond it is timed on leading query blocks and scaled (the output says so).", DefaultValueFactory = _ => 20 };
        var tolerance = new Option<double>("--tolerance") { Description = "Exit 3 when the relative error exceeds this.", DefaultValueFactory = _ => 1e-4 };
        var problem = new ProblemOptions();
        var layoutOptions = new LayoutOptions();
        var command = new Command("demo", "16k-token BigBird attention vs dense attention on the same data: backend, time, density, speedup, error.")
        {
            pattern, seq, heads, headDim, seed, checkBlocks, budget, tolerance,
        };
        problem.AddTo(command, warmup: false);
        layoutOptions.AddTo(command);
        command.SetAction(r =>
        {
            var console = ctx.Console_;
            var options = problem.Read(r, TensorFormat.Bhsd);
            var (_, runs) = problem.ReadTiming(r);
            double seconds = r.GetValue(budget);
            if (!(seconds > 0)) throw new ArgumentOutOfRangeException("--time-budget", seconds, "--time-budget must be positive.");
            string? name = r.GetValue(pattern);
            var choice = layoutOptions.Read(r, name is null && !layoutOptions.HasFile(r) ? ["bigbird"] : name is null ? [] : [name]);
            var shape = AttentionShape.SelfAttention(1, LayoutCommand.Positive(r.GetValue(heads), "--heads"),
                LayoutCommand.Positive(r.GetValue(seq), "--seq"), LayoutCommand.Positive(r.GetValue(headDim), "--head-dim"));
            shape.Validate("--seq");
            var data = TensorSet.Random(shape, TensorFormat.Bhsd, r.GetValue(seed));
            var layout = choice.Build(0, shape.QueryLength, shape.KeyLength, shape.QueryHeads, new PatternInputs(data.Query, data.Key, shape, TensorFormat.Bhsd, options.Causal, options.Scale), out var note);
            layout.ValidateFor(shape);
            bool causal = Causality.EffectiveCausal(layout, options);
            var o = new float[shape.QueryElements];
            var lse = new float[shape.LogSumExpElements];

            console.MarkupLine($"[bold]SparseNative demo[/]: {shape.QueryLength} tokens, {shape.QueryHeads} heads, d {shape.HeadDim}, " +
                $"{choice.Label().EscapeMarkup()} layout (block {layout.BlockSize}), causal: {Causality.Describe(layout, options.Causal).EscapeMarkup()}");
            if (note is not null) console.MarkupLine($"[yellow]Note:[/] {note.EscapeMarkup()}");
            Backend ran = Backend.Auto;
            var times = Timing.MeasureWithin(() => ran = SparseAttention.Forward(data.Query, data.Key, data.Value, o, shape, layout, options, lse), runs, seconds, ctx.Cancellation);
            double sparseMs = Timing.Median(times);
            double sparseFlops = AttentionCost.Flops(shape, layout, causal);
            console.MarkupLine($"Backend (Auto): [bold]{ran}[/]{(options.Backend != Backend.Auto ? " (requested)" : "")}");
            console.MarkupLine($"Layout density: {layout.Density:P2} of blocks ({sparseFlops / (4.0 * shape.HeadDim * AttentionCost.DensePairs(shape, causal)):P2} of dense flops)");
            console.MarkupLine($"Sparse time:    {sparseMs:F1} ms (median of {times.Length} after a warm-up call), {sparseFlops / (sparseMs * 1e6):F1} GFLOP/s");

            var dense = DenseTiming.Measure(data, layout.BlockSize, options with { Backend = ran, Causal = causal }, sparseMs, sparseFlops, seconds, runs, ctx.Cancellation);
            console.MarkupLine($"Dense time:     {dense.Milliseconds:F1} ms on {ran}, same data{(dense.Extrapolated ? $" [yellow](timed on {dense.QueryBlocksTimed} of {dense.QueryBlocks} query blocks and scaled: dense work is the same for every query block)[/]" : "")}");
            console.MarkupLine($"Speedup:        [bold]{dense.Milliseconds / sparseMs:F1}×[/] vs dense attention");

            var blocks = ReferenceCheck.SampleBlocks(layout.QueryBlocks, LayoutCommand.Positive(r.GetValue(checkBlocks), "--check-blocks"), r.GetValue(seed));
            var check = ReferenceCheck.Run(data, layout, options.ResolveScale(shape.HeadDim), causal, options.MaxThreads, o, lse, blocks, ctx.Cancellation);
            console.MarkupLine($"Max error:      {check.MaxAbsError:E2} (relative {check.RelativeError:E2}, lse {check.LseMaxAbsError:E2}) vs the float64 reference on " +
                $"{(check.Full ? "all" : $"{check.QueryBlocks} sampled of {check.TotalQueryBlocks}")} query blocks ({check.Rows:N0} rows, {check.Seconds:F1} s)");
            if (check.Passes(r.GetValue(tolerance))) return ExitCodes.Ok;
            ctx.Error.WriteLine(check.FailureMessage(r.GetValue(tolerance)));
            return ExitCodes.CheckFailed;
        });
        return command;
    }
}
