using System.Buffers;
using System.Runtime.InteropServices;
using Xunit;
using SparseNative.Dispatch;

namespace SparseNative.Tests;

/// <summary>Every bad input gets an <see cref="ArgumentException"/> that names the argument and the offending value.</summary>
public class ValidationTests
{
    private static readonly AttentionShape S = new(1, 4, 2, 40, 40, 16);
    private static readonly BlockLayout L = TestData.RandomLayout(16, 3, 3, 1, 1.0, 1);

    private static ArgumentException Fails(Action a) => Assert.ThrowsAny<ArgumentException>(a);

    /// <summary>
    /// Runs the problem on q, k, v = TestData.Random(…, seed 1, 2, 3) (the reference backend unless <paramref name="opts"/>
    /// says otherwise) and returns the output.
    /// </summary>
    private static float[] Run(AttentionShape s, BlockLayout l, long? qLen = null, long? kLen = null, long? vLen = null, long? oLen = null,
        long? lseLen = null, AttentionOptions? opts = null, Action<float[]>? poisonQ = null)
    {
        var q = TestData.Random(qLen ?? s.QueryElements, 1);
        poisonQ?.Invoke(q);
        var k = TestData.Random(kLen ?? s.KeyElements, 2);
        var v = TestData.Random(vLen ?? s.KeyElements, 3);
        var o = new float[oLen ?? s.QueryElements];
        var lse = lseLen is { } n ? new float[n] : [];
        SparseAttention.Forward(q, k, v, o, s, l, opts ?? new AttentionOptions { Backend = Backend.Reference }, lse);
        return o;
    }

    [Fact]
    public void Valid_problem_runs()
    {
        var o = Run(S, L);
        var (expected, _) = NaiveDense.Run(TestData.Random(S.QueryElements, 1), TestData.Random(S.KeyElements, 2),
            TestData.Random(S.KeyElements, 3), S, L, causal: false);
        Assert.True(TestData.RelativeError(o, expected) <= Tolerances.RoundedOnceRelative);
    }

    [Theory]
    [InlineData("query")] [InlineData("key")] [InlineData("value")] [InlineData("output")] [InlineData("logSumExp")]
    public void Wrong_span_lengths(string which)
    {
        var ex = Fails(() => Run(S, L,
            qLen: which == "query" ? S.QueryElements - 1 : null, kLen: which == "key" ? S.KeyElements + 16 : null,
            vLen: which == "value" ? 3 : null, oLen: which == "output" ? S.QueryElements * 2 : null,
            lseLen: which == "logSumExp" ? S.LogSumExpElements - 1 : null));
        Assert.Equal(which, ex.ParamName);
        Assert.Contains("elements", ex.Message);
    }

    [Fact]
    public void An_invalid_shape_still_prints()
    {
        // Logging the shape that failed validation must not throw (the record printer once divided by KeyValueHeads).
        var shape = new AttentionShape(1, 4, 0, 16, 16, 8);
        Assert.Equal("AttentionShape { Batch = 1, QueryHeads = 4, KeyValueHeads = 0, QueryLength = 16, KeyLength = 16, HeadDim = 8 }",
            shape.ToString());
        Assert.Contains("KeyValueHeads", Fails(() => shape.Validate()).Message);
    }

    [Fact]
    public void Heads_that_do_not_divide()
    {
        var ex = Fails(() => Run(new AttentionShape(1, 3, 2, 40, 40, 16), L));
        Assert.Contains("QueryHeads (3) must be a multiple of KeyValueHeads (2)", ex.Message);
    }

    [Theory]
    [InlineData(0, 1, 1, 1, 1, 8, "Batch")] [InlineData(1, 0, 1, 1, 1, 8, "QueryHeads")] [InlineData(1, 1, -1, 1, 1, 8, "KeyValueHeads")]
    [InlineData(1, 1, 1, 0, 1, 8, "QueryLength")] [InlineData(1, 1, 1, 1, 0, 8, "KeyLength")] [InlineData(1, 1, 1, 1, 1, 0, "HeadDim")]
    public void Non_positive_sizes(int b, int hq, int hkv, int lq, int lk, int d, string name)
    {
        var ex = Fails(() => new AttentionShape(b, hq, hkv, lq, lk, d).Validate());
        Assert.Contains(name, ex.Message);
    }

    [Fact]
    public void Tensors_too_large_for_a_span()
    {
        var ex = Fails(() => new AttentionShape(64, 64, 64, 65536, 65536, 128).Validate());
        Assert.Contains("exceed", ex.Message);
    }

    [Theory]
    [InlineData(8)] [InlineData(24)] [InlineData(256)] [InlineData(0)]
    public void Unsupported_block_sizes(int block)
    {
        var ex = Fails(() => BlockLayout.FromCsr(block, 1, 1, [0, 1], [0]));
        Assert.Equal("blockSize", ex.ParamName);
        Assert.Contains(block.ToString(), ex.Message);
    }

