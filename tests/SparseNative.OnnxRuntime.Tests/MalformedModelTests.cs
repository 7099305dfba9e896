using Microsoft.ML.OnnxRuntime;
using SparseNative.OnnxRuntime.Tests.Support;
using Xunit;
using DataType = Onnx.TensorProto.Types.DataType;

namespace SparseNative.OnnxRuntime.Tests;

/// <summary>Malformed models and inputs give an ONNX Runtime error naming the field, never a crash of the host.</summary>
public sealed class MalformedModelTests
{
    private static SparseAttentionCase Case() => new() { Batch = 1, Heads = 4, KvHeads = 2, HeadSize = 16, BlockSize = 16, MaxBlocks = 4 };

    private static void Refused(Action run, params string[] fragments)
    {
        var e = Assert.Throws<OnnxRuntimeException>(run);
        TestContext.Current.SendDiagnosticMessage(e.Message);
        foreach (string f in fragments) Assert.Contains(f, e.Message);
    }

    [Fact]
    public void Column_index_past_max_blocks_is_refused()
    {
        using var ours = Case().Open(retarget: true);
        var (rows, cols, nnz) = Phi3Layout.Build(1, 4, 1, 4);
        cols[1] = 99;  // row 1's only block (row 0 is [0])
        Refused(() => ours.Run(ours.MakeStep(new Inputs(1), 0, 40), rows, cols, nnz), "block_col_indices[0][1] = 99", "max_blocks = 4");
    }

    [Fact]
    public void Decreasing_row_offsets_are_refused()
    {
        using var ours = Case().Open(retarget: true);
        var (rows, cols, nnz) = Phi3Layout.Build(1, 4, 4, 4);
        rows[2] = 7;
        rows[3] = 2;
        Refused(() => ours.Run(ours.MakeStep(new Inputs(2), 0, 64), rows, cols, nnz), "block_row_indices[0]");
    }

    [Fact]
    public void Offsets_past_the_column_tensor_are_refused()
    {
        using var ours = Case().Open(retarget: true);
        var (rows, cols, nnz) = Phi3Layout.Build(1, 4, 4, 4);
        rows[4] = 1_000_000;
        Refused(() => ours.Run(ours.MakeStep(new Inputs(3), 0, 64), rows, cols, nnz), "max_nnz");
    }

    [Fact]
    public void Unsorted_columns_are_refused_by_the_C_library_validation()
    {
        using var ours = Case().Open(retarget: true);
        // Row 2 stores 3 blocks: not the dense row (3 = row + 1 would be read as dense), so give row 2 two blocks out of order.
        int[] rows = [0, 1, 3, 5, 9];
        int[] cols = [0, 0, 1, 2, 0, 0, 1, 2, 3];
        Refused(() => ours.Run(ours.MakeStep(new Inputs(4), 0, 64), rows, cols, cols.Length), "SparseAttention", "col_indices");
    }

    [Fact]
    public void Layout_count_that_does_not_divide_the_heads_is_refused()
    {
        using var ours = Case().Open(retarget: true);
        var (rows, cols, nnz) = Phi3Layout.Build(3, 4, 4, 4);
        Refused(() => ours.Run(ours.MakeStep(new Inputs(5), 0, 40), rows, cols, nnz), "num_layout", "num_heads = 4");
    }

    [Fact]
    public void Total_sequence_length_past_the_cache_and_layout_is_refused()
    {
        using var ours = Case().Open(retarget: true);
        var (rows, cols, nnz) = Phi3Layout.Build(1, 4, 4, 4);
        ours.Run(ours.MakeStep(new Inputs(8), 0, 64), rows, cols, nnz);  // fills the 64-token cache and layout
        Refused(() => ours.Run(ours.MakeStep(new Inputs(9), 64, 1), rows, cols, nnz), "total_sequence_length = 65");
    }

    [Fact]
    public void Double_inputs_are_refused_when_the_session_is_created()
    {
        var model = Case().Model();
        foreach (var input in model.Graph.Input.Where(i => !i.Name.StartsWith("block_") && !i.Name.Contains("sequence_length")))
            input.Type.TensorType.ElemType = (int)DataType.Double;
        foreach (var output in model.Graph.Output) output.Type.TensorType.ElemType = (int)DataType.Double;
        Refused(() => Case().Open(retarget: true, model), "double");
    }

    [Fact]
    public void Missing_and_bad_attributes_are_refused_when_the_session_is_created()
    {
        var model = Case().Model();
        model.Graph.Node[0].Attribute.Remove(model.Graph.Node[0].Attribute.Single(a => a.Name == "sparse_block_size"));
        model.Graph.Node[0].Attribute.Add(Models.Int("sparse_block_size", 48));
        Refused(() => Case().Open(retarget: true, model), "sparse_block_size", "48");
        var noHeads = Case().Model();
        noHeads.Graph.Node[0].Attribute.Remove(noHeads.Graph.Node[0].Attribute.Single(a => a.Name == "kv_num_heads"));
        noHeads.Graph.Node[0].Attribute.Add(Models.Int("kv_num_heads", 3));
        Refused(() => Case().Open(retarget: true, noHeads), "kv_num_heads");
    }
}
