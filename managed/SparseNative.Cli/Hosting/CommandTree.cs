using System.CommandLine;
using SparseNative.Cli.Commands;

namespace SparseNative.Cli.Hosting;

/// <summary>The command tree: <c>sparsenative info | layout | run | bench | demo</c>.</summary>
internal static class CommandTree
{
    public static RootCommand Create(CliContext context)
    {
        var root = new RootCommand(
            "SparseNative: fused block-sparse attention for .NET. Inspect the machine, draw layouts, run attention on .npy tensors, compare backends.");
        root.Subcommands.Add(InfoCommand.Create(context));
        root.Subcommands.Add(LayoutCommand.Create(context));
        root.Subcommands.Add(RunCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(DemoCommand.Create(context));
        return root;
    }
}
