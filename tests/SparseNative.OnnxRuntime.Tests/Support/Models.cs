using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace SparseNative.OnnxRuntime.Tests.Support;

/// <summary>ONNX graphs built in code (OnnxSharp's schema classes).</summary>
internal static class Models
{
    public static ValueInfoProto Value(string name, DataType type) =>
        new() { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type } } };

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>A model of one node whose named inputs and outputs are graph inputs and outputs ("" = absent).</summary>
    public static ModelProto Single(NodeProto node, IEnumerable<ValueInfoProto> inputs, IEnumerable<ValueInfoProto> outputs, params string[] domains)
    {
        var graph = new GraphProto { Name = "g" };
        graph.Node.Add(node);
        graph.Input.AddRange(inputs);
        graph.Output.AddRange(outputs);
        var model = new ModelProto { IrVersion = 8, ProducerName = "SparseNative.OnnxRuntime.Tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        foreach (string d in domains) model.OpsetImport.Add(new OperatorSetIdProto { Domain = d, Version = 1 });
        return model;
    }

    public static byte[] Bytes(ModelProto model) => model.ToByteArray();
}

/// <summary>Deterministic random inputs in [-1, 1) (never zeros).</summary>
internal sealed class Inputs(int seed)
{
    private readonly Random _random = new(seed);

    public float[] Floats(long count)
    {
        var a = new float[count];
        for (long i = 0; i < count; ++i) a[i] = (float)(_random.NextDouble() * 2 - 1);
        return a;
    }
}

/// <summary>Phi-3-small's block layout (ORT's test get_block_mask): per layout h, query block q attends key block k
/// when k &lt;= q and (q - k &lt; local or (k + h·max(1, stride / numLayout) + 1) % stride == 0), as the padded CSR
/// com.microsoft.SparseAttention takes (num_layout, max_blocks + 1) and (num_layout, max_nnz), padded with -1.</summary>
internal static class Phi3Layout
{
    public static (int[] Rows, int[] Cols, int MaxNnz) Build(int numLayout, int maxBlocks, int local, int stride)
    {
        var lists = new List<List<int>>();
        var rows = new int[numLayout * (maxBlocks + 1)];
        for (int h = 0; h < numLayout; ++h)
        {
            var cols = new List<int>();
            for (int q = 0; q < maxBlocks; ++q)
            {
                for (int k = 0; k <= q; ++k)
                    if (q - k < local || (k + h * Math.Max(1, stride / numLayout) + 1) % stride == 0) cols.Add(k);
                rows[h * (maxBlocks + 1) + q + 1] = cols.Count;
            }
            lists.Add(cols);
        }
        int maxNnz = lists.Max(l => l.Count);
        var padded = new int[numLayout * maxNnz];
        Array.Fill(padded, -1);
        for (int h = 0; h < numLayout; ++h) lists[h].CopyTo(padded, h * maxNnz);
        return (rows, padded, maxNnz);
    }
}
