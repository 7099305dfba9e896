using System.CommandLine;
using SparseNative.Cli.Hosting;
using SparseNative.Cli.Patterns;
using SparseNative.Onnx;

namespace SparseNative.Cli.Commands;

/// <summary>
/// <c>sparsenative onnx retarget in.onnx -o out.onnx</c>: com.microsoft.SparseAttention nodes to ai.sparsenative;
/// <c>sparsenative onnx sparsify in.onnx --pattern P [pattern options] --max-length N -o out.onnx</c>: attention to
/// ai.sparsenative.BlockSparseAttention on a layout. Both print what they changed and what they refused, and keep
/// external data (copied beside the output when it goes to another folder).
/// </summary>
internal static class OnnxCommand
{
    public static Command Create(CliContext ctx)
    {
        var command = new Command("onnx", "Rewrite ONNX models to run attention on SparseNative inside ONNX Runtime (register the ops with SessionOptions.RegisterSparseNative()).");
        command.Subcommands.Add(Retarget(ctx));
        command.Subcommands.Add(Sparsify(ctx));
        return command;
    }

    private static Command Retarget(CliContext ctx)
    {
        var input = new Argument<string>("model") { Description = "The .onnx model." };
        var output = new Option<string>("--out", "-o") { Description = "The rewritten model.", Required = true };
        var command = new Command("retarget", "Move every com.microsoft.SparseAttention node to ai.sparsenative.SparseAttention (same inputs, attributes, outputs).")
        {
            input, output,
        };
        command.SetAction(r => Rewrite(ctx, r.GetValue(input)!, r.GetValue(output)!, OnnxRetarget.Retarget));
        return command;
    }

    private static Command Sparsify(CliContext ctx)
    {
        var input = new Argument<string>("model") { Description = "The .onnx model." };
        var output = new Option<string>("--out", "-o") { Description = "The rewritten model.", Required = true };
        var pattern = new Option<string>("--pattern", "-p") { Description = $"The layout: one of {PatternCatalog.Names}.", Required = true };
        var maxLength = new Option<int>("--max-length") { Description = "The longest sequence the model will run (the layout's grid; shorter inputs use its top-left part).", DefaultValueFactory = _ => 512 };
        var heads = new Option<int>("--heads") { Description = "Query heads of the model's attention (patterns with per-head lists build one per head).", DefaultValueFactory = _ => 1 };
        var layoutOptions = new LayoutOptions();
        var command = new Command("sparsify", "Replace attention (decomposed MatMul/Softmax form, com.microsoft.MultiHeadAttention) with ai.sparsenative.BlockSparseAttention on a block layout; the padding mask keeps its meaning.")
        {
            input, output, pattern, maxLength, heads,
        };
        layoutOptions.AddTo(command);
        command.SetAction(r =>
        {
            var choice = layoutOptions.Read(r, [r.GetValue(pattern)!]);
            int length = r.GetValue(maxLength);
            if (length < 1) throw new ArgumentException("--max-length must be at least 1.", "--max-length");
            BlockLayout layout = choice.Build(0, length, length, Math.Max(1, r.GetValue(heads)), null, out _);
            var sparsify = new SparsifyLayout(layout.BlockSize, layout.QueryBlocks, layout.LayoutCount,
                layout.AllRowOffsets.ToArray(), layout.AllColumnIndices.ToArray());
            return Rewrite(ctx, r.GetValue(input)!, r.GetValue(output)!, m => OnnxSparsify.Sparsify(m, sparsify));
        });
        return command;
    }

    private static int Rewrite(CliContext ctx, string input, string output, Func<global::Onnx.ModelProto, RewriteReport> rewrite)
    {
        if (!File.Exists(input)) throw new FileNotFoundException($"model '{input}' not found", input);
        var model = OnnxModelFile.Read(input);
        var report = rewrite(model);
        foreach (string line in report.Changed) ctx.Output.WriteLine($"changed  {line}");
        foreach (string line in report.Refused) ctx.Output.WriteLine($"refused  {line}");
        if (report.Changed.Count == 0)
        {
            ctx.Error.WriteLine("error: nothing was rewritten; the model was not written.");
            return ExitCodes.Failure;
        }
        OnnxModelFile.Write(model, output, input);
        ctx.Output.WriteLine($"Wrote {output}: {report.Changed.Count} node(s) rewritten, {report.Refused.Count} left alone.");
        return ExitCodes.Ok;
    }
}
