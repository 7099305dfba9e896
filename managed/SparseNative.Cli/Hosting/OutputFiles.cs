namespace SparseNative.Cli.Hosting;

/// <summary>
/// The files one command writes. Each is checked when it is added — before any work — so a bad path fails at once naming its
/// option; each is written to a temporary file beside its target, and <see cref="Commit"/> moves them all into place at the
/// end, so a command that fails (or is cancelled) half-way leaves no output behind and never a partial one.
/// </summary>
internal sealed class OutputFiles : IDisposable
{
    private readonly List<OutputFile> _files = [];

    /// <summary>Checks <paramref name="path"/> and reserves a temporary file beside it; null when the option was not given.</summary>
    /// <exception cref="ArgumentException">The path is empty, a directory, in a directory that does not exist, not writable, or given twice.</exception>
    public OutputFile? Add(string option, string? path)
    {
        if (path is null) return null;
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException($"{option} needs a file name.", option);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new ArgumentException($"{option} {path}: is a directory; give a file name, e.g. {Path.Combine(path, "out" + Extension(option))}.", option);
        string dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new ArgumentException($"{option} {path}: the directory {dir} does not exist.", option);
        if (_files.FirstOrDefault(f => f.Target == full) is { } twice)
            throw new ArgumentException($"{option} {path}: the same file as {twice.Option}.", option);
        if (File.Exists(full))
        {
            // Opening for writing without truncating proves the file may be replaced and leaves it as it was.
            try { using var _ = new FileStream(full, FileMode.Open, FileAccess.Write); }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                throw new ArgumentException($"{option} {path}: cannot be overwritten ({e.Message}).", option);
            }
        }
        string temp = Path.Combine(dir, $".{Path.GetFileNameWithoutExtension(full)}.{Guid.NewGuid().ToString("N")[..8]}.partial{Path.GetExtension(full)}");
        try { using var _ = new FileStream(temp, FileMode.CreateNew, FileAccess.Write); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new ArgumentException($"{option} {path}: cannot write in {dir} ({e.Message}).", option);
        }
        var file = new OutputFile(option, full, path, temp);
        _files.Add(file);
        return file;
    }

    /// <summary>Moves every written file into place (files not written, e.g. a chart with nothing measured, are dropped).</summary>
    public void Commit()
    {
        foreach (var f in _files.Where(f => f.Written)) File.Move(f.Temp, f.Target, overwrite: true);
        Dispose();
    }

    /// <summary>Deletes the temporary files that were not moved into place.</summary>
    public void Dispose()
    {
        foreach (var f in _files)
            try { File.Delete(f.Temp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        _files.Clear();
    }

    private static string Extension(string option) => option is "--png" or "--plot" or "--layout-png" ? ".png" : ".npy";
}

/// <summary>One reserved output: write it with <see cref="Write"/>, which fills the temporary file.</summary>
internal sealed class OutputFile(string option, string target, string asGiven, string temp)
{
    public string Option { get; } = option;
    public string Target { get; } = target;

    /// <summary>The path as the user gave it, for messages.</summary>
    public string Path { get; } = asGiven;

    internal string Temp { get; } = temp;
    internal bool Written { get; private set; }

    /// <summary>Runs <paramref name="write"/> on the temporary file's path.</summary>
    public void Write(Action<string> write)
    {
        write(Temp);
        Written = true;
    }
}
