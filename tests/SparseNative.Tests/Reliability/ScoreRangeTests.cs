using SparseNative.Tests.Native;
using Xunit;

namespace SparseNative.Tests.Reliability;

/// <summary>
/// Finite inputs at the edge of float32's range (docs/SEMANTICS.md, "Finite values and their range"): scores near ±1e30 are
/// answered correctly by every backend — a one-hot softmax, and a row whose every score is hugely negative is still a row
/// with keys, not an empty one — while inputs whose scores or weighted value sums could overflow float32 are refused with
/// an <see cref="ArgumentException"/> naming the tensor, unless <see cref="AttentionOptions.CheckFinite"/> is off.
/// </summary>
public class ScoreRangeTests
{
    public static TheoryData<float, bool> HugeScales => new() { { 1e30f, false }, { 1e30f, true }, { -1e30f, false }, { -1e30f, true } };

    /// <summary>
    /// Bounds: output <see cref="Tolerances.ForwardRelative"/> to the float64 reference; LSE (≈ ±1e30 here) within
    /// <see cref="Tolerances.LogSumExp"/>·|scale| (a float32 score q·k is rounded by about ε·HeadDim·max|q|·max|k|, here
    /// ~2e-6, before the scale multiplies it); empty rows exactly 0 / −∞, and rows with keys never reported empty.
    /// </summary>
    [Theory]
    [MemberData(nameof(HugeScales))]
    public void EveryBackendAnswersScoresNearTheFloat32Limit(float scale, bool causal)
    {
        // GQA, causal cross (Lq ≠ Lk), ragged tails, a one-block window (rows with few keys, so some have only negative
        // scores) and a random layout with empty rows.
        var s = new AttentionShape(1, 4, 2, 70, 101, 16);
        bool first = true;
        foreach (var layout in new[]
                 {
                     // One key block per row: the diagonal of the bottom-right-aligned grid, so causal rows keep keys.
                     BlockLayout.FromPredicate(16, s.QueryBlocks(16), s.KeyBlocks(16), 1, (_, r, c) => c == r + 2),
                     TestData.RandomLayout(16, s.QueryBlocks(16), s.KeyBlocks(16), 2, 0.4, 31),
                 })
        {
            var opts = new AttentionOptions { Scale = scale, Causal = causal };
            var (q, k, v) = TestData.Qkv(s, 41, scale: 1.5f);
            // Queries 64..69 of the two heads of K/V head 0 all point away from keys 96..100 (the last, 5-key block), so
            // the rows that see only that block have only scores of about −scale·HeadDim/2 (far below −1e30 in base 2
            // when scale = 1e30; with scale −1e30 the other rows' maxima are the negative ones).
            var rng = new Random(3);
            for (int c = 0; c < s.HeadDim; c++)
            {
                float u = c % 2 == 0 ? 1f : -1f;
                for (int h = 0; h < 2; h++)
                    for (int t = 64; t < 70; t++) q[(h * s.QueryLength + t) * s.HeadDim + c] = u;
                for (int t = 96; t < 101; t++) k[t * s.HeadDim + c] = -u * (float)(0.5 + rng.NextDouble());
            }
            var reference = Run(Backend.Reference);
            if (first && scale > 0) Assert.Contains(reference.Lse, x => float.IsFinite(x) && x < -1e30f);
            first = false;
            foreach (var b in BackendComparisonTests.AvailableFastBackends())
            {
                var r = Run(b);
                double err = TestData.RelativeError(r.O, reference.O);
                Assert.True(err <= Tolerances.ForwardRelative, $"{b}, scale {scale}, causal {causal}: relative error {err:E2}");
                for (int i = 0; i < r.Lse.Length; i++)
                {
                    float e = reference.Lse[i], a = r.Lse[i];
                    if (float.IsNegativeInfinity(e)) Assert.True(float.IsNegativeInfinity(a), $"{b}: row {i} has no key, LSE {a}");
                    else Assert.True(Math.Abs((double)a - e) <= Tolerances.LogSumExp * Math.Abs(scale),
                        $"{b}: row {i} LSE {a} vs {e}");
                }
            }

            (float[] O, float[] Lse) Run(Backend b)
            {
                var o = new float[s.QueryElements];
                var lse = new float[s.LogSumExpElements];
                Assert.Equal(b, SparseAttention.Forward(q, k, v, o, s, layout, opts with { Backend = b }, lse));
                return (o, lse);
            }
        }
    }

    private static readonly AttentionShape Shape = new(1, 2, 2, 40, 40, 16);
    private static readonly BlockLayout Layout = BlockPatterns.Dense(40, 16);

    [Theory]
    [InlineData(1e19f, 1e19f, 0f, "query")]            // 16·1e38 overflows a score
    [InlineData(1e4f, 1e4f, 1e32f, "query")]           // moderate inputs, a scale that makes the scores overflow
    [InlineData(0f, 0f, 1e37f, "value")]               // 40 keys · 1e37 overflows the weighted sum
    public void InputsThatCouldOverflowAreRefusedByEveryBackend(float queryValue, float keyValue, float valueOrScale, string param)
    {
        bool valueCase = param == "value";
        var (q, k, v) = TestData.Qkv(Shape, 5);
        if (!valueCase) { q[7] = queryValue; k[11] = -keyValue; }
        else v[3] = valueOrScale;
        var opts = new AttentionOptions { Scale = valueCase || valueOrScale == 0 ? null : valueOrScale };
        foreach (var b in BackendComparisonTests.AvailableFastBackends().Append(Backend.Reference))
        {
            var ex = Assert.Throws<ArgumentException>(() =>
                SparseAttention.Forward(q, k, v, new float[Shape.QueryElements], Shape, Layout, opts with { Backend = b }));
            Assert.Equal(param, ex.ParamName);
            Assert.Contains("overflow float32", ex.Message);
        }
    }

    [Fact]
    public void TheBoundItselfIsAccepted()
    {
        // max|q|·max|k|·HeadDim·log2 e·scale just below float.MaxValue / 2: accepted, and the answer is finite.
        var (q, k, v) = TestData.Qkv(Shape, 6, scale: 0.5f);
        q[0] = 1e18f; k[0] = 1e18f;
        float scale = (float)(float.MaxValue / 2.0 / (16 * 1e36 * 1.4426950408889634) * 0.99);
        var o = new float[Shape.QueryElements];
        foreach (var b in BackendComparisonTests.AvailableFastBackends())
        {
            SparseAttention.Forward(q, k, v, o, Shape, Layout, new AttentionOptions { Scale = scale, Backend = b });
            Assert.All(o, x => Assert.True(float.IsFinite(x), $"{b}: {x}"));
        }
    }

    [Fact]
    public void WithCheckFiniteOffTheRangeIsNotCheckedAndNothingCrashes()
    {
        var (q, k, v) = TestData.Qkv(Shape, 7);
        q[7] = 1e19f; k[11] = 1e19f; v[3] = 3e38f;
        foreach (var b in BackendComparisonTests.AvailableFastBackends())
            SparseAttention.Forward(q, k, v, new float[Shape.QueryElements], Shape, Layout,
                new AttentionOptions { CheckFinite = false, Backend = b }); // unspecified values, but an answer
    }
}
