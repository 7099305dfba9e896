using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text;

namespace SparseNative.Cli.Tests;

/// <summary>
/// A minimal PNG reader written for the tests, independent of the writer: checks the signature and every chunk's CRC,
/// reads IHDR, inflates the IDAT stream and undoes the five standard row filters (8-bit RGB / RGBA only).
/// </summary>
internal static class PngDecoder
{
    public sealed record Image(int Width, int Height, int Channels, byte[] Pixels)
    {
        public (byte R, byte G, byte B) At(int x, int y)
        {
            int i = (y * Width + x) * Channels;
            return (Pixels[i], Pixels[i + 1], Pixels[i + 2]);
        }
    }

    public static Image Decode(byte[] png)
    {
        byte[] sig = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (!png.AsSpan(0, 8).SequenceEqual(sig)) throw new InvalidDataException("bad PNG signature");
        int pos = 8, width = 0, height = 0, channels = 0;
        var idat = new MemoryStream();
        bool end = false;
        while (!end)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, len);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + len));
            if (Crc32.HashToUInt32(png.AsSpan(pos + 4, 4 + len)) != crc) throw new InvalidDataException($"bad CRC in {type}");
            switch (type)
            {
                case "IHDR":
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    if (data[8] != 8) throw new InvalidDataException("only 8-bit");
                    channels = data[9] switch { 2 => 3, 6 => 4, _ => throw new InvalidDataException("only RGB/RGBA") };
                    if (data[12] != 0) throw new InvalidDataException("interlaced");
                    break;
                case "IDAT": idat.Write(data); break;
                case "IEND": end = true; break;
            }
            pos += 12 + len;
        }
        idat.Position = 0;
        var raw = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(raw);
        byte[] f = raw.ToArray();
        int stride = width * channels;
        if (f.Length != height * (stride + 1)) throw new InvalidDataException($"IDAT has {f.Length} bytes, expected {height * (stride + 1)}");
        var px = new byte[height * stride];
        for (int y = 0; y < height; y++)
        {
            byte filter = f[y * (stride + 1)];
            for (int x = 0; x < stride; x++)
            {
                int a = x >= channels ? px[y * stride + x - channels] : 0;
                int b = y > 0 ? px[(y - 1) * stride + x] : 0;
                int c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels] : 0;
                int v = f[y * (stride + 1) + 1 + x];
                px[y * stride + x] = (byte)(filter switch
                {
                    0 => v,
                    1 => v + a,
                    2 => v + b,
                    3 => v + (a + b) / 2,
                    4 => v + Paeth(a, b, c),
                    _ => throw new InvalidDataException($"filter {filter}"),
                });
            }
        }
        return new Image(width, height, channels, px);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
