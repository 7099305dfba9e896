using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// The x64 managed paths (Avx512, Avx2, Portable) give bitwise-identical outputs and LSE on the same problem, so a
/// result does not change when a program moves to a machine with another instruction set (docs/USAGE.md promises it).
/// NativeCpu is compiled by a C compiler with its own operation order: it agrees to rounding, not bit for bit.
/// </summary>
public class CrossIsaDeterminismTests
{
    private static readonly Backend[] ManagedX64 = [Backend.Avx512, Backend.Avx2, Backend.Portable];

    /// <summary>
    /// The largest |NativeCpu − managed| allowed, output and LSE (inputs up to 1.5): observed ≤ 1e-6 on these cases, a few
    /// ulps of values around 1; the contract against the float64 reference is 1e-5.
    /// </summary>
    private const double NativeMaxAbsDifference = 4e-6;

    public static TheoryData<string> CaseNames => new(Cases().Select(c => c.Name));

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Avx512Avx2AndPortableAgreeBitForBit(string name)
    {
        var c = Cases().Single(x => x.Name == name).Case;
        var available = Available(ManagedX64);
        if (available.Count < 2)
            Assert.Skip($"fewer than two of {string.Join(", ", ManagedX64)} are available here: {Reasons(ManagedX64)}");
        var (q, k, v) = TestData.Qkv(c.Shape, c.Seed, scale: 1.5f);
        var (o0, l0) = KernelCheck.Run(available[0], c, q, k, v, threads: 2);
        foreach (var other in available.Skip(1))
        {
            var (o, l) = KernelCheck.Run(other, c, q, k, v, threads: 2);
            AssertBitwiseEqual(o0, o, $"output, {available[0]} vs {other}, {KernelCheck.Describe(c)}");
            AssertBitwiseEqual(l0, l, $"LSE, {available[0]} vs {other}, {KernelCheck.Describe(c)}");
        }
        if (available.Count < ManagedX64.Length)
            Assert.Skip($"compared {string.Join(", ", available)} only: {Reasons(ManagedX64.Except(available))}");
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void NativeCpuAgreesWithTheManagedPathsToRounding(string name)
    {
        var c = Cases().Single(x => x.Name == name).Case;
        var managed = Available(ManagedX64);
        if (managed.Count == 0) Assert.Skip($"no x64 managed path is available here: {Reasons(ManagedX64)}");
        KernelCheck.SkipIfUnavailable(Backend.NativeCpu);
        var (q, k, v) = TestData.Qkv(c.Shape, c.Seed, scale: 1.5f);
        var (om, lm) = KernelCheck.Run(managed[0], c, q, k, v, threads: 2);
        var (on, ln) = KernelCheck.Run(Backend.NativeCpu, c, q, k, v, threads: 2);
        double output = MaxAbsDifference(on, om), lse = TestData.MaxLseError(ln, lm);
        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: NativeCpu vs {managed[0]}: max |Δ| output {output:E2}, LSE {lse:E2}");
        Assert.True(output <= NativeMaxAbsDifference, $"NativeCpu vs {managed[0]}: output max |Δ| {output:E2} for {KernelCheck.Describe(c)}");
        Assert.True(lse <= NativeMaxAbsDifference, $"NativeCpu vs {managed[0]}: LSE max |Δ| {lse:E2} for {KernelCheck.Describe(c)}");
    }

    private static IEnumerable<(string Name, KernelCheck.Case Case)> Cases()
    {
        // Odd lengths (tails in the last block), several head dims and every block size.
        int[] blocks = BlockLayout.SupportedBlockSizes.ToArray();
        foreach (int block in blocks)
            foreach (int d in new[] { 8, 24, 64, 128, 256 })
            {
                var s = new AttentionShape(1, 2, 2, 2 * block + 7, 2 * block + 7, d);
                yield return ($"block{block}-d{d}", new(s, KernelCheck.Layout(s, block, 2, 0.7, seed: block + d), Seed: block * d));
            }
        // GQA 6:2, per-head lists, BSHD.
        var gqa = new AttentionShape(2, 6, 2, 90, 70, 48);
        yield return ("gqa-bshd", new(gqa, KernelCheck.Layout(gqa, 16, 3, 0.5, seed: 3), Format: TensorFormat.Bshd, Seed: 5));
        // Causal cross attention both ways (bottom-right alignment; Lq > Lk masks early rows completely).
        foreach (var (lq, lk) in new[] { (37, 150), (150, 37), (1, 129) })
        {
            var s = new AttentionShape(2, 4, 1, lq, lk, 32);
            yield return ($"causal-{lq}x{lk}", new(s, KernelCheck.Layout(s, 16, 1, 0.8, seed: lq * 7 + lk), Causal: true, Seed: lq + lk));
        }
        // Segment ids (ragged documents) with causal masking and a custom scale.
        var seg = new AttentionShape(2, 2, 2, 96, 96, 64);
        var rng = new Random(3);
        var ids = new int[2 * 96];
        for (int i = 0; i < 96; i++) { ids[i] = i / 32; ids[96 + i] = i / 13 + rng.Next(2); }
        yield return ("segments", new(seg, KernelCheck.Layout(seg, 32, 1, 0.9, seed: 5), Causal: true,
            QuerySegments: ids, KeySegments: ids, Scale: 0.2f, Seed: 9));
        // Sparse random layout with empty rows, longer rows (many key blocks: the running max moves).
        var sparse = new AttentionShape(1, 4, 4, 777, 777, 64);
        yield return ("sparse-long", new(sparse, KernelCheck.Layout(sparse, 64, 4, 0.3, seed: 11), Seed: 13));
    }

    private static List<Backend> Available(IEnumerable<Backend> backends) =>
        backends.Where(b => SparseAttention.Backends.Single(i => i.Backend == b).IsAvailable).ToList();

    private static string Reasons(IEnumerable<Backend> backends) =>
        string.Join("; ", SparseAttention.Backends.Where(i => backends.Contains(i.Backend) && !i.IsAvailable)
            .Select(i => $"{i.Backend}: {i.Reason}"));

    private static void AssertBitwiseEqual(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} differs: {expected[i]:R} vs {actual[i]:R}");
    }

    private static double MaxAbsDifference(float[] a, float[] b)
    {
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs((double)a[i] - b[i]));
        return worst;
    }
}
