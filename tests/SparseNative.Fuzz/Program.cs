using System.Security.Cryptography;
using System.Xml.Linq;

namespace SparseNative.Fuzz;

/// <summary>
/// <c>run [HARNESS...] --seconds N --corpus DIR [--junit FILE] [--findings DIR] [--seed S]</c>: runs every corpus input, then
/// random mutations of the corpus (bit flips, byte changes, inserts, deletes, splices) until the time is up. When the
/// library's assemblies are instrumented with the <c>sharpfuzz</c> tool, the run is coverage-guided (<see cref="Coverage"/>):
/// a mutation that reaches a new edge joins the corpus it mutates. <c>libfuzzer HARNESS</c>: SharpFuzz's libFuzzer entry
/// point, for a process started by libfuzzer-dotnet.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        Coverage.Initialize();
        if (args is ["libfuzzer", var name])
        {
            var harness = Harnesses.All[name];
            SharpFuzz.Fuzzer.LibFuzzer.Run(span => harness(span));
            return 0;
        }
        if (args is ["replay", var replayed, .. var files])
        {
            // One harness on the given inputs, every exception shown whole: for a finding's input file.
            foreach (var file in files)
            {
                try { Harnesses.All[replayed](File.ReadAllBytes(file)); Console.WriteLine($"{file}: ok"); }
                catch (Exception e) { Console.WriteLine($"{file}: {e}"); }
            }
            return 0;
        }
        if (args.Length == 0 || args[0] != "run")
        {
            Console.Error.WriteLine($"usage: run [{string.Join('|', Harnesses.All.Keys)}...] --seconds N --corpus DIR [--junit FILE] [--findings DIR] [--seed S]\n" +
                                    "       replay HARNESS FILE...\n       libfuzzer HARNESS");
            return 2;
        }
        var names = args.Skip(1).TakeWhile(a => !a.StartsWith("--")).ToList();
        if (names.Count == 0) names = [.. Harnesses.All.Keys];
        double seconds = double.Parse(Option(args, "--seconds") ?? "30");
        string corpus = Option(args, "--corpus") ?? throw new ArgumentException("--corpus DIR is required");
        string findings = Option(args, "--findings") ?? Path.Combine(Path.GetTempPath(), "sparsenative-fuzz-findings");
        int seed = int.Parse(Option(args, "--seed") ?? "15");
        string? junit = Option(args, "--junit");

        var results = names.Select(n => Campaign.Run(n, Harnesses.All[n], Path.Combine(corpus, n), TimeSpan.FromSeconds(seconds), findings, seed)).ToList();
        foreach (var r in results)
            Console.WriteLine($"{r.Name}: {r.Executions} executions in {r.Seconds:F1} s, {r.CoverageText}, " +
                              $"{r.Findings.Count} distinct findings{string.Concat(r.Findings.Select(f => $"\n  {f}"))}");
        if (junit is not null) WriteJUnit(junit, results);
        return results.All(r => r.Findings.Count == 0) ? 0 : 1;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static void WriteJUnit(string file, List<Campaign.Result> results)
    {
        var suite = new XElement("testsuite", new XAttribute("name", "SparseNative.Fuzz"), new XAttribute("tests", results.Count),
            new XAttribute("failures", results.Count(r => r.Findings.Count > 0)),
            results.Select(r => new XElement("testcase", new XAttribute("classname", "SparseNative.Fuzz"),
                new XAttribute("name", $"{r.Name} ({r.Executions} executions, {r.CoverageText})"), new XAttribute("time", r.Seconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)),
                r.Findings.Count == 0 ? null : new XElement("failure", new XAttribute("message", r.Findings[0]), string.Join("\n", r.Findings)))));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        new XDocument(new XElement("testsuites", suite)).Save(file);
    }
}

/// <summary>One harness's bounded campaign over its corpus.</summary>
internal static class Campaign
{
    /// <summary>More than this much managed memory for one execution is a finding (the tensors a harness makes are under 16 MiB).</summary>
    private const long MaxAllocation = 256L << 20;

