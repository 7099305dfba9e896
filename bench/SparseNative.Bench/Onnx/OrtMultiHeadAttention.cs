using Microsoft.ML.OnnxRuntime;

namespace SparseNative.Bench.Onnx;

/// <summary>
/// ONNX Runtime's <c>com.microsoft.MultiHeadAttention</c> on the CPU, as a one-node model built in code, with its input and
/// output tensors pinned over our arrays (Q, K, V, O as <c>[B, S, H·d]</c>) so each <see cref="Run"/> copies nothing.
/// </summary>
/// <remarks>
/// Causal attention uses the operator's <c>unidirectional = 1</c> attribute. With <paramref name="causalViaBias"/> the
/// causal rule is encoded instead as an additive <c>attention_bias [1, 1, S, S]</c> of 0 / −∞ (for runtimes that ignore
/// <c>unidirectional</c>); the caller picks whichever matches a float64 check.
/// </remarks>
internal sealed class OrtMultiHeadAttention : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly List<OrtValue> _inputs = [];
    private readonly string[] _inputNames;
    private readonly OrtValue _output;

    public OrtMultiHeadAttention(int batch, int heads, int length, int headDim, bool causal, int threads,
        float[] queryBshd, float[] keyBshd, float[] valueBshd, float[] outputBshd, bool causalViaBias = false)
    {
        long[] shape = [batch, length, (long)heads * headDim];
        var inputs = new List<OnnxValue>
        {
            new("query", OnnxType.Float, shape), new("key", OnnxType.Float, shape), new("value", OnnxType.Float, shape),
        };
        var nodeInputs = new List<string> { "query", "key", "value" };
        var attributes = new List<OnnxAttribute> { OnnxAttribute.Of("num_heads", heads) };
        _inputs.Add(OrtValue.CreateTensorValueFromMemory(queryBshd, shape));
        _inputs.Add(OrtValue.CreateTensorValueFromMemory(keyBshd, shape));
        _inputs.Add(OrtValue.CreateTensorValueFromMemory(valueBshd, shape));
        if (causal && causalViaBias)
        {
            long[] biasShape = [1, 1, length, length];
            var bias = new float[(long)length * length];
            for (int i = 0; i < length; i++)
                for (int j = i + 1; j < length; j++) bias[(long)i * length + j] = float.NegativeInfinity;
            inputs.Add(new OnnxValue("attention_bias", OnnxType.Float, biasShape));
            nodeInputs.AddRange(["", "", "attention_bias"]); // bias and key_padding_mask omitted
            _inputs.Add(OrtValue.CreateTensorValueFromMemory(bias, biasShape));
        }
        else if (causal) attributes.Add(OnnxAttribute.Of("unidirectional", 1));

        CausalMethod = !causal ? "none" : causalViaBias ? "attention_bias (0 / −∞)" : "unidirectional=1";
        byte[] model = OnnxModelBuilder.SingleNode("MultiHeadAttention", "com.microsoft", nodeInputs, inputs,
            [new OnnxValue("output", OnnxType.Float, shape)], attributes);
        using var options = OrtSessions.Options(threads);
        _session = new InferenceSession(model, options);
        _inputNames = inputs.Select(i => i.Name).ToArray();
        _output = OrtValue.CreateTensorValueFromMemory(outputBshd, shape);
    }

    /// <summary>How causality was expressed to ONNX Runtime.</summary>
    public string CausalMethod { get; }

    /// <summary>One inference, written into the output array given to the constructor.</summary>
    public void Run() => _session.Run(_runOptions, _inputNames, _inputs, ["output"], [_output]);

    public void Dispose()
    {
        foreach (var v in _inputs) v.Dispose();
        _output.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }
}
