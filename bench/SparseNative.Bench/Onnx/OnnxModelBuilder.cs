
namespace SparseNative.Bench.Onnx;

/// <summary>ONNX tensor element types used here (TensorProto.DataType).</summary>
internal enum OnnxType
{
    Float = 1,
    Int32 = 6,
    Int64 = 7,
}

/// <summary>One graph input or output: a name, an element type and a fixed shape.</summary>
internal sealed record OnnxValue(string Name, OnnxType Type, long[] Shape);

/// <summary>One node attribute; exactly one of <see cref="Int"/>, <see cref="Float"/> is set.</summary>
internal sealed record OnnxAttribute(string Name, long? Int = null, float? Float = null)
{
    public static OnnxAttribute Of(string name, long value) => new(name, Int: value);
    public static OnnxAttribute Of(string name, float value) => new(name, Float: value);
}

/// <summary>
/// Writes a serialized ONNX ModelProto holding a single node, with field numbers from onnx/onnx.proto. An empty string in
/// the node's inputs marks an omitted optional input, as in ONNX.
/// </summary>
internal static class OnnxModelBuilder
{
    // ModelProto
    private const int ModelIrVersion = 1, ModelProducerName = 2, ModelGraph = 7, ModelOpsetImport = 8;
    // OperatorSetIdProto
    private const int OpsetDomain = 1, OpsetVersion = 2;
    // GraphProto
    private const int GraphNode = 1, GraphName = 2, GraphInput = 11, GraphOutput = 12;
    // NodeProto
    private const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5, NodeDomain = 7;
    // AttributeProto and its AttributeType values
    private const int AttrName = 1, AttrF = 2, AttrI = 3, AttrType = 20, AttrTypeFloat = 1, AttrTypeInt = 2;
    // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, TensorShapeProto.Dimension
    private const int ValueName = 1, ValueType = 2, TypeTensor = 1, TensorElemType = 1, TensorShape = 2, ShapeDim = 1, DimValue = 1;

    /// <summary>IR version 8 (ONNX 1.10+): understood by every ONNX Runtime of the last years.</summary>
    private const long IrVersion = 8;

    /// <summary>The model bytes, ready for <c>new InferenceSession(bytes)</c>.</summary>
    public static byte[] SingleNode(string opType, string domain, IReadOnlyList<string> nodeInputs,
        IReadOnlyList<OnnxValue> graphInputs, IReadOnlyList<OnnxValue> graphOutputs, IReadOnlyList<OnnxAttribute> attributes)
    {
        var model = new ProtoWriter()
            .Int(ModelIrVersion, IrVersion)
            .String(ModelProducerName, "SparseNative.Bench")
            .Message(ModelOpsetImport, o => o.String(OpsetDomain, "").Int(OpsetVersion, 17))
            .Message(ModelOpsetImport, o => o.String(OpsetDomain, "com.microsoft").Int(OpsetVersion, 1))
            .Message(ModelGraph, g =>
            {
                g.Message(GraphNode, n =>
                {
                    foreach (var input in nodeInputs) n.String(NodeInput, input);
                    foreach (var output in graphOutputs) n.String(NodeOutput, output.Name);
                    n.String(NodeName, opType + "_0").String(NodeOpType, opType).String(NodeDomain, domain);
                    foreach (var a in attributes) n.Message(NodeAttribute, w => WriteAttribute(w, a));
                });
                g.String(GraphName, opType + "_graph");
                foreach (var v in graphInputs) g.Message(GraphInput, w => WriteValueInfo(w, v));
                foreach (var v in graphOutputs) g.Message(GraphOutput, w => WriteValueInfo(w, v));
            });
        return model.ToArray();
    }

    private static void WriteAttribute(ProtoWriter w, OnnxAttribute a)
    {
        w.String(AttrName, a.Name);
        if (a.Int is { } i) w.Int(AttrI, i).Int(AttrType, AttrTypeInt);
        else if (a.Float is { } f) w.Float(AttrF, f).Int(AttrType, AttrTypeFloat);
        else throw new ArgumentException($"Attribute '{a.Name}' has no value.", nameof(a));
    }

    private static void WriteValueInfo(ProtoWriter w, OnnxValue v)
    {
        w.String(ValueName, v.Name);
        w.Message(ValueType, t => t.Message(TypeTensor, tt =>
        {
            tt.Int(TensorElemType, (int)v.Type);
            tt.Message(TensorShape, s =>
            {
                foreach (long d in v.Shape) s.Message(ShapeDim, dim => dim.Int(DimValue, d));
            });
        }));
    }
}
