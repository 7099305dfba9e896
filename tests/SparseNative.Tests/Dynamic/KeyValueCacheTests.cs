using Xunit;

namespace SparseNative.Tests.Dynamic;

/// <summary>
/// <see cref="KeyValueCache"/>: a preallocated cache and a paged cache give, bit for bit, what the same keys give as plain
/// tensors (the kernels do the same arithmetic on the same rows, wherever they lie); per-sequence lengths equal calls over
/// each sequence alone; and every inconsistent table is an ArgumentException naming it.
/// </summary>
public class KeyValueCacheTests
{
    private const int D = 16;

    /// <summary>The managed backends available here (every one reads every cache form).</summary>
    public static TheoryData<Backend> ManagedBackends()
    {
        var data = new TheoryData<Backend>();
        foreach (var b in new[] { Backend.Reference, Backend.Avx512, Backend.Avx2, Backend.Neon, Backend.Portable })
            if (SparseAttention.Backends.Single(i => i.Backend == b).IsAvailable) data.Add(b);
        return data;
    }

    private static (float[] O, float[] Lse) Run(float[] q, float[] k, float[] v, AttentionShape s, BlockLayout layout,
        AttentionOptions options)
    {
        var o = new float[s.QueryElements];
        var lse = new float[s.LogSumExpElements];
        Array.Fill(o, float.NaN);
        SparseAttention.Forward(q, k, v, o, s, layout, options, lse);
        return (o, lse);
    }

    /// <summary>Plain <c>[B, H, L, d]</c> keys copied into a cache of <paramref name="capacity"/> tokens whose unused rows are NaN.</summary>
    private static float[] Preallocate(float[] plain, AttentionShape s, int capacity, TensorFormat f)
    {
        var cache = KeyValueCache.Preallocated(capacity);
        var rows = new float[(long)s.Batch * s.KeyValueHeads * capacity * D];
        Array.Fill(rows, float.NaN);
        Copy(plain, s, f, rows, (b, h, t) => cache.RowOffset(b, h, t, s.KeyValueHeads, D, 0, f));
        return rows;
    }

    private static void Copy(float[] plain, AttentionShape s, TensorFormat f, float[] to, Func<int, int, int, long> row, int[]? lengths = null)
    {
        var from = KeyValueCache.Preallocated(s.KeyLength);
        for (int b = 0; b < s.Batch; b++)
            for (int h = 0; h < s.KeyValueHeads; h++)
                for (int t = 0; t < (lengths?[b] ?? s.KeyLength); t++)
                    Array.Copy(plain, from.RowOffset(b, h, t, s.KeyValueHeads, D, 0, f), to, row(b, h, t), D);
    }

    /// <summary>A block table that scatters every sequence's blocks over the pages in a seeded random order, with spare pages.</summary>
    private static KeyValueCache ScatteredTable(AttentionShape s, int blockSize, int seed, int[]? lengths = null)
    {
        int perSequence = s.KeyBlocks(blockSize) + 2, pages = s.Batch * perSequence + 3;
        var order = Enumerable.Range(0, pages).OrderBy(_ => 0).ToArray();
        new Random(seed).Shuffle(order);
        var table = new int[s.Batch * perSequence];
        Array.Fill(table, -1); // entries past a sequence's blocks are never read
        for (int b = 0; b < s.Batch; b++)
            for (int kb = 0; kb < BlockLayout.BlocksFor(lengths?[b] ?? s.KeyLength, blockSize); kb++)
                table[b * perSequence + kb] = order[b * perSequence + kb];
        return KeyValueCache.Paged(pages, table, perSequence, lengths);
    }

    private static float[] Page(float[] plain, AttentionShape s, KeyValueCache cache, int blockSize, TensorFormat f, int[]? lengths = null)
    {
        var pages = new float[(long)cache.Pages * s.KeyValueHeads * blockSize * D];
        Array.Fill(pages, float.NaN);
        Copy(plain, s, f, pages, (b, h, t) => cache.RowOffset(b, h, t, s.KeyValueHeads, D, blockSize, f), lengths);
        return pages;
    }

