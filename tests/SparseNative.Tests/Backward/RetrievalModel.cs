namespace SparseNative.Tests.Backward;

/// <summary>
/// A synthetic long-range retrieval task: every token carries a random symbol; one token of the first block carries a
/// marker; every token of the last block must output the marked token's symbol — up to 255 positions back, reachable
/// only through the layout's global block.
/// </summary>
internal sealed class RetrievalTask
{
    public const int Symbols = 8, Length = 256, BlockSize = 16;
    /// <summary>Per-token features: one-hot symbol, marker flag, query flag, constant 1.</summary>
    public const int Features = Symbols + 3;
    public const int QueryStart = Length - BlockSize;

    /// <summary>Longformer-style layout: a window of 3 blocks plus block 0 as global; the last block sees blocks 0, 14, 15.</summary>
    public static BlockLayout Layout { get; } = BlockPatterns.BSLongformer(Length, BlockSize, numSlidingWindowBlocks: 3);

    /// <summary><c>[batch·Length, Features]</c> inputs and the <c>[batch]</c> symbol to retrieve.</summary>
    public static (float[] X, int[] Targets) Sample(int batch, Random rng)
    {
        var x = new float[batch * Length * Features];
        var targets = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            int marked = rng.Next(BlockSize);
            for (int t = 0; t < Length; t++)
            {
                var row = x.AsSpan((b * Length + t) * Features, Features);
                int symbol = rng.Next(Symbols);
                row[symbol] = 1;
                if (t == marked) { row[Symbols] = 1; targets[b] = symbol; }
                if (t >= QueryStart) row[Symbols + 1] = 1;
                row[Symbols + 2] = 1;
            }
        }
        return (x, targets);
    }
}

/// <summary>
/// One attention layer in plain C#: Q = X·Wq, K = X·Wk, V = X·Wv (the [tokens, heads·d] products are BSHD tensors as they
/// stand), O = block-sparse attention, logits = O·Wo at the query positions, mean cross-entropy. The attention's gradients
/// come from <see cref="SparseAttention.Backward"/> (through <see cref="AttentionContext"/>); the rest is the chain rule.
/// </summary>
internal sealed class RetrievalModel
{
    public const int Heads = 2, HeadDim = 8, Inner = Heads * HeadDim;

    /// <summary>Wq, Wk, Wv (<c>Features × Inner</c>) and Wo (<c>Inner × Symbols</c>), row-major.</summary>
    public readonly float[][] Parameters;

    public RetrievalModel(int seed)
    {
        var rng = new Random(seed);
        float[] Init(int rows, int cols) => Enumerable.Range(0, rows * cols).Select(_ => (float)((rng.NextDouble() * 2 - 1) / Math.Sqrt(rows))).ToArray();
        Parameters = [Init(RetrievalTask.Features, Inner), Init(RetrievalTask.Features, Inner), Init(RetrievalTask.Features, Inner), Init(Inner, RetrievalTask.Symbols)];
    }

    public AttentionOptions Options { get; init; } = new() { Format = TensorFormat.Bshd };

    /// <summary>The mean cross-entropy; with <paramref name="gradients"/> (shaped like <see cref="Parameters"/>) also its gradients.</summary>
    public double Loss(float[] x, int[] targets, float[][]? gradients = null) => Loss(x, targets, gradients, out _);