    [Fact]
    public void Layout_that_does_not_cover_the_sequence()
    {
        var two = TestData.RandomLayout(16, 2, 3, 1, 1.0, 1);
        var ex = Fails(() => Run(S, two));
        Assert.Equal("layout", ex.ParamName);
        Assert.Contains("needs 3", ex.Message);
        var keys = TestData.RandomLayout(16, 3, 4, 1, 1.0, 1);
        Assert.Contains("key blocks", Fails(() => Run(S, keys)).Message);
    }

    [Fact]
    public void Layout_lists_that_do_not_divide_the_heads()
    {
        var three = TestData.RandomLayout(16, 3, 3, 3, 1.0, 1);
        Assert.Contains("3 lists", Fails(() => Run(S, three)).Message);
    }

    [Fact]
    public void Column_index_out_of_range()
    {
        var ex = Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromCsr(16, 2, 2, [0, 1, 2], [0, 2]));
        Assert.Equal("columnIndices", ex.ParamName);
        Assert.Contains("= 2", ex.Message);
        Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromCsr(16, 2, 2, [0, 1, 2], [-1, 0]));
    }

    [Fact]
    public void Unsorted_and_duplicate_columns()
    {
        Assert.Contains("unsorted", Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromCsr(16, 1, 3, [0, 2], [2, 1])).Message);
        Assert.Contains("duplicate", Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromCsr(16, 1, 3, [0, 2], [1, 1])).Message);
    }

    [Fact]
    public void Negative_or_inconsistent_row_offsets()
    {
        Assert.Contains("must be 0", Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromCsr(16, 2, 2, [-1, 0, 1], [0])).Message);
        Assert.Contains("decrease", Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromCsr(16, 2, 2, [0, 2, 1], [0, 1])).Message);
        Assert.Contains("remain", Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromCsr(16, 2, 2, [0, 1, 3], [0, 1])).Message);
        Assert.Contains("use 1", Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromCsr(16, 2, 2, [0, 1, 1], [0, 1])).Message);
        Assert.Contains("entries", Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromCsr(16, 2, 2, [0, 1], [0])).Message);
    }

    [Theory]
    [InlineData(float.NaN)] [InlineData(float.PositiveInfinity)]
    public void Non_finite_scale(float scale)
    {
        var ex = Fails(() => Run(S, L, opts: new AttentionOptions { Backend = Backend.Reference, Scale = scale }));
        Assert.Equal("Scale", ex.ParamName);
    }

    [Theory]
    [InlineData(float.NaN)] [InlineData(float.NegativeInfinity)]
    public void Non_finite_inputs(float bad)
    {
        var ex = Fails(() => Run(S, L, poisonQ: q => q[100] = bad));
        Assert.Equal("query", ex.ParamName);
        Assert.Contains("query[100]", ex.Message);
        // With the check off the caller takes responsibility, and the call runs.
        Run(S, L, opts: new AttentionOptions { Backend = Backend.Reference, CheckFinite = false }, poisonQ: q => q[100] = bad);
    }

    [Fact]
    public void Huge_but_finite_inputs_are_not_rejected()
    {
        // The first 4 query rows of head 0 become 3e38: their scores are 3e38 · Σ_c k[j, c], so each row's softmax is
        // one-hot on the key with the largest Σ_c k[j, c] (head 0 reads KV head 0; the layout is dense, not causal).
        var o = Run(S, L, poisonQ: q => Array.Fill(q, 3e38f, 0, 64));
        Assert.All(o, x => Assert.True(float.IsFinite(x)));
        var k = TestData.Random(S.KeyElements, 2);
        var v = TestData.Random(S.KeyElements, 3);
        int d = S.HeadDim, best = Enumerable.Range(0, S.KeyLength).MaxBy(j => Enumerable.Range(0, d).Sum(c => (double)k[j * d + c]));
        for (int row = 0; row < 4; row++)
            Assert.Equal(v.AsSpan(best * d, d).ToArray(), o.AsSpan(row * d, d).ToArray());
    }

    [Fact]
    public void Segment_ids_must_come_in_pairs_of_the_right_length()
    {
        var seg = new int[S.QueryLength];
        Assert.Equal("KeySegmentIds", Fails(() => Run(S, L, opts: new AttentionOptions { QuerySegmentIds = seg })).ParamName);
        Assert.Equal("KeySegmentIds", Fails(() => Run(S, L, opts: new AttentionOptions { QuerySegmentIds = seg, KeySegmentIds = new int[5] })).ParamName);
    }

    [Fact]
    public void Output_overlapping_an_input()
    {
        var q = TestData.Random(S.QueryElements, 1);
        var k = TestData.Random(S.KeyElements, 2);
        var ex = Fails(() => SparseAttention.Forward(q, k, k, q, S, L));
        Assert.Equal("output", ex.ParamName);
    }

    [Theory]
    [InlineData("output", "QuerySegmentIds")] [InlineData("output", "KeySegmentIds")] [InlineData("logSumExp", "KeySegmentIds")]
    public void Output_overlapping_the_segment_ids(string output, string ids)
    {
        // The ids live in the first elements of the output (as int32 bits): a work item would read ids another overwrote.
        var q = TestData.Random(S.QueryElements, 1);
        var k = TestData.Random(S.KeyElements, 2);
        var o = new float[S.QueryElements];
        var lse = new float[S.LogSumExpElements];
        var host = output == "output" ? o : lse;
        var aliased = new IntView(host, S.QueryLength).Ids;
        var separate = new int[S.QueryLength];
        var opts = new AttentionOptions
        {
            Backend = Backend.Reference,
            QuerySegmentIds = ids == "QuerySegmentIds" ? aliased : separate,
            KeySegmentIds = ids == "KeySegmentIds" ? aliased : separate,
        };
        var ex = Fails(() => SparseAttention.Forward(q, k, k, o, S, L, opts, lse));
        Assert.Equal(output, ex.ParamName);
        Assert.Contains(ids, ex.Message);
    }

    /// <summary>An int view of the first <c>count</c> elements of a float array, as a Memory (the ids a caller could alias).</summary>
    private sealed class IntView(float[] host, int count) : MemoryManager<int>
    {
        public Memory<int> Ids => CreateMemory(count);
        public override Span<int> GetSpan() => MemoryMarshal.Cast<float, int>(host.AsSpan(0, count));
        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }

    [Fact]
    public void Negative_max_threads() =>
        Assert.Equal("MaxThreads", Fails(() => Run(S, L, opts: new AttentionOptions { MaxThreads = -1 })).ParamName);

    [Fact]
    public void Unknown_backend_name_in_the_environment_variable()
    {
        // Parsed directly: the variable itself is process-wide and would disturb tests running in parallel.
        var ex = Fails(() => BackendRegistry.ParseOverride("NoSuchBackend"));
        Assert.Equal("SPARSENATIVE_BACKEND", ex.ParamName);
        Assert.Contains("NoSuchBackend", ex.Message);
        Assert.Null(BackendRegistry.ParseOverride(" auto "));
        Assert.Null(BackendRegistry.ParseOverride(""));
        Assert.Equal(Backend.Reference, BackendRegistry.ParseOverride("reference"));
    }

    public static TheoryData<string> BadOptions => new() { "scale", "format", "segments-unpaired", "segments-short", "threads", "layout" };

    [Theory, MemberData(nameof(BadOptions))]
    public void Every_entry_point_rejects_bad_options_with_the_same_exception(string fault)
    {
        var options = new AttentionOptions { Backend = Backend.Reference };
        var layout = L;
        switch (fault)
        {
            case "scale": options = options with { Scale = float.NaN }; break;
            case "format": options = options with { Format = (TensorFormat)7 }; break;
            case "segments-unpaired": options = options with { QuerySegmentIds = new int[S.QueryLength] }; break;
            case "segments-short": options = options with { QuerySegmentIds = new int[S.QueryLength], KeySegmentIds = new int[3] }; break;
            case "threads": options = options with { MaxThreads = -2 }; break;
            default: layout = TestData.RandomLayout(16, 2, 3, 1, 1.0, 1); break;
        }
        var (q, k, v) = TestData.Qkv(S, 1);
        var o = new float[S.QueryElements];
        var forward = Fails(() => SparseAttention.Forward(q, k, v, o, S, layout, options));
        var select = Fails(() => SparseAttention.SelectBackend(S, layout, options));
        var split = Fails(() => SparseAttention.ForwardSplitKeys(q, k, v, o, S, layout, options, splits: 2));
        foreach (var other in new[] { select, split })
        {
            Assert.Equal(forward.GetType(), other.GetType());
            Assert.Equal(forward.ParamName, other.ParamName);
            Assert.Equal(forward.Message, other.Message);
        }
    }

    [Fact]
    public void Requesting_a_backend_this_process_cannot_run_says_why()
    {
        // The other architecture's SIMD path is never available: Neon in an x64 process, AVX-512 in an arm64 one.
        var missing = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? Backend.Neon : Backend.Avx512;
        var info = SparseAttention.Backends.Single(b => b.Backend == missing);
        Assert.False(info.IsAvailable);
        var ex = Assert.Throws<BackendUnavailableException>(() => Run(S, L, opts: new AttentionOptions { Backend = missing }));
        Assert.Equal(missing, ex.Backend);
        Assert.Contains(missing.ToString(), ex.Message);
        Assert.Contains(info.Reason!, ex.Message);
    }
}