    [Theory]
    [MemberData(nameof(ManagedBackends))]
    public void PreallocatedAndPagedCachesEqualThePlainTensorsBitForBit(Backend backend)
    {
        foreach (var f in new[] { TensorFormat.Bhsd, TensorFormat.Bshd })
            foreach (int lq in new[] { 1, 4, 40 }) // decode, speculative decode, prefill (the fused kernel)
            {
                var s = new AttentionShape(2, 8, 2, lq, 4500 + lq, D);
                const int bs = 16;
                var layout = TestData.RandomLayout(bs, s.QueryBlocks(bs), s.KeyBlocks(bs), 2, 0.7, seed: lq).WithCausal(true);
                var (q, k, v) = TestData.Qkv(s, lq);
                var options = new AttentionOptions { Backend = backend, Format = f, MaxThreads = 2 };
                var (eo, el) = Run(q, k, v, s, layout, options);

                int capacity = s.KeyLength + 77;
                var pre = options with { KeyValueCache = KeyValueCache.Preallocated(capacity) };
                var (po, pl) = Run(q, Preallocate(k, s, capacity, f), Preallocate(v, s, capacity, f), s, layout, pre);
                Assert.Equal(eo, po);
                Assert.Equal(el, pl);

                var cache = ScatteredTable(s, bs, seed: lq);
                var (go, gl) = Run(q, Page(k, s, cache, bs, f), Page(v, s, cache, bs, f), s, layout, options with { KeyValueCache = cache });
                Assert.Equal(eo, go);
                Assert.Equal(el, gl);
            }
    }

    [Theory]
    [MemberData(nameof(ManagedBackends))]
    public void SequenceLengthsEqualEachSequenceAlone(Backend backend)
    {
        const int bs = 32;
        int[] lengths = [1000, 37, 0, 64];
        foreach (int lq in new[] { 1, 3, 20 })
        {
            var s = new AttentionShape(lengths.Length, 4, 1, lq, 1000, D);
            var layout = BlockPatterns.Dense(lq, bs, s.KeyLength);
            var (q, k, v) = TestData.Qkv(s, 9);
            var options = new AttentionOptions { Backend = backend, Causal = true, MaxThreads = 2 };
            var cache = ScatteredTable(s, bs, seed: 2, lengths);
            var (o, lse) = Run(q, Page(k, s, cache, bs, TensorFormat.Bhsd, lengths), Page(v, s, cache, bs, TensorFormat.Bhsd, lengths),
                s, layout, options with { KeyValueCache = cache });
            for (int b = 0; b < lengths.Length; b++)
            {
                int n = s.QueryHeads * lq;
                var ob = o.AsSpan(b * n * D, n * D).ToArray();
                var lb = lse.AsSpan(b * n, n).ToArray();
                if (lengths[b] == 0)
                {
                    Assert.All(ob, x => Assert.Equal(0f, x));
                    Assert.All(lb, x => Assert.Equal(float.NegativeInfinity, x));
                    continue;
                }
                var alone = s with { Batch = 1, KeyLength = lengths[b] };
                var qb = q.AsSpan(b * n * D, n * D).ToArray();
                var kb = TestData.TokenSlice(k.AsSpan(b * s.KeyValueHeads * s.KeyLength * D, s.KeyValueHeads * s.KeyLength * D).ToArray(),
                    s.KeyValueHeads, s.KeyLength, 0, lengths[b], D);
                var vb = TestData.TokenSlice(v.AsSpan(b * s.KeyValueHeads * s.KeyLength * D, s.KeyValueHeads * s.KeyLength * D).ToArray(),
                    s.KeyValueHeads, s.KeyLength, 0, lengths[b], D);
                var (eo, el) = Run(qb, kb, vb, alone, BlockPatterns.Dense(lq, bs, lengths[b]), options);
                Assert.Equal(eo, ob);
                Assert.Equal(el, lb);
            }
        }
    }