    public double Loss(float[] x, int[] targets, float[][]? gradients, out double accuracy)
    {
        int batch = targets.Length, tokens = batch * RetrievalTask.Length, f = RetrievalTask.Features, c = RetrievalTask.Symbols;
        var shape = new AttentionShape(batch, Heads, Heads, RetrievalTask.Length, RetrievalTask.Length, HeadDim);
        float[] wq = Parameters[0], wk = Parameters[1], wv = Parameters[2], wo = Parameters[3];
        var q = MatMul(x, wq, tokens, f, Inner);
        var k = MatMul(x, wk, tokens, f, Inner);
        var v = MatMul(x, wv, tokens, f, Inner);
        var attention = SparseAttention.ForwardForTraining(q, k, v, shape, RetrievalTask.Layout, Options);
        var o = attention.Output.Span;

        double loss = 0;
        int correct = 0, count = batch * RetrievalTask.BlockSize;
        var dO = gradients is null ? null : new float[tokens * Inner];
        var logits = new double[c];
        for (int b = 0; b < batch; b++)
            for (int t = RetrievalTask.QueryStart; t < RetrievalTask.Length; t++)
            {
                int row = b * RetrievalTask.Length + t;
                for (int s = 0; s < c; s++)
                {
                    double z = 0;
                    for (int i = 0; i < Inner; i++) z += o[row * Inner + i] * wo[i * c + s];
                    logits[s] = z;
                }
                double max = logits.Max(), sum = logits.Sum(z => Math.Exp(z - max));
                loss += (max + Math.Log(sum) - logits[targets[b]]) / count;
                if (Array.IndexOf(logits, max) == targets[b]) correct++;
                if (gradients is null) continue;
                for (int s = 0; s < c; s++)
                {
                    // d(mean CE)/dz = (softmax − one-hot) / count.
                    double dz = (Math.Exp(logits[s] - max) / sum - (s == targets[b] ? 1 : 0)) / count;
                    for (int i = 0; i < Inner; i++)
                    {
                        gradients[3][i * c + s] += (float)(o[row * Inner + i] * dz);
                        dO![row * Inner + i] += (float)(wo[i * c + s] * dz);
                    }
                }
            }
        accuracy = (double)correct / count;
        if (gradients is null) return loss;

        var (dq, dk, dv) = attention.Backward(dO);
        AccumulateTransposedProduct(x, dq, gradients[0], tokens, f, Inner);
        AccumulateTransposedProduct(x, dk, gradients[1], tokens, f, Inner);
        AccumulateTransposedProduct(x, dv, gradients[2], tokens, f, Inner);
        return loss;
    }

    /// <summary>a [n × m] · b [m × p].</summary>
    private static float[] MatMul(float[] a, float[] b, int n, int m, int p)
    {
        var r = new float[n * p];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                float aij = a[i * m + j];
                if (aij == 0) continue;
                for (int l = 0; l < p; l++) r[i * p + l] += aij * b[j * p + l];
            }
        return r;
    }

    /// <summary>g [m × p] += aᵀ · d, a [n × m], d [n × p].</summary>
    private static void AccumulateTransposedProduct(float[] a, float[] d, float[] g, int n, int m, int p)
    {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                float aij = a[i * m + j];
                if (aij == 0) continue;
                for (int l = 0; l < p; l++) g[j * p + l] += aij * d[i * p + l];
            }
    }
}

/// <summary>Adam (Kingma and Ba) over a list of parameter arrays.</summary>
internal sealed class Adam(float[][] parameters, double learningRate)
{
    private readonly double[][] _m = parameters.Select(p => new double[p.Length]).ToArray();
    private readonly double[][] _v = parameters.Select(p => new double[p.Length]).ToArray();
    private int _step;

    public void Step(float[][] gradients)
    {
        const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        _step++;
        double c1 = 1 - Math.Pow(beta1, _step), c2 = 1 - Math.Pow(beta2, _step);
        for (int a = 0; a < parameters.Length; a++)
            for (int i = 0; i < parameters[a].Length; i++)
            {
                double g = gradients[a][i];
                _m[a][i] = beta1 * _m[a][i] + (1 - beta1) * g;
                _v[a][i] = beta2 * _v[a][i] + (1 - beta2) * g * g;
                parameters[a][i] -= (float)(learningRate * (_m[a][i] / c1) / (Math.Sqrt(_v[a][i] / c2) + eps));
            }
    }
}
