using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// Exists only inside a child process started by <see cref="IsaSwitchTests"/> (or under qemu for arm64), where
/// <c>SPARSENATIVE_EXPECT_ISA</c> names the expected instruction-set state; a normal run does not discover it. Each
/// test first asserts that state, so a runtime switch that was ignored fails instead of quietly re-testing the widest
/// path.
/// </summary>
public class IsaSwitchChildTests
{
    private static IsaExpectation Expected()
    {
        var e = IsaExpectation.FromEnvironment() ?? throw new InvalidOperationException($"{IsaExpectation.Variable} is not set");
        e.AssertRuntimeState();
        return e;
    }

    [ChildProcessFact(IsaExpectation.Variable)]
    public void RuntimeReportsTheExpectedInstructionSets() => Expected();

    [ChildProcessFact(IsaExpectation.Variable)]
    public void AutoPicksTheFastestPathThatRuns()
    {
        var e = Expected();
        var s = new AttentionShape(1, 2, 2, 64, 64, 64);
        // With no managed SIMD path left, Auto falls to the native C library (its own ISA dispatch, untouched by the
        // runtime's switches) when it is loaded, and to the reference otherwise.
        bool nativeLoaded = SparseAttention.Backends.Single(b => b.Backend == Backend.NativeCpu).IsAvailable;
        var expected = e.AutoPick == Backend.Reference && nativeLoaded ? Backend.NativeCpu : e.AutoPick;
        Assert.Equal(expected, SparseAttention.SelectBackend(s, KernelCheck.Layout(s, 16, 1, 1.0, 1)));
        foreach (var info in SparseAttention.Backends.Where(b => KernelCheck.SimdBackends.Contains(b.Backend)))
            Assert.Equal(info.Backend == e.AutoPick || (info.Backend == Backend.Portable && e.AutoPick != Backend.Reference), info.IsAvailable);
    }

    [ChildProcessFact(IsaExpectation.Variable)]
    public void AutoMatchesTheReference()
    {
        Expected();
        var rng = new Random(4);
        foreach (int d in new[] { 8, 24, 64, 80, 128 })
            foreach (bool causal in new[] { false, true })
            {
                var s = new AttentionShape(1, 4, 2, 70 + rng.Next(30), 60 + rng.Next(60), d);
                var layout = KernelCheck.Layout(s, d == 64 ? 64 : 16, 2, 0.6, d);
                KernelCheck.AgainstReference(Backend.Auto, new(s, layout, Causal: causal, Format: causal ? TensorFormat.Bshd : TensorFormat.Bhsd, Seed: d));
            }
    }

    [ChildProcessFact(IsaExpectation.Variable)]
    public void AutoMatchesTheReferenceWithHalfTensors()
    {
        Expected();
        foreach (var (qo, kv) in HalfPrecision.Combinations)
        {
            var s = new AttentionShape(1, 4, 2, 77, 93, 40);
            var layout = KernelCheck.Layout(s, 16, 2, 0.6, 40);
            HalfPrecision.AgainstReference(Backend.Auto, new(s, layout, Causal: true, Seed: 7), qo, kv);
        }
    }
}
