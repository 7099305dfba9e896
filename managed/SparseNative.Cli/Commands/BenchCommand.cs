using System.CommandLine;
using SparseNative.Cli.Bench;
using SparseNative.Cli.Compute;
using SparseNative.Cli.Hosting;
using SparseNative.Cli.Patterns;
using Spectre.Console;

namespace SparseNative.Cli.Commands;

/// <summary>
/// <c>sparsenative bench</c>: every backend side by side on several patterns and sequence lengths, plus dense attention on
/// the same data; a table (and <c>--json</c>, <c>--plot</c>) at the end. Ctrl+C stops between runs and keeps what was measured.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliContext ctx)
    {
        var patterns = new Argument<string[]>("patterns") { Description = $"Patterns to compare with dense: {PatternCatalog.Names}.", Arity = ArgumentArity.ZeroOrMore };
        var seq = new Option<string>("--seq", "-s") { Description = "Sequence lengths, comma-separated.", DefaultValueFactory = _ => "1024,2048,4096" };
        var heads = new Option<int>("--heads") { Description = "Heads.", DefaultValueFactory = _ => 8 };
        var headDim = new Option<int>("--head-dim", "-d") { Description = "Head dimension.", DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch") { Description = "Batch.", DefaultValueFactory = _ => 1 };
        var backends = new Option<string?>("--backends") { Description = "Backends, comma-separated, or 'all' (default: every available one except reference)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the random inputs.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the results as one JSON document (fields in docs/CLI.md) instead of a table." };
        var plot = new Option<string?>("--plot") { Description = "Write a PNG chart: time vs length (log-log) per pattern, GFLOP/s per backend." };
        var problem = new ProblemOptions();
        var layoutOptions = new LayoutOptions();
        var command = new Command("bench", "Compare backends and patterns against dense attention on the same data: ms, GFLOP/s, speedup.")
        {
            patterns, seq, heads, headDim, batch, backends, seed, json, plot,
        };
        problem.AddTo(command);
        layoutOptions.AddTo(command);
        command.SetAction(r =>
        {
            var names = r.GetValue(patterns) ?? [];
            var choice = layoutOptions.Read(r, names.Length == 0 && !layoutOptions.HasFile(r)
                ? ["bigbird", "longformer", "strided"] : names);
            if (choice.IsFile) throw new ArgumentException("bench compares patterns across sequence lengths; layout files have one length. Use 'run --from' for a file.", "--from");
            var options = problem.Read(r, TensorFormat.Bhsd);
            var (warmup, runs) = problem.ReadTiming(r);
            var plan = new BenchPlan(ListParser.Ints(r.GetValue(seq)!, "--seq", positive: true), choice, ParseBackends(r.GetValue(backends), options.Backend),
                r.GetValue(batch), LayoutCommand.Positive(r.GetValue(heads), "--heads"), LayoutCommand.Positive(r.GetValue(headDim), "--head-dim"),
                options, warmup, runs, r.GetValue(seed));
            LayoutCommand.Positive(plan.Batch, "--batch");
            using var outputs = new OutputFiles();
            var plotFile = outputs.Add("--plot", r.GetValue(plot));

            var results = new List<BenchResult>();
            bool cancelled = false;
            bool asJson = r.GetValue(json);
            try
            {
                // Live progress only on a terminal: piped output (logs, CI) gets the table alone, not progress snapshots.
                LiveProgress.Run(ctx, !asJson, BenchRunner.Steps(plan), step => BenchRunner.Run(plan, results, step, ctx.Cancellation));
            }
            catch (OperationCanceledException)
            {
                // Stopped between runs: report nothing half-measured, say so, keep the exit code for scripts.
                cancelled = true;
            }

            int threads = options.MaxThreads == 0 ? Environment.ProcessorCount : options.MaxThreads;
            var report = new BenchReport(MachineInfo.CpuModel(), threads, plan.Batch, plan.Heads, plan.HeadDim, choice.BlockSize, options.Causal,
                runs, warmup, cancelled, results);
            if (asJson) ctx.Output.WriteLine(Json.Serialize(report));
            else PrintTable(ctx.Console_, report);
            if (plotFile is not null && results.Count > 0)
            {
                plotFile.Write(path => BenchChart.Save(results, path, $"B={plan.Batch}, H={plan.Heads}, d={plan.HeadDim}, block {choice.BlockSize}, {threads} thread(s){(options.Causal ? ", causal" : "")}, {report.Cpu}"));
                outputs.Commit();
                if (!asJson) ctx.Output.WriteLine($"Wrote {plotFile.Path}");
            }
            if (cancelled) ctx.Error.WriteLine("Cancelled: the results above are the runs that completed.");
            return cancelled ? ExitCodes.Cancelled : ExitCodes.Ok;
        });
        return command;
    }

    private static Backend[] ParseBackends(string? text, Backend fromOption)
    {
        if (text is null) return fromOption == Backend.Auto ? BenchRunner.DefaultBackends() : [fromOption];
        if (text.Trim().Equals("all", StringComparison.OrdinalIgnoreCase))
            return SparseAttention.Backends.Where(b => b.IsAvailable).Select(b => b.Backend).ToArray();
        var list = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(x => EnumOption.Parse<Backend>(x, "--backends")).Distinct().ToArray();
        if (list.Length == 0) throw new ArgumentException("--backends is empty.", "--backends");
        if (list.Contains(Backend.Auto)) throw new ArgumentException("--backends lists concrete backends; 'auto' is not one.", "--backends");
        return list;
    }

    private static void PrintTable(IAnsiConsole console, BenchReport rep)
    {
        console.MarkupLine($"B={rep.Batch}, H={rep.Heads}, d={rep.HeadDim}, block {rep.BlockSize}, {rep.Threads} thread(s), {(rep.Causal ? "--causal" : "without --causal")}, " +
            $"median of {rep.Runs} run(s) after {rep.Warmup} warm-up; {rep.Cpu.EscapeMarkup()}");
        var t = new Table().AddColumns("tokens", "pattern", "backend", "causal", "density", "ms", "GFLOP/s", "speedup")
            .Caption("speedup = dense ms / pattern ms, same backend, data and causality");
        foreach (var c in t.Columns) c.NoWrap();
        foreach (var c in t.Columns.Skip(4)) c.RightAligned();
        foreach (var r in rep.Results)
            t.AddRow(r.SequenceLength.ToString(), r.Pattern.EscapeMarkup(), r.Backend, r.Causal ? "yes" : "no", $"{r.Density:P1}",
                r.Skipped is null ? $"{r.MedianMs:F2}" : "[grey]skipped[/]",
                r.Skipped is null ? $"{r.Gflops:F1}" : (r.Skipped.Length > 60 ? r.Skipped[..60] + "…" : r.Skipped).EscapeMarkup(),
                r.Pattern is "dense" or BenchRunner.CausalDense ? "1.00×" : r.SpeedupVsDense is { } s ? $"{s:F2}×" : "—");
        console.Write(t);
    }
}
