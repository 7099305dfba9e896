using Microsoft.ML.OnnxRuntime;
using Onnx;
using SparseNative.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace SparseNative.OnnxRuntime.Tests.Support;

/// <summary>One com.microsoft.SparseAttention configuration and a session running it, with its own KV cache bound as
/// both past_* and present_* (the shared buffers ORT's kernel requires).</summary>
internal sealed class SparseAttentionCase : IDisposable
{
    public required int Batch { get; init; }
    public required int Heads { get; init; }
    public required int KvHeads { get; init; }
    public required int HeadSize { get; init; }
    public required int BlockSize { get; init; }
    public required int MaxBlocks { get; init; }
    public int NumLayout { get; init; } = 1;
    public int Local { get; init; } = 3;
    public int Stride { get; init; } = 4;
    public bool Packed { get; init; }
    public bool Rotary { get; init; }
    public bool Interleaved { get; init; }
    public int RotaryHalf { get; init; } // cos_cache dimension 1 (0: HeadSize / 2)
    public float Scale { get; init; }
    /// <summary>float16 tensors (query, key, value, caches, cos/sin, output) instead of float32.</summary>
    public bool Half { get; init; }

    public int MaxSequence => MaxBlocks * BlockSize;

    private DataType T => Half ? DataType.Float16 : DataType.Float;

    private InferenceSession? _session;
    private float[] _kcache = [], _vcache = [];
    private Float16[] _kcache16 = [], _vcache16 = [];
    private OrtValue? _kv, _vv;

    /// <summary>The node as ORT ships it (domain com.microsoft).</summary>
    public ModelProto Model()
    {
        var node = new NodeProto { Name = "sparse_attention", OpType = "SparseAttention", Domain = "com.microsoft" };
        string[] inputs = ["query", Packed ? "" : "key", Packed ? "" : "value", "past_key", "past_value", "block_row_indices",
                           "block_col_indices", "total_sequence_length", "key_total_sequence_lengths"];
        node.Input.AddRange(inputs);
        if (Rotary) node.Input.AddRange(["cos_cache", "sin_cache"]);
        node.Output.AddRange(["output", "present_key", "present_value"]);
        node.Attribute.Add(Models.Int("num_heads", Heads));
        node.Attribute.Add(Models.Int("kv_num_heads", KvHeads));
        node.Attribute.Add(Models.Int("sparse_block_size", BlockSize));
        if (Scale != 0) node.Attribute.Add(Models.Float("scale", Scale));
        if (Rotary)
        {
            node.Attribute.Add(Models.Int("do_rotary", 1));
            node.Attribute.Add(Models.Int("rotary_interleaved", Interleaved ? 1 : 0));
        }
        var values = new List<ValueInfoProto>();
        foreach (string name in node.Input.Where(n => n.Length > 0))
            values.Add(Models.Value(name, name.StartsWith("block_") || name.Contains("sequence_length") ? DataType.Int32 : T));
        var outputs = node.Output.Select(n => Models.Value(n, T));
        return Models.Single(node, values, outputs, "com.microsoft");
    }

    /// <summary>Opens a session on ORT's kernel (retarget false) or ours (the node moved to ai.sparsenative).</summary>
    public SparseAttentionCase Open(bool retarget, ModelProto? model = null)
    {
        model ??= Model();
        var options = new SessionOptions { IntraOpNumThreads = 2 };
        if (retarget)
        {
            OnnxRetarget.Retarget(model);
            options.RegisterSparseNative();
        }
        _session = new InferenceSession(Models.Bytes(model), options);
        long cache = (long)Batch * KvHeads * MaxSequence * HeadSize;
        long[] shape = [Batch, KvHeads, MaxSequence, HeadSize];
        if (Half)
        {
            _kcache16 = new Float16[cache];
            _vcache16 = new Float16[cache];
            _kv = OrtValue.CreateTensorValueFromMemory(_kcache16, shape);
            _vv = OrtValue.CreateTensorValueFromMemory(_vcache16, shape);
        }
        else
        {
            _kcache = new float[cache];
            _vcache = new float[cache];
            _kv = OrtValue.CreateTensorValueFromMemory(_kcache, shape);
            _vv = OrtValue.CreateTensorValueFromMemory(_vcache, shape);
        }
        return this;
    }

    public float[] KeyCache => Half ? Widen(_kcache16) : _kcache;
    public float[] ValueCache => Half ? Widen(_vcache16) : _vcache;

    private static float[] Widen(Float16[] x) => x.Select(h => (float)BitConverter.UInt16BitsToHalf(h.value)).ToArray();

