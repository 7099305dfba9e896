using SparseNative.Cli.Npy;

namespace SparseNative.Cli.Compute;

/// <summary>Q, K, V of one problem with their shape and memory format.</summary>
internal sealed record TensorSet(float[] Query, float[] Key, float[] Value, AttentionShape Shape, TensorFormat Format)
{
    /// <summary>The shape of Q (and O) as an array in the tensor's own format.</summary>
    public int[] QueryDims => Dims(Shape.QueryHeads, Shape.QueryLength);

    /// <summary>The shape of the log-sum-exp output, always [B, Hq, Lq].</summary>
    public int[] LseDims => [Shape.Batch, Shape.QueryHeads, Shape.QueryLength];

    private int[] Dims(int heads, int length) => Format == TensorFormat.Bhsd
        ? [Shape.Batch, heads, length, Shape.HeadDim]
        : [Shape.Batch, length, heads, Shape.HeadDim];

    /// <summary>
    /// Loads Q, K, V from .npy files. Each must be 4-d, [B,H,S,D] (bhsd) or [B,S,H,D] (bshd); K and V must have the same
    /// shape; K's head count gives the key/value heads (GQA when fewer than Q's) and K's length the key length.
    /// </summary>
    public static TensorSet Load(string q, string k, string v, TensorFormat format)
    {
        var qa = Npy.Npy.ReadFloats(q);
        var ka = Npy.Npy.ReadFloats(k);
        var va = Npy.Npy.ReadFloats(v);
        string axes = format == TensorFormat.Bhsd ? "[B, H, S, D]" : "[B, S, H, D]";
        foreach (var (name, a) in new[] { (q, qa), (k, ka), (v, va) })
        {
            if (a.Shape.Length != 4)
                throw new ArgumentException($"{name}: expected a 4-d tensor {axes} ({format.ToString().ToLowerInvariant()}), got shape {a.ShapeText}.", "--q/--k/--v");
            RequireFinite(name, a);
        }
        if (!ka.Shape.AsSpan().SequenceEqual(va.Shape))
            throw new ArgumentException($"K {ka.ShapeText} and V {va.ShapeText} must have the same shape.", "--v");
        (int hAxis, int sAxis) = format == TensorFormat.Bhsd ? (1, 2) : (2, 1);
        if (qa.Shape[0] != ka.Shape[0])
            throw new ArgumentException($"Batch differs: Q {qa.ShapeText} has {qa.Shape[0]}, K {ka.ShapeText} has {ka.Shape[0]}.", "--k");
        if (qa.Shape[3] != ka.Shape[3])
            throw new ArgumentException($"Head dimension differs: Q {qa.ShapeText} has {qa.Shape[3]}, K {ka.ShapeText} has {ka.Shape[3]}.", "--k");
        if (ka.Shape[hAxis] == 0 || qa.Shape[hAxis] % ka.Shape[hAxis] != 0)
            throw new ArgumentException(
                $"Q has {qa.Shape[hAxis]} heads, K has {ka.Shape[hAxis]}: the query heads must be a multiple of the key/value heads (GQA). " +
                $"Is the format right? These were read as {axes}; see --format.", "--k");
        var shape = new AttentionShape(qa.Shape[0], qa.Shape[hAxis], ka.Shape[hAxis], qa.Shape[sAxis], ka.Shape[sAxis], qa.Shape[3]);
        shape.Validate("--q");
        return new TensorSet(qa.Data, ka.Data, va.Data, shape, format);
    }

    // Attention needs finite inputs; the library would refuse them too, but only the CLI knows the file and NumPy index.
    private static void RequireFinite(string path, NpyArray<float> a)
    {
        var data = a.Data;
        for (int i = 0; i < data.Length; i++)
            if (!float.IsFinite(data[i]))
            {
                var index = new int[a.Shape.Length];
                long rest = i;
                for (int axis = index.Length - 1; axis >= 0; axis--)
                {
                    index[axis] = (int)(rest % a.Shape[axis]);
                    rest /= a.Shape[axis];
                }
                string value = float.IsNaN(data[i]) ? "NaN" : data[i] > 0 ? "+inf" : "-inf";
                throw new ArgumentException(
                    $"{path}: element [{string.Join(", ", index)}] is {value}; attention inputs must be finite " +
                    "(float64 values beyond ±3.4e38 become inf in float32; np.argwhere(~np.isfinite(x)) lists them).", "--q/--k/--v");
            }
    }

    /// <summary>Seeded uniform values in [-1, 1) without exact zeros, the same on every machine for a seed.</summary>
    public static TensorSet Random(AttentionShape shape, TensorFormat format, int seed)
    {
        shape.Validate("--random-inputs");
        return new TensorSet(Fill(shape.QueryElements, seed), Fill(shape.KeyElements, seed + 1), Fill(shape.KeyElements, seed + 2), shape, format);
    }

    private static float[] Fill(long count, int seed)
    {
        var rng = new System.Random(seed);
        var x = new float[count];
        for (long i = 0; i < x.Length; i++)
        {
            float r;
            do r = (float)(rng.NextDouble() * 2 - 1); while (r == 0f);
            x[i] = r;
        }
        return x;
    }

    /// <summary>Index of element (b, h, t, 0) of a tensor with <paramref name="heads"/> heads and <paramref name="length"/> tokens.</summary>
    public long RowIndex(int b, int h, int t, int heads, int length) => Format == TensorFormat.Bhsd
        ? (((long)b * heads + h) * length + t) * Shape.HeadDim
        : (((long)b * length + t) * heads + h) * Shape.HeadDim;
}
