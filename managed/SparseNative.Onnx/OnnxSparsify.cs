using Google.Protobuf;
using Onnx;

namespace SparseNative.Onnx;

/// <summary>The block layout a sparsified model uses: padded CSR over the largest grid the model will see, as
/// ai.sparsenative.BlockSparseAttention takes it (a shorter input uses the top-left part).</summary>
/// <param name="BlockSize">16, 32, 64 or 128.</param>
/// <param name="QueryBlocks">Rows of the grid (max length / block size, rounded up).</param>
/// <param name="LayoutCount">Distinct layouts; head h uses layout h % LayoutCount.</param>
/// <param name="RowOffsets">LayoutCount · (QueryBlocks + 1) offsets, each layout's from 0.</param>
/// <param name="ColumnIndices">Per layout its key blocks in row order (concatenated).</param>
public sealed record SparsifyLayout(int BlockSize, int QueryBlocks, int LayoutCount, int[] RowOffsets, int[] ColumnIndices)
{
    /// <summary>The two tensors: (LayoutCount, QueryBlocks + 1) offsets and (LayoutCount, max nnz) columns padded with −1.</summary>
    public (int[] Rows, int[] Cols, int MaxNnz) Padded()
    {
        int stride = QueryBlocks + 1, maxNnz = 0;
        for (int l = 0; l < LayoutCount; ++l) maxNnz = Math.Max(maxNnz, RowOffsets[l * stride + QueryBlocks]);
        var cols = new int[LayoutCount * Math.Max(maxNnz, 1)];
        Array.Fill(cols, -1);
        int from = 0;
        for (int l = 0; l < LayoutCount; ++l)
        {
            int n = RowOffsets[l * stride + QueryBlocks];
            Array.Copy(ColumnIndices, from, cols, l * Math.Max(maxNnz, 1), n);
            from += n;
        }
        return (RowOffsets.ToArray(), cols, Math.Max(maxNnz, 1));
    }
}

