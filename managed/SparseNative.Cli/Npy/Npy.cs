using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace SparseNative.Cli.Npy;

/// <summary>An array read from a .npy file: row-major (C-order) data and its shape.</summary>
/// <typeparam name="T">float for tensors, int for layout files.</typeparam>
/// <param name="Shape">The dimensions (empty for a 0-d array).</param>
/// <param name="Data">The elements in C order.</param>
public sealed record NpyArray<T>(int[] Shape, T[] Data)
{
    /// <summary>The shape as NumPy prints it, e.g. <c>(1, 8, 4096, 64)</c>.</summary>
    public string ShapeText => Npy.ShapeText(Shape);
}

/// <summary>
/// Reads and writes NumPy .npy files (format versions 1.0, 2.0 and 3.0), strictly: anything this tool cannot read
/// exactly — a bad magic string, an unknown version, big-endian or integer data where floats are needed, Fortran order,
/// a garbled or oversized header, data shorter or longer than the shape says — is a <see cref="NpyFormatException"/>
/// naming the file, never a silently reinterpreted array.
/// </summary>
public static class Npy
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Headers longer than this are refused (NumPy itself refuses more than 10 000 characters by default).</summary>
    public const int MaxHeaderLength = 1 << 16;

    /// <summary>Reads a float32 or float64 array (float64 is rounded to float32).</summary>
    public static NpyArray<float> ReadFloats(string path)
    {
        var (header, data) = ReadRaw(path, out int[] shape, FloatTypes, TensorTypeHint);
        switch (header.Descr)
        {
            case "<f4":
                return new NpyArray<float>(shape, MemoryMarshal.Cast<byte, float>(data).ToArray());
            case "<f8":
            {
                var src = MemoryMarshal.Cast<byte, double>(data);
                var dst = new float[src.Length];
                for (int i = 0; i < src.Length; i++) dst[i] = (float)src[i];
                return new NpyArray<float>(shape, dst);
            }
            default:
                throw Unsupported(path, header.Descr, TensorTypeHint);
        }
    }

    /// <summary>Reads an integer (or boolean) array, e.g. a layout; int64 values must fit in int32.</summary>
    public static NpyArray<int> ReadInts(string path)
    {
        var (header, data) = ReadRaw(path, out int[] shape, IntTypes, IntTypeHint);
        int[] result;
        switch (header.Descr)
        {
            case "<i4": result = MemoryMarshal.Cast<byte, int>(data).ToArray(); break;
            case "<i8":
            {
                var src = MemoryMarshal.Cast<byte, long>(data);
                result = new int[src.Length];
                for (int i = 0; i < src.Length; i++)
                {
                    if (src[i] is < int.MinValue or > int.MaxValue)
                        throw new NpyFormatException($"{path}: element {i} = {src[i]} does not fit in int32.");
                    result[i] = (int)src[i];
                }
                break;
            }
            case "<i2": result = MemoryMarshal.Cast<byte, short>(data).ToArray().Select(x => (int)x).ToArray(); break;
            case "|i1": result = MemoryMarshal.Cast<byte, sbyte>(data).ToArray().Select(x => (int)x).ToArray(); break;
            case "|u1" or "|b1": result = data.Select(x => (int)x).ToArray(); break;
            default:
                throw Unsupported(path, header.Descr, IntTypeHint);
        }
        return new NpyArray<int>(shape, result);
    }

    /// <summary>Writes a float32 array in format 1.0 (2.0 only if the header needs it), C order.</summary>
    public static void Write(string path, ReadOnlySpan<float> data, ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentOutOfRangeException(nameof(shape), d, "Dimensions must be non-negative.");
            count *= d;
        }
        if (count != data.Length)
            throw new ArgumentException($"Shape {ShapeText(shape)} holds {count} elements but {data.Length} were given.", nameof(data));
        using var stream = File.Create(path);
        WriteHeader(stream, new NpyHeader("<f4", false, shape.ToArray().Select(x => (long)x).ToArray()));
        stream.Write(MemoryMarshal.AsBytes(data));
    }

    /// <summary>Writes a float64 array (used by tests and by anyone who wants exact float64 inputs).</summary>
    public static void Write(string path, ReadOnlySpan<double> data, ReadOnlySpan<int> shape)
    {
        using var stream = File.Create(path);
        WriteHeader(stream, new NpyHeader("<f8", false, shape.ToArray().Select(x => (long)x).ToArray()));
        stream.Write(MemoryMarshal.AsBytes(data));
    }

    /// <summary>Writes an int32 array (layouts).</summary>
    public static void Write(string path, ReadOnlySpan<int> data, ReadOnlySpan<int> shape)
    {
        using var stream = File.Create(path);
        WriteHeader(stream, new NpyHeader("<i4", false, shape.ToArray().Select(x => (long)x).ToArray()));
        stream.Write(MemoryMarshal.AsBytes(data));
    }

    /// <summary>Writes an int64 array (DeepSpeed layouts: what <c>torch.Tensor.numpy()</c> and NumPy's default integer give).</summary>
    public static void Write(string path, ReadOnlySpan<long> data, ReadOnlySpan<int> shape)
    {
        using var stream = File.Create(path);
        WriteHeader(stream, new NpyHeader("<i8", false, shape.ToArray().Select(x => (long)x).ToArray()));
        stream.Write(MemoryMarshal.AsBytes(data));
    }

    /// <summary>Writes the magic string, version, header length and the space-padded header ending in '\n' (64-byte aligned data).</summary>
    public static void WriteHeader(Stream stream, NpyHeader header)
    {
        string dict = header.Format();
        bool v1 = true;
        int prefix = 10;
        int total = Align(prefix + dict.Length + 1);
        if (total - prefix > ushort.MaxValue) { v1 = false; prefix = 12; total = Align(prefix + dict.Length + 1); }
        string padded = dict.PadRight(total - prefix - 1) + "\n";
        stream.Write(Magic);
        stream.WriteByte(v1 ? (byte)1 : (byte)2);
        stream.WriteByte(0);
        Span<byte> len = stackalloc byte[4];
        if (v1) { BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)padded.Length); stream.Write(len[..2]); }
        else { BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)padded.Length); stream.Write(len); }
        stream.Write(Encoding.Latin1.GetBytes(padded));

        static int Align(int n) => (n + 63) / 64 * 64;
    }

    /// <summary>The shape as NumPy prints it.</summary>
    public static string ShapeText(ReadOnlySpan<int> shape) => shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape.ToArray()) + ")";

    private static readonly string[] FloatTypes = ["<f4", "<f8"];
    private static readonly string[] IntTypes = ["<i4", "<i8", "<i2", "|i1", "|u1", "|b1"];
    private const string TensorTypeHint =
        "is not supported for tensors; use little-endian float32 ('<f4') or float64 ('<f8') (in NumPy: x.astype('<f4'))";
    private const string IntTypeHint =
        "is not supported for integer arrays; use '<i4', '<i8', '<i2', '|i1', '|u1' or '|b1' (in NumPy: x.astype('<i8'))";

    private static NpyFormatException Unsupported(string path, string descr, string hint) => new($"{path}: dtype '{descr}' {hint}.");

    // Reads the header and data of a file whose dtype must be one of accepted: any other dtype is refused, with the
    // reader's own hint, before its size is needed.
    private static (NpyHeader Header, byte[] Data) ReadRaw(string path, out int[] shape, string[] accepted, string hint)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new FileNotFoundException($"{path}: no such file.", path); }
        catch (DirectoryNotFoundException) { throw new DirectoryNotFoundException($"{path}: no such file (the directory does not exist)."); }

        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw new NpyFormatException($"{path}: not a .npy file (it does not start with \\x93NUMPY).");
        byte major = bytes[6], minor = bytes[7];
        int headerStart, headerLength;
        switch (major)
        {
            case 1:
                headerStart = 10;
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
                break;
            case 2 or 3:
                if (bytes.Length < 12) throw new NpyFormatException($"{path}: the file ends inside the .npy preamble.");
                headerStart = 12;
                uint len = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
                if (len > MaxHeaderLength)
                    throw new NpyFormatException($"{path}: the header claims {len} bytes; more than {MaxHeaderLength} is refused.");
                headerLength = (int)len;
                break;
            default:
                throw new NpyFormatException($"{path}: .npy format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are).");
        }
        if (minor != 0)
            throw new NpyFormatException($"{path}: .npy format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are).");
        if (headerLength > MaxHeaderLength)
            throw new NpyFormatException($"{path}: the header claims {headerLength} bytes; more than {MaxHeaderLength} is refused.");
        if (headerStart + headerLength > bytes.Length)
            throw new NpyFormatException($"{path}: the header claims {headerLength} bytes but the file ends after {bytes.Length - headerStart}.");
        var headerBytes = bytes.AsSpan(headerStart, headerLength);
        string text = major == 3 ? DecodeUtf8(headerBytes, path) : Encoding.Latin1.GetString(headerBytes);
        var header = NpyHeader.Parse(text, path);
        if (header.FortranOrder)
            throw new NpyFormatException($"{path}: Fortran-order (column-major) arrays are not supported; save a C-order copy (np.ascontiguousarray).");

        long count;
        try { count = header.ElementCount; }
        catch (OverflowException) { throw new NpyFormatException($"{path}: shape {string.Join("×", header.Shape)} overflows."); }
        if (!accepted.Contains(header.Descr)) throw Unsupported(path, header.Descr, hint);
        int itemSize = ItemSize(header.Descr);
        long expectedBytes = count * itemSize;
        long available = bytes.Length - headerStart - headerLength;
        if (count > Array.MaxLength / 4 || expectedBytes > int.MaxValue)
            throw new NpyFormatException($"{path}: {count} elements are more than this tool can hold in one array.");
        if (available < expectedBytes)
            throw new NpyFormatException(
                $"{path}: truncated: shape {Npy.ShapeText(header.Shape.Select(x => (int)x).ToArray())} of '{header.Descr}' needs {expectedBytes} data bytes, the file has {available}.");
        if (available > expectedBytes)
            throw new NpyFormatException(
                $"{path}: {available - expectedBytes} bytes follow the {expectedBytes} data bytes that shape {Npy.ShapeText(header.Shape.Select(x => (int)x).ToArray())} needs.");
        shape = header.Shape.Select(x => (int)x).ToArray();
        return (header, bytes.AsSpan(headerStart + headerLength, (int)expectedBytes).ToArray());
    }

    private static string DecodeUtf8(ReadOnlySpan<byte> bytes, string path)
    {
        try { return new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { throw new NpyFormatException($"{path}: the version 3.0 header is not valid UTF-8."); }
    }

    // Sizes of the dtypes the readers accept.
    private static int ItemSize(string descr) => descr switch
    {
        "<f4" or "<i4" => 4,
        "<f8" or "<i8" => 8,
        "<i2" => 2,
        "|i1" or "|u1" or "|b1" => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(descr), descr, "No reader accepts this dtype."),
    };
}
