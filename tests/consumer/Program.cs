// A user's first program: installed from the package, nothing from the repository.
// Usage: dotnet run [-- results.junit.xml]   (the build driver reads the result file, one test case per backend)
using System.Xml.Linq;
using SparseNative;

int passed = 0, failed = 0;
var cases = new List<XElement>();
var shape = new AttentionShape(Batch: 1, QueryHeads: 4, KeyValueHeads: 2, QueryLength: 200, KeyLength: 200, HeadDim: 64);
var layout = BlockLayout.FromPredicate(64, 4, 4, 1, (_, q, k) => k <= q && q - k <= 1);
var rng = new Random(42);
float[] Rand(long n) { var a = new float[n]; for (long i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1); return a; }
var (q, k, v) = (Rand(shape.QueryElements), Rand(shape.KeyElements), Rand(shape.KeyElements));
double[] expected = Expected();

Console.WriteLine(SparseAttention.Describe());
foreach (var backend in new[] { Backend.Auto, Backend.NativeCpu })
{
    var o = new float[shape.QueryElements];
    try
    {
        var ran = SparseAttention.Forward(q, k, v, o, shape, layout, new AttentionOptions { Causal = true, Backend = backend });
        double num = 0, den = 0;
        for (int i = 0; i < o.Length; i++) { num += (o[i] - expected[i]) * (o[i] - expected[i]); den += expected[i] * expected[i]; }
        double rel = Math.Sqrt(num / den);
        bool ok = rel <= 1e-5;
        string line = $"{backend} (ran {ran}): relative error {rel:E2} (bound 1e-5)";
        Console.WriteLine($"{(ok ? "PASS" : "FAIL")} {line}");
        if (ok) passed++; else failed++;
        cases.Add(TestCase(backend, ok ? null : line));
    }
    catch (Exception e)
    {
        Console.WriteLine($"FAIL {backend}: {e.GetType().Name}: {e.Message}");
        failed++;
        cases.Add(TestCase(backend, $"{e.GetType().Name}: {e.Message}"));
    }
}
Console.WriteLine($"consumer: {passed} passed, {failed} failed, 0 skipped");
if (args.Length > 0)
    new XElement("testsuite", new XAttribute("name", "consumer"), new XAttribute("tests", cases.Count),
        new XAttribute("failures", failed), cases).Save(args[0]);
return failed == 0 ? 0 : 1;

static XElement TestCase(Backend backend, string? failure) =>
    new("testcase", new XAttribute("name", $"consumer.{backend}"),
        failure is null ? null : new XElement("failure", new XAttribute("message", failure)));

// Causal attention over blocks (q, q) and (q, q−1), computed directly in float64.
double[] Expected()
{
    int d = shape.HeadDim, L = shape.QueryLength;
    var res = new double[shape.QueryElements];
    for (int h = 0; h < shape.QueryHeads; h++)
    for (int i = 0; i < L; i++)
    {
        int kvh = h / 2;
        var w = new double[L];
        double max = double.NegativeInfinity;
        for (int j = 0; j <= i; j++)
        {
            if (i / 64 - j / 64 > 1) { w[j] = double.NegativeInfinity; continue; }
            double dot = 0;
            for (int c = 0; c < d; c++) dot += (double)q[(h * L + i) * d + c] * k[(kvh * L + j) * d + c];
            w[j] = dot / Math.Sqrt(d);
            max = Math.Max(max, w[j]);
        }
        double sum = 0;
        for (int j = 0; j <= i; j++) { w[j] = Math.Exp(w[j] - max); sum += w[j]; }
        for (int j = 0; j <= i; j++)
            for (int c = 0; c < d; c++) res[(h * L + i) * d + c] += w[j] / sum * v[(kvh * L + j) * d + c];
    }
    return res;
}
