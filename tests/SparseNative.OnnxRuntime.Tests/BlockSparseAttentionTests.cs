using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using SparseNative.OnnxRuntime.Tests.Support;
using Xunit;
using DataType = Onnx.TensorProto.Types.DataType;

namespace SparseNative.OnnxRuntime.Tests;

/// <summary>ai.sparsenative.BlockSparseAttention against a float64 computation: a KV cache, causal and not, GQA,
/// a key padding mask, the lse output, float16 widened.</summary>
public sealed class BlockSparseAttentionTests
{
    private const int B = 2, Nq = 4, Nkv = 2, H = 16, Block = 16, MaxBlocks = 6;

    private static ModelProto Model(bool causal, bool past, bool mask, DataType type)
    {
        var node = new NodeProto { Name = "bsa", OpType = "BlockSparseAttention", Domain = "ai.sparsenative" };
        node.Input.AddRange(["q", "k", "v", past ? "past_key" : "", past ? "past_value" : "", "rows", "cols"]);
        if (mask) node.Input.Add("mask");
        node.Output.AddRange(["out", past ? "present_key" : "", past ? "present_value" : "", "lse"]);
        node.Attribute.Add(Models.Int("num_heads", Nq));
        node.Attribute.Add(Models.Int("kv_num_heads", Nkv));
        node.Attribute.Add(Models.Int("block_size", Block));
        node.Attribute.Add(Models.Int("causal", causal ? 1 : 0));
        var inputs = node.Input.Where(n => n.Length > 0)
            .Select(n => Models.Value(n, n is "rows" or "cols" ? DataType.Int32 : n == "mask" ? DataType.Int64 : type));
        var outputs = node.Output.Where(n => n.Length > 0).Select(n => Models.Value(n, n == "lse" ? DataType.Float : type));
        return Models.Single(node, inputs, outputs, "ai.sparsenative");
    }

    // Two layouts: head h % 2 == 0 a ±1 block window, odd heads that plus key block 0 (a global column).
    private static (int[] Rows, int[] Cols, int MaxNnz) Layouts()
    {
        var lists = new List<int>[2];
        var rows = new int[2 * (MaxBlocks + 1)];
        for (int l = 0; l < 2; ++l)
        {
            lists[l] = [];
            for (int r = 0; r < MaxBlocks; ++r)
            {
                for (int c = 0; c < MaxBlocks; ++c)
                    if (Math.Abs(r - c) <= 1 || (l == 1 && c == 0)) lists[l].Add(c);
                rows[l * (MaxBlocks + 1) + r + 1] = lists[l].Count;
            }
        }
        int nnz = lists.Max(x => x.Count);
        var cols = Enumerable.Repeat(-1, 2 * nnz).ToArray();
        for (int l = 0; l < 2; ++l) lists[l].CopyTo(cols, l * nnz);
        return (rows, cols, nnz);
    }