    /// <summary>Inputs a coverage-guided campaign keeps at most (beyond them, new coverage is counted but not kept).</summary>
    private const int MaxCorpus = 20_000;

    public sealed record Result(string Name, long Executions, double Seconds, int SeedCount, int CorpusSize, int Edges,
        bool Instrumented, List<string> Findings)
    {
        public string CoverageText => Instrumented
            ? $"coverage-guided: {Edges} edges, corpus {SeedCount} → {CorpusSize} inputs"
            : $"not coverage-guided (assemblies not instrumented), {SeedCount} corpus inputs";
    }

    public static Result Run(string name, Harnesses.Harness harness, string corpusDir, TimeSpan duration, string findingsDir, int seed)
    {
        var corpus = Directory.Exists(corpusDir) ? Directory.GetFiles(corpusDir).Order().Select(File.ReadAllBytes).ToList() : [];
        if (corpus.Count == 0) corpus.Add([]);
        int seeds = corpus.Count;
        Coverage.Reset();
        var rng = new Random(seed);
        var seen = new Dictionary<string, string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long executions = 0;
        void Execute(byte[] input, bool keepIfNovel)
        {
            executions++;
            Coverage.BeforeExecution();
            try { Check(input); }
            finally
            {
                if (Coverage.AfterExecution() && keepIfNovel && corpus.Count < MaxCorpus) corpus.Add(input);
            }
        }
        void Check(byte[] input)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                harness(input);
                // A tiny input must not make the library allocate a huge amount (a declared size taken on trust).
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                if (allocated > MaxAllocation && !Harnesses.SizesFromArguments.Contains(name))
                    throw new FuzzFinding($"one call allocated {allocated >> 20} MiB for a {input.Length}-byte input");
            }
            catch (Exception e)
            {
                string where = e.StackTrace?.Split('\n').FirstOrDefault(l => l.Contains("SparseNative"))?.Trim() ?? "";
                string signature = $"{e.GetType().Name} {where}";
                if (seen.ContainsKey(signature)) return;
                Directory.CreateDirectory(findingsDir);
                string file = Path.Combine(findingsDir, $"{name}-{Convert.ToHexString(SHA1.HashData(input))[..12]}.bin");
                File.WriteAllBytes(file, input);
                seen[signature] = $"{e.GetType().FullName}: {e.Message.Split('\n')[0]} {where} (input {file})";
            }
        }
        foreach (var input in corpus.ToArray()) Execute(input, keepIfNovel: false);
        while (clock.Elapsed < duration)
            Execute(Mutate(corpus[rng.Next(corpus.Count)], corpus[rng.Next(corpus.Count)], rng), keepIfNovel: true);
        return new(name, executions, clock.Elapsed.TotalSeconds, seeds, corpus.Count, Coverage.Edges, Coverage.Instrumented,
            [.. seen.Values]);
    }

    private static byte[] Mutate(byte[] input, byte[] other, Random rng)
    {
        var b = new List<byte>(input);
        int ops = 1 + rng.Next(4);
        for (int i = 0; i < ops; i++)
        {
            int at = b.Count == 0 ? 0 : rng.Next(b.Count);
            switch (rng.Next(6))
            {
                case 0 when b.Count > 0: b[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1 when b.Count > 0: b[at] = (byte)rng.Next(256); break;
                case 2: b.Insert(at, (byte)rng.Next(256)); break;
                case 3 when b.Count > 0: b.RemoveAt(at); break;
                case 4 when b.Count > 0: b[at] = (byte)(248 + rng.Next(8)); break; // the inputs' "extreme value" codes
                default:
                    if (other.Length == 0) break;
                    int from = rng.Next(other.Length), len = 1 + rng.Next(Math.Min(16, other.Length - from));
                    b.InsertRange(at, other.AsSpan(from, len).ToArray());
                    break;
            }
        }
        return [.. b];
    }
}

/// <summary>A harness's own verdict that an execution went wrong without an exception from the code under test.</summary>
internal sealed class FuzzFinding(string message) : Exception(message);
