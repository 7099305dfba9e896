using System.CommandLine;
using SparseNative.Cli.Hosting;
using SparseNative.Cli.Patterns;
using SparseNative.Cli.Pictures;
using Spectre.Console;

namespace SparseNative.Cli.Commands;

/// <summary>
/// <c>sparsenative layout &lt;pattern&gt; --seq N [--block B] [--heads H] [--png file] [--cell px]</c>: statistics of a layout,
/// a text preview, and optionally a PNG with one panel per head.
/// </summary>
internal static class LayoutCommand
{
    public static Command Create(CliContext ctx)
    {
        var pattern = new Argument<string?>("pattern") { Description = $"One of: {PatternCatalog.Names}.", Arity = ArgumentArity.ZeroOrOne };
        var seq = new Option<int?>("--seq", "-s") { Description = "Sequence length in tokens (required for patterns; files default to blocks × block)." };
        var heads = new Option<int>("--heads") { Description = "Query heads (patterns with per-head variation build one list per head).", DefaultValueFactory = _ => 1 };
        var headDim = new Option<int>("--head-dim") { Description = "Head dimension, for the flop count.", DefaultValueFactory = _ => 64 };
        var causal = new Option<bool>("--causal") { Description = "Count work with the token-level causal mask on top of the layout." };
        var png = new Option<string?>("--png") { Description = "Write a PNG: one panel per head, one square per block (downsampled with density shading when large)." };
        var cell = new Option<int?>("--cell") { Description = "Pixels per block in the PNG (default: fit --panel)." };
        var panel = new Option<int>("--panel") { Description = "Largest panel side in pixels before blocks are downsampled.", DefaultValueFactory = _ => 512 };
        var maxPanels = new Option<int>("--max-panels") { Description = "Draw at most this many heads.", DefaultValueFactory = _ => 8 };
        var width = new Option<int?>("--width") { Description = "Width of the text preview in characters (default: the terminal's)." };
        var noPreview = new Option<bool>("--no-preview") { Description = "Skip the text preview." };
        var layoutOptions = new LayoutOptions();
        var command = new Command("layout", "Statistics and pictures of a block layout (a pattern or a DeepSpeed / ONNX Runtime layout file).")
        {
            pattern, seq, heads, headDim, causal, png, cell, panel, maxPanels, width, noPreview,
        };
        layoutOptions.AddTo(command);
        command.SetAction(r =>
        {
            string? name = r.GetValue(pattern);
            var choice = layoutOptions.Read(r, name is null ? [] : [name]);
            int h = Positive(r.GetValue(heads), "--heads");
            int d = Positive(r.GetValue(headDim), "--head-dim");
            int length;
            if (r.GetValue(seq) is { } s) length = Positive(s, "--seq");
            else if (choice.IsFile)
            {
                var file = choice.LoadFile();
                length = file.QueryBlocks * choice.BlockSize;
            }
            else throw new ArgumentException("--seq is required with a pattern.", "--seq");

            var layout = choice.Build(0, length, length, h, null, out string? note);
            if (layout.LayoutCount > h && h == 1) h = layout.LayoutCount; // a per-head file with the default --heads
            var shape = AttentionShape.SelfAttention(1, h, length, d);
            layout.ValidateFor(shape);
            var stats = LayoutStats.Compute(layout, shape, r.GetValue(causal));
            var console = ctx.Console_;
            if (note is not null) console.MarkupLine($"[yellow]Note:[/] {note.EscapeMarkup()}");
            PrintStats(console, choice.Label(), length, h, stats);
            if (!r.GetValue(noPreview))
            {
                int w = r.GetValue(width) ?? ctx.Width;
                console.WriteLine();
                console.WriteLine(layout.LayoutCount > 1 ? $"Head 0 of {layout.LayoutCount} distinct lists:" : "All heads share this list:");
                // Written as plain text: a layout preview must never be reinterpreted as markup.
                ctx.Output.WriteLine(TerminalPreview.Render(layout, 0, Math.Max(10, w)));
            }
            if (r.GetValue(png) is { } path)
            {
                var scale = LayoutPicture.ChooseScale(Math.Max(layout.QueryBlocks, layout.KeyBlocks), r.GetValue(cell), Positive(r.GetValue(panel), "--panel"));
                int panels = Math.Min(layout.LayoutCount, Positive(r.GetValue(maxPanels), "--max-panels"));
                var image = LayoutPicture.Draw(layout, panels, scale);
                PngWriter.Save(image, path);
                ctx.Output.WriteLine($"Wrote {path}: {image.Width}×{image.Height} px, {panels} panel(s), " +
                    (scale.BlocksPerCell == 1 ? $"{scale.PixelsPerCell} px per block." : $"{scale.BlocksPerCell}×{scale.BlocksPerCell} blocks per pixel (shade = density)."));
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static int Positive(int value, string option) =>
        value > 0 ? value : throw new ArgumentOutOfRangeException(option, value, $"{option} must be positive, got {value}.");

    private static void PrintStats(IAnsiConsole console, string label, int length, int heads, LayoutStats s)
    {
        var t = new Table().AddColumns("", label.EscapeMarkup()).HideHeaders();
        t.AddRow("tokens × heads", $"{length} × {heads}");
        t.AddRow("blocks", $"{s.QueryBlocks} × {s.KeyBlocks} of {s.BlockSize} tokens, {s.Lists} list(s)");
        t.AddRow("active blocks", $"{s.ActiveBlocks:N0} (density {s.Density:P2})");
        t.AddRow("per query-block row", $"min {s.RowMin}, mean {s.RowMean:F1}, max {s.RowMax}{(s.EmptyRows > 0 ? $", {s.EmptyRows} empty" : "")}");
        t.AddRow("flops", $"{s.Flops / 1e9:F2} GFLOP vs dense {s.DenseFlops / 1e9:F2} GFLOP: {s.FlopsFraction:P2} of dense");
        console.Write(t);
    }
}
