using SparseNative.Cli.Hosting;

namespace SparseNative.Cli;

/// <summary>The <c>sparsenative</c> command. <c>Run</c> is the whole program, callable in-process by tests.</summary>
public static class Program
{
    /// <summary>Process entry point: console streams, Ctrl+C cancels the running command cleanly.</summary>
    public static int Main(string[] args)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl+C asks the command to stop between runs; a second one kills the process as usual.
            if (cancel.IsCancellationRequested) return;
            e.Cancel = true;
            cancel.Cancel();
        };
        return Run(args, Console.Out, Console.Error, cancel.Token);
    }

    /// <summary>
    /// Parses <paramref name="args"/> and runs the command, writing results to <paramref name="output"/> and messages to
    /// <paramref name="error"/>. Never throws for bad input: returns an <see cref="ExitCodes"/> value.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken cancellation = default) =>
        Run(args, new CliContext(output, error, cancellation));

    internal static int Run(string[] args, CliContext context)
    {
        TextWriter output = context.Output, error = context.Error;
        var root = CommandTree.Create(context);
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"error: {ParseErrorText.Of(parsed)}");
            return ExitCodes.BadInput;
        }
        var config = new System.CommandLine.InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null, // Main handles Ctrl+C through the cancellation token
        };
        return ErrorBoundary.Invoke(() => parsed.Invoke(config), error);
    }
}
