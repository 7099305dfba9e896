using Spectre.Console;

namespace SparseNative.Cli.Hosting;

/// <summary>
/// A progress bar for long work, on an interactive terminal only: pipes, logs and <c>--json</c> output get nothing extra.
/// The work reports each step before it starts it (<c>step("reference check, block 3 of 8")</c>).
/// </summary>
internal static class LiveProgress
{
    public static T Run<T>(CliContext ctx, bool show, int steps, Func<Action<string>, T> work)
    {
        if (!show || !ctx.IsTerminal) return work(_ => { });
        T result = default!;
        ctx.Console_.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(p =>
            {
                var task = p.AddTask("starting", maxValue: Math.Max(1, steps));
                bool first = true;
                result = work(what =>
                {
                    if (!first) task.Increment(1);
                    first = false;
                    task.Description = what.EscapeMarkup();
                });
                task.Value = task.MaxValue;
            });
        return result;
    }

    public static void Run(CliContext ctx, bool show, int steps, Action<Action<string>> work) =>
        Run(ctx, show, steps, step => { work(step); return 0; });
}
