using System.Globalization;
using System.Text;

namespace SparseNative.Cli.Npy;

/// <summary>
/// The parsed header dictionary of a .npy file, e.g. <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }</c>.
/// </summary>
/// <param name="Descr">The NumPy dtype string as written (e.g. <c>&lt;f4</c>).</param>
/// <param name="FortranOrder">Whether the data is stored column-major.</param>
/// <param name="Shape">The dimensions; empty for a 0-d array.</param>
public sealed record NpyHeader(string Descr, bool FortranOrder, long[] Shape)
{
    /// <summary>Elements in the array (1 for a 0-d array).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n = checked(n * d);
            return n;
        }
    }

    /// <summary>Parses the header text. Only the Python-literal subset NumPy writes is accepted: one dict of string keys.</summary>
    /// <exception cref="NpyFormatException">The text is not such a dict, a key is missing or repeated, or a value has the wrong type.</exception>
    public static NpyHeader Parse(string text, string source)
    {
        var p = new Parser(text, source);
        var dict = p.ParseDict();
        if (!dict.TryGetValue("descr", out var descr) || descr is not string d)
            throw p.Error("'descr' is missing or not a string");
        if (!dict.TryGetValue("fortran_order", out var fo) || fo is not bool f)
            throw p.Error("'fortran_order' is missing or not True/False");
        if (!dict.TryGetValue("shape", out var sh) || sh is not long[] shape)
            throw p.Error("'shape' is missing or not a tuple of integers");
        return new NpyHeader(d, f, shape);
    }

    /// <summary>The header dict as NumPy writes it (without padding).</summary>
    public string Format()
    {
        string shape = Shape.Length switch
        {
            0 => "()",
            1 => $"({Shape[0]},)",
            _ => "(" + string.Join(", ", Shape.Select(x => x.ToString(CultureInfo.InvariantCulture))) + ")",
        };
        return $"{{'descr': '{Descr}', 'fortran_order': {(FortranOrder ? "True" : "False")}, 'shape': {shape}, }}";
    }

    // A recursive-descent reader for the dict; anything unexpected is an error with its position.
    private sealed class Parser(string text, string source)
    {
        private int _pos;

        public NpyFormatException Error(string what) =>
            new($"{source}: malformed .npy header ({what}) in {Quote(text)}.");

        private static string Quote(string s) => s.Length > 120 ? $"\"{s[..120]}…\"" : $"\"{s.TrimEnd()}\"";

        public Dictionary<string, object> ParseDict()
        {
            var result = new Dictionary<string, object>();
            Skip();
            Expect('{');
            while (true)
            {
                Skip();
                if (Peek() == '}') { _pos++; break; }
                string key = ParseString();
                Skip();
                Expect(':');
                Skip();
                object value = ParseValue();
                if (!result.TryAdd(key, value)) throw Error($"key '{key}' appears twice");
                Skip();
                if (Peek() == ',') { _pos++; continue; }
                Skip();
                Expect('}');
                break;
            }
            Skip();
            if (_pos != text.Length) throw Error($"unexpected text after the dict at offset {_pos}");
            return result;
        }

        private object ParseValue()
        {
            char c = Peek();
            if (c is '\'' or '"') return ParseString();
            if (c == '(') return ParseTuple();
            if (Match("True")) return true;
            if (Match("False")) return false;
            throw Error($"unexpected value at offset {_pos}");
        }

        private long[] ParseTuple()
        {
            Expect('(');
            var dims = new List<long>();
            while (true)
            {
                Skip();
                if (Peek() == ')') { _pos++; return dims.ToArray(); }
                int start = _pos;
                while (_pos < text.Length && char.IsAsciiDigit(text[_pos])) _pos++;
                if (_pos == start) throw Error($"expected a non-negative integer in the shape at offset {start}");
                if (!long.TryParse(text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out long dim) || dim > int.MaxValue)
                    throw Error($"shape dimension {text[start.._pos]} is too large");
                dims.Add(dim);
                Skip();
                if (Peek() == ',') { _pos++; continue; }
                Expect(')');
                return dims.ToArray();
            }
        }

        private string ParseString()
        {
            char quote = Peek();
            if (quote is not ('\'' or '"')) throw Error($"expected a quoted string at offset {_pos}");
            int end = text.IndexOf(quote, _pos + 1);
            if (end < 0) throw Error("unterminated string");
            string s = text[(_pos + 1)..end];
            _pos = end + 1;
            return s;
        }

        private bool Match(string word)
        {
            if (string.CompareOrdinal(text, _pos, word, 0, word.Length) != 0) return false;
            _pos += word.Length;
            return true;
        }

        private void Expect(char c)
        {
            if (Peek() != c) throw Error(_pos < text.Length ? $"expected '{c}' at offset {_pos}, found '{text[_pos]}'" : $"expected '{c}' but the header ended");
            _pos++;
        }

        private char Peek() => _pos < text.Length ? text[_pos] : '\0';

        private void Skip()
        {
            while (_pos < text.Length && text[_pos] is ' ' or '\t' or '\n' or '\r') _pos++;
        }
    }

    internal static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
