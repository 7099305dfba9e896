using SparseNative.Kernels;
using SparseNative.Kernels.Backward;
using SparseNative.Tests.Backward;
using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// Every fast backward — the SIMD paths and the C library (NativeCpu) — forced through the public API (forward and
/// backward on the same backend), against the float64 reference backward. A path this machine cannot run is skipped
/// with its reason; NEON and the arm64 C library run under qemu (tests/arm64).
/// </summary>
public class SimdBackwardTests
{
    /// <summary>Relative Frobenius error of each of dQ, dK, dV (the reason for the value is with it).</summary>
    private const double GradientTolerance = Tolerances.BackwardRelative;

    public static TheoryData<Backend> Backends => new([.. KernelCheck.SimdBackends, Backend.NativeCpu]);

    /// <summary>The managed paths only: the ones that use <see cref="KernelScratch"/>.</summary>
    public static TheoryData<Backend> ManagedBackends => new(KernelCheck.SimdBackends);

    /// <summary>Checks the three gradients of <paramref name="backend"/> against the reference and returns them.</summary>
    private static BackwardCheck.Gradients AgainstReference(Backend backend, KernelCheck.Case c, float inputScale = 1.5f, int threads = 0)
    {
        var x = BackwardCheck.RandomInputs(c, inputScale);
        var g = BackwardCheck.Run(backend, c, x, threads);
        var e = BackwardCheck.Run(Backend.Reference, c, x);
        foreach (var (actual, expected, label) in new[] { (g.Query, e.Query, "dQ"), (g.Key, e.Key, "dK"), (g.Value, e.Value, "dV") })
        {
            double err = TestData.RelativeError(actual, expected);
            TestContext.Current.TestOutputHelper?.WriteLine($"{backend} {label} {err:E2} {KernelCheck.Describe(c)}");
            Assert.True(err <= GradientTolerance, $"{backend}: {label} relative error {err:E2} > {GradientTolerance:E0} for {KernelCheck.Describe(c)}");
        }
        return g;
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void EveryBlockSizeWithOddLengths(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        foreach (int block in BlockLayout.SupportedBlockSizes)
            foreach (int length in new[] { 1, block - 1, block + 3, 2 * block + 5 })
            {
                var s = new AttentionShape(1, 2, 1, length, length, 32);
                AgainstReference(backend, new(s, KernelCheck.Layout(s, block, 2, 0.7, seed: length + block), Seed: length));
            }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void SampleOfHeadDimensions(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        // Odd multiples of 8 (the AVX-512 backend runs them on 8-wide vectors), powers of two, and the 256 maximum.
        foreach (int d in new[] { 8, 16, 24, 40, 64, 72, 128, 136, 256 })
        {
            var s = new AttentionShape(1, 4, 2, 75, 75, d);
            AgainstReference(backend, new(s, KernelCheck.Layout(s, 32, 4, 0.6, seed: d), Seed: d));
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void CausalSelfAndCrossShapes(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        // (Lq, Lk): equal, decode-like Lq < Lk (bottom-right alignment), Lq > Lk (early queries see nothing).
        foreach (var (lq, lk) in new[] { (100, 100), (37, 150), (150, 37), (1, 129) })
            foreach (int block in new[] { 16, 64 })
            {
                var s = new AttentionShape(2, 4, 1, lq, lk, 32);
                var layout = KernelCheck.Layout(s, block, 1, 0.8, seed: lq * 7 + lk);
                AgainstReference(backend, new(s, layout, Causal: true, Seed: lq + lk));
                AgainstReference(backend, new(s, layout, Causal: false, Seed: lq + lk + 1));
            }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void BshdFormatWithGqaAndPerHeadLayouts(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(2, 6, 2, 90, 70, 48);
        foreach (int lists in new[] { 1, 3, 6 })
            AgainstReference(backend,
                new(s, KernelCheck.Layout(s, 16, lists, 0.5, seed: lists), Causal: lists == 3, Format: TensorFormat.Bshd, Seed: lists));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void SegmentIdsUniformMixedAndDisjointBlocks(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(2, 4, 2, 96, 96, 64);
        var rng = new Random(3);
        // Batch 0: documents of 32 tokens (blocks of 16 are uniform: all-or-nothing); batch 1: ragged documents.
        var seg = new int[2 * 96];
        for (int i = 0; i < 96; i++) { seg[i] = i / 32; seg[96 + i] = i / 13 + rng.Next(2); }
        foreach (bool causal in new[] { false, true })
            AgainstReference(backend,
                new(s, KernelCheck.Layout(s, 16, 2, 0.9, seed: 5), Causal: causal, QuerySegments: seg, KeySegments: seg, Seed: 9));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void EmptyRowsAndUnseenKeysGetZeroGradients(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(1, 2, 2, 64, 64, 16);
        var mask = new bool[4, 4];
        mask[0, 0] = true; mask[2, 1] = true; mask[3, 3] = true; // query block 1 empty; key block 2 seen by nobody
        var g = AgainstReference(backend, new(s, BlockLayout.FromDense(mask, 16), Seed: 3));
        for (int h = 0; h < 2; h++)
            for (int t = 16; t < 32; t++)
                for (int c = 0; c < 16; c++)
                {
                    Assert.Equal(0f, g.Query[(h * 64 + t) * 16 + c]);
                    Assert.Equal(0f, g.Key[(h * 64 + t + 16) * 16 + c]);
                    Assert.Equal(0f, g.Value[(h * 64 + t + 16) * 16 + c]);
                }
        // Causal with Lq > Lk: query rows that see no key at all, inside an active block.
        var cross = new AttentionShape(1, 1, 1, 40, 8, 8);
        var g2 = AgainstReference(backend, new(cross, KernelCheck.Layout(cross, 16, 1, 1.0, 1), Causal: true));
        Assert.All(g2.Query.Concat(g2.Key).Concat(g2.Value), x => Assert.False(float.IsNaN(x)));
        Assert.All(g2.Query.AsSpan(0, 32 * 8).ToArray(), x => Assert.Equal(0f, x)); // queries 0..31 see keys j ≤ i − 32: none
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void PeakedSoftmaxAndCustomScales(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(1, 2, 2, 200, 200, 128);
        var layout = KernelCheck.Layout(s, 32, 2, 0.8, 11);
        // scale 0.3 on inputs up to 1.5 at d = 128: scores reach tens, the softmax is peaked.
        AgainstReference(backend, new(s, layout, Scale: 0.3f, Seed: 4));
        AgainstReference(backend, new(s, layout, Causal: true, Scale: -0.2f, Seed: 5));
        AgainstReference(backend, new(s, layout, Scale: 0f, Seed: 6)); // uniform weights; dQ = dK = 0
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void GradientsAreBitwiseIdenticalForAnyThreadCount(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(2, 4, 2, 300, 300, 64);
        var c = new KernelCheck.Case(s, KernelCheck.Layout(s, 16, 4, 0.4, 8), Causal: true, Seed: 2);
        var x = BackwardCheck.RandomInputs(c);
        var one = BackwardCheck.Run(backend, c, x, threads: 1);
        foreach (int threads in new[] { 2, 3, 8 })
        {
            var many = BackwardCheck.Run(backend, c, x, threads);
            Assert.True(one.Query.AsSpan().SequenceEqual(many.Query), $"dQ differs between 1 and {threads} threads");
            Assert.True(one.Key.AsSpan().SequenceEqual(many.Key), $"dK differs between 1 and {threads} threads");
            Assert.True(one.Value.AsSpan().SequenceEqual(many.Value), $"dV differs between 1 and {threads} threads");
        }
    }

    /// <summary>
    /// Many bands (a dS budget of one to a few blocks): dK and dV carried from band to band, bands that split a head's
    /// query blocks, middle bands without blocks for a key block; against the reference, and bitwise equal for 1 and 3
    /// threads.
    /// </summary>
    [Theory]
    [MemberData(nameof(ManagedBackends))]
    public void ManyBandsGiveTheSameGradients(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var cases = new[]
        {
            (new KernelCheck.Case(new AttentionShape(2, 6, 2, 200, 170, 40), KernelCheck.Layout(new AttentionShape(2, 6, 2, 200, 170, 40), 32, 3, 0.35, 21), Causal: true, Seed: 5), 32L * 32),
            (new KernelCheck.Case(new AttentionShape(1, 4, 4, 130, 260, 64), KernelCheck.Layout(new AttentionShape(1, 4, 4, 130, 260, 64), 16, 2, 0.5, 22), Seed: 6), 3L * 16 * 16),
            (new KernelCheck.Case(new AttentionShape(1, 8, 1, 96, 96, 24), KernelCheck.Layout(new AttentionShape(1, 8, 1, 96, 96, 24), 64, 1, 0.8, 23), Causal: true, Seed: 7), 64L * 64),
        };
        foreach (var (c, budget) in cases)
        {
            BackwardBands.BudgetOverride = budget;
            try
            {
                var one = AgainstReference(backend, c, threads: 1);
                var three = BackwardCheck.Run(backend, c, BackwardCheck.RandomInputs(c), threads: 3);
                Assert.True(one.Query.AsSpan().SequenceEqual(three.Query), "dQ differs between 1 and 3 threads");
                Assert.True(one.Key.AsSpan().SequenceEqual(three.Key), "dK differs between 1 and 3 threads");
                Assert.True(one.Value.AsSpan().SequenceEqual(three.Value), "dV differs between 1 and 3 threads");
            }
            finally
            {
                BackwardBands.BudgetOverride = null;
            }
        }
    }

    [Theory]
    [MemberData(nameof(ManagedBackends))]
    public void RepeatedCallsAllocateNoNewScratch(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(1, 2, 1, 256, 256, 64);
        var c = new KernelCheck.Case(s, KernelCheck.Layout(s, 64, 1, 0.7, 3), Causal: true);
        var x = BackwardCheck.RandomInputs(c);
        // One thread: both passes run on this (test) thread, so this thread's scratch is the one used.
        BackwardCheck.Run(backend, c, x, threads: 1);
        var scratch = KernelScratch.ForCurrentThread();
        long before = scratch.Allocations;
        for (int i = 0; i < 3; i++) BackwardCheck.Run(backend, c, x, threads: 1);
        Assert.Equal(before, scratch.Allocations);
    }
}
