using SparseNative.Tests.Kernels;
using Xunit;

namespace SparseNative.Tests.Backward;

/// <summary>
/// <see cref="SparseAttention.Backward"/>'s contract beyond the numbers: validation of the backward's extra tensors, the
/// dispatcher's choice and reasons, <see cref="AttentionContext"/>, and the layout transpose the kernels walk.
/// </summary>
public class BackwardApiTests
{
    private static readonly AttentionShape S = new(1, 4, 2, 40, 40, 16);
    private static readonly BlockLayout L = TestData.RandomLayout(16, 3, 3, 1, 1.0, 1);

    /// <summary>Every tensor of one valid backward call, in separate arrays; tests break one thing at a time.</summary>
    private sealed class Call
    {
        public float[] Q = TestData.Random(S.QueryElements, 1), K = TestData.Random(S.KeyElements, 2), V = TestData.Random(S.KeyElements, 3);
        public float[] O = new float[S.QueryElements], Lse = new float[S.LogSumExpElements];
        public float[] DO = TestData.Random(S.QueryElements, 4);
        public float[] DQ = new float[S.QueryElements], DK = new float[S.KeyElements], DV = new float[S.KeyElements];
        public AttentionOptions Options = new() { Backend = Backend.Reference };

        public Call() => SparseAttention.Forward(Q, K, V, O, S, L, Options, Lse);

        public Backend Run() => SparseAttention.Backward(Q, K, V, O, Lse, DO, DQ, DK, DV, S, L, Options);
    }

    private static ArgumentException Fails(Action<Call> breakIt)
    {
        var c = new Call();
        breakIt(c);
        return Assert.ThrowsAny<ArgumentException>(() => c.Run());
    }

    [Fact]
    public void ValidCallRuns() => Assert.Equal(Backend.Reference, new Call().Run());

    [Theory]
    [InlineData("output")] [InlineData("logSumExp")] [InlineData("outputGradient")]
    [InlineData("queryGradient")] [InlineData("keyGradient")] [InlineData("valueGradient")]
    public void WrongLengthsNameTheTensor(string which)
    {
        var ex = Fails(c =>
        {
            switch (which)
            {
                case "output": c.O = new float[S.QueryElements - 1]; break;
                case "logSumExp": c.Lse = new float[S.LogSumExpElements + 1]; break;
                case "outputGradient": c.DO = new float[3]; break;
                case "queryGradient": c.DQ = new float[S.KeyElements]; break;
                case "keyGradient": c.DK = new float[S.QueryElements]; break;
                case "valueGradient": c.DV = []; break;
            }
        });
        Assert.Equal(which, ex.ParamName);
        Assert.Contains("elements", ex.Message);
    }

    [Fact]
    public void TheLogSumExpIsRequired()
    {
        var ex = Fails(c => c.Lse = []);
        Assert.Equal("logSumExp", ex.ParamName);
    }

    [Fact]
    public void GradientsMustNotOverlapInputsOrEachOther()
    {
        Assert.Equal("queryGradient", Fails(c => c.DQ = c.Q).ParamName);
        Assert.Equal("queryGradient", Fails(c => c.DQ = c.DO).ParamName);
        Assert.Equal("keyGradient", Fails(c => c.DK = c.V).ParamName);
        Assert.Equal("valueGradient", Fails(c => c.DV = c.K).ParamName);

        // Slices of one buffer: overlapping gradients, and a gradient overlapping the log-sum-exp.
        var c = new Call();
        var big = new float[S.QueryElements + S.KeyElements];
        var ex = Assert.ThrowsAny<ArgumentException>(() => SparseAttention.Backward(c.Q, c.K, c.V, c.O, c.Lse, c.DO,
            big.AsSpan(0, (int)S.QueryElements), big.AsSpan(8, (int)S.KeyElements), c.DV, S, L, c.Options));
        Assert.Equal("keyGradient", ex.ParamName);
        var shared = new float[S.LogSumExpElements + S.KeyElements];
        c.Lse.CopyTo(shared, 0);
        ex = Assert.ThrowsAny<ArgumentException>(() => SparseAttention.Backward(c.Q, c.K, c.V, c.O,
            shared.AsSpan(0, (int)S.LogSumExpElements), c.DO, c.DQ, c.DK, shared.AsSpan(4, (int)S.KeyElements), S, L, c.Options));
        Assert.Equal("valueGradient", ex.ParamName);
    }

    [Fact]
    public void NonFiniteValuesAreRejected()
    {
        Assert.Equal("outputGradient", Fails(c => c.DO[5] = float.NaN).ParamName);
        Assert.Equal("output", Fails(c => c.O[7] = float.PositiveInfinity).ParamName);
        Assert.Equal("logSumExp", Fails(c => c.Lse[2] = float.NaN).ParamName);
        Assert.Equal("logSumExp", Fails(c => c.Lse[2] = float.PositiveInfinity).ParamName);
        Assert.Equal("query", Fails(c => c.Q[0] = float.NegativeInfinity).ParamName); // the forward's own checks still apply
        var ok = new Call();
        ok.Lse[3] = float.NegativeInfinity; // what the forward writes for a row with no key: accepted
        ok.Run();
    }

    [Fact]
    public void TheForwardsValidationApplies()
    {
        var c = new Call();
        var wrong = TestData.RandomLayout(16, 2, 3, 1, 1.0, 1);
        var ex = Assert.Throws<InvalidLayoutException>(() =>
            SparseAttention.Backward(c.Q, c.K, c.V, c.O, c.Lse, c.DO, c.DQ, c.DK, c.DV, S, wrong, c.Options));
        Assert.Equal("layout", ex.ParamName);
    }

