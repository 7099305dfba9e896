namespace SparseNative.Cli.Tests;

/// <summary>Runs the CLI in-process and captures what it wrote.</summary>
internal static class Cli
{
    public sealed record Result(int ExitCode, string Out, string Err)
    {
        /// <summary>What a user saw: never a .NET stack trace.</summary>
        public bool HasStackTrace => (Out + Err).Contains("   at ", StringComparison.Ordinal) || Err.Contains("Exception:", StringComparison.Ordinal);
    }

    public static Result Run(params string[] args) => Run(CancellationToken.None, args);

    public static Result Run(CancellationToken cancel, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e, cancel);
        return new Result(code, o.ToString(), e.ToString());
    }
}

/// <summary>A temporary folder deleted at the end of the test.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("sn-cli-tests-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
