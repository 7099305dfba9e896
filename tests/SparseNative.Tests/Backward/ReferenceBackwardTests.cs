using SparseNative.Tests.Kernels;
using Xunit;

namespace SparseNative.Tests.Backward;

/// <summary>
/// The float64 reference backward, the oracle of every other backward: against central finite differences of a float64
/// forward and against the dense textbook formulas (<see cref="NaiveDenseBackward"/>), on every option.
/// </summary>
public class ReferenceBackwardTests
{
    /// <summary>Float64 throughout; what remains is the final rounding of each gradient to float32 (≈ 6e-8) and the
    /// O(ε²) truncation of the central difference.</summary>
    private const double FiniteDifferenceTolerance = 1e-6;

    /// <summary>Two float64 computations of the same gradient; they differ only by float32 rounding of the result.</summary>
    private const double DenseFormulaTolerance = Tolerances.RoundedOnceRelative;

    private static KernelCheck.Case Case(AttentionShape s, int block, int lists, double density, int seed, bool causal = false,
        TensorFormat format = TensorFormat.Bhsd, float? scale = null, bool segments = false)
    {
        int[]? segQ = null, segK = null;
        if (segments)
        {
            var rng = new Random(seed);
            segQ = new int[s.Batch * s.QueryLength];
            segK = new int[s.Batch * s.KeyLength];
            // Ragged documents, shifted per batch; the two sides use different lengths so some rows see nothing.
            for (int i = 0; i < segQ.Length; i++) segQ[i] = i % s.QueryLength / 7 + rng.Next(2);
            for (int j = 0; j < segK.Length; j++) segK[j] = j % s.KeyLength / 9 + rng.Next(2);
        }
        return new(s, KernelCheck.Layout(s, block, lists, density, seed), causal, format, segQ, segK, scale, seed);
    }

    /// <summary>Small problems covering every option: GQA, causal cross both ways, segment ids, tails, BSHD, per-head layouts,
    /// empty rows, scale 0 and negative.</summary>
    private static readonly Dictionary<string, KernelCheck.Case> s_small = new()
    {
        { "GQA 4:2, tails, shared layout", Case(new(1, 4, 2, 37, 37, 5), 16, 1, 0.7, 1) },
        { "causal cross Lq<Lk, MQA", Case(new(1, 2, 1, 20, 45, 4), 16, 2, 0.8, 2, causal: true) },
        { "causal cross Lq>Lk (early rows empty)", Case(new(2, 2, 2, 45, 20, 4), 16, 1, 1.0, 3, causal: true) },
        { "segment ids, causal", Case(new(2, 2, 1, 33, 33, 4), 16, 1, 0.9, 4, causal: true, segments: true) },
        { "BSHD, per-head layouts", Case(new(2, 3, 3, 30, 26, 4), 16, 3, 0.6, 5, format: TensorFormat.Bshd) },
        { "sparse layout with empty rows", Case(new(1, 2, 2, 64, 64, 4), 16, 2, 0.3, 6) },
        { "scale 0", Case(new(1, 2, 1, 24, 24, 4), 16, 1, 0.8, 7, scale: 0f) },
        { "negative scale, causal, BSHD GQA", Case(new(1, 4, 2, 28, 28, 4), 16, 4, 0.8, 8, causal: true, format: TensorFormat.Bshd, scale: -0.7f) },
    };

    public static TheoryData<string> SmallCases => new(s_small.Keys);

    public static TheoryData<string> LargerCases => new(s_larger.Keys);