    /// <summary>Every backend has a backward pass now; one that cannot run in this process says why, as for the forward.</summary>
    [Fact]
    public void UnavailableBackendsSayWhy()
    {
        var unavailable = SparseAttention.Backends.Where(b => !b.IsAvailable).ToList();
        if (unavailable.Count == 0) Assert.Skip("every backend is available in this process");
        foreach (var info in unavailable)
        {
            var c = new Call { Options = new() { Backend = info.Backend } };
            var ex = Assert.Throws<BackendUnavailableException>(() => c.Run());
            Assert.Equal(info.Backend, ex.Backend);
            Assert.Contains(info.Reason!, ex.Message);
        }
    }

    public static TheoryData<Backend> BackendsWithABackward => new([Backend.Reference, .. KernelCheck.SimdBackends, Backend.NativeCpu]);

    [Theory]
    [MemberData(nameof(BackendsWithABackward))]
    public void ACausalLayoutGivesTheCausalGradients(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        // Cross shape (the diagonal is bottom-right aligned), GQA, a short last block of each side.
        var s = new AttentionShape(1, 4, 2, 37, 70, 16);
        var layout = KernelCheck.Layout(s, 16, 2, 0.9, seed: 31);
        Assert.False(layout.IsCausal);
        var x = BackwardCheck.RandomInputs(new(s, layout, Seed: 31));

        var byOption = BackwardCheck.Run(backend, new(s, layout, Causal: true, Seed: 31), x);
        var byLayout = BackwardCheck.Run(backend, new(s, layout.WithCausal(true), Causal: false, Seed: 31), x);
        var unmasked = BackwardCheck.Run(backend, new(s, layout, Causal: false, Seed: 31), x);

        // The same effective flag, so the same arithmetic: bitwise equal; and the mask does change the gradients.
        Assert.Equal(byOption.Query, byLayout.Query);
        Assert.Equal(byOption.Key, byLayout.Key);
        Assert.Equal(byOption.Value, byLayout.Value);
        Assert.NotEqual(unmasked.Key, byLayout.Key);
    }

    [Fact]
    public void AutoPicksTheBestManagedBackend()
    {
        var c = new Call { Options = new() };
        var available = SparseAttention.Backends.Where(b => b.IsAvailable).Select(b => b.Backend).ToHashSet();
        var expected = new[] { Backend.Avx512, Backend.Avx2, Backend.Neon, Backend.Portable }.FirstOrDefault(available.Contains, Backend.Reference);
        Assert.Equal(expected, c.Run());

        // A head dimension the SIMD kernels do not take falls through to the reference.
        var s = new AttentionShape(1, 1, 1, 16, 16, 12);
        var layout = TestData.RandomLayout(16, 1, 1, 1, 1.0, 1);
        var (q, k, v) = TestData.Qkv(s, 1);
        var context = SparseAttention.ForwardForTraining(q, k, v, s, layout);
        Assert.Equal(Backend.Reference, context.Backward(new float[s.QueryElements], new float[s.QueryElements], new float[s.KeyElements], new float[s.KeyElements]));
    }

    [Fact]
    public void AttentionContextMatchesTheExplicitCalls()
    {
        var s = new AttentionShape(2, 4, 2, 70, 90, 32);
        var layout = TestData.RandomLayout(32, 3, 3, 2, 0.7, 4);
        var options = new AttentionOptions { Causal = true, Format = TensorFormat.Bshd };
        var (q, k, v) = TestData.Qkv(s, 5);
        var dO = TestData.Random(s.QueryElements, 6);

        var context = SparseAttention.ForwardForTraining(q, k, v, s, layout, options);
        var (dq, dk, dv) = context.Backward(dO);

        var o = new float[s.QueryElements];
        var lse = new float[s.LogSumExpElements];
        Assert.Equal(context.ForwardBackend, SparseAttention.Forward(q, k, v, o, s, layout, options, lse));
        Assert.True(o.AsSpan().SequenceEqual(context.Output.Span));
        Assert.True(lse.AsSpan().SequenceEqual(context.LogSumExp.Span));
        float[] eq = new float[s.QueryElements], ek = new float[s.KeyElements], ev = new float[s.KeyElements];
        SparseAttention.Backward(q, k, v, o, lse, dO, eq, ek, ev, s, layout, options);
        Assert.True(dq.AsSpan().SequenceEqual(eq) && dk.AsSpan().SequenceEqual(ek) && dv.AsSpan().SequenceEqual(ev));

        var ex = Assert.ThrowsAny<ArgumentException>(() => context.Backward(new float[s.KeyElements]));
        Assert.Equal("outputGradient", ex.ParamName);
    }

    [Fact]
    public void ColumnIsTheTransposeOfRow()
    {
        var layout = TestData.RandomLayout(16, 9, 7, 3, 0.4, 12);
        // First use from many threads at once: every caller sees the same, complete transpose.
        var seen = new int[8][];
        Parallel.For(0, 8, t => seen[t] = layout.Column(t % 3, 6).ToArray());
        for (int l = 0; l < 3; l++)
            for (int kb = 0; kb < 7; kb++)
            {
                var expected = Enumerable.Range(0, 9).Where(qb => layout.Row(l, qb).Contains(kb)).ToArray();
                Assert.Equal(expected, layout.Column(l, kb).ToArray());
            }
        for (int t = 0; t < 8; t++) Assert.Equal(layout.Column(t % 3, 6).ToArray(), seen[t]);
        Assert.Throws<ArgumentOutOfRangeException>(() => layout.Column(3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => layout.Column(0, 7));
    }
}
