using Onnx;

namespace SparseNative.Onnx;

/// <summary>What a rewrite did: the nodes it changed and those it left alone, each with the reason.</summary>
public sealed class RewriteReport
{
    /// <summary>"node name: what was done".</summary>
    public List<string> Changed { get; } = [];

    /// <summary>"node name: why it was left alone".</summary>
    public List<string> Refused { get; } = [];

    /// <summary>One line per entry, changed first.</summary>
    public override string ToString() =>
        string.Join('\n', Changed.Select(c => $"changed  {c}").Concat(Refused.Select(r => $"refused  {r}")));
}

/// <summary>Moves com.microsoft.SparseAttention nodes to ai.sparsenative.SparseAttention, which has the same inputs,
/// attributes and outputs.</summary>
public static class OnnxRetarget
{
    /// <summary>The domain of SparseNative's ONNX Runtime operators.</summary>
    public const string Domain = "ai.sparsenative";

    /// <summary>Rewrites <paramref name="model"/> in place (subgraphs included) and adds the ai.sparsenative opset import.</summary>
    public static RewriteReport Retarget(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Graph is null) throw new ArgumentException("the model has no graph", nameof(model));
        var report = new RewriteReport();
        Visit(model.Graph, report);
        if (report.Changed.Count > 0) EnsureOpset(model);
        return report;
    }

    private static void Visit(GraphProto graph, RewriteReport report)
    {
        foreach (NodeProto node in graph.Node)
        {
            if (node.OpType == "SparseAttention" && node.Domain == "com.microsoft")
            {
                node.Domain = Domain;
                report.Changed.Add($"{Name(node)}: com.microsoft.SparseAttention -> {Domain}.SparseAttention");
            }
            foreach (AttributeProto a in node.Attribute)
            {
                if (a.G != null) Visit(a.G, report);
                foreach (GraphProto g in a.Graphs) Visit(g, report);
            }
        }
    }

    internal static string Name(NodeProto node) => string.IsNullOrEmpty(node.Name) ? $"({node.OpType} -> {string.Join(",", node.Output)})" : node.Name;

    /// <summary>Adds the opset import of <see cref="Domain"/> (version 1) when missing.</summary>
    public static void EnsureOpset(ModelProto model)
    {
        if (model.OpsetImport.All(o => o.Domain != Domain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = Domain, Version = 1 });
    }
}
