namespace SparseNative.Cli.Pictures;

/// <summary>An 8-bit RGB raster, row-major, top row first: what <see cref="PngWriter"/> encodes.</summary>
public sealed class RgbImage
{
    /// <summary>Creates an image filled with one colour.</summary>
    public RgbImage(int width, int height, Rgb background)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if ((long)width * height * 3 > Array.MaxLength)
            throw new ArgumentException($"A {width}×{height} image is too large.", nameof(width));
        Width = width;
        Height = height;
        Pixels = new byte[width * height * 3];
        Fill(0, 0, width, height, background);
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>R, G, B bytes per pixel.</summary>
    public byte[] Pixels { get; }

    /// <summary>Sets one pixel; coordinates outside the image are ignored.</summary>
    public void Set(int x, int y, Rgb c)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        int i = (y * Width + x) * 3;
        Pixels[i] = c.R; Pixels[i + 1] = c.G; Pixels[i + 2] = c.B;
    }

    /// <summary>The colour of one pixel.</summary>
    public Rgb Get(int x, int y)
    {
        int i = (y * Width + x) * 3;
        return new Rgb(Pixels[i], Pixels[i + 1], Pixels[i + 2]);
    }

    /// <summary>Fills a rectangle (clipped to the image).</summary>
    public void Fill(int x, int y, int w, int h, Rgb c)
    {
        for (int yy = Math.Max(0, y); yy < Math.Min(Height, y + h); yy++)
            for (int xx = Math.Max(0, x); xx < Math.Min(Width, x + w); xx++)
                Set(xx, yy, c);
    }
}

/// <summary>An sRGB colour.</summary>
/// <param name="R">Red.</param>
/// <param name="G">Green.</param>
/// <param name="B">Blue.</param>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>Linear blend: <paramref name="t"/> = 0 gives <paramref name="a"/>, 1 gives <paramref name="b"/>.</summary>
    public static Rgb Lerp(Rgb a, Rgb b, double t)
    {
        t = Math.Clamp(t, 0, 1);
        return new Rgb(Mix(a.R, b.R), Mix(a.G, b.G), Mix(a.B, b.B));
        byte Mix(byte x, byte y) => (byte)Math.Round(x + (y - x) * t);
    }
}