    [Theory]
    [MemberData(nameof(SmallCases))]
    public void MatchesCentralFiniteDifferences(string name)
    {
        var c = s_small[name];
        var x = BackwardCheck.RandomInputs(c);
        var g = BackwardCheck.Run(Backend.Reference, c, x);
        double[] q = NaiveDenseBackward.ToDouble(x.Query), k = NaiveDenseBackward.ToDouble(x.Key), v = NaiveDenseBackward.ToDouble(x.Value);
        double[] dO = NaiveDenseBackward.ToDouble(x.OutputGradient);
        // L = Σ dO ∘ O, so dL/dO = dO and the backward's gradients are dL/dQ, dL/dK, dL/dV.
        double Loss()
        {
            var o = NaiveDenseBackward.Forward(q, k, v, c);
            double sum = 0;
            for (int i = 0; i < o.Length; i++) sum += dO[i] * o[i];
            return sum;
        }
        foreach (var (tensor, gradient, label) in new[] { (q, g.Query, "dQ"), (k, g.Key, "dK"), (v, g.Value, "dV") })
        {
            const double eps = 1e-4;
            var numeric = new double[tensor.Length];
            for (int e = 0; e < tensor.Length; e++)
            {
                double keep = tensor[e];
                tensor[e] = keep + eps; double up = Loss();
                tensor[e] = keep - eps; double down = Loss();
                tensor[e] = keep;
                numeric[e] = (up - down) / (2 * eps);
            }
            double err = NaiveDenseBackward.RelativeError(gradient, numeric);
            Assert.True(err <= FiniteDifferenceTolerance, $"{name}: {label} relative error {err:E2} against finite differences");
        }
    }

    private static readonly Dictionary<string, KernelCheck.Case> s_larger = new()
    {
        { "GQA 4:2, block 16, tails", Case(new(2, 4, 2, 70, 70, 16), 16, 4, 0.6, 11) },
        { "causal cross Lq<Lk, block 32", Case(new(1, 4, 1, 50, 97, 24), 32, 1, 0.9, 12, causal: true) },
        { "causal cross Lq>Lk, BSHD", Case(new(1, 2, 2, 97, 50, 8), 16, 2, 0.8, 13, causal: true, format: TensorFormat.Bshd) },
        { "segment ids, GQA", Case(new(2, 4, 2, 64, 64, 8), 16, 2, 1.0, 14, segments: true) },
        { "scale 1.1 (peaked)", Case(new(1, 2, 2, 48, 48, 32), 16, 1, 0.7, 15, scale: 1.1f) },
    };

    [Theory]
    [MemberData(nameof(LargerCases))]
    public void MatchesTheDenseFormula(string name)
    {
        var c = s_larger[name];
        var x = BackwardCheck.RandomInputs(c);
        var g = BackwardCheck.Run(Backend.Reference, c, x);
        var (dq, dk, dv) = NaiveDenseBackward.Backward(NaiveDenseBackward.ToDouble(x.Query), NaiveDenseBackward.ToDouble(x.Key),
            NaiveDenseBackward.ToDouble(x.Value), NaiveDenseBackward.ToDouble(x.OutputGradient), c);
        foreach (var (actual, expected, label) in new[] { (g.Query, dq, "dQ"), (g.Key, dk, "dK"), (g.Value, dv, "dV") })
        {
            double err = NaiveDenseBackward.RelativeError(actual, expected);
            Assert.True(err <= DenseFormulaTolerance, $"{name}: {label} relative error {err:E2} against the dense formula");
        }
    }

    [Fact]
    public void RowsWithoutKeysGetZeroGradientsAndKeysNobodySeesToo()
    {
        // Causal with Lq > Lk: queries 0..24 see no key. Key block 1 is in no row of the layout.
        var s = new AttentionShape(1, 2, 1, 40, 15, 8);
        var mask = new bool[3, 1];
        mask[0, 0] = true; mask[2, 0] = true; // query block 1 (rows 16..31) is empty
        var c = new KernelCheck.Case(s, BlockLayout.FromDense(mask, 16), Causal: true, Seed: 21);
        var g = BackwardCheck.Run(Backend.Reference, c, BackwardCheck.RandomInputs(c));
        Assert.All(g.Query.Concat(g.Key).Concat(g.Value), x => Assert.False(float.IsNaN(x)));
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < 32; i++)
                for (int x = 0; x < 8; x++) Assert.Equal(0f, g.Query[(h * 40 + i) * 8 + x]);
        Assert.Contains(g.Query, x => x != 0f); // the last rows do see keys
    }
}