/// <summary>
/// Replaces attention in a model with ai.sparsenative.BlockSparseAttention on a given layout: the decomposed form
/// exporters write (Reshape/Transpose of Q, K, V → MatMul → Div or Mul by a constant → Add(padding mask) → Softmax →
/// MatMul → Transpose → Reshape) and com.microsoft.MultiHeadAttention with separate Q, K, V (and optionally a 2-D key
/// padding mask). The padding mask keeps its meaning: a key whose mask is 0 is never attended. A subgraph that does not
/// match completely is left alone and reported with the reason; nothing is guessed.
/// </summary>
public static class OnnxSparsify
{
    /// <summary>Rewrites <paramref name="model"/> in place; the layout must cover the longest sequence the model will run.</summary>
    public static RewriteReport Sparsify(ModelProto model, SparsifyLayout layout)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layout);
        GraphProto graph = model.Graph ?? throw new ArgumentException("the model has no graph", nameof(model));
        var report = new RewriteReport();
        var g = new GraphIndex(graph);
        var (rows, cols, maxNnz) = layout.Padded();
        string rowsName = Unique(g, "sparsenative_block_row_offsets"), colsName = Unique(g, "sparsenative_block_col_indices");
        int replaced = 0;

        foreach (NodeProto softmax in graph.Node.Where(n => n.OpType == "Softmax" && n.Domain.Length == 0).ToList())
        {
            string? why = MatchDecomposed(g, softmax, out var match);
            if (why != null) { report.Refused.Add($"{OnnxRetarget.Name(softmax)}: {why}"); continue; }
            if (match!.Heads % layout.LayoutCount != 0)
            {
                report.Refused.Add($"{OnnxRetarget.Name(softmax)}: {match.Heads} heads do not divide by the layout's {layout.LayoutCount} layouts");
                continue;
            }
            var node = Node(match.Name, match.Query, match.Key, match.Value, rowsName, colsName, match.Mask, match.Output,
                            match.Heads, layout.BlockSize, match.Scale);
            graph.Node.Insert(graph.Node.IndexOf(match.Last), node);
            foreach (NodeProto n in match.Replaced) graph.Node.Remove(n);
            report.Changed.Add($"{match.Name}: decomposed attention ({match.Heads} heads, scale {match.Scale:g6}{(match.Mask.Length > 0 ? $", padding mask '{match.Mask}'" : "")}) -> {OnnxRetarget.Domain}.BlockSparseAttention");
            replaced++;
            g = new GraphIndex(graph);
        }

        foreach (NodeProto n in graph.Node.Where(n => n.Domain == "com.microsoft").ToList())
        {
            switch (n.OpType)
            {
                case "MultiHeadAttention":
                    string? why = MatchMultiHead(n, out long heads, out float scale, out string mask);
                    if (why != null) { report.Refused.Add($"{OnnxRetarget.Name(n)}: {why}"); break; }
                    if (heads % layout.LayoutCount != 0) { report.Refused.Add($"{OnnxRetarget.Name(n)}: {heads} heads do not divide by the layout's {layout.LayoutCount} layouts"); break; }
                    var node = Node(n.Name, n.Input[0], n.Input[1], n.Input[2], rowsName, colsName, mask, n.Output[0], heads, layout.BlockSize, scale);
                    graph.Node.Insert(graph.Node.IndexOf(n), node);
                    graph.Node.Remove(n);
                    report.Changed.Add($"{OnnxRetarget.Name(n)}: com.microsoft.MultiHeadAttention ({heads} heads) -> {OnnxRetarget.Domain}.BlockSparseAttention");
                    replaced++;
                    break;
                case "Attention":
                    report.Refused.Add($"{OnnxRetarget.Name(n)}: com.microsoft.Attention packs the Q, K, V projection into the node (weights and bias inputs); not rewritten");
                    break;
                case "GroupQueryAttention":
                    report.Refused.Add($"{OnnxRetarget.Name(n)}: com.microsoft.GroupQueryAttention (KV cache with seqlens_k, rotary, local window) is not rewritten; use SparseAttention models and `onnx retarget`");
                    break;
            }
        }

        if (replaced > 0)
        {
            graph.Initializer.Add(Int32Tensor(rowsName, rows, [layout.LayoutCount, layout.QueryBlocks + 1]));
            graph.Initializer.Add(Int32Tensor(colsName, cols, [layout.LayoutCount, maxNnz]));
            RemoveDeadNodes(graph);
            OnnxRetarget.EnsureOpset(model);
        }
        return report;
    }

    private sealed record Decomposed(string Name, string Query, string Key, string Value, string Mask, string Output, long Heads,
                                     float Scale, NodeProto Last, List<NodeProto> Replaced);

    private static string? MatchDecomposed(GraphIndex g, NodeProto softmax, out Decomposed? match)
    {
        match = null;
        var replaced = new List<NodeProto> { softmax };
        long axis = Attr(softmax, "axis") ?? -1;
        if (axis != -1 && axis != 3) return $"Softmax over axis {axis}, not the last";
        NodeProto? scoresNode = g.Producer(softmax.Input[0]);
        string mask = "";
        if (scoresNode is { OpType: "Add" })
        {
            replaced.Add(scoresNode);
            NodeProto? a = g.Producer(scoresNode.Input[0]), b = g.Producer(scoresNode.Input[1]);
            bool aScaled = a is { OpType: "Div" or "Mul" } && IsScaledScores(g, a);
            NodeProto? scaled = aScaled ? a : b;
            string maskValue = aScaled ? scoresNode.Input[1] : scoresNode.Input[0];
            if (scaled is null || !IsScaledScores(g, scaled)) return "the Softmax input is an Add, but neither side is scaled Q·Kᵀ";
            string? whyMask = PaddingMask(g, maskValue, out mask);
            if (whyMask != null) return $"the additive mask is not a padding mask ({whyMask})";
            scoresNode = scaled;
        }
        if (scoresNode is not { OpType: "Div" or "Mul" }) return "no Div or Mul by a constant before the Softmax";
        replaced.Add(scoresNode);
        float? c = g.Scalar(scoresNode.Input[1]);
        if (c is null || c == 0) return $"the scale operand '{scoresNode.Input[1]}' is not a non-zero constant scalar";
        float scale = scoresNode.OpType == "Div" ? 1 / c.Value : c.Value;
        NodeProto? qk = g.Producer(scoresNode.Input[0]);
        if (qk is not { OpType: "MatMul" }) return "the scaled scores are not a MatMul";
        replaced.Add(qk);
        string? why = HeadsInput(g, qk.Input[0], [0, 2, 1, 3], replaced, out string query, out long heads, out long headSize);
        if (why != null) return $"query: {why}";
        why = HeadsInput(g, qk.Input[1], [0, 2, 3, 1], replaced, out string key, out long kHeads, out long kSize);
        if (why != null) return $"key: {why}";
        var consumers = g.Consumers(softmax.Output[0]);
        if (consumers.Count != 1 || consumers[0].OpType != "MatMul" || consumers[0].Input[0] != softmax.Output[0])
            return "the probabilities feed something other than one MatMul with V";
        NodeProto pv = consumers[0];
        replaced.Add(pv);
        why = HeadsInput(g, pv.Input[1], [0, 2, 1, 3], replaced, out string value, out long vHeads, out long vSize);
        if (why != null) return $"value: {why}";
        if (kHeads != heads || vHeads != heads || kSize != headSize || vSize != headSize) return "Q, K and V differ in heads or head size";
        var after = g.Consumers(pv.Output[0]);
        if (after.Count != 1 || after[0].OpType != "Transpose" || !Perm(after[0]).SequenceEqual([0L, 2, 1, 3])) return "the context is not transposed back to (B, S, N, H)";
        replaced.Add(after[0]);
        // The transposed context feeds the Reshape back to (B, S, N·H) and, in dynamic-shape exports, Shape nodes that
        // compute only that Reshape's target shape (they go with it).
        var reshape = g.Consumers(after[0].Output[0]).Where(n => n.OpType == "Reshape" && n.Input[0] == after[0].Output[0]).ToList();
        if (reshape.Count != 1) return "the context is not reshaped to (B, S, N·H)";
        replaced.Add(reshape[0]);
        var shapeOnly = new HashSet<NodeProto>();
        foreach (NodeProto n in g.Consumers(after[0].Output[0]).Where(n => n != reshape[0]))
        {
            string? whyShape = ShapeComputation(g, n, reshape[0], shapeOnly);
            if (whyShape != null) return whyShape;
        }
        // Every intermediate must serve this attention only.
        foreach (NodeProto n in replaced)
            foreach (string o in n.Output)
                if (n != reshape[0] && (g.IsGraphOutput(o) || g.Consumers(o).Any(x => !replaced.Contains(x) && !shapeOnly.Contains(x))))
                    return $"intermediate '{o}' is used outside the attention";
        match = new Decomposed(string.IsNullOrEmpty(softmax.Name) ? $"attention_{reshape[0].Output[0]}" : $"{softmax.Name}_attention",
            query, key, value, mask, reshape[0].Output[0], heads, scale, reshape[0], replaced);
        return null;
    }

    private static readonly HashSet<string> ShapeOps = ["Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Mul", "Div", "Add", "Sub"];

    // Whether `start` and everything downstream of it only compute the target shape of `reshape` (collected in `set`).
    private static string? ShapeComputation(GraphIndex g, NodeProto start, NodeProto reshape, HashSet<NodeProto> set)
    {
        if (start.OpType != "Shape") return $"the transposed context also feeds {start.OpType} '{OnnxRetarget.Name(start)}'";
        var work = new Stack<NodeProto>([start]);
        while (work.Count > 0)
        {
            NodeProto n = work.Pop();
            if (!set.Add(n)) continue;
            if (!ShapeOps.Contains(n.OpType)) return $"the context's shape feeds {n.OpType} '{OnnxRetarget.Name(n)}'";
            foreach (string o in n.Output)
            {
                if (g.IsGraphOutput(o)) return $"the context's shape reaches the graph output '{o}'";
                foreach (NodeProto c in g.Consumers(o))
                {
                    if (c == reshape) { if (reshape.Input[1] != o) return "the context's shape feeds the Reshape's data"; continue; }
                    work.Push(c);
                }
            }
        }
        return null;
    }

    private static bool IsScaledScores(GraphIndex g, NodeProto n) =>
        g.Scalar(n.Input[1]) != null && g.Producer(n.Input[0]) is { OpType: "MatMul" };

    // X (B, S, N·H) → Reshape to (B, S, N, H) → Transpose(perm): the heads' view of X.
    private static string? HeadsInput(GraphIndex g, string name, long[] perm, List<NodeProto> replaced, out string input, out long heads, out long headSize)
    {
        input = "";
        heads = headSize = 0;
        NodeProto? t = g.Producer(name);
        if (t is not { OpType: "Transpose" } || !Perm(t).SequenceEqual(perm)) return $"not a Transpose with perm [{string.Join(",", perm)}]";
        NodeProto? r = g.Producer(t.Input[0]);
        if (r is not { OpType: "Reshape" }) return "the Transpose's input is not a Reshape";
        long[]? shape = g.ShapeTail(r.Input[1]);
        if (shape is null || shape.Length != 2 || shape[0] <= 0 || shape[1] <= 0) return "the Reshape's head count and head size are not constants";
        replaced.Add(t);
        replaced.Add(r);
        input = r.Input[0];
        heads = shape[0];
        headSize = shape[1];
        return null;
    }

    // mask = Mul(Sub(1, Cast(Unsqueeze(Unsqueeze(M)))), c) with c ≤ −1000: exp(c + score) underflows to 0, as a key
    // never attended. M is passed on as the key padding mask.
    private static string? PaddingMask(GraphIndex g, string name, out string mask)
    {
        mask = "";
        NodeProto? mul = g.Producer(name);
        if (mul is not { OpType: "Mul" }) return "not Mul(Sub(1, mask), c)";
        float? c = g.Scalar(mul.Input[1]);
        NodeProto? sub = g.Producer(mul.Input[0]);
        if (c is null) { c = g.Scalar(mul.Input[0]); sub = g.Producer(mul.Input[1]); }
        if (c is null || c > -1000) return $"the mask's fill value {c?.ToString("g6") ?? "(not a constant)"} is not a large negative constant";
        if (sub is not { OpType: "Sub" } || g.Scalar(sub.Input[0]) != 1f) return "not Sub(1, mask)";
        string x = sub.Input[1];
        for (NodeProto? n = g.Producer(x); n is { OpType: "Cast" or "Unsqueeze" }; n = g.Producer(x)) x = n.Input[0];
        if (!g.IsGraphInput(x)) return $"the mask does not come from a graph input ('{x}')";
        mask = x;
        return null;
    }

    private static string? MatchMultiHead(NodeProto n, out long heads, out float scale, out string mask)
    {
        heads = Attr(n, "num_heads") ?? 0;
        scale = AttrFloat(n, "scale") ?? 0;
        mask = "";
        string In(int i) => i < n.Input.Count ? n.Input[i] : "";
        if (heads <= 0) return "no num_heads";
        if (In(1).Length == 0 || In(2).Length == 0) return "packed QKV or packed KV inputs";
        if (In(3).Length > 0) return "a bias input";
        if (In(5).Length > 0 || In(6).Length > 0 || In(7).Length > 0) return "attention_bias or a KV cache";
        if (n.Output.Count > 1 && n.Output.Skip(1).Any(o => o.Length > 0)) return "present_key/present_value outputs";
        if ((Attr(n, "unidirectional") ?? 0) != 0) return "unidirectional";
        mask = In(4);
        return null;
    }

    private static NodeProto Node(string name, string q, string k, string v, string rows, string cols, string mask, string output,
                                  long heads, int blockSize, float scale)
    {
        var node = new NodeProto { Name = name, OpType = "BlockSparseAttention", Domain = OnnxRetarget.Domain };
        node.Input.AddRange([q, k, v, "", "", rows, cols]);
        if (mask.Length > 0) node.Input.Add(mask);
        node.Output.Add(output);
        node.Attribute.Add(new AttributeProto { Name = "num_heads", Type = AttributeProto.Types.AttributeType.Int, I = heads });
        node.Attribute.Add(new AttributeProto { Name = "block_size", Type = AttributeProto.Types.AttributeType.Int, I = blockSize });
        if (scale != 0) node.Attribute.Add(new AttributeProto { Name = "scale", Type = AttributeProto.Types.AttributeType.Float, F = scale });
        return node;
    }

    private static TensorProto Int32Tensor(string name, int[] values, long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int32 };
        t.Dims.AddRange(dims);
        t.Int32Data.AddRange(values);
        return t;
    }

    private static void RemoveDeadNodes(GraphProto graph)
    {
        while (true)
        {
            var used = new HashSet<string>(graph.Output.Select(o => o.Name));
            foreach (NodeProto n in graph.Node)
            {
                foreach (string i in n.Input) used.Add(i);
                foreach (AttributeProto a in n.Attribute)
                    if (a.G != null) foreach (NodeProto s in a.G.Node) foreach (string i in s.Input) used.Add(i);
            }
            var dead = graph.Node.Where(n => n.Output.All(o => !used.Contains(o))).ToList();
            if (dead.Count == 0) break;
            foreach (NodeProto n in dead) graph.Node.Remove(n);
        }
        var inputs = new HashSet<string>(graph.Node.SelectMany(n => n.Input));
        foreach (TensorProto t in graph.Initializer.Where(t => !inputs.Contains(t.Name) && graph.Output.All(o => o.Name != t.Name)).ToList())
            graph.Initializer.Remove(t);
    }

    private static string Unique(GraphIndex g, string name)
    {
        string candidate = name;
        for (int i = 1; g.Exists(candidate); ++i) candidate = $"{name}_{i}";
        return candidate;
    }

    private static long? Attr(NodeProto n, string name) => n.Attribute.FirstOrDefault(a => a.Name == name)?.I;
    private static float? AttrFloat(NodeProto n, string name) => n.Attribute.FirstOrDefault(a => a.Name == name)?.F;
    private static long[] Perm(NodeProto n) => n.Attribute.FirstOrDefault(a => a.Name == "perm")?.Ints.ToArray() ?? [];

    /// <summary>Producers, consumers and constant values of one graph.</summary>
    private sealed class GraphIndex
    {
        private readonly Dictionary<string, NodeProto> _producer = new();
        private readonly Dictionary<string, List<NodeProto>> _consumers = new();
        private readonly Dictionary<string, TensorProto> _initializers;
        private readonly HashSet<string> _inputs, _outputs;

        public GraphIndex(GraphProto graph)
        {
            foreach (NodeProto n in graph.Node)
            {
                foreach (string o in n.Output) _producer[o] = n;
                foreach (string i in n.Input)
                {
                    if (!_consumers.TryGetValue(i, out var list)) _consumers[i] = list = [];
                    list.Add(n);
                }
            }
            _initializers = graph.Initializer.GroupBy(t => t.Name).ToDictionary(x => x.Key, x => x.First());
            _inputs = graph.Input.Select(i => i.Name).Where(n => !_initializers.ContainsKey(n)).ToHashSet();
            _outputs = graph.Output.Select(o => o.Name).ToHashSet();
        }

        public NodeProto? Producer(string name) => _producer.GetValueOrDefault(name);
        public List<NodeProto> Consumers(string name) => _consumers.GetValueOrDefault(name) ?? [];
        public bool IsGraphInput(string name) => _inputs.Contains(name);
        public bool IsGraphOutput(string name) => _outputs.Contains(name);
        public bool Exists(string name) => _producer.ContainsKey(name) || _initializers.ContainsKey(name) || _inputs.Contains(name);

        private TensorProto? Constant(string name)
        {
            if (_initializers.TryGetValue(name, out var t)) return t;
            NodeProto? n = Producer(name);
            return n is { OpType: "Constant" } ? n.Attribute.FirstOrDefault(a => a.Name == "value")?.T : null;
        }

        /// <summary>A one-element float (or integer) constant, else null.</summary>
        public float? Scalar(string name)
        {
            double[]? v = Values(Constant(name));
            return v is { Length: 1 } ? (float)v[0] : null;
        }

        /// <summary>The last two entries of a Reshape target: a constant shape, or Concat(…, const, const).</summary>
        public long[]? ShapeTail(string name)
        {
            double[]? whole = Values(Constant(name));
            if (whole is { Length: 4 }) return [(long)whole[2], (long)whole[3]];
            NodeProto? concat = Producer(name);
            if (concat is not { OpType: "Concat" } || concat.Input.Count != 4) return null;
            double[]? a = Values(Constant(concat.Input[2])), b = Values(Constant(concat.Input[3]));
            return a is { Length: 1 } && b is { Length: 1 } ? [(long)a[0], (long)b[0]] : null;
        }

        private static double[]? Values(TensorProto? t)
        {
            if (t is null || t.DataLocation == TensorProto.Types.DataLocation.External) return null;
            var type = (TensorProto.Types.DataType)t.DataType;
            ReadOnlySpan<byte> raw = t.RawData.Span;
            return type switch
            {
                TensorProto.Types.DataType.Float => raw.Length > 0 ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw).ToArray().Select(x => (double)x).ToArray() : t.FloatData.Select(x => (double)x).ToArray(),
                TensorProto.Types.DataType.Double => raw.Length > 0 ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(raw).ToArray() : t.DoubleData.ToArray(),
                TensorProto.Types.DataType.Int64 => raw.Length > 0 ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(raw).ToArray().Select(x => (double)x).ToArray() : t.Int64Data.Select(x => (double)x).ToArray(),
                TensorProto.Types.DataType.Int32 => raw.Length > 0 ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(raw).ToArray().Select(x => (double)x).ToArray() : t.Int32Data.Select(x => (double)x).ToArray(),
                _ => null,
            };
        }
    }
}
