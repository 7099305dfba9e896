using Spectre.Console;

namespace SparseNative.Cli.Hosting;

/// <summary>Where a command writes and when it must stop: the streams <c>Program.Run</c> was given and the Ctrl+C token.</summary>
internal sealed class CliContext
{
    /// <param name="output">Where results go.</param>
    /// <param name="error">Where messages go.</param>
    /// <param name="cancellation">Ctrl+C.</param>
    /// <param name="terminal">
    /// Whether <paramref name="output"/> is an interactive terminal; by default, when it is the console and not redirected.
    /// Tests pass true to see what a terminal gets.
    /// </param>
    public CliContext(TextWriter output, TextWriter error, CancellationToken cancellation, bool? terminal = null)
    {
        Output = output;
        Error = error;
        Cancellation = cancellation;
        bool detected = terminal is null;
        bool isTerminal = terminal ?? (ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected);
        // Colour and live progress only on a real terminal; tests and pipes get plain text.
        Console_ = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = !isTerminal ? AnsiSupport.No : detected ? AnsiSupport.Detect : AnsiSupport.Yes,
            ColorSystem = isTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = !isTerminal ? InteractionSupport.No : detected ? InteractionSupport.Detect : InteractionSupport.Yes,
        });
        // A console Spectre finds not interactive (e.g. TERM=dumb, CI) is treated like a pipe.
        isTerminal &= Console_.Profile.Capabilities.Interactive;
        // Pipes and logs: no wrapping of long lines (a wrapped number is hard to grep); tables size to their content.
        if (!isTerminal) Console_.Profile.Width = 400;
        IsTerminal = isTerminal;
    }

    public TextWriter Output { get; }
    public TextWriter Error { get; }
    public CancellationToken Cancellation { get; }
    /// <summary>Whether the output is an interactive terminal: colour, live progress, tables sized to its width.</summary>
    public bool IsTerminal { get; }

    /// <summary>Spectre console bound to <see cref="Output"/>.</summary>
    public IAnsiConsole Console_ { get; }

    /// <summary>Width for text previews: the terminal's, or 100 characters when the output is not a terminal.</summary>
    public int Width => IsTerminal ? Console_.Profile.Width : 100;
}