    [Theory]
    [InlineData(false, 0, 37, false)]
    [InlineData(true, 0, 50, true)]
    [InlineData(true, 40, 1, true)]
    [InlineData(true, 35, 9, false)]
    [InlineData(false, 20, 30, true)]
    public void Matches_float64(bool causal, int past, int length, bool mask)
    {
        var (rows, cols, nnz) = Layouts();
        var random = new Inputs(past * 100 + length);
        int keys = past + length, sq = length;
        float[] q = random.Floats(B * sq * Nq * H), k = random.Floats(B * length * Nkv * H), v = random.Floats(B * length * Nkv * H);
        float[] pk = random.Floats(B * Nkv * past * H), pv = random.Floats(B * Nkv * past * H);
        long[] m = Enumerable.Range(0, B * keys).Select(i => (long)(i % keys >= keys - 3 && i / keys == 1 ? 0 : 1)).ToArray();
        using var options = new SessionOptions();
        options.RegisterSparseNative();
        using var session = new InferenceSession(Models.Bytes(Model(causal, past > 0, mask, DataType.Float)), options);
        var feeds = new Dictionary<string, OrtValue>
        {
            ["q"] = OrtValue.CreateTensorValueFromMemory(q, [B, sq, Nq * H]),
            ["k"] = OrtValue.CreateTensorValueFromMemory(k, [B, length, Nkv * H]),
            ["v"] = OrtValue.CreateTensorValueFromMemory(v, [B, length, Nkv * H]),
            ["rows"] = OrtValue.CreateTensorValueFromMemory(rows, [2, MaxBlocks + 1]),
            ["cols"] = OrtValue.CreateTensorValueFromMemory(cols, [2, nnz]),
        };
        if (past > 0)
        {
            feeds["past_key"] = OrtValue.CreateTensorValueFromMemory(pk, [B, Nkv, past, H]);
            feeds["past_value"] = OrtValue.CreateTensorValueFromMemory(pv, [B, Nkv, past, H]);
        }
        if (mask) feeds["mask"] = OrtValue.CreateTensorValueFromMemory(m, [B, keys]);
        using var run = new RunOptions();
        string[] names = past > 0 ? ["out", "lse", "present_key"] : ["out", "lse"];
        using var results = session.Run(run, feeds, names);
        foreach (var f in feeds.Values) f.Dispose();
        float[] o = results[0].GetTensorDataAsSpan<float>().ToArray(), lse = results[1].GetTensorDataAsSpan<float>().ToArray();

        float K(int b, int g, int j, int c) => j < past ? pk[((b * Nkv + g) * past + j) * H + c] : k[((b * length + j - past) * Nkv + g) * H + c];
        float V(int b, int g, int j, int c) => j < past ? pv[((b * Nkv + g) * past + j) * H + c] : v[((b * length + j - past) * Nkv + g) * H + c];
        double worst = 0, worstLse = 0;
        for (int b = 0; b < B; ++b)
            for (int h = 0; h < Nq; ++h)
                for (int t = 0; t < sq; ++t)
                {
                    int g = h / (Nq / Nkv), position = causal ? keys - sq + t : past + t, row = position / Block;
                    var allowed = Enumerable.Range(0, keys).Where(j =>
                        cols.Skip((h % 2) * nnz + rows[(h % 2) * (MaxBlocks + 1) + row]).Take(rows[(h % 2) * (MaxBlocks + 1) + row + 1] - rows[(h % 2) * (MaxBlocks + 1) + row]).Contains(j / Block)
                        && (!causal || j <= position) && (!mask || m[b * keys + j] != 0)).ToArray();
                    double[] s = allowed.Select(j => Enumerable.Range(0, H).Sum(c => (double)q[((b * sq + t) * Nq + h) * H + c] * K(b, g, j, c)) / Math.Sqrt(H)).ToArray();
                    double top = s.Max(), sum = s.Sum(x => Math.Exp(x - top));
                    worstLse = Math.Max(worstLse, Math.Abs(top + Math.Log(sum) - lse[(b * Nq + h) * sq + t]));
                    for (int c = 0; c < H; ++c)
                    {
                        double e = allowed.Select((j, n) => Math.Exp(s[n] - top) * V(b, g, j, c)).Sum() / sum;
                        worst = Math.Max(worst, Math.Abs(e - o[((b * sq + t) * Nq + h) * H + c]));
                    }
                }
        Assert.True(worst <= 1e-5, $"max |float64 - op| = {worst:g3}");
        Assert.True(worstLse <= 1e-5, $"max lse error = {worstLse:g3}");
        if (past > 0)
        {
            var present = results[2].GetTensorDataAsSpan<float>();
            for (int b = 0; b < B; ++b)
                for (int g = 0; g < Nkv; ++g)
                    for (int j = 0; j < keys; ++j)
                        Assert.Equal(K(b, g, j, 3), present[((b * Nkv + g) * keys + j) * H + 3]);
        }
    }

