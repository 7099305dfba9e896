using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using SparseNative.OnnxRuntime.Tests.Support;
using Xunit;

namespace SparseNative.OnnxRuntime.Tests;

/// <summary>`sparsenative onnx retarget | sparsify` on files: reports, exit codes, external data kept.</summary>
public sealed class OnnxCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sparsenative-onnx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Output, string Error) Cli(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = SparseNative.Cli.Program.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    // Moves every initializer larger than 1 KiB into `weights.bin` beside the model, as exporters do for big models.
    private static void WriteWithExternalData(ModelProto model, string path)
    {
        string dir = Path.GetDirectoryName(path)!;
        using var weights = File.Create(Path.Combine(dir, "weights.bin"));
        foreach (TensorProto t in model.Graph.Initializer.Where(t => t.RawData.Length > 1024))
        {
            long offset = weights.Position;
            t.RawData.WriteTo(weights);
            t.RawData = ByteString.Empty;
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = (weights.Position - offset).ToString() });
        }
        File.WriteAllBytes(path, model.ToByteArray());
    }

    [Fact]
    public void Sparsify_keeps_external_data_and_the_result()
    {
        string a = Directory.CreateDirectory(Path.Combine(_dir, "a")).FullName, b = Path.Combine(_dir, "b");
        string input = Path.Combine(a, "minilm.onnx"), output = Path.Combine(b, "minilm.sparse.onnx");
        WriteWithExternalData(MiniLm.Model(), input);
        Assert.True(new FileInfo(input).Length < 1_000_000, "the weights went to weights.bin");

        var (code, stdout, stderr) = Cli("onnx", "sparsify", input, "--pattern", "dense", "--block", "32", "--max-length", "512", "-o", output);
        Assert.True(code == 0, stderr);
        Assert.Equal(6, stdout.Split('\n').Count(l => l.StartsWith("changed")));
        Assert.True(File.Exists(Path.Combine(b, "weights.bin")), "external data copied beside the output");

        var (ids, mask, length) = MiniLm.Tokenize(MiniLm.Sentences);
        int batch = MiniLm.Sentences.Length;
        float[] expected = MiniLm.Run(MiniLm.Model(), false, ids, mask, batch, length);
        using var options = new SessionOptions();
        options.RegisterSparseNative();
        using var session = new InferenceSession(output, options);
        long[] shape = [batch, length];
        using var i = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var m = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var t = OrtValue.CreateTensorValueFromMemory(new long[ids.Length], shape);
        using var run = new RunOptions();
        using var results = session.Run(run, new Dictionary<string, OrtValue> { ["input_ids"] = i, ["attention_mask"] = m, ["token_type_ids"] = t }, ["last_hidden_state"]);
        var actual = results[0].GetTensorDataAsSpan<float>();
        for (int k = 0; k < expected.Length; ++k)
            Assert.True(Math.Abs(expected[k] - actual[k]) <= 1e-5 * (1 + Math.Abs(expected[k])), $"last_hidden_state[{k}]: {expected[k]} vs {actual[k]}");
    }

    [Fact]
    public void Retarget_moves_SparseAttention_and_reports_it()
    {
        string input = Path.Combine(_dir, "phi3.onnx"), output = Path.Combine(_dir, "phi3.sn.onnx");
        var c = new SparseAttentionCase { Batch = 1, Heads = 4, KvHeads = 2, HeadSize = 16, BlockSize = 16, MaxBlocks = 4 };
        File.WriteAllBytes(input, c.Model().ToByteArray());
        var (code, stdout, stderr) = Cli("onnx", "retarget", input, "-o", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("com.microsoft.SparseAttention -> ai.sparsenative.SparseAttention", stdout);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(output));
        Assert.Equal("ai.sparsenative", model.Graph.Node.Single().Domain);
        Assert.Contains(model.OpsetImport, o => o.Domain == "ai.sparsenative");
    }

    [Fact]
    public void A_model_without_attention_is_refused_and_not_written()
    {
        string input = Path.Combine(_dir, "plain.onnx"), output = Path.Combine(_dir, "out.onnx");
        var node = new NodeProto { OpType = "Relu", Name = "relu" };
        node.Input.Add("x");
        node.Output.Add("y");
        File.WriteAllBytes(input, Models.Single(node, [Models.Value("x", TensorProto.Types.DataType.Float)], [Models.Value("y", TensorProto.Types.DataType.Float)]).ToByteArray());
        var (code, _, stderr) = Cli("onnx", "sparsify", input, "--pattern", "local", "--block", "32", "-o", output);
        Assert.NotEqual(0, code);
        Assert.Contains("nothing was rewritten", stderr);
        Assert.False(File.Exists(output));
    }
}
