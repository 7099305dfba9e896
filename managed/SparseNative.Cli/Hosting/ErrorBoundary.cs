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

    // ArgumentException appends " (Parameter 'x')" and ArgumentOutOfRangeException a line "Actual value was …": our messages
    // already name the option and the value, so both go; library names become option names; the result is one line.
    internal static string MessageOf(Exception e)
    {
        string m = e.Message;
        if (e is ArgumentOutOfRangeException { ActualValue: not null } && m.LastIndexOf('\n') is var nl and >= 0)
            m = m[..nl].TrimEnd('\r');
        if (e is ArgumentException { ParamName: { } p })
        {
            string suffix = $" (Parameter '{p}')";
            int i = m.LastIndexOf(suffix, StringComparison.Ordinal);
            if (i >= 0) m = m[..i] + m[(i + suffix.Length)..];
            m = CliVocabulary.Translate(m, p);
        }
        return CliVocabulary.OneLine(m);
    }

    private static bool IsBadInput(Exception e) => e is ArgumentException or InvalidDataException or NpyFormatException
        or IOException or UnauthorizedAccessException or BackendUnavailableException or FormatException or OverflowException;
}
