namespace SparseNative.Bench.Common;

/// <summary>
/// Walks a command's arguments in order and reads each option's value, failing with an <see cref="ArgumentException"/>
/// whose message names the option (Program prints it and exits 2).
/// </summary>
internal sealed class OptionReader(IReadOnlyList<string> args)
{
    private int _index = -1;

    /// <summary>The option being read.</summary>
    public string Current => args[_index];

    public bool MoveNext() => ++_index < args.Count;

    /// <summary>The argument after the current option.</summary>
    public string Value() =>
        _index + 1 < args.Count ? args[++_index] : throw new ArgumentException($"Option {Current} needs a value.", nameof(args));

    public int Int(int min) => checked((int)Long(min, int.MaxValue));

    public long Long(long min, long max = long.MaxValue)
    {
        string option = Current, v = Value();
        if (!long.TryParse(v, out long n) || n < min || n > max)
            throw new ArgumentException($"Option {option} needs an integer ≥ {min}, got '{v}'.", nameof(args));
        return n;
    }
}
