using Spectre.Console;

namespace SparseNative.Cli.Hosting;

/// <summary>Where a command writes and when it must stop: the streams <see cref="Program.Run"/> was given and the Ctrl+C token.</summary>
internal sealed class CliContext
{
    public CliContext(TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        Output = output;
        Error = error;
        Cancellation = cancellation;
        bool terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        // Colour and live progress only on a real terminal; tests and pipes get plain text.
        Console_ = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        // Pipes and logs: no wrapping of long lines (a wrapped number is hard to grep); tables size to their content.
        if (!terminal) Console_.Profile.Width = 400;
        IsTerminal = terminal;
    }

    public TextWriter Output { get; }
    public TextWriter Error { get; }
    public CancellationToken Cancellation { get; }
    public bool IsTerminal { get; }

    /// <summary>Spectre console bound to <see cref="Output"/>.</summary>
    public IAnsiConsole Console_ { get; }

    /// <summary>Width for text previews: the terminal's, or 100 characters when the output is not a terminal.</summary>
    public int Width => IsTerminal ? Console_.Profile.Width : 100;
}
