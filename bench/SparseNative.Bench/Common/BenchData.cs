namespace SparseNative.Bench.Common;

/// <summary>Random Q, K, V (uniform in [−1, 1), never zero-filled) and an output buffer, allocated once and reused.</summary>
internal sealed class BenchData
{
    public AttentionShape Shape { get; }
    public float[] Query { get; }
    public float[] Key { get; }
    public float[] Value { get; }
    public float[] Output { get; }

    public BenchData(AttentionShape shape, int seed = 42)
    {
        Shape = shape;
        Query = Random(shape.QueryElements, seed);
        Key = Random(shape.KeyElements, seed + 1);
        Value = Random(shape.KeyElements, seed + 2);
        Output = new float[shape.QueryElements];
        Array.Fill(Output, 1f); // touch every page now, never inside a timed call
    }

    /// <summary>Fills in parallel: the 1M-token case has 1 GiB tensors and a serial fill would dominate the run.</summary>
    public static float[] Random(long count, int seed)
    {
        var a = GC.AllocateUninitializedArray<float>(checked((int)count));
        const int chunk = 1 << 20;
        int chunks = (int)((count + chunk - 1) / chunk);
        Parallel.For(0, chunks, i =>
        {
            var rng = new Random(seed * 7919 + i);
            int start = i * chunk, end = (int)Math.Min(count, start + (long)chunk);
            for (int j = start; j < end; j++) a[j] = (float)(rng.NextDouble() * 2 - 1);
        });
        return a;
    }

    /// <summary>[B, H, S, d] → [B, S, H, d] (ONNX Runtime's layout), or back with <paramref name="toBhsd"/>.</summary>
    public static float[] Transpose(float[] src, int batch, int heads, int length, int headDim, bool toBhsd = false)
    {
        var dst = new float[src.Length];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int t = 0; t < length; t++)
                {
                    long bhsd = (((long)b * heads + h) * length + t) * headDim;
                    long bshd = (((long)b * length + t) * heads + h) * headDim;
                    if (toBhsd) Array.Copy(src, bshd, dst, bhsd, headDim);
                    else Array.Copy(src, bhsd, dst, bshd, headDim);
                }
        return dst;
    }
}