    // A tensor of this case's element type holding `data` (rounded to float16 when Half).
    private OrtValue Tensor(float[] data, long[] shape) => Half
        ? OrtValue.CreateTensorValueFromMemory(data.Select(f => new Float16(BitConverter.HalfToUInt16Bits((System.Half)f))).ToArray(), shape)
        : OrtValue.CreateTensorValueFromMemory(data, shape);

    /// <summary>The inputs of one step: `length` new tokens after `past` cached ones in every batch entry.</summary>
    public sealed record Step(float[] Query, float[]? Key, float[]? Value, int Past, int Length);

    public Step MakeStep(Inputs random, int past, int length)
    {
        int q = Packed ? (Heads + 2 * KvHeads) * HeadSize : Heads * HeadSize;
        return new Step(random.Floats((long)Batch * length * q),
            Packed ? null : random.Floats((long)Batch * length * KvHeads * HeadSize),
            Packed ? null : random.Floats((long)Batch * length * KvHeads * HeadSize), past, length);
    }

    /// <summary>Runs one step; returns the output (B, S, Nq·H). The caches are updated in place.</summary>
    public float[] Run(Step step, int[] rows, int[] cols, int maxNnz, int[]? keyLengths = null)
    {
        var session = _session ?? throw new InvalidOperationException("Open first");
        int hidden = Packed ? (Heads + 2 * KvHeads) * HeadSize : Heads * HeadSize;
        var output = new float[(long)Batch * step.Length * Heads * HeadSize];
        var values = new List<OrtValue>();
        OrtValue Track(OrtValue v) { values.Add(v); return v; }
        using var binding = session.CreateIoBinding();
        binding.BindInput("query", Track(Tensor(step.Query, [Batch, step.Length, hidden])));
        if (!Packed)
        {
            binding.BindInput("key", Track(Tensor(step.Key!, [Batch, step.Length, KvHeads * HeadSize])));
            binding.BindInput("value", Track(Tensor(step.Value!, [Batch, step.Length, KvHeads * HeadSize])));
        }
        binding.BindInput("past_key", _kv!);
        binding.BindInput("past_value", _vv!);
        binding.BindInput("block_row_indices", Track(OrtValue.CreateTensorValueFromMemory(rows, [rows.Length / (MaxBlocks + 1), MaxBlocks + 1])));
        binding.BindInput("block_col_indices", Track(OrtValue.CreateTensorValueFromMemory(cols, [rows.Length / (MaxBlocks + 1), maxNnz])));
        int total = step.Past + step.Length;
        binding.BindInput("total_sequence_length", Track(OrtValue.CreateTensorValueFromMemory(new[] { total }, [1])));
        keyLengths ??= Enumerable.Repeat(total, Batch).ToArray();
        binding.BindInput("key_total_sequence_lengths", Track(OrtValue.CreateTensorValueFromMemory(keyLengths, [Batch])));
        if (Rotary)
        {
            int half = RotaryHalf > 0 ? RotaryHalf : HeadSize / 2;
            var (cos, sin) = RotaryCaches(MaxSequence, half);
            binding.BindInput("cos_cache", Track(Tensor(cos, [MaxSequence, half])));
            binding.BindInput("sin_cache", Track(Tensor(sin, [MaxSequence, half])));
        }
        var output16 = Half ? new Float16[output.Length] : [];
        binding.BindOutput("output", Track(Half
            ? OrtValue.CreateTensorValueFromMemory(output16, [Batch, step.Length, Heads * HeadSize])
            : OrtValue.CreateTensorValueFromMemory(output, [Batch, step.Length, Heads * HeadSize])));
        binding.BindOutput("present_key", _kv!);
        binding.BindOutput("present_value", _vv!);
        using var run = new RunOptions();
        try
        {
            session.RunWithBinding(run, binding);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
        return Half ? Widen(output16) : output;
    }

    /// <summary>cos/sin of position·θᵢ, θᵢ = 10000^(−i/half), as Phi-3's rotary caches.</summary>
    public static (float[] Cos, float[] Sin) RotaryCaches(int positions, int half)
    {
        var cos = new float[positions * half];
        var sin = new float[positions * half];
        for (int p = 0; p < positions; ++p)
            for (int i = 0; i < half; ++i)
            {
                double angle = p * Math.Pow(10000, -(double)i / half);
                cos[p * half + i] = (float)Math.Cos(angle);
                sin[p * half + i] = (float)Math.Sin(angle);
            }
        return (cos, sin);
    }

    public void Dispose()
    {
        _kv?.Dispose();
        _vv?.Dispose();
        _session?.Dispose();
    }
}
