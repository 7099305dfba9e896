using System.Diagnostics;
using Xunit;

namespace SparseNative.Tests.Backward;

/// <summary>
/// The backward pass trains something: <see cref="RetrievalModel"/> learns <see cref="RetrievalTask"/> through a
/// block-sparse layout with Adam, its attention gradients from <see cref="SparseAttention.Backward"/>. And the layer's
/// gradients, chain rule and attention backward together, match finite differences of its loss.
/// </summary>
public class TrainingTests
{
    /// <summary>Chance is ln 8 ≈ 2.08; a model that retrieves the marked symbol gets far below this.</summary>
    private const double LossThreshold = 0.1;
    private const int MaxSteps = 400;

    /// <summary>Float32 attention inside a float64 loss: the central difference's noise and O(ε²) error stay below this.</summary>
    private const double GradientCheckTolerance = 2e-3;

    [Fact]
    public void LearnsLongRangeRetrievalThroughASparseLayout()
    {
        var model = new RetrievalModel(seed: 1);
        var adam = new Adam(model.Parameters, learningRate: 0.03);
        var rng = new Random(2);
        var (heldX, heldTargets) = RetrievalTask.Sample(32, new Random(99));
        double initial = model.Loss(heldX, heldTargets);
        var clock = Stopwatch.StartNew();
        int steps = 0;
        double held = initial;
        while (steps < MaxSteps)
        {
            var (x, targets) = RetrievalTask.Sample(16, rng);
            var grads = model.Parameters.Select(p => new float[p.Length]).ToArray();
            model.Loss(x, targets, grads);
            adam.Step(grads);
            steps++;
            if (steps % 25 == 0 && (held = model.Loss(heldX, heldTargets)) < LossThreshold) break;
        }
        model.Loss(heldX, heldTargets, null, out double accuracy);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"held-out loss {initial:F3} → {held:F4} in {steps} steps ({clock.Elapsed.TotalSeconds:F1} s), accuracy {accuracy:P0}");
        Assert.True(initial > 1.5, $"initial loss {initial:F3} should be near chance (ln 8 ≈ 2.08)");
        Assert.True(held < LossThreshold, $"held-out loss {held:F4} still ≥ {LossThreshold} after {steps} steps");
        Assert.True(accuracy >= 0.99, $"held-out accuracy {accuracy:P1}");
    }

    [Fact]
    public void LayerGradientsMatchFiniteDifferences()
    {
        var model = new RetrievalModel(seed: 3);
        var (x, targets) = RetrievalTask.Sample(2, new Random(4));
        // A few Adam steps first, so the attention is no longer uniform and every path carries gradient.
        var adam = new Adam(model.Parameters, 0.05);
        for (int i = 0; i < 5; i++)
        {
            var g = model.Parameters.Select(p => new float[p.Length]).ToArray();
            model.Loss(x, targets, g);
            adam.Step(g);
        }
        var grads = model.Parameters.Select(p => new float[p.Length]).ToArray();
        model.Loss(x, targets, grads);

        const float eps = 1e-2f;
        double num = 0, den = 0;
        for (int a = 0; a < model.Parameters.Length; a++)
            for (int i = 0; i < model.Parameters[a].Length; i++)
            {
                float keep = model.Parameters[a][i];
                model.Parameters[a][i] = keep + eps; double up = model.Loss(x, targets);
                model.Parameters[a][i] = keep - eps; double down = model.Loss(x, targets);
                model.Parameters[a][i] = keep;
                double numeric = (up - down) / ((double)(keep + eps) - (keep - eps));
                num += (grads[a][i] - numeric) * (grads[a][i] - numeric);
                den += numeric * numeric;
            }
        double err = Math.Sqrt(num / den);
        TestContext.Current.TestOutputHelper?.WriteLine($"layer gradient relative error {err:E2}");
        Assert.True(err <= GradientCheckTolerance, $"layer gradient relative error {err:E2} against finite differences");
    }
}