    [Theory]
    [InlineData(30, 30, 16, "input 'value' shape (2, 30, 16): must be (batch 2, key sequence >= 1, kv_num_heads * head_size 32)")]
    [InlineData(30, 29, 32, "inputs 'key' and 'value' must have the same shape")]
    [InlineData(30, 30, 32, "session config 'sparsenative.num_threads' = 'many'")]
    public void Malformed_inputs_and_config_give_an_error_naming_the_field(int keyLength, int valueLength, int valueWidth, string message)
    {
        var (rows, cols, nnz) = Layouts();
        var random = new Inputs(3);
        using var options = new SessionOptions();
        if (message.Contains("num_threads")) options.AddSessionConfigEntry("sparsenative.num_threads", "many");
        options.RegisterSparseNative();
        var e = Assert.ThrowsAny<OnnxRuntimeException>(() =>
        {
            using var session = new InferenceSession(Models.Bytes(Model(false, false, false, DataType.Float)), options);
            var feeds = new Dictionary<string, OrtValue>
            {
                ["q"] = OrtValue.CreateTensorValueFromMemory(random.Floats(B * 30 * Nq * H), [B, 30, Nq * H]),
                ["k"] = OrtValue.CreateTensorValueFromMemory(random.Floats(B * keyLength * Nkv * H), [B, keyLength, Nkv * H]),
                ["v"] = OrtValue.CreateTensorValueFromMemory(random.Floats(B * valueLength * valueWidth), [B, valueLength, valueWidth]),
                ["rows"] = OrtValue.CreateTensorValueFromMemory(rows, [2, MaxBlocks + 1]),
                ["cols"] = OrtValue.CreateTensorValueFromMemory(cols, [2, nnz]),
            };
            using var run = new RunOptions();
            using var results = session.Run(run, feeds, ["out"]);
        });
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Float16_is_widened_and_matches_float32_within_half_precision()
    {
        var (rows, cols, nnz) = Layouts();
        var random = new Inputs(11);
        const int S = 45;
        float[] q = random.Floats(B * S * Nq * H), k = random.Floats(B * S * Nkv * H), v = random.Floats(B * S * Nkv * H);
        float[] Round(float[] x) => x.Select(f => (float)(Half)f).ToArray();
        (q, k, v) = (Round(q), Round(k), Round(v));
        float[] RunAs(DataType type)
        {
            using var options = new SessionOptions();
            options.RegisterSparseNative();
            using var session = new InferenceSession(Models.Bytes(Model(true, false, false, type)), options);
            OrtValue T(float[] x, long[] shape) => type == DataType.Float
                ? OrtValue.CreateTensorValueFromMemory(x, shape)
                : OrtValue.CreateTensorValueFromMemory(x.Select(f => new Float16(BitConverter.HalfToUInt16Bits((Half)f))).ToArray(), shape);
            var feeds = new Dictionary<string, OrtValue>
            {
                ["q"] = T(q, [B, S, Nq * H]), ["k"] = T(k, [B, S, Nkv * H]), ["v"] = T(v, [B, S, Nkv * H]),
                ["rows"] = OrtValue.CreateTensorValueFromMemory(rows, [2, MaxBlocks + 1]),
                ["cols"] = OrtValue.CreateTensorValueFromMemory(cols, [2, nnz]),
            };
            using var run = new RunOptions();
            using var results = session.Run(run, feeds, ["out"]);
            foreach (var f in feeds.Values) f.Dispose();
            return type == DataType.Float
                ? results[0].GetTensorDataAsSpan<float>().ToArray()
                : results[0].GetTensorDataAsSpan<Float16>().ToArray().Select(h => (float)BitConverter.UInt16BitsToHalf(h.value)).ToArray();
        }
        float[] full = RunAs(DataType.Float), half = RunAs(DataType.Float16);
        for (int i = 0; i < full.Length; ++i)
            Assert.True(Math.Abs(full[i] - half[i]) <= 1e-3, $"out[{i}]: float32 {full[i]}, float16 {half[i]}");
    }
}
