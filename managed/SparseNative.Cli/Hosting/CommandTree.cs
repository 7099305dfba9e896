using System.CommandLine;
using SparseNative.Cli.Commands;

namespace SparseNative.Cli.Hosting;

/// <summary>The command tree: <c>sparsenative info | layout | run | bench | demo</c>.</summary>
internal static class CommandTree
{
    public static Command Create(CliContext context)
    {
        // A plain command named like the tool rather than RootCommand, whose name would be the assembly's
        // ("SparseNative.Cli") in help text; help and version are added as RootCommand would.
        var root = new Command("sparsenative",
            "SparseNative: fused block-sparse attention for .NET. Inspect the machine, draw layouts, run attention on .npy tensors, compare backends.")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
        };
        root.Subcommands.Add(InfoCommand.Create(context));
        root.Subcommands.Add(LayoutCommand.Create(context));
        root.Subcommands.Add(RunCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(DemoCommand.Create(context));
        root.Subcommands.Add(OnnxCommand.Create(context));
        return root;
    }
}
