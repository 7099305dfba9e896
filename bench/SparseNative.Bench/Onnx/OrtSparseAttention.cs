using Microsoft.ML.OnnxRuntime;

namespace SparseNative.Bench.Onnx;

/// <summary>
/// ONNX Runtime's <c>com.microsoft.SparseAttention</c> (Phi-3-small's operator, always causal) on the CPU, for a prompt of
/// <c>length</c> tokens with an empty past. The operator requires <c>past_key</c>/<c>past_value</c> to be the very buffers
/// of <c>present_key</c>/<c>present_value</c>, so the run goes through an <see cref="OrtIoBinding"/> that binds one OrtValue
/// to both names.
/// </summary>
internal sealed class OrtSparseAttention : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly List<OrtValue> _values = [];

    /// <param name="rowIndices"><c>block_row_indices</c>, <c>[layouts, blocks + 1]</c>.</param>
    /// <param name="colIndices"><c>block_col_indices</c>, <c>[layouts, maxNnz]</c>, padded with −1.</param>
    public OrtSparseAttention(int batch, int heads, int kvHeads, int length, int headDim, int blockSize, int threads,
        int[] rowIndices, int[] colIndices, int layouts, int maxNnz,
        float[] queryBshd, float[] keyBshd, float[] valueBshd, float[] outputBshd)
    {
        int blocks = (length + blockSize - 1) / blockSize;
        long[] qShape = [batch, length, (long)heads * headDim], kvShape = [batch, length, (long)kvHeads * headDim];
        long[] cacheShape = [batch, kvHeads, length, headDim]; // max cache length = the prompt
        long[] rowShape = [layouts, blocks + 1], colShape = [layouts, maxNnz], scalar = [1], perBatch = [batch];
        var graphInputs = new OnnxValue[]
        {
            new("query", OnnxType.Float, qShape), new("key", OnnxType.Float, kvShape), new("value", OnnxType.Float, kvShape),
            new("past_key", OnnxType.Float, cacheShape), new("past_value", OnnxType.Float, cacheShape),
            new("block_row_indices", OnnxType.Int32, rowShape), new("block_col_indices", OnnxType.Int32, colShape),
            new("total_sequence_length", OnnxType.Int32, scalar), new("key_total_sequence_lengths", OnnxType.Int32, perBatch),
        };
        var graphOutputs = new OnnxValue[]
        {
            new("output", OnnxType.Float, qShape), new("present_key", OnnxType.Float, cacheShape),
            new("present_value", OnnxType.Float, cacheShape),
        };
        byte[] model = OnnxModelBuilder.SingleNode("SparseAttention", "com.microsoft", graphInputs.Select(v => v.Name).ToList(),
            graphInputs, graphOutputs,
            [OnnxAttribute.Of("num_heads", heads), OnnxAttribute.Of("kv_num_heads", kvHeads), OnnxAttribute.Of("sparse_block_size", blockSize)]);
        using var options = OrtSessions.Options(threads);
        _session = new InferenceSession(model, options);

        var keyCache = Track(OrtValue.CreateTensorValueFromMemory(new float[batch * kvHeads * length * (long)headDim], cacheShape));
        var valueCache = Track(OrtValue.CreateTensorValueFromMemory(new float[batch * kvHeads * length * (long)headDim], cacheShape));
        var totalLengths = new int[batch];
        Array.Fill(totalLengths, length);
        _binding = _session.CreateIoBinding();
        _binding.BindInput("query", Track(OrtValue.CreateTensorValueFromMemory(queryBshd, qShape)));
        _binding.BindInput("key", Track(OrtValue.CreateTensorValueFromMemory(keyBshd, kvShape)));
        _binding.BindInput("value", Track(OrtValue.CreateTensorValueFromMemory(valueBshd, kvShape)));
        _binding.BindInput("past_key", keyCache);
        _binding.BindInput("past_value", valueCache);
        _binding.BindInput("block_row_indices", Track(OrtValue.CreateTensorValueFromMemory(rowIndices, rowShape)));
        _binding.BindInput("block_col_indices", Track(OrtValue.CreateTensorValueFromMemory(colIndices, colShape)));
        _binding.BindInput("total_sequence_length", Track(OrtValue.CreateTensorValueFromMemory(new[] { length }, scalar)));
        _binding.BindInput("key_total_sequence_lengths", Track(OrtValue.CreateTensorValueFromMemory(totalLengths, perBatch)));
        _binding.BindOutput("output", Track(OrtValue.CreateTensorValueFromMemory(outputBshd, qShape)));
        _binding.BindOutput("present_key", keyCache);     // same OrtValue as past_key: the operator insists
        _binding.BindOutput("present_value", valueCache); // same OrtValue as past_value
    }

    private OrtValue Track(OrtValue v)
    {
        _values.Add(v);
        return v;
    }

    /// <summary>One inference, written into the output array given to the constructor.</summary>
    public void Run() => _session.RunWithBinding(_runOptions, _binding);

    public void Dispose()
    {
        _binding.Dispose();
        foreach (var v in _values) v.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }
}
