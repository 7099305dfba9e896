using SparseNative.Bench.Bdn;
using SparseNative.Bench.Quick;
using SparseNative.Bench.Soak;

// SparseNative.Bench: `quick` prints the Markdown table of docs/PERFORMANCE.md; `bdn` runs the BenchmarkDotNet suite;
// `soak` makes a long mix of calls and fails if memory, handles or threads grow (docs/RELIABILITY.md).
const string usage = """
    usage: dotnet run -c Release --project bench/SparseNative.Bench -- quick [options]   (see quick --help)
           dotnet run -c Release --project bench/SparseNative.Bench -- bdn [BenchmarkDotNet args, e.g. --filter * --job short]
           dotnet run -c Release --project bench/SparseNative.Bench -- soak [options]    (see soak --help)
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
