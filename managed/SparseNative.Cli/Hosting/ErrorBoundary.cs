using SparseNative.Cli.Npy;

namespace SparseNative.Cli.Hosting;

/// <summary>
/// Turns exceptions into one-line messages and exit codes at the top of the program, so a user never sees a stack trace
/// for a mistake of theirs: bad arguments, files, shapes and layouts are <see cref="ExitCodes.BadInput"/>.
/// </summary>
internal static class ErrorBoundary
{
    public static int Invoke(Func<int> action, TextWriter error)
    {
        try
        {
            return action();
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("Cancelled.");
            return ExitCodes.Cancelled;
        }
        catch (Exception e) when (IsBadInput(e))
        {
            error.WriteLine($"error: {MessageOf(e)}");
            return ExitCodes.BadInput;
        }
        catch (Exception e)
        {
            error.WriteLine($"internal error ({e.GetType().Name}): {e.Message}");
            error.WriteLine("This is a bug in sparsenative; please report it with the command line and 'sparsenative info' output.");
            if (Environment.GetEnvironmentVariable("SPARSENATIVE_DEBUG") == "1") error.WriteLine(e);
            return ExitCodes.Failure;
        }
    }

    // ArgumentException appends " (Parameter 'x')"; our messages already name the option, so drop the suffix.
    internal static string MessageOf(Exception e)
    {
        string m = e.Message;
        if (e is ArgumentException { ParamName: { } p })
        {
            int i = m.LastIndexOf($" (Parameter '{p}')", StringComparison.Ordinal);
            if (i >= 0) m = m[..i] + m[(i + $" (Parameter '{p}')".Length)..];
        }
        return m;
    }

    private static bool IsBadInput(Exception e) => e is ArgumentException or InvalidDataException or NpyFormatException
        or IOException or UnauthorizedAccessException or BackendUnavailableException or FormatException or OverflowException;
}
