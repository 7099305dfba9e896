using SparseNative.Tests.Kernels;
using Xunit;

namespace SparseNative.Tests.Reliability;

/// <summary>
/// The problems the guard-page runs put against an inaccessible page: tails (lengths that are not a multiple of the block),
/// head dimensions 8/24/40/80, one-token sequences, decode steps, GQA, BSHD, segment ids, causal cross attention, with LSE.
/// </summary>
internal static class GuardPageCases
{
    /// <summary>The variable that tells <see cref="GuardPageChildTests"/> which side to guard: <c>After</c> or <c>Before</c>.</summary>
    public const string SideVariable = "SPARSENATIVE_GUARD_SIDE";

    /// <summary>Optional comma-separated backends the child must run (each must be available); default: every available CPU backend.</summary>
    public const string BackendsVariable = "SPARSENATIVE_GUARD_BACKENDS";

    /// <summary>Every shape kind at each head dimension; the emulated CUDA library runs the kernels on the CPU one thread per
    /// CUDA thread, so it gets fewer head dimensions to stay within a few seconds.</summary>
    public static IEnumerable<KernelCheck.Case> All(bool fewerHeadDims = false)
    {
        int seed = 1;
        foreach (int d in fewerHeadDims ? new[] { 8, 40 } : new[] { 8, 24, 40, 64, 80 })
        {
            yield return Case(new AttentionShape(1, 2, 2, 37, 53, d), 16, 1, 0.7, seed++);                              // tails
            yield return Case(new AttentionShape(2, 4, 2, 1, 1, d), 16, 2, 1.0, seed++);                                // one token
            yield return Case(new AttentionShape(1, 8, 2, 1, 301, d), 32, 1, 1.0, seed++);                              // decode, GQA
            yield return Case(new AttentionShape(1, 4, 1, 70, 70, d), 16, 4, 0.6, seed++, causal: true, format: TensorFormat.Bshd);
            yield return Case(new AttentionShape(1, 2, 1, 19, 45, d), 16, 1, 1.0, seed++, causal: true);                 // causal cross
            yield return Segmented(new AttentionShape(2, 2, 2, 33, 33, d), seed++);
        }
    }

    private static KernelCheck.Case Case(AttentionShape s, int block, int lists, double density, int seed, bool causal = false,
        TensorFormat format = TensorFormat.Bhsd) =>
        new(s, KernelCheck.Layout(s, block, lists, density, seed), causal, format, Seed: seed);

    private static KernelCheck.Case Segmented(AttentionShape s, int seed)
    {
        var ids = new int[s.Batch * s.QueryLength];
        for (int i = 0; i < ids.Length; i++) ids[i] = (i % s.QueryLength) / 10; // segments of 10 tokens
        return new(s, KernelCheck.Layout(s, 16, 1, 1.0, seed), Format: TensorFormat.Bshd, QuerySegments: ids, KeySegments: ids, Seed: seed);
    }

    public static GuardSide SideFromEnvironment() =>
        Enum.Parse<GuardSide>(Environment.GetEnvironmentVariable(SideVariable) ?? throw new InvalidOperationException($"{SideVariable} is not set"));

    public static Backend[] BackendsFromEnvironment()
    {
        if (Environment.GetEnvironmentVariable(BackendsVariable) is { Length: > 0 } list)
        {
            var named = list.Split(',').Select(Enum.Parse<Backend>).ToArray();
            foreach (var b in named)
            {
                var info = SparseAttention.Backends.Single(i => i.Backend == b);
                Assert.True(info.IsAvailable, $"{b} was asked for but is unavailable: {info.Reason}");
            }
            return named;
        }
        return SparseAttention.Backends.Where(i => i.IsAvailable && i.Backend is not (Backend.Reference or Backend.Cuda))
            .Select(i => i.Backend).ToArray();
    }
}
