using System.Text;

namespace SparseNative.Cli.Hosting;

/// <summary>Word wrapping for plain-text output (files, pipes), where no terminal wraps for us.</summary>
internal static class TextWrap
{
    /// <summary>
    /// Wraps <paramref name="text"/> (its own line breaks kept) to <paramref name="width"/> columns; the first line starts with
    /// <paramref name="first"/>, the others with <paramref name="indent"/>. A word longer than a line (a path) is cut after a '/'
    /// where it can be.
    /// </summary>
    public static List<string> Wrap(string text, int width, string first, string indent)
    {
        var lines = new List<string>();
        var line = new StringBuilder(first);
        bool empty = true;
        void Flush()
        {
            lines.Add(line.ToString());
            line.Clear().Append(indent);
            empty = true;
        }
        foreach (var paragraph in text.Replace("\r\n", "\n").Split('\n'))
        {
            foreach (var w in paragraph.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                string word = w;
                if (!empty && line.Length + 1 + word.Length > width) Flush();
                while (line.Length + word.Length > width && width - line.Length > 8)
                {
                    int room = width - line.Length;
                    int slash = word.LastIndexOf('/', room - 1);
                    int cut = slash > 0 ? slash + 1 : room;
                    line.Append(word[..cut]);
                    Flush();
                    word = word[cut..];
                }
                if (!empty) line.Append(' ');
                line.Append(word);
                empty = false;
            }
            if (!empty) Flush();
        }
        return lines;
    }
}
