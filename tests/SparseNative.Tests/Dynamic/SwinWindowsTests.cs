using Xunit;

namespace SparseNative.Tests.Dynamic;

/// <summary>
/// <see cref="SwinWindows"/>: one block-sparse call over permuted tokens against direct masked attention on the original grid,
/// with masks written here from the definitions (window of each token; Swin's three slice regions per axis).
/// </summary>
public class SwinWindowsTests
{

    /// <summary>Masked softmax attention in float64 over grid tokens, BSHD <c>[1, N, heads, d]</c>, any mask.</summary>
    private static float[] MaskedAttention(float[] q, float[] k, float[] v, int n, int heads, int d, Func<int, int, bool> allowed)
    {
        var o = new float[q.Length];
        double scale = 1 / Math.Sqrt(d);
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < n; i++)
            {
                var js = Enumerable.Range(0, n).Where(j => allowed(i, j)).ToArray();
                var s = js.Select(j => Enumerable.Range(0, d).Sum(c => (double)q[(i * heads + h) * d + c] * k[(j * heads + h) * d + c]) * scale).ToArray();
                double max = s.Max(), sum = s.Sum(x => Math.Exp(x - max));
                for (int c = 0; c < d; c++)
                    o[(i * heads + h) * d + c] = (float)(js.Select((j, p) => Math.Exp(s[p] - max) * v[(j * heads + h) * d + c]).Sum() / sum);
            }
        return o;
    }

    private static float[] ViaPartition(WindowPartition part, float[] q, float[] k, float[] v, int heads, int d, Backend backend)
    {
        int n = part.TokenCount, f = heads * d;
        float[] P(float[] x) { var y = new float[x.Length]; part.Permute(x, y, f); return y; }
        var o = new float[q.Length];
        var s = AttentionShape.SelfAttention(1, heads, n, d);
        SparseAttention.Forward(P(q), P(k), P(v), o, s, part.Layout, new AttentionOptions
        {
            Format = TensorFormat.Bshd, Backend = backend, QuerySegmentIds = part.SegmentIds, KeySegmentIds = part.SegmentIds,
        });
        var result = new float[q.Length];
        part.Unpermute(o, result, f);
        return result;
    }

    [Theory]
    [InlineData(8, 8, 4, 16)]
    [InlineData(7, 10, 3, 16)]   // neither side a multiple of w: 3×1, 1×3 and 1×1 border windows
    [InlineData(5, 5, 7, 32)]    // window larger than the grid: one window
    [InlineData(14, 9, 7, 64)]
    public void WindowAttentionEqualsDirectPerWindowAttention(int height, int width, int window, int block)
    {
        const int heads = 2, d = 8;
        int n = height * width;
        var (q, k, v) = TestData.Qkv(AttentionShape.SelfAttention(1, heads, n, d), n, scale: 2f);
        var part = SwinWindows.Partition(height, width, window, block);
        Assert.Equal(((height + window - 1) / window) * ((width + window - 1) / window), part.WindowCount);
        bool SameWindow(int a, int b) => a / width / window == b / width / window && a % width / window == b % width / window;
        var expected = MaskedAttention(q, k, v, n, heads, d, SameWindow);
        foreach (var backend in new[] { Backend.Reference, Backend.Auto })
            Assert.True(TestData.RelativeError(ViaPartition(part, q, k, v, heads, d, backend), expected) <= Tolerances.Relative(backend), $"{backend}");
    }

    /// <summary>The shifted-window rule from its definition: roll up/left by s, same window, same wrap state per axis.</summary>
    private static Func<int, int, bool> ShiftedMask(int height, int width, int window, int shift) => (a, b) =>
    {
        int ya = ((a / width - shift) % height + height) % height, xa = ((a % width - shift) % width + width) % width;
        int yb = ((b / width - shift) % height + height) % height, xb = ((b % width - shift) % width + width) % width;
        return ya / window == yb / window && xa / window == xb / window &&
               (ya >= height - shift) == (yb >= height - shift) && (xa >= width - shift) == (xb >= width - shift);
    };

    [Theory]
    [InlineData(8, 8, 4, 2, 16)]
    [InlineData(9, 7, 4, 2, 16)]    // partial windows: a border window mixes wrapped and unwrapped tokens
    [InlineData(6, 11, 3, 1, 32)]
    [InlineData(12, 12, 6, 3, 64)]
    public void ShiftedWindowsEqualTheIndependentMaskedImplementation(int height, int width, int window, int shift, int block)
    {
        const int heads = 2, d = 8;
        int n = height * width;
        var (q, k, v) = TestData.Qkv(AttentionShape.SelfAttention(1, heads, n, d), n + shift, scale: 2f);
        var part = SwinWindows.Shifted(height, width, window, shift, block);
        var expected = MaskedAttention(q, k, v, n, heads, d, ShiftedMask(height, width, window, shift));
        foreach (var backend in new[] { Backend.Reference, Backend.Auto })
            Assert.True(TestData.RelativeError(ViaPartition(part, q, k, v, heads, d, backend), expected) <= Tolerances.Relative(backend), $"{backend}");
    }

    [Theory]
    [InlineData(8, 8, 4, 2)]
    [InlineData(14, 7, 7, 3)]
    public void OnMultiplesOfTheWindowTheMaskIsSwinsRegionMask(int height, int width, int window, int shift)
    {
        // Swin: label each shifted position by its slice [0, H−w), [H−w, H−s), [H−s, H) per axis; attend iff same window and label.
        int Slice(int p, int size) => p < size - window ? 0 : p < size - shift ? 1 : 2;
        var part = SwinWindows.Shifted(height, width, window, shift, 16);
        int n = height * width;
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++)
            {
                int ya = (a / width - shift + height) % height, xa = (a % width - shift + width) % width;
                int yb = (b / width - shift + height) % height, xb = (b % width - shift + width) % width;
                bool swin = ya / window == yb / window && xa / window == xb / window &&
                            Slice(ya, height) * 3 + Slice(xa, width) == Slice(yb, height) * 3 + Slice(xb, width);
                bool ours = part.SegmentIds.Span[part.InversePermutation.Span[a]] == part.SegmentIds.Span[part.InversePermutation.Span[b]];
                Assert.True(swin == ours, $"tokens {a}, {b}: Swin {swin}, ours {ours}");
            }
    }

    [Fact]
    public void PermutationIsABijectionAndWindowsAreContiguous()
    {
        var part = SwinWindows.Shifted(10, 13, 4, 2, 16);
        Assert.Equal(Enumerable.Range(0, 130), part.Permutation.ToArray().Order());
        for (int t = 0; t < 130; t++) Assert.Equal(t, part.Permutation.Span[part.InversePermutation.Span[t]]);
        // Each segment occupies one contiguous run of positions (so blocks straddle at most the runs' edges).
        var seen = new HashSet<int>();
        var ids = part.SegmentIds.Span;
        for (int p = 0; p < 130; p++)
            if (p == 0 || ids[p] != ids[p - 1]) Assert.True(seen.Add(ids[p]), $"segment {ids[p]} split");
        Assert.True(part.Layout.Density < 0.5);
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        Assert.Equal("shift", Assert.ThrowsAny<ArgumentException>(() => SwinWindows.Shifted(8, 8, 4, 4, 16)).ParamName);
        Assert.Equal("shift", Assert.ThrowsAny<ArgumentException>(() => SwinWindows.Shifted(8, 8, 4, -1, 16)).ParamName);
        Assert.Equal("shift", Assert.ThrowsAny<ArgumentException>(() => SwinWindows.Shifted(2, 8, 4, 2, 16)).ParamName);
        Assert.Equal("window", Assert.ThrowsAny<ArgumentException>(() => SwinWindows.Partition(8, 8, 0, 16)).ParamName);
        Assert.Equal("blockSize", Assert.ThrowsAny<ArgumentException>(() => SwinWindows.Partition(8, 8, 4, 20)).ParamName);
        var part = SwinWindows.Partition(4, 4, 2, 16);
        var x = new float[16 * 3];
        Assert.Equal("permuted", Assert.ThrowsAny<ArgumentException>(() => part.Permute(x, new float[5], 3)).ParamName);
        Assert.Equal("permuted", Assert.ThrowsAny<ArgumentException>(() => part.Permute(x, x, 3)).ParamName);
    }
}
