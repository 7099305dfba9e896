using SparseNative.OnnxRuntime.Tests.Support;
using Xunit;

namespace SparseNative.OnnxRuntime.Tests;

/// <summary>ai.sparsenative.SparseAttention against ORT's own com.microsoft.SparseAttention (the oracle) on models
/// built in code with Phi-3-small's layout: prefill, then decode steps through the shared past/present buffers;
/// every output and the whole cache within 1e-5.</summary>
public sealed class SparseAttentionOracleTests
{
    private const float Bound = 1e-5f;

    public static TheoryData<int, int, int, bool, bool, bool, int> Configurations() => new()
    {
        // numLayout, heads, kvHeads, packed, rotary, interleaved, rotaryHalf
        { 1, 4, 4, false, false, false, 0 },
        { 2, 8, 2, false, false, false, 0 },
        { 4, 8, 2, false, true, false, 0 },
        { 4, 8, 4, true, true, true, 0 },
        { 2, 4, 1, true, false, false, 0 },
        { 2, 8, 2, false, true, false, 8 },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Prefill_then_decode_matches_ORT(int numLayout, int heads, int kvHeads, bool packed, bool rotary, bool interleaved, int rotaryHalf)
    {
        SparseAttentionCase Case() => new()
        {
            Batch = 2, Heads = heads, KvHeads = kvHeads, HeadSize = 32, BlockSize = 16, MaxBlocks = 12,
            NumLayout = numLayout, Local = 3, Stride = 4, Packed = packed, Rotary = rotary, Interleaved = interleaved,
            RotaryHalf = rotaryHalf,
        };
        using var ort = Case().Open(retarget: false);
        using var ours = Case().Open(retarget: true);
        var (rows, cols, maxNnz) = Phi3Layout.Build(numLayout, ort.MaxBlocks, ort.Local, ort.Stride);
        var random = new Inputs(numLayout * 100 + heads * 10 + kvHeads);

        // A prompt that ends inside a block, a 3-token continuation that starts inside one, then single-token decode.
        int past = 0;
        foreach (int length in new[] { 72, 3, 1, 1, 1, 1, 1 })
        {
            var step = ort.MakeStep(random, past, length);
            float[] expected = ort.Run(step, rows, cols, maxNnz);
            float[] actual = ours.Run(step, rows, cols, maxNnz);
            AssertClose(expected, actual, $"output after {past} tokens, {length} new");
            AssertClose(ort.KeyCache, ours.KeyCache, $"present_key after {past + length} tokens");
            AssertClose(ort.ValueCache, ours.ValueCache, $"present_value after {past + length} tokens");
            past += length;
        }
    }

    /// <summary>float16 (widened to float32 inside our op; ORT computes in its own fp16 path): the same steps agree within
    /// float16 resolution (2e-3 on outputs of magnitude below 1).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Float16_prefill_then_decode_matches_ORT(bool rotary)
    {
        SparseAttentionCase Case() => new()
        {
            Batch = 2, Heads = 8, KvHeads = 2, HeadSize = 32, BlockSize = 16, MaxBlocks = 8, NumLayout = 2, Rotary = rotary, Half = true,
        };
        using var ort = Case().Open(retarget: false);
        using var ours = Case().Open(retarget: true);
        var (rows, cols, maxNnz) = Phi3Layout.Build(2, ort.MaxBlocks, 3, 4);
        var random = new Inputs(rotary ? 21 : 22);
        int past = 0;
        foreach (int length in new[] { 70, 1, 1 })
        {
            var step = ort.MakeStep(random, past, length);
            AssertClose(ort.Run(step, rows, cols, maxNnz), ours.Run(step, rows, cols, maxNnz), $"float16 output after {past} tokens", 2e-3f);
            AssertClose(ort.KeyCache, ours.KeyCache, "float16 present_key", 2e-3f);
            past += length;
        }
    }

    /// <summary>Batch entries whose valid cache lengths differ: ORT 1.31.1's CPU kernel returns values outside the range
    /// of V there (not a weighted mean of V), so the oracle is a float64 computation of the contract instead.</summary>
    [Fact]
    public void Decode_with_different_lengths_per_batch_entry_matches_float64()
    {
        using var ours = new SparseAttentionCase
        {
            Batch = 3, Heads = 4, KvHeads = 2, HeadSize = 16, BlockSize = 16, MaxBlocks = 8, NumLayout = 2, Scale = 0.3f,
        }.Open(retarget: true);
        var (rows, cols, maxNnz) = Phi3Layout.Build(2, ours.MaxBlocks, 2, 3);
        var random = new Inputs(7);
        ours.Run(ours.MakeStep(random, 0, 50), rows, cols, maxNnz);
        int[] lengths = [51, 34, 17];
        var step = ours.MakeStep(random, 50, 1);
        float[] actual = ours.Run(step, rows, cols, maxNnz, lengths);
        int d = 16, nq = 4, nkv = 2, max = ours.MaxSequence, bs = 16;
        var expected = new float[actual.Length];
        for (int b = 0; b < 3; ++b)
        {
            int position = lengths[b] - 1, row = position / bs;
            for (int h = 0; h < nq; ++h)
            {
                int layout = h % 2, g = h / (nq / nkv);
                var allowed = new HashSet<int>();
                for (int i = rows[layout * 9 + row]; i < rows[layout * 9 + row + 1]; ++i) allowed.Add(cols[layout * maxNnz + i]);
                long cache = ((long)b * nkv + g) * max * d;
                var weights = new List<(int Key, double Score)>();
                for (int j = 0; j <= position; ++j)
                {
                    if (!allowed.Contains(j / bs)) continue;
                    double score = 0;
                    for (int c = 0; c < d; ++c) score += (double)step.Query[(b * nq + h) * d + c] * ours.KeyCache[cache + (long)j * d + c];
                    weights.Add((j, 0.3 * score));
                }
                double top = weights.Max(w => w.Score), sum = weights.Sum(w => Math.Exp(w.Score - top));
                for (int c = 0; c < d; ++c)
                    expected[(b * nq + h) * d + c] = (float)(weights.Sum(w => Math.Exp(w.Score - top) * ours.ValueCache[cache + (long)w.Key * d + c]) / sum);
            }
        }
        AssertClose(expected, actual, "decode with lengths 51, 34, 17");
        // The new token went to position length - 1 of each entry.
        for (int b = 0; b < 3; ++b)
            for (int c = 0; c < d; ++c)
                Assert.Equal(step.Key![b * nkv * d + c], ours.KeyCache[((long)b * nkv) * max * d + (long)(lengths[b] - 1) * d + c]);
    }

    internal static void AssertClose(float[] expected, float[] actual, string what, float bound = Bound)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; ++i)
        {
            double e = Math.Abs(expected[i] - actual[i]);
            if (!(e <= worst)) { worst = e; at = i; }
        }
        Assert.True(worst <= bound, $"{what}: max |ORT - ours| = {worst:g3} at {at} (expected {expected[Math.Max(at, 0)]}, got {actual[Math.Max(at, 0)]})");
    }
}
