namespace SparseNative.Cli.Hosting;

/// <summary>What the process exit code means (documented in docs/CLI.md).</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>An unexpected failure (a bug): the message is printed, please report it.</summary>
    public const int Failure = 1;

    /// <summary>Bad input: a usage error, an unreadable or malformed file, an invalid shape or layout, an unavailable backend.</summary>
    public const int BadInput = 2;

    /// <summary>A <c>--check</c> found errors above the tolerance.</summary>
    public const int CheckFailed = 3;

    /// <summary>Stopped by Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Cancelled = 130;
}
