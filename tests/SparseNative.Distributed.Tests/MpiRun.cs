using System.Diagnostics;
using System.Text.RegularExpressions;

namespace SparseNative.Distributed.Tests;

/// <summary>Starts <c>mpirun --oversubscribe --allow-run-as-root -n N dotnet Worker.dll ARGS</c> on localhost and collects its output.</summary>
internal static partial class MpiRun
{
    internal sealed record Result(int ExitCode, string Output, TimeSpan Elapsed)
    {
        public IEnumerable<string> Lines(string prefix) => Output.Split('\n').Select(Clean).Where(l => l.StartsWith(prefix, StringComparison.Ordinal));
    }

    internal static Result Run(int ranks, string args, TimeSpan limit, IDictionary<string, string>? environment = null, string? program = null)
    {
        var start = new ProcessStartInfo("mpirun")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (string a in new[] { "--oversubscribe", "--allow-run-as-root", "-n", $"{ranks}", "dotnet", program ?? Built("tests", "SparseNative.Distributed.Worker") })
            start.ArgumentList.Add(a);
        foreach (string a in args.Split(' ', StringSplitOptions.RemoveEmptyEntries)) start.ArgumentList.Add(a);
        start.Environment["TERM"] = "dumb";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("mpirun did not start");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mpirun -n {ranks} {args} did not end within {limit.TotalSeconds} s");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result + stderr.Result, clock.Elapsed);
    }

    /// <summary>A project's build output, found from this assembly's folder (tests/X/bin/Config/tfm → folder/project/bin/Config/tfm).</summary>
    internal static string Built(string folder, string project)
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = here.Name, config = here.Parent!.Name;
        string root = here.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        string path = Path.Combine(root, folder, project, "bin", config, tfm, project + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{project} is not built", path);
    }

    private static string Clean(string line) => Escapes().Replace(line, "").TrimEnd('\r');

    [GeneratedRegex(@"\x1b[\[\]=>?0-9;a-zA-Z]*[=>a-zA-Z]|\x1b=|\x1b>")]
    private static partial Regex Escapes();
}
