using System.CommandLine;
using SparseNative.Cli.Compute;
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
        var causal = new Option<bool>("--causal") { Description = "Count work with the token-level causal mask on top of the layout (a causal pattern has it anyway)." };
        var png = new Option<string?>("--png") { Description = "Write a PNG: one panel per head, one square per block (downsampled with density shading when large)." };
        var cell = new Option<int?>("--cell") { Description = "Pixels per block in the PNG (default: fit --panel)." };
        var panel = new Option<int>("--panel") { Description = "Largest panel side in pixels before blocks are downsampled.", DefaultValueFactory = _ => 512 };
        var maxPanels = new Option<int>("--max-panels") { Description = "Draw at most this many heads.", DefaultValueFactory = _ => 8 };
        var width = new Option<int?>("--width") { Description = "Width of the text preview in characters (default: the terminal's)." };
        var noPreview = new Option<bool>("--no-preview") { Description = "Skip the text preview." };
        var outDs = new Option<string?>("--out", "-o") { Description = "Write the layout as DeepSpeed's (heads, blocks, blocks) 0/1 tensor (.npy int64), as --from reads it." };
        var outOrt = new Option<string[]?>("--out-ort")
        {
            Description = "Write the layout as ONNX Runtime's block_row_indices.npy and block_col_indices.npy (int32), as --from-ort reads them.",
            Arity = new ArgumentArity(2, 2),
            AllowMultipleArgumentsPerToken = true,
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON document (statistics and the CSR lists; fields in docs/CLI.md) instead of the table and preview." };
        var layoutOptions = new LayoutOptions();
        var command = new Command("layout", "Statistics and pictures of a block layout (a pattern or a DeepSpeed / ONNX Runtime layout file).")
        {
            pattern, seq, heads, headDim, causal, png, cell, panel, maxPanels, width, noPreview, outDs, outOrt, json,
        };
        layoutOptions.AddTo(command);
        command.SetAction(r =>
        {
            string? name = r.GetValue(pattern);
            var choice = layoutOptions.Read(r, name is null ? [] : [name]);
            int h = Positive(r.GetValue(heads), "--heads");
            int d = Positive(r.GetValue(headDim), "--head-dim");
            bool asJson = r.GetValue(json);
            int panelSize = Positive(r.GetValue(panel), "--panel"), panelLimit = Positive(r.GetValue(maxPanels), "--max-panels");
            using var outputs = new OutputFiles();
            var pngFile = outputs.Add("--png", r.GetValue(png));
            var dsFile = outputs.Add("--out", r.GetValue(outDs));
            var ortFiles = r.GetValue(outOrt) is { Length: 2 } pair ? (Rows: outputs.Add("--out-ort", pair[0])!, Cols: outputs.Add("--out-ort", pair[1])!) : default;
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
            bool isCausal = Causality.EffectiveCausal(layout, r.GetValue(causal));
            var stats = LayoutStats.Compute(layout, shape, isCausal);
            var console = ctx.Console_;
            var wrote = new List<string>();
            if (pngFile is not null)
            {
                var scale = LayoutPicture.ChooseScale(Math.Max(layout.QueryBlocks, layout.KeyBlocks), r.GetValue(cell), panelSize);
                int panels = Math.Min(layout.LayoutCount, panelLimit);
                var image = LayoutPicture.Draw(layout, panels, scale);
                pngFile.Write(path => PngWriter.Save(image, path));
                wrote.Add($"Wrote {pngFile.Path}: {image.Width}×{image.Height} px, {panels} panel(s), " +
                    (scale.BlocksPerCell == 1 ? $"{scale.PixelsPerCell} px per block." : $"{scale.BlocksPerCell}×{scale.BlocksPerCell} blocks per pixel (shade = density)."));
            }
            if (dsFile is not null)
            {
                dsFile.Write(path => LayoutExport.WriteDeepSpeed(path, layout, h));
                wrote.Add($"Wrote {dsFile.Path}: DeepSpeed layout ({h}, {layout.QueryBlocks}, {layout.KeyBlocks}) int64; read it back with --from {dsFile.Path} --block {layout.BlockSize}.");
            }
            if (ortFiles.Rows is not null)
            {
                var (rows, cols) = (ortFiles.Rows, ortFiles.Cols);
                // One write fills both files (ToOnnxRuntime computes them together).
                rows.Write(rp => cols.Write(cp => LayoutExport.WriteOnnxRuntime(rp, cp, layout)));
                wrote.Add($"Wrote {rows.Path} and {cols.Path}: ONNX Runtime layout, {layout.LayoutCount} list(s), int32; read them back with --from-ort {rows.Path} {cols.Path} --block {layout.BlockSize}.");
            }
            outputs.Commit();

            if (asJson)
            {
                ctx.Output.WriteLine(Json.Serialize(LayoutExport.Document(choice.Label(), length, h, layout, isCausal, stats)));
                return ExitCodes.Ok;
            }
            if (note is not null) console.MarkupLine($"[yellow]Note:[/] {note.EscapeMarkup()}");
            PrintStats(console, choice.Label(), length, h, stats, Causality.Describe(layout, r.GetValue(causal)));
            if (!r.GetValue(noPreview))
            {
                int w = r.GetValue(width) ?? ctx.Width;
                console.WriteLine();
                console.WriteLine(layout.LayoutCount > 1 ? $"Head 0 of {layout.LayoutCount} distinct lists:" : "All heads share this list:");
                // Written as plain text: a layout preview must never be reinterpreted as markup.
                ctx.Output.WriteLine(TerminalPreview.Render(layout, 0, Math.Max(10, w)));
            }
            foreach (var line in wrote) ctx.Output.WriteLine(line);
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static int Positive(int value, string option) =>
        value > 0 ? value : throw new ArgumentOutOfRangeException(option, value, $"{option} must be positive, got {value}.");

    private static void PrintStats(IAnsiConsole console, string label, int length, int heads, LayoutStats s, string causal)
    {
        var t = new Table().AddColumns("", label.EscapeMarkup()).HideHeaders();
        t.AddRow("tokens × heads", $"{length} × {heads}");
        t.AddRow("blocks", $"{s.QueryBlocks} × {s.KeyBlocks} of {s.BlockSize} tokens, {s.Lists} list(s)");
        t.AddRow("active blocks", $"{s.ActiveBlocks:N0} (density {s.Density:P2})");
        t.AddRow("per query-block row", $"min {s.RowMin}, mean {s.RowMean:F1}, max {s.RowMax}{(s.EmptyRows > 0 ? $", {s.EmptyRows} empty" : "")}");
        t.AddRow("causal", causal);
        t.AddRow("flops", $"{s.Flops / 1e9:F2} GFLOP vs dense {s.DenseFlops / 1e9:F2} GFLOP: {s.FlopsFraction:P2} of dense");
        console.Write(t);
    }
}
