using System.CommandLine;
using SparseNative.Cli.Compute;
using SparseNative.Cli.Hosting;
using SparseNative.Cli.Patterns;
using Spectre.Console;

namespace SparseNative.Cli.Commands;

/// <summary>
/// <c>sparsenative run</c>: attention on Q, K, V from .npy files (or seeded random tensors), with a pattern or layout file;
/// writes O (and the log-sum-exp) as .npy, prints the time and GFLOP/s, and with <c>--check</c> the error against the reference.
/// </summary>
internal static class RunCommand
{
    public static Command Create(CliContext ctx)
    {
        var pattern = new Argument<string?>("pattern") { Description = $"One of: {PatternCatalog.Names}.", Arity = ArgumentArity.ZeroOrOne };
        var q = new Option<string?>("--q") { Description = "Q as .npy (float32 or float64, C order)." };
        var k = new Option<string?>("--k") { Description = "K as .npy; its head count sets the key/value heads (GQA)." };
        var v = new Option<string?>("--v") { Description = "V as .npy, same shape as K." };
        var format = EnumOption.Create("--format", "Axis order of Q, K, V and O: bhsd = [B,H,S,D], bshd = [B,S,H,D] (any case).", TensorFormat.Bhsd);
        var random = new Option<string?>("--random-inputs") { Description = "No files: seeded random inputs Q, K, V of shape B,H,S,D (a pattern's random blocks: --random-blocks)." };
        var kvHeads = new Option<int?>("--kv-heads") { Description = "With --random-inputs: key/value heads (GQA), default H." };
        var seed = new Option<int>("--seed") { Description = "Seed of --random-inputs.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out", "-o") { Description = "Write O here (.npy float32, same shape and format as Q); every output is checked before computing." };
        var lse = new Option<string?>("--lse") { Description = "Write the log-sum-exp [B, H, S] here (.npy float32)." };
        var check = new Option<bool>("--check") { Description = "Compare with the float64 reference on sampled query blocks (all blocks when few)." };
        var checkBlocks = new Option<int>("--check-blocks") { Description = "Query blocks to check (each with every batch and head).", DefaultValueFactory = _ => 8 };
        var tolerance = new Option<double>("--tolerance") { Description = "With --check: exit 3 when the relative error exceeds this.", DefaultValueFactory = _ => 1e-4 };
        var json = new Option<bool>("--json") { Description = "Print one JSON document (fields in docs/CLI.md)." };
        var layoutPng = new Option<string?>("--layout-png") { Description = "Also draw the layout that ran (as 'layout --png' does): useful for layout files and data-dependent layouts." };
        var problem = new ProblemOptions();
        var layoutOptions = new LayoutOptions();
        var command = new Command("run", "Attention on your tensors (.npy) or seeded random ones; writes O and LSE, reports time, GFLOP/s and error.")
        {
            pattern, q, k, v, format, random, kvHeads, seed, output, lse, check, checkBlocks, tolerance, json, layoutPng,
        };
        problem.AddTo(command);
        layoutOptions.AddTo(command);
        command.SetAction(r =>
        {
            var fmt = r.GetValue(format);
            string? name = r.GetValue(pattern);
            var choice = layoutOptions.Read(r, name is null ? [] : [name]);
            var options = problem.Read(r, fmt);
            var (warmup, runs) = problem.ReadTiming(r);
            bool checking = r.GetValue(check);
            int maxBlocks = LayoutCommand.Positive(r.GetValue(checkBlocks), "--check-blocks");
            double tol = r.GetValue(tolerance);
            if (!(tol >= 0)) throw new ArgumentException($"--tolerance must be 0 or more, got {tol}.", "--tolerance");
            bool asJson = r.GetValue(json);
            // Every output path is checked before the (possibly long) work, and nothing is written unless all can be.
            using var outputs = new OutputFiles();
            var outFile = outputs.Add("--out", r.GetValue(output));
            var lseFile = outputs.Add("--lse", r.GetValue(lse));
            var pngFile = outputs.Add("--layout-png", r.GetValue(layoutPng));

            int steps = 1 + warmup + runs + (checking ? maxBlocks : 0);
            var (tensors, layout, note, o, l, times, ran, checkResult) = LiveProgress.Run(ctx, !asJson, steps, step =>
            {
                step("reading the inputs");
                TensorSet t = LoadOrGenerate(r.GetValue(q), r.GetValue(k), r.GetValue(v), r.GetValue(random), r.GetValue(kvHeads), r.GetValue(seed), fmt);
                var s = t.Shape;
                var layout = choice.Build(0, s.QueryLength, s.KeyLength, s.QueryHeads,
                    new PatternInputs(t.Query, t.Key, s, fmt, options.Causal, options.Scale), out string? note);
                layout.ValidateFor(s);
                var o = new float[s.QueryElements];
                var l = new float[s.LogSumExpElements];
                Backend ran = Backend.Auto;
                var times = Timing.Measure(() => ran = SparseAttention.Forward(t.Query, t.Key, t.Value, o, s, layout, options, l),
                    warmup, runs, ctx.Cancellation, step);
                CheckResult? checkResult = null;
                if (checking)
                    checkResult = ReferenceCheck.Run(t, layout, options.ResolveScale(s.HeadDim), Causality.EffectiveCausal(layout, options),
                        options.MaxThreads, o, l, ReferenceCheck.SampleBlocks(layout.QueryBlocks, maxBlocks, r.GetValue(seed)), ctx.Cancellation, step);
                return (t, layout, note, o, l, times, ran, checkResult);
            });
            var shape = tensors.Shape;
            bool causal = Causality.EffectiveCausal(layout, options);
            double median = Timing.Median(times);
            double flops = AttentionCost.Flops(shape, layout, causal);

            pngFile?.Write(path => Pictures.PngWriter.Save(Pictures.LayoutPicture.Draw(layout, Math.Min(layout.LayoutCount, 8),
                Pictures.LayoutPicture.ChooseScale(Math.Max(layout.QueryBlocks, layout.KeyBlocks), null, 512)), path));
            outFile?.Write(path => Npy.Npy.Write(path, o, tensors.QueryDims));
            lseFile?.Write(path => Npy.Npy.Write(path, l, tensors.LseDims));
            outputs.Commit();

            var report = new RunReport(ran.ToString(), shape, fmt.ToString().ToLowerInvariant(), choice.Label(), layout.Density, causal,
                Causality.Describe(layout, options.Causal), options.ResolveScale(shape.HeadDim), flops, times, median, flops / (median * 1e6), note,
                checkResult, outFile?.Path, lseFile?.Path);
            if (asJson) ctx.Output.WriteLine(Json.Serialize(report));
            else Print(ctx.Console_, report);
            if (checkResult is { } c && !c.Passes(tol))
            {
                ctx.Error.WriteLine(c.FailureMessage(tol));
                return ExitCodes.CheckFailed;
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static TensorSet LoadOrGenerate(string? q, string? k, string? v, string? random, int? kvHeads, int seed, TensorFormat fmt)
    {
        bool files = q is not null || k is not null || v is not null;
        if (files && random is not null) throw new ArgumentException("Give either --q/--k/--v or --random-inputs, not both.", "--random-inputs");
        if (files)
        {
            if (q is null || k is null || v is null) throw new ArgumentException("--q, --k and --v must be given together.", q is null ? "--q" : k is null ? "--k" : "--v");
            if (kvHeads is not null) throw new ArgumentException("--kv-heads goes with --random-inputs; with files K's shape sets it.", "--kv-heads");
            return TensorSet.Load(q, k, v, fmt);
        }
        if (random is null) throw new ArgumentException("Give input tensors (--q, --k, --v) or --random-inputs B,H,S,D.", "--q");
        return TensorSet.Random(ProblemOptions.ParseShape(random, kvHeads), fmt, seed);
    }

    private static void Print(IAnsiConsole console, RunReport rep)
    {
        var s = rep.Shape;
        if (rep.Note is not null) console.MarkupLine($"[yellow]Note:[/] {rep.Note.EscapeMarkup()}");
        console.MarkupLine($"Problem: batch {s.Batch}, {s.QueryHeads} query heads / {s.KeyValueHeads} key-value heads, {s.QueryLength} queries × {s.KeyLength} keys, d {s.HeadDim} ({rep.Format})");
        console.MarkupLine($"Layout:  {rep.Layout.EscapeMarkup()}, block density {rep.Density:P2}, scale {rep.Scale:G6}");
        console.MarkupLine($"Causal:  {rep.CausalBy.EscapeMarkup()}");
        console.MarkupLine($"Backend: [bold]{rep.Backend}[/]");
        console.MarkupLine($"Time:    {rep.MedianMs:F3} ms (median of {rep.TimesMs.Count}), {rep.Gflops:F2} GFLOP/s ({rep.Flops / 1e9:F3} GFLOP)");
        if (rep.Check is { } c)
            console.MarkupLine($"Check:   {(c.Full ? "all" : $"{c.QueryBlocks} of {c.TotalQueryBlocks}")} query blocks ({c.Rows:N0} rows) vs the float64 reference: " +
                $"max |error| {c.MaxAbsError:E2}, relative error {c.RelativeError:E2}, lse max |error| {c.LseMaxAbsError:E2} ({c.Seconds:F2} s)");
        if (rep.OutputFile is not null) console.MarkupLine($"Wrote O to {rep.OutputFile.EscapeMarkup()}");
        if (rep.LseFile is not null) console.MarkupLine($"Wrote LSE to {rep.LseFile.EscapeMarkup()}");
    }
}

/// <summary>The result of <c>run</c>; also its <c>--json</c> document.</summary>
internal sealed record RunReport(string Backend, AttentionShape Shape, string Format, string Layout, double Density, bool Causal, string CausalBy, float Scale,
    double Flops, IReadOnlyList<double> TimesMs, double MedianMs, double Gflops, string? Note, CheckResult? Check, string? OutputFile, string? LseFile);
