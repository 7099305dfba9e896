namespace SparseNative;

/// <summary>
/// The sizes of one attention problem. Queries are <c>[Batch, QueryHeads, QueryLength, HeadDim]</c>,
/// keys and values <c>[Batch, KeyValueHeads, KeyLength, HeadDim]</c> (in the chosen <see cref="TensorFormat"/>).
/// </summary>
/// <remarks>
/// Grouped-query attention: <see cref="QueryHeads"/> must be a multiple of <see cref="KeyValueHeads"/>; query head
/// <c>h</c> reads key/value head <c>h / (QueryHeads / KeyValueHeads)</c> (multi-query attention when there is one
/// key/value head). <see cref="QueryLength"/> may differ from <see cref="KeyLength"/> (cross attention, decoding
/// against a key/value cache); with causal masking the alignment is bottom-right.
/// </remarks>
/// <param name="Batch">Number of independent sequences.</param>
/// <param name="QueryHeads">Number of query heads.</param>
/// <param name="KeyValueHeads">Number of key/value heads (divides <paramref name="QueryHeads"/>).</param>
/// <param name="QueryLength">Query tokens per sequence.</param>
/// <param name="KeyLength">Key/value tokens per sequence.</param>
/// <param name="HeadDim">Features per head.</param>
public readonly record struct AttentionShape(int Batch, int QueryHeads, int KeyValueHeads, int QueryLength, int KeyLength, int HeadDim)
{
    /// <summary>A self-attention shape: one head count for queries and keys, one length.</summary>
    public static AttentionShape SelfAttention(int batch, int heads, int length, int headDim) =>
        new(batch, heads, heads, length, length, headDim);

    /// <summary>Query heads that share one key/value head.</summary>
    public int GroupSize => QueryHeads / KeyValueHeads;

    /// <summary>Elements in the query tensor and in the output tensor.</summary>
    public long QueryElements => (long)Batch * QueryHeads * QueryLength * HeadDim;

    /// <summary>Elements in the key tensor (and in the value tensor).</summary>
    public long KeyElements => (long)Batch * KeyValueHeads * KeyLength * HeadDim;

    /// <summary>Elements in the log-sum-exp output, <c>[Batch, QueryHeads, QueryLength]</c>.</summary>
    public long LogSumExpElements => (long)Batch * QueryHeads * QueryLength;

    /// <summary>Query blocks for a block size: <c>ceil(QueryLength / blockSize)</c>.</summary>
    public int QueryBlocks(int blockSize) => BlockLayout.BlocksFor(QueryLength, blockSize);

    /// <summary>Key blocks for a block size: <c>ceil(KeyLength / blockSize)</c>.</summary>
    public int KeyBlocks(int blockSize) => BlockLayout.BlocksFor(KeyLength, blockSize);

    // The record printer would also print the derived properties, and GroupSize divides by KeyValueHeads: an invalid
    // shape (the one an error message or a log line most needs to show) must print too. So: the six sizes only.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"Batch = {Batch}, QueryHeads = {QueryHeads}, KeyValueHeads = {KeyValueHeads}, ");
        builder.Append($"QueryLength = {QueryLength}, KeyLength = {KeyLength}, HeadDim = {HeadDim}");
        return true;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending size when the shape is not valid.</summary>
    /// <param name="paramName">The argument name to report.</param>
    public void Validate(string paramName = "shape") => Validate(paramName, keysSpanIndexed: true);

    /// <summary><see cref="Validate(string)"/>; with <paramref name="keysSpanIndexed"/> false the K/V tensors may exceed
    /// int.MaxValue elements (they are read through pointers: tensor spans).</summary>
    internal void Validate(string paramName, bool keysSpanIndexed)
    {
        Positive(Batch, nameof(Batch));
        Positive(QueryHeads, nameof(QueryHeads));
        Positive(KeyValueHeads, nameof(KeyValueHeads));
        Positive(QueryLength, nameof(QueryLength));
        Positive(KeyLength, nameof(KeyLength));
        Positive(HeadDim, nameof(HeadDim));
        if (QueryHeads % KeyValueHeads != 0)
            throw new ArgumentException(
                $"QueryHeads ({QueryHeads}) must be a multiple of KeyValueHeads ({KeyValueHeads}).", paramName);
        // Element counts index spans, so each tensor must fit in an int-indexed span. In 128 bits: four sizes below 2³¹
        // multiply to up to 2¹²⁴, which a 64-bit product would wrap (65536⁴ = 2⁶⁴ becomes 0 and passes any length check).
        Fits((Int128)Batch * QueryHeads * QueryLength * HeadDim, "Batch·QueryHeads·QueryLength·HeadDim", "query and output");
        if (keysSpanIndexed)
            Fits((Int128)Batch * KeyValueHeads * KeyLength * HeadDim, "Batch·KeyValueHeads·KeyLength·HeadDim", "key and value");

        void Fits(Int128 elements, string formula, string tensors)
        {
            if (elements > int.MaxValue)
                throw new ArgumentException(
                    $"{formula} = {elements}: the {tensors} tensors would exceed the {int.MaxValue} elements a span can index.", paramName);
        }

        void Positive(int value, string name)
        {
            if (value <= 0)
                throw new ArgumentOutOfRangeException(paramName, value, $"{name} must be positive, got {value}.");
        }
    }
}
