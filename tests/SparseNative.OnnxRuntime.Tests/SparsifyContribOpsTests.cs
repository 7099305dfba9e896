using Microsoft.ML.OnnxRuntime;
using Onnx;
using SparseNative;
using SparseNative.Onnx;
using SparseNative.OnnxRuntime.Tests.Support;
using Xunit;
using DataType = Onnx.TensorProto.Types.DataType;

namespace SparseNative.OnnxRuntime.Tests;

/// <summary>sparsify on com.microsoft nodes: MultiHeadAttention (ORT's own kernel is the oracle for the dense layout,
/// padding mask included); Attention and GroupQueryAttention refused with the reason.</summary>
public sealed class SparsifyContribOpsTests
{
    private const int B = 2, S = 40, N = 4, H = 16;

    private static ModelProto MultiHead(bool mask)
    {
        var node = new NodeProto { Name = "mha", OpType = "MultiHeadAttention", Domain = "com.microsoft" };
        node.Input.AddRange(["q", "k", "v"]);
        if (mask) node.Input.AddRange(["", "mask"]);
        node.Output.Add("out");
        node.Attribute.Add(Models.Int("num_heads", N));
        var inputs = node.Input.Where(n => n.Length > 0).Select(n => Models.Value(n, n == "mask" ? DataType.Int32 : DataType.Float));
        return Models.Single(node, inputs, [Models.Value("out", DataType.Float)], "com.microsoft");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MultiHeadAttention_with_a_dense_layout_matches_ORT(bool mask)
    {
        var random = new Inputs(mask ? 2 : 1);
        float[] q = random.Floats(B * S * N * H), k = random.Floats(B * S * N * H), v = random.Floats(B * S * N * H);
        int[] m = Enumerable.Range(0, B * S).Select(i => i / S == 1 && i % S >= S - 7 ? 0 : 1).ToArray();
        float[] Run(ModelProto model, bool ours)
        {
            using var options = new SessionOptions();
            if (ours) options.RegisterSparseNative();
            using var session = new InferenceSession(Models.Bytes(model), options);
            var feeds = new Dictionary<string, OrtValue>
            {
                ["q"] = OrtValue.CreateTensorValueFromMemory(q, [B, S, N * H]),
                ["k"] = OrtValue.CreateTensorValueFromMemory(k, [B, S, N * H]),
                ["v"] = OrtValue.CreateTensorValueFromMemory(v, [B, S, N * H]),
            };
            if (mask) feeds["mask"] = OrtValue.CreateTensorValueFromMemory(m, [B, S]);
            using var run = new RunOptions();
            using var results = session.Run(run, feeds, ["out"]);
            foreach (var f in feeds.Values) f.Dispose();
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        float[] expected = Run(MultiHead(mask), false);
        var model = MultiHead(mask);
        var report = OnnxSparsify.Sparsify(model, MiniLmTests.Layout(BlockPatterns.Dense(64, 16, 64)));
        Assert.Single(report.Changed);
        Assert.Equal("BlockSparseAttention", model.Graph.Node.Single().OpType);
        SparseAttentionOracleTests.AssertClose(expected, Run(model, true), "MultiHeadAttention output");
    }

    [Fact]
    public void Attention_and_GroupQueryAttention_are_refused_with_the_reason()
    {
        var graph = new GraphProto { Name = "g" };
        foreach (var (op, name) in new[] { ("Attention", "fused"), ("GroupQueryAttention", "gqa") })
        {
            var n = new NodeProto { Name = name, OpType = op, Domain = "com.microsoft" };
            n.Input.Add("x");
            n.Output.Add(name + "_out");
            graph.Node.Add(n);
        }
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        var report = OnnxSparsify.Sparsify(model, MiniLmTests.Layout(BlockPatterns.Dense(64, 16, 64)));
        Assert.Empty(report.Changed);
        Assert.Contains(report.Refused, r => r.StartsWith("fused:") && r.Contains("projection"));
        Assert.Contains(report.Refused, r => r.StartsWith("gqa:") && r.Contains("GroupQueryAttention"));
        Assert.Equal(2, model.Graph.Node.Count);
    }
}
