using SparseNative.Bench.Bdn;
using SparseNative.Bench.Profile;
using SparseNative.Bench.Distributed;
using SparseNative.Bench.Quick;
using SparseNative.Bench.Soak;

// SparseNative.Bench: `quick` prints the Markdown table of docs/PERFORMANCE.md; `bdn` runs the BenchmarkDotNet suite;
// `soak` makes a long mix of calls and fails if memory, handles or threads grow (docs/RELIABILITY.md); `distributed`
// (under mpirun) measures the distributed exchanges (docs/DISTRIBUTED.md); `profile` repeats one call for a sampling profiler.
const string usage = """
    usage: dotnet run -c Release --project bench/SparseNative.Bench -- quick [options]   (see quick --help)
           dotnet run -c Release --project bench/SparseNative.Bench -- bdn [BenchmarkDotNet args, e.g. --filter * --job short]
           dotnet run -c Release --project bench/SparseNative.Bench -- soak [options]    (see soak --help)
           dotnet run -c Release --project bench/SparseNative.Bench -- profile [options] (one call in a loop, for perf)
           mpirun -n 4 dotnet bench/SparseNative.Bench/bin/Release/net10.0/SparseNative.Bench.dll distributed [options]
           dotnet run -c Release --project bench/SparseNative.Bench -- ort-ops [options] (see ort-ops --help)
    """;
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine(usage);
    return args.Length == 0 ? 1 : 0;
}
var rest = args.Skip(1).ToArray();
try
{
    return args[0] switch
    {
        "quick" when rest.Contains("--help") => Help(QuickOptions.Usage),
        "quick" => QuickRunner.Run(QuickOptions.Parse(rest)),
        "bdn" => BdnRunner.Run(rest),
        "soak" when rest.Contains("--help") => Help(SoakOptions.Usage),
        "soak" => SoakRunner.Run(SoakOptions.Parse(rest)),
        "profile" when rest.Contains("--help") => Help(ProfileLoop.Usage),
        "profile" => ProfileLoop.Run(rest),
        "distributed" when rest.Contains("--help") => Help(DistributedBench.Usage),
        "distributed" => DistributedBench.Run(rest),
        "ort-ops" when rest.Contains("--help") => Help(SparseNative.Bench.Onnx.OrtOpsBench.Usage),
        "ort-ops" => SparseNative.Bench.Onnx.OrtOpsBench.Run(rest),
        _ => throw new ArgumentException($"Unknown mode '{args[0]}'.\n{usage}", nameof(args)),
    };
}
catch (ArgumentException e)
{
    // A command-line mistake: the message says what is wrong; the parameter-name suffix is noise here.
    Console.Error.WriteLine(e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", ""));
    return 2;
}

static int Help(string usage)
{
    Console.WriteLine(usage);
    return 0;
}
