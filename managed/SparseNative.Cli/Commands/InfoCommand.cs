using System.CommandLine;
using SparseNative.Cli.Hosting;
using Spectre.Console;

namespace SparseNative.Cli.Commands;

/// <summary><c>sparsenative info [--json]</c>: the CPU, the instruction sets .NET uses, and every backend with its status.</summary>
internal static class InfoCommand
{
    public static Command Create(CliContext ctx)
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON document (fields in docs/CLI.md)." };
        var command = new Command("info", "What SparseNative sees on this machine: CPU, instruction sets, backends (available or why not).") { json };
        command.SetAction(r =>
        {
            var info = MachineInfo.Collect();
            if (r.GetValue(json)) ctx.Output.WriteLine(Json.Serialize(info));
            else Print(ctx, info);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Lines wider than this are wrapped in the plain-text form (a bug report, a log).</summary>
    internal const int PlainWidth = 100;

    // Each fact once: the header, the backends, what Auto picks and in which order it tries them, the override variable.
    // A terminal gets the backends as a table; a file or pipe gets them as wrapped text no wider than PlainWidth.
    private static void Print(CliContext ctx, MachineInfo info)
    {
        var console = ctx.Console_;
        console.MarkupLine($"[bold]SparseNative {info.LibraryVersion.EscapeMarkup()}[/] on {info.Runtime.EscapeMarkup()}");
        console.MarkupLine($"CPU: {info.Cpu.EscapeMarkup()} ({info.LogicalCores} logical cores, {info.Architecture})");
        console.MarkupLine($"OS:  {info.Os.EscapeMarkup()}");
        var isa = info.InstructionSets;
        string Yes(string key) => isa[key] ? "[green]yes[/]" : "[grey]no[/]";
        console.MarkupLine($"Vectors accelerated (.NET): 512-bit {Yes("vector512Accelerated")}, 256-bit {Yes("vector256Accelerated")}, 128-bit {Yes("vector128Accelerated")}");
        console.MarkupLine($"Instruction sets (.NET): AVX-512F {Yes("avx512F")}, AVX-512BW {Yes("avx512BW")}, AVX2 {Yes("avx2")}, FMA {Yes("fma")}, AdvSimd {Yes("advSimd")}");
        if (ctx.IsTerminal)
        {
            var table = new Table().AddColumns("Backend", "Status", "Details / reason");
            foreach (var b in info.Backends)
                table.AddRow(b.Name, b.Available ? "[green]available[/]" : "[red]unavailable[/]",
                    (b.Available ? b.Details : b.Reason ?? "").EscapeMarkup());
            console.Write(table);
        }
        else
        {
            ctx.Output.WriteLine("Backends:");
            foreach (var b in info.Backends)
                foreach (var line in TextWrap.Wrap(b.Available ? b.Details : b.Reason ?? "", PlainWidth,
                             $"  {b.Name}: {(b.Available ? "available" : "unavailable")}: ", "      "))
                    ctx.Output.WriteLine(line);
        }
        console.MarkupLine($"Auto picks: [bold]{info.AutoBackend.EscapeMarkup()}[/] (for 8 heads × 4096 tokens, d 64).");
        // The two facts of SparseAttention.Describe() that the lines above do not already give.
        foreach (var fact in info.Describe.Split('\n').Select(l => l.TrimEnd())
                     .Where(l => l.StartsWith("Auto tries", StringComparison.Ordinal) || l.StartsWith("SPARSENATIVE_BACKEND", StringComparison.Ordinal)))
            foreach (var line in TextWrap.Wrap(fact, ctx.IsTerminal ? Math.Max(40, ctx.Width) : PlainWidth, "", "  "))
                ctx.Output.WriteLine(line);
    }
}
