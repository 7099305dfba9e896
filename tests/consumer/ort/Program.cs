// A user's first ONNX Runtime program with SparseNative: the SparseNative.OnnxRuntime package from a local feed,
// SessionOptions.RegisterSparseNative(), one ai.sparsenative.BlockSparseAttention node (GQA, causal, a local-window
// layout) checked against a float64 computation of its own.
// Usage: dotnet run [-- results.junit.xml]   (adds its test case to the file tests/consumer/Program.cs wrote)
using System.Xml.Linq;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using SparseNative.OnnxRuntime;

const int B = 2, S = 80, Nq = 4, Nkv = 2, H = 32, Block = 16, Blocks = 5;
string? failure = null;
try
{
    var node = new NodeProto { OpType = "BlockSparseAttention", Domain = "ai.sparsenative", Name = "attention" };
    node.Input.AddRange(["q", "k", "v", "", "", "rows", "cols"]);
    node.Output.Add("out");
    node.Attribute.Add(new AttributeProto { Name = "num_heads", Type = AttributeProto.Types.AttributeType.Int, I = Nq });
    node.Attribute.Add(new AttributeProto { Name = "kv_num_heads", Type = AttributeProto.Types.AttributeType.Int, I = Nkv });
    node.Attribute.Add(new AttributeProto { Name = "block_size", Type = AttributeProto.Types.AttributeType.Int, I = Block });
    node.Attribute.Add(new AttributeProto { Name = "causal", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
    var graph = new GraphProto { Name = "g" };
    graph.Node.Add(node);
    foreach (var (name, type) in new[] { ("q", 1), ("k", 1), ("v", 1), ("rows", 6), ("cols", 6) })
        graph.Input.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = type } } });
    graph.Output.Add(new ValueInfoProto { Name = "out", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
    var model = new ModelProto { IrVersion = 8, Graph = graph };
    model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
    model.OpsetImport.Add(new OperatorSetIdProto { Domain = "ai.sparsenative", Version = 1 });

    // Query block r sees key blocks r - 1 and r.
    var rows = new int[Blocks + 1];
    var cols = new List<int>();
    for (int r = 0; r < Blocks; ++r) { if (r > 0) cols.Add(r - 1); cols.Add(r); rows[r + 1] = cols.Count; }
    var rng = new Random(5);
    float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    float[] q = Rand(B * S * Nq * H), k = Rand(B * S * Nkv * H), v = Rand(B * S * Nkv * H);

    using var options = new SessionOptions();
    options.RegisterSparseNative();
    using var session = new InferenceSession(model.ToByteArray(), options);
    using var qv = OrtValue.CreateTensorValueFromMemory(q, [B, S, Nq * H]);
    using var kv = OrtValue.CreateTensorValueFromMemory(k, [B, S, Nkv * H]);
    using var vv = OrtValue.CreateTensorValueFromMemory(v, [B, S, Nkv * H]);
    using var rv = OrtValue.CreateTensorValueFromMemory(rows, [1, Blocks + 1]);
    using var cv = OrtValue.CreateTensorValueFromMemory(cols.ToArray(), [1, cols.Count]);
    using var run = new RunOptions();
    using var results = session.Run(run, new Dictionary<string, OrtValue> { ["q"] = qv, ["k"] = kv, ["v"] = vv, ["rows"] = rv, ["cols"] = cv }, ["out"]);
    var o = results[0].GetTensorDataAsSpan<float>().ToArray();

    double worst = 0, scale = 1 / Math.Sqrt(H);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < Nq; ++h)
            for (int i = 0; i < S; ++i)
            {
                int g = h / (Nq / Nkv);
                var keys = Enumerable.Range(0, i + 1).Where(j => j / Block >= i / Block - 1).ToArray();
                double[] s = keys.Select(j => scale * Enumerable.Range(0, H).Sum(c => (double)q[((b * S + i) * Nq + h) * H + c] * k[((b * S + j) * Nkv + g) * H + c])).ToArray();
                double m = s.Max(), sum = s.Sum(x => Math.Exp(x - m));
                for (int c = 0; c < H; ++c)
                {
                    double e = keys.Select((j, n) => Math.Exp(s[n] - m) * v[((b * S + j) * Nkv + g) * H + c]).Sum() / sum;
                    worst = Math.Max(worst, Math.Abs(e - o[((b * S + i) * Nq + h) * H + c]));
                }
            }
    Console.WriteLine($"{(worst <= 1e-5 ? "PASS" : "FAIL")} ONNX Runtime + RegisterSparseNative ({SparseNativeOrtLibrary.Status.Path}): max error {worst:E2} (bound 1e-5)");
    if (worst > 1e-5) failure = $"max error {worst:E2} above 1e-5";
}
catch (Exception e)
{
    Console.WriteLine($"FAIL ONNX Runtime + RegisterSparseNative: {e.GetType().Name}: {e.Message}");
    failure = $"{e.GetType().Name}: {e.Message}";
}
Console.WriteLine($"consumer-ort: {(failure is null ? 1 : 0)} passed, {(failure is null ? 0 : 1)} failed, 0 skipped");
if (args.Length > 0 && File.Exists(args[0]))
{
    var suite = XElement.Load(args[0]);
    suite.Add(new XElement("testcase", new XAttribute("name", "consumer.OnnxRuntime"),
        failure is null ? null : new XElement("failure", new XAttribute("message", failure))));
    suite.SetAttributeValue("tests", suite.Elements("testcase").Count());
    suite.SetAttributeValue("failures", suite.Elements("testcase").Count(t => t.Element("failure") != null));
    suite.Save(args[0]);
}
return failure is null ? 0 : 1;
