using System.Text.Json;
using Xunit;

namespace SparseNative.Cli.Tests;

/// <summary>
/// <c>layout --out</c> (DeepSpeed), <c>--out-ort</c> (ONNX Runtime) and <c>--json</c>: the files hold the library's layout, in
/// the dtypes those tools use, and the CLI's own import (<c>--from</c>, <c>--from-ort</c>) reads back the same layout.
/// </summary>
public sealed class LayoutExportTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string[], int, int> Patterns() => new()
    {
        // arguments after the pattern name, heads, block size
        { ["bigbird", "--seq", "2000", "--heads", "3", "--random-blocks", "2", "--layout-seed", "7"], 3, 32 },
        { ["variable", "--seq", "1024", "--heads", "2", "--random-blocks", "1", "--local-windows", "2,4", "--global", "0,5"], 2, 64 },
        { ["phi3", "--seq", "4096", "--layouts", "2", "--heads", "4"], 4, 64 },
        { ["local", "--seq", "777", "--window", "2"], 1, 16 },
    };

    [Theory]
    [MemberData(nameof(Patterns))]
    public void Export_then_import_gives_the_same_layout(string[] args, int heads, int block)
    {
        string ds = _dir.File("ds.npy"), rows = _dir.File("rows.npy"), cols = _dir.File("cols.npy");
        var original = LayoutJson([.. args, "--block", block.ToString(), "--out", ds, "--out-ort", rows, cols]);
        int qb = original.GetProperty("stats").GetProperty("queryBlocks").GetInt32();
        int lists = original.GetProperty("stats").GetProperty("lists").GetInt32();

        // DeepSpeed: (heads, blocks, blocks) int64 0/1; ONNX Runtime: int32 (lists, blocks + 1) and (lists, max_nnz).
        Assert.Contains("'descr': '<i8'", Header(ds));
        var dense = Npy.Npy.ReadInts(ds);
        Assert.Equal([heads, qb, qb], dense.Shape);
        Assert.All(dense.Data, x => Assert.True(x is 0 or 1));
        Assert.Contains("'descr': '<i4'", Header(rows));
        Assert.Contains("'descr': '<i4'", Header(cols));
        Assert.Equal([lists, qb + 1], Npy.Npy.ReadInts(rows).Shape);

        var fromOrt = LayoutJson(["--from-ort", rows, cols, "--block", block.ToString(), "--heads", heads.ToString()]);
        Assert.Equal(Csr(original), Csr(fromOrt));
        // DeepSpeed files have one list per head: the same layout when each head's list is the original's list h % lists.
        var fromDs = LayoutJson(["--from", ds, "--block", block.ToString()]);
        var expanded = Enumerable.Range(0, heads).Select(h => Csr(original)[h % lists]).ToList();
        Assert.Equal(expanded, Csr(fromDs));
    }

    [Fact]
    public void Json_holds_the_library_layout_block_size_counts_and_causality()
    {
        var doc = LayoutJson(["bigbird", "--seq", "1024", "--heads", "2", "--block", "32", "--layout-seed", "3", "--random-blocks", "2"]);
        var expected = BlockPatterns.BigBird(1024, 32, numRandomBlocks: 2, heads: 2, seed: 3);
        var stats = doc.GetProperty("stats");
        Assert.Equal(32, stats.GetProperty("blockSize").GetInt32());
        Assert.Equal(expected.QueryBlocks, stats.GetProperty("queryBlocks").GetInt32());
        Assert.Equal(expected.KeyBlocks, stats.GetProperty("keyBlocks").GetInt32());
        Assert.Equal(expected.LayoutCount, stats.GetProperty("lists").GetInt32());
        Assert.Equal(expected.ActiveBlocks, stats.GetProperty("activeBlocks").GetInt64());
        Assert.Equal(1024, doc.GetProperty("tokens").GetInt32());
        Assert.Equal(2, doc.GetProperty("heads").GetInt32());
        Assert.False(doc.GetProperty("isCausal").GetBoolean());
        var lists = Csr(doc);
        Assert.Equal(expected.LayoutCount, lists.Count);
        for (int l = 0; l < expected.LayoutCount; l++)
        {
            Assert.Equal(expected.RowOffsets(l).ToArray(), lists[l].Offsets);
            Assert.Equal(expected.ColumnIndices(l).ToArray(), lists[l].Columns);
        }
        Assert.True(LayoutJson(["dense", "--seq", "256", "--causal"]).GetProperty("isCausal").GetBoolean());
    }

    [Fact]
    public void Json_says_a_causal_pattern_is_causal_without_the_causal_option()
    {
        Assert.True(LayoutJson(["causal", "--seq", "256"]).GetProperty("isCausal").GetBoolean());
        Assert.True(LayoutJson(["local", "--seq", "256", "--unidirectional"]).GetProperty("isCausal").GetBoolean());
        Assert.False(LayoutJson(["local", "--seq", "256"]).GetProperty("isCausal").GetBoolean());
    }

    [Fact]
    public void Export_prints_how_to_read_the_files_back()
    {
        var r = Cli.Run("layout", "local", "--seq", "512", "--block", "32", "--no-preview", "--out", _dir.File("ds.npy"));
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains($"--from {_dir.File("ds.npy")} --block 32", r.Out);
    }

    private static JsonElement LayoutJson(string[] args)
    {
        var r = Cli.Run(["layout", .. args, "--json"]);
        Assert.True(r.ExitCode == 0, r.Err);
        return JsonDocument.Parse(r.Out).RootElement.Clone();
    }

    private sealed record List(int[] Offsets, int[] Columns)
    {
        public bool Equals(List? o) => o is not null && Offsets.SequenceEqual(o.Offsets) && Columns.SequenceEqual(o.Columns);
        public override int GetHashCode() => Offsets.Length;
    }

    private static List<List> Csr(JsonElement doc) => doc.GetProperty("csr").EnumerateArray()
        .Select(l => new List(l.GetProperty("rowOffsets").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            l.GetProperty("columns").EnumerateArray().Select(x => x.GetInt32()).ToArray()))
        .ToList();

    private static string Header(string path) => System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(path).AsSpan(10, 60));
}
