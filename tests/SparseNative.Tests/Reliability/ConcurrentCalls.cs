using SparseNative.Tests.Kernels;

namespace SparseNative.Tests.Reliability;

/// <summary>
/// The calls the concurrency test mixes: each is a closure over fixed inputs that returns its result's bits (outputs, LSE,
/// layout arrays, the backend name), so a result can be compared bitwise with the same call run alone.
/// </summary>
internal static class ConcurrentCalls
{
    public sealed record Call(string Name, Func<int[]> Run);

    public static List<Call> All()
    {
        var calls = new List<Call>();
        var backends = SparseAttention.Backends.Where(b => b.IsAvailable && b.Backend is not (Backend.Cuda or Backend.Auto))
            .Select(b => b.Backend).ToArray();
        int seed = 100;
        foreach (var backend in backends)
        foreach (int threads in new[] { 1, 3, 0 })
        {
            var s = new AttentionShape(1, 4, 2, 45 + seed % 20, 77, backend == Backend.Reference ? 16 : 24 + 16 * (seed % 3));
            var layout = KernelCheck.Layout(s, 16, 2, 0.6, seed);
            var format = seed % 2 == 0 ? TensorFormat.Bshd : TensorFormat.Bhsd;
            calls.Add(Forward($"Forward {backend} threads {threads} {format} {s}", s, layout,
                new AttentionOptions { Backend = backend, MaxThreads = threads, Format = format, Causal = seed % 3 == 0 }, seed++));
        }
        var decode = new AttentionShape(1, 8, 2, 1, 700, 64);
        calls.Add(SplitKeys("ForwardSplitKeys decode 4 splits", decode, KernelCheck.Layout(decode, 32, 1, 1.0, 7), 4, 7));
        calls.Add(SplitKeys("ForwardSplitKeys decode auto splits", decode, KernelCheck.Layout(decode, 32, 1, 0.8, 8), 0, 8));
        calls.Add(Merge(new AttentionShape(2, 3, 3, 17, 17, 40), 9));
        var sel = new AttentionShape(1, 4, 2, 130, 130, 32);
        var (q, k, _) = TestData.Qkv(sel, 10);
        calls.Add(new("TopK k=3 causal", () => Bits(BlockSelection.TopK(q, k, sel, 16, new TopKOptions { K = 3, Causal = true, MaxThreads = 2 }))));
        calls.Add(new("TopK mass 0.9", () => Bits(BlockSelection.TopK(q, k, sel, 32, new TopKOptions { MassThreshold = 0.9 }))));
        calls.Add(new("Routing", () => Bits(BlockSelection.Routing(q, k, sel, 16, new RoutingOptions { Clusters = 3, Seed = 11 }))));
        calls.AddRange(BackwardCalls());
        return calls;
    }

    /// <summary>
    /// The backward pass on every available CPU backend (Cuda runs in its own tests), with 1 and all threads, GQA, causal
    /// cross attention and segment-free BHSD/BSHD; each returns the bits of dQ, dK and dV.
    /// </summary>
    private static IEnumerable<Call> BackwardCalls()
    {
        int seed = 300;
        foreach (var backend in SparseAttention.Backends.Where(b => b.IsAvailable && b.Backend is not (Backend.Cuda or Backend.Auto))
                     .Select(b => b.Backend))
        foreach (int threads in new[] { 1, 0 })
        {
            var s = new AttentionShape(1, 4, 2, 40 + seed % 7, 61, backend == Backend.Reference ? 8 : 32);
            var layout = KernelCheck.Layout(s, 16, 2, 0.7, seed);
            var opts = new AttentionOptions
            {
                Backend = backend, MaxThreads = threads, Causal = seed % 2 == 0, Format = seed % 3 == 0 ? TensorFormat.Bshd : TensorFormat.Bhsd,
            };
            var (q, k, v) = TestData.Qkv(s, seed);
            var dO = TestData.Random(s.QueryElements, seed + 7);
            var o = new float[s.QueryElements];
            var lse = new float[s.LogSumExpElements];
            SparseAttention.Forward(q, k, v, o, s, layout, opts, lse);
            seed++;
            yield return new($"Backward {backend} threads {threads} {opts.Format} {s}", () =>
            {
                var dq = new float[s.QueryElements];
                var dk = new float[s.KeyElements];
                var dv = new float[s.KeyElements];
                var ran = SparseAttention.Backward(q, k, v, o, lse, dO, dq, dk, dv, s, layout, opts);
                return [(int)ran, .. Bits(dq), .. Bits(dk), .. Bits(dv)];
            });
        }
    }

    private static Call Forward(string name, AttentionShape s, BlockLayout layout, AttentionOptions opts, int seed)
    {
        var (q, k, v) = TestData.Qkv(s, seed);
        return new(name, () =>
        {
            var o = new float[s.QueryElements];
            var lse = new float[s.LogSumExpElements];
            var ran = SparseAttention.Forward(q, k, v, o, s, layout, opts, lse);
            return [(int)ran, .. Bits(o), .. Bits(lse)];
        });
    }

    private static Call SplitKeys(string name, AttentionShape s, BlockLayout layout, int splits, int seed)
    {
        var (q, k, v) = TestData.Qkv(s, seed);
        return new(name, () =>
        {
            var o = new float[s.QueryElements];
            var lse = new float[s.LogSumExpElements];
            var ran = SparseAttention.ForwardSplitKeys(q, k, v, o, s, layout, new AttentionOptions { MaxThreads = 2 }, lse, splits);
            return [(int)ran, .. Bits(o), .. Bits(lse)];
        });
    }

    private static Call Merge(AttentionShape s, int seed)
    {
        var oa = TestData.Random(s.QueryElements, seed);
        var ob = TestData.Random(s.QueryElements, seed + 1);
        var la = TestData.Random(s.LogSumExpElements, seed + 2, 3f);
        var lb = TestData.Random(s.LogSumExpElements, seed + 3, 3f);
        return new($"MergeStates {s}", () =>
        {
            var o = new float[s.QueryElements];
            var lse = new float[s.LogSumExpElements];
            SparseAttention.MergeStates(oa, la, ob, lb, o, lse, s, TensorFormat.Bshd);
            return [.. Bits(o), .. Bits(lse)];
        });
    }

    private static int[] Bits(ReadOnlySpan<float> x) => System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(x).ToArray();

    private static int[] Bits(BlockLayout l) => [l.LayoutCount, l.QueryBlocks, l.KeyBlocks, .. l.AllRowOffsets, -1, .. l.AllColumnIndices];
}