    [Fact]
    public void ADecodeLoopAppendsIntoPagesWithoutCopying()
    {
        // One sequence grows token by token; pages are taken from a shuffled free list as blocks fill. Each step equals the
        // plain tensors of the tokens so far.
        const int bs = 16, steps = 40, prompt = 4090, hkv = 2;
        int total = prompt + steps, perSequence = BlockLayout.BlocksFor(total, bs), pages = perSequence + 5;
        var free = new Stack<int>(Enumerable.Range(0, pages).OrderBy(p => (p * 7919) % pages));
        var table = new int[perSequence];
        var kPages = new float[pages * hkv * bs * D];
        var vPages = new float[kPages.Length];
        var keys = TestData.Random((long)hkv * total * D, 1);
        var values = TestData.Random((long)hkv * total * D, 2);
        var cache = KeyValueCache.Paged(pages, table, perSequence);
        void Append(int t)
        {
            if (t % bs == 0) table[t / bs] = free.Pop();
            for (int h = 0; h < hkv; h++)
            {
                long at = cache.RowOffset(0, h, t, hkv, D, bs);
                Array.Copy(keys, (h * total + t) * D, kPages, at, D);
                Array.Copy(values, (h * total + t) * D, vPages, at, D);
            }
        }
        for (int t = 0; t < prompt; t++) Append(t);
        for (int length = prompt + 1; length <= total; length++)
        {
            Append(length - 1);
            var s = new AttentionShape(1, 8, hkv, 1, length, D);
            var layout = BlockPatterns.Dense(1, bs, length);
            var q = TestData.Random(s.QueryElements, length);
            var (o, lse) = Run(q, kPages, vPages, s, layout, new AttentionOptions { KeyValueCache = cache });
            var (eo, el) = Run(q, TestData.TokenSlice(keys, hkv, total, 0, length, D), TestData.TokenSlice(values, hkv, total, 0, length, D),
                s, layout, AttentionOptions.Default);
            Assert.Equal(eo, o);
            Assert.Equal(el, lse);
        }
    }

    [Fact]
    public void ASharedPrefixPageIsRead()
    {
        // Two sequences share their first (full) block's page: the second call reads it for both.
        const int bs = 16;
        var s = new AttentionShape(2, 2, 1, 1, 40, D);
        var cache = KeyValueCache.Paged(5, new[] { 0, 1, 2, 0, 3, 4 }, 3);
        var k = TestData.Random(5 * bs * D, 1);
        var v = TestData.Random(5 * bs * D, 2);
        var q = TestData.Random(s.QueryElements, 3);
        var layout = BlockPatterns.Dense(1, bs, 40);
        var (o, _) = Run(q, k, v, s, layout, new AttentionOptions { KeyValueCache = cache, Backend = Backend.Reference });
        var (eo, _) = Run(q, k, v, s, layout, new AttentionOptions { KeyValueCache = cache });
        Assert.True(TestData.RelativeError(eo, o) <= Tolerances.ForwardRelative);
    }

    public static TheoryData<string, string> BadCaches => new()
    {
        { "page out of range", "BlockTable" },
        { "negative page", "BlockTable" },
        { "table shorter than the sequence", "BlockTable" },
        { "table length", "BlockTable" },
        { "page used twice in one sequence", "BlockTable" },
        { "shared page at another block", "BlockTable" },
        { "shared page, partly filled in one", "BlockTable" },
        { "sequence longer than KeyLength", "SequenceLengths" },
        { "sequence lengths count", "SequenceLengths" },
        { "no pages", "Pages" },
        { "capacity below KeyLength", "Capacity" },
        { "key tensor length", "key" },
        { "NaN in a used row", "key" },
    };

