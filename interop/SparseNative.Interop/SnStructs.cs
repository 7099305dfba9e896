using System.Runtime.InteropServices;

namespace SparseNative.Interop;

/// <summary>
/// Mirror of <c>sn_layout</c>: <see cref="NumLayouts"/> CSR lists of key blocks per query block; query head
/// h uses list h % NumLayouts. List l's offsets are <c>RowOffsets[l*(QueryBlocks+1) .. l*(QueryBlocks+1)+QueryBlocks]</c>
/// (each starting at 0); its columns start in <see cref="ColIndices"/> at the total block count of the
/// earlier lists. The loader checks this layout against the native library's at load time.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct SnLayout
{
    /// <summary>16, 32, 64 or 128.</summary>
    public int BlockSize;

    /// <summary>Must equal ceil(query_length / BlockSize).</summary>
    public int QueryBlocks;

    /// <summary>Must equal ceil(key_length / BlockSize).</summary>
    public int KeyBlocks;

    /// <summary>Number of CSR lists L (&gt;= 1, dividing the query head count).</summary>
    public int NumLayouts;

    /// <summary>Length of <see cref="ColIndices"/>: the number of blocks over all lists.</summary>
    public int NumColIndices;

    /// <summary>Must be 0.</summary>
    public int Reserved;

    /// <summary>NumLayouts * (QueryBlocks + 1) row offsets.</summary>
    public int* RowOffsets;

    /// <summary>NumColIndices column (key block) indices, strictly increasing within a row.</summary>
    public int* ColIndices;
}

/// <summary>Mirror of <c>sn_problem</c>: the shape and options of one attention call.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct SnProblem
{
    /// <summary>Batch size B (&gt;= 1).</summary>
    public int Batch;

    /// <summary>Query heads Hq (&gt;= 1, a multiple of <see cref="KvHeads"/>).</summary>
    public int QueryHeads;

    /// <summary>Key/value heads Hkv (&gt;= 1); query head h reads kv head h / (Hq / Hkv).</summary>
    public int KvHeads;

    /// <summary>Query length Lq (&gt;= 1).</summary>
    public int QueryLength;

    /// <summary>Key length Lk (&gt;= 1); may differ from Lq.</summary>
    public int KeyLength;

    /// <summary>Head dimension d (&gt;= 1; the native kernels need a multiple of 8).</summary>
    public int HeadDim;

    /// <summary>Memory format of q, k, v and out.</summary>
    public SnFormat Format;

    /// <summary>Option bits.</summary>
    public SnFlags Flags;

    /// <summary>Score scale, used as given (0 and negative included; there is no default): pass 1/sqrt(HeadDim) for the usual one. Must be finite.</summary>
    public float Scale;

    /// <summary>0 = one thread per CPU; n &gt;= 1 = at most n. Results are bitwise identical for any value.</summary>
    public int NumThreads;

    /// <summary>Null, or [B, Lq] segment ids (then <see cref="KeySegmentIds"/> must be set too).</summary>
    public int* QuerySegmentIds;

    /// <summary>Null, or [B, Lk] segment ids; query i and key j attend only if their ids are equal.</summary>
    public int* KeySegmentIds;

    /// <summary>Element type of q (the same as <see cref="OutDtype"/> for <c>sn_attention_forward</c>); 0, float32, when zeroed.</summary>
    public SnDtype QDtype;

    /// <summary>Element type of k (the same as <see cref="VDtype"/>).</summary>
    public SnDtype KDtype;

    /// <summary>Element type of v.</summary>
    public SnDtype VDtype;

    /// <summary>Element type of out.</summary>
    public SnDtype OutDtype;
}
