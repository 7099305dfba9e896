using Xunit;
using System.Buffers.Binary;
using System.Text;
using SparseNative.Cli.Npy;

namespace SparseNative.Cli.Tests;

/// <summary>The .npy reader and writer: exact round trips, NumPy's own header bytes, and every malformed file refused clearly.</summary>
public sealed class NpyTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<int[]> Shapes => new() { new[] { 7 }, new[] { 3, 5 }, new[] { 2, 3, 4 }, new[] { 1, 2, 3, 8 }, new[] { 2, 1, 5, 16 } };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float32_round_trips_bit_for_bit(int[] shape)
    {
        var data = Values(shape);
        string path = _dir.File("a.npy");
        Npy.Npy.Write(path, data, shape);
        var back = Npy.Npy.ReadFloats(path);
        Assert.Equal(shape, back.Shape);
        Assert.Equal(data, back.Data);
        // NumPy aligns the data to 64 bytes; so do we.
        Assert.Equal(0, (new FileInfo(path).Length - data.Length * 4) % 64);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float64_reads_as_the_nearest_float32(int[] shape)
    {
        var f = Values(shape);
        var d = f.Select(x => (double)x + 1e-12).ToArray();
        string path = _dir.File("d.npy");
        Npy.Npy.Write(path, d, shape);
        var back = Npy.Npy.ReadFloats(path);
        Assert.Equal(shape, back.Shape);
        Assert.Equal(d.Select(x => (float)x).ToArray(), back.Data);
    }

    [Fact]
    public void Reads_the_exact_bytes_numpy_writes()
    {
        // np.save of np.arange(6, dtype='<f4').reshape(2, 3): version 1.0, header padded with spaces to 128 bytes, '\n' last.
        string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        var bytes = Preamble(1, dict, 128 - 10).Concat(Floats(0, 1, 2, 3, 4, 5)).ToArray();
        var a = Npy.Npy.ReadFloats(Save("np.npy", bytes));
        Assert.Equal([2, 3], a.Shape);
        Assert.Equal([0f, 1, 2, 3, 4, 5], a.Data);
    }

    [Fact]
    public void Reads_version_2_and_3_headers_and_0d_arrays()
    {
        var v2 = Preamble(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 64 - 12).Concat(Floats(42)).ToArray();
        var a = Npy.Npy.ReadFloats(Save("v2.npy", v2));
        Assert.Empty(a.Shape);
        Assert.Equal([42f], a.Data);
        var v3 = Preamble(3, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}", 64 - 12).Concat(Floats(1, 2)).ToArray();
        Assert.Equal([1f, 2], Npy.Npy.ReadFloats(Save("v3.npy", v3)).Data);
    }

    [Fact]
    public void Integer_layouts_read_from_int64_int32_and_bool()
    {
        string p64 = Save("i8.npy", Preamble(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", 118)
            .Concat(new long[] { 1, 0, 7 }.SelectMany(BitConverter.GetBytes)).ToArray());
        Assert.Equal([1, 0, 7], Npy.Npy.ReadInts(p64).Data);
        string pb = Save("b1.npy", Preamble(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), }", 118).Concat(new byte[] { 1, 0, 0, 1 }).ToArray());
        Assert.Equal([1, 0, 0, 1], Npy.Npy.ReadInts(pb).Data);
        string big = Save("big.npy", Preamble(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", 118)
            .Concat(BitConverter.GetBytes(1L << 40)).ToArray());
        Assert.Contains("does not fit in int32", Assert.Throws<NpyFormatException>(() => Npy.Npy.ReadInts(big)).Message);
    }

    public static TheoryData<string, byte[], string> Malformed()
    {
        string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        var data = Floats(1, 2);
        return new()
        {
            { "bad magic", Encoding.ASCII.GetBytes("\x93NUMPX").Concat(new byte[10]).ToArray(), "not a .npy file" },
            { "empty file", [], "not a .npy file" },
            { "version 4.0", Preamble(4, ok, 54).Concat(data).ToArray(), "version 4.0 is not supported" },
            { "version 1.1", Preamble(1, ok, 54, minor: 1).Concat(data).ToArray(), "version 1.1 is not supported" },
            { "int64 tensor", Preamble(1, ok.Replace("<f4", "<i8"), 54).Concat(new byte[16]).ToArray(), "dtype '<i8' is not supported for tensors; use little-endian float32 ('<f4') or float64 ('<f8') (in NumPy: x.astype('<f4'))" },
            { "big-endian", Preamble(1, ok.Replace("<f4", ">f4"), 54).Concat(data).ToArray(), "dtype '>f4' is not supported for tensors; use little-endian float32 ('<f4') or float64 ('<f8') (in NumPy: x.astype('<f4'))" },
            // float16 gets the same conversion hint as int64: the reader refuses any dtype it does not take before sizing it.
            { "float16", Preamble(1, ok.Replace("<f4", "<f2"), 54).Concat(new byte[4]).ToArray(), "dtype '<f2' is not supported for tensors; use little-endian float32 ('<f4') or float64 ('<f8') (in NumPy: x.astype('<f4'))" },
            { "fortran order", Preamble(1, ok.Replace("False", "True"), 54).Concat(data).ToArray(), "Fortran-order" },
            { "truncated data", Preamble(1, ok, 54).Concat(Floats(1)).ToArray(), "truncated" },
            { "trailing data", Preamble(1, ok, 54).Concat(Floats(1, 2, 3)).ToArray(), "bytes follow" },
            { "header longer than file", Preamble(1, ok, 54).Take(40).ToArray(), "the file ends after" },
            { "header too long", HugeHeader(), "is refused" },
            { "garbled header", Preamble(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,) ", 54).Concat(data).ToArray(), "malformed .npy header" },
            { "missing key", Preamble(1, "{'descr': '<f4', 'shape': (2,), }", 54).Concat(data).ToArray(), "'fortran_order' is missing" },
            { "repeated key", Preamble(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 54).Concat(data).ToArray(), "appears twice" },
            { "non-integer shape", Preamble(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }", 54).Concat(data).ToArray(), "malformed .npy header" },
            { "not a dict", Preamble(1, "['<f4', False, (2,)]", 54).Concat(data).ToArray(), "malformed .npy header" },
        };
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_files_are_refused_with_a_message_naming_the_file(string what, byte[] bytes, string expected)
    {
        string path = Save(what.Replace(' ', '_') + ".npy", bytes);
        var e = Assert.Throws<NpyFormatException>(() => Npy.Npy.ReadFloats(path));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith(path, e.Message);
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_inputs_to_run_exit_with_code_2_and_no_stack_trace(string what, byte[] bytes, string expected)
    {
        string bad = Save(what.Replace(' ', '_') + ".npy", bytes);
        string good = _dir.File("good.npy");
        Npy.Npy.Write(good, Values([1, 1, 16, 8]), [1, 1, 16, 8]);
        var r = Cli.Run("run", "dense", "--q", bad, "--k", good, "--v", good, "--block", "16");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.Err);
        Assert.False(r.HasStackTrace, r.Err);
    }

    [Fact]
    public void A_missing_file_is_exit_code_2()
    {
        var r = Cli.Run("run", "dense", "--q", _dir.File("nope.npy"), "--k", _dir.File("nope.npy"), "--v", _dir.File("nope.npy"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no such file", r.Err);
        Assert.False(r.HasStackTrace, r.Err);
    }

    [Fact]
    public void Writer_refuses_a_shape_that_does_not_match_the_data()
    {
        Assert.Throws<ArgumentException>(() => Npy.Npy.Write(_dir.File("x.npy"), new float[5], [2, 3]));
    }

    private string Save(string name, byte[] bytes)
    {
        string p = _dir.File(name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    private static float[] Values(int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var rng = new Random(n);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    private static byte[] Floats(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    // Magic, version, header length and the dict padded with spaces to headerLength bytes ending in '\n'.
    private static byte[] Preamble(byte major, string dict, int headerLength, byte minor = 0)
    {
        var header = Encoding.ASCII.GetBytes(dict.PadRight(Math.Max(headerLength - 1, dict.Length)) + "\n");
        var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, minor]);
        Span<byte> len = stackalloc byte[4];
        if (major == 1) { BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length); ms.Write(len[..2]); }
        else { BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)header.Length); ms.Write(len); }
        ms.Write(header);
        return ms.ToArray();
    }

    private static byte[] HugeHeader()
    {
        var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 2, 0]);
        ms.Write(BitConverter.GetBytes(1u << 30));
        ms.Write(new byte[100]);
        return ms.ToArray();
    }
}