    [Theory]
    [MemberData(nameof(BadCaches))]
    public void AnInconsistentCacheIsAnArgumentExceptionNamingIt(string name, string argument)
    {
        const int bs = 16;
        var s = new AttentionShape(2, 2, 1, 1, 40, D); // 3 blocks per sequence
        int[] table = [0, 1, 2, 3, 4, 5];
        int pages = 6;
        int[]? lengths = null;
        KeyValueCache? cache = null;
        long keyLength = (long)pages * bs * D;
        var k = TestData.Random(7 * bs * D, 1);
        switch (name)
        {
            case "page out of range": table[4] = 6; break;
            case "negative page": table[0] = -1; break;
            case "table shorter than the sequence": cache = KeyValueCache.Paged(pages, table.AsMemory(0, 4), 2); break;
            case "table length": cache = KeyValueCache.Paged(pages, table.AsMemory(0, 5), 3); break;
            case "page used twice in one sequence": table[2] = 0; break;
            case "shared page at another block": table[3] = 1; break;
            case "shared page, partly filled in one": table[5] = 2; lengths = [40, 36]; break;
            case "sequence longer than KeyLength": lengths = [40, 41]; break;
            case "sequence lengths count": lengths = [40]; break;
            case "no pages": cache = KeyValueCache.Paged(0, table, 3); break;
            case "capacity below KeyLength": cache = KeyValueCache.Preallocated(39); keyLength = 2 * 39 * D; break;
            case "key tensor length": keyLength -= D; break;
            case "NaN in a used row": k[5 * bs * D + 7 * D + 3] = float.NaN; break; // page 5, token 7: sequence 1, token 39
        }
        cache ??= KeyValueCache.Paged(pages, table, 3, lengths);
        var kv = k.AsMemory(0, (int)keyLength);
        var o = new float[s.QueryElements];
        var e = Assert.ThrowsAny<ArgumentException>(() => SparseAttention.Forward(TestData.Random(s.QueryElements, 2), kv.Span, kv.Span,
            o, s, BlockPatterns.Dense(1, bs, 40), new AttentionOptions { KeyValueCache = cache }));
        Assert.Equal(argument, e.ParamName);
    }

    [Fact]
    public void NaNInRowsNoSequenceUsesIsNotRead()
    {
        const int bs = 16;
        var s = new AttentionShape(1, 2, 1, 1, 20, D);
        var k = TestData.Random(3 * bs * D, 1);
        k.AsSpan(2 * bs * D).Fill(float.NaN);        // page 2: not in the table
        k.AsSpan(bs * D + 4 * D, 12 * D).Fill(float.NaN); // page 1 past token 20
        var o = new float[s.QueryElements];
        SparseAttention.Forward(TestData.Random(s.QueryElements, 2), k, k, o, s, BlockPatterns.Dense(1, bs, 20),
            new AttentionOptions { KeyValueCache = KeyValueCache.Paged(3, new[] { 0, 1 }, 2) });
        Assert.All(o, x => Assert.True(float.IsFinite(x)));
    }

    [Fact]
    public void NativeBackendsDeclineACacheAndBackwardRefusesOne()
    {
        var s = new AttentionShape(1, 2, 1, 1, 20, D);
        var options = new AttentionOptions { KeyValueCache = KeyValueCache.Preallocated(32) };
        var layout = BlockPatterns.Dense(1, 16, 20);
        var selected = SparseAttention.SelectBackend(s, layout, options);
        Assert.DoesNotContain(selected, new[] { Backend.NativeCpu, Backend.Cuda });
        if (SparseAttention.Backends.Single(b => b.Backend == Backend.NativeCpu).IsAvailable)
        {
            var e = Assert.Throws<BackendUnavailableException>(() => SparseAttention.SelectBackend(s, layout, options with { Backend = Backend.NativeCpu }));
            Assert.Contains("KeyValueCache", e.Message);
        }
        var kv = new float[32 * D];
        var x = new float[s.QueryElements];
        Assert.Throws<ArgumentException>(() => SparseAttention.Backward(x, kv, kv, x, new float[2], x, x, kv, kv, s, layout, options));
    }
}
