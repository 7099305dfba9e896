namespace SparseNative.Distributed;

/// <summary>
/// The collective check every distributed call starts with: each rank contributes its view of the problem (shape,
/// layout digest, sharding, element type, options) and the result of its own argument checks, and one pair of
/// all-reduces (element-wise min and max) tells every rank the same thing: whether all agree, and if not, on what.
/// So every rank throws the same <see cref="ArgumentException"/> (or none does), and a disagreement is never a hang.
/// </summary>
internal static class AgreementCheck
{
    /// <summary>The element type of the tensors; float32 is the only one the distributed path carries today.</summary>
    internal const long Float32 = 1;

    internal static void Run(Communicator comm, string? localError, string localParam, params (string Name, long Value)[] fields)
    {
        // The last field is the local verdict: 0 when this rank's arguments are fine, else rank + 1 (max names one such rank).
        var values = new long[fields.Length + 1];
        for (int i = 0; i < fields.Length; i++) values[i] = fields[i].Value;
        values[^1] = localError is null ? 0 : comm.Rank + 1;
        var (min, max) = comm.MinMax(values, "the agreement check");
        for (int i = 0; i < fields.Length; i++)
            if (min[i] != max[i])
                throw new ArgumentException(
                    $"The ranks disagree on {fields[i].Name}: from {min[i]} to {max[i]} across the {comm.Size} ranks " +
                    "(every rank must pass the same global shape, layout, sharding, element type and options).", fields[i].Name);
        if (max[^1] != 0)
        {
            int bad = (int)max[^1] - 1;
            throw bad == comm.Rank && localError is not null
                ? new ArgumentException($"rank {bad}: {localError}", localParam)
                : new ArgumentException($"rank {bad} refused its arguments (its own error says why); no rank computed anything.");
        }
    }

    /// <summary>A digest of the layout that is the same in every process (FNV-1a over its size, flag and CSR arrays).</summary>
    internal static long Digest(BlockLayout layout)
    {
        ulong h = 14695981039346656037UL;
        void Mix(int value)
        {
            for (int k = 0; k < 4; k++) { h ^= (byte)(value >> (8 * k)); h *= 1099511628211UL; }
        }
        Mix(layout.BlockSize); Mix(layout.QueryBlocks); Mix(layout.KeyBlocks); Mix(layout.LayoutCount); Mix(layout.IsCausal ? 1 : 0);
        foreach (int v in layout.AllRowOffsets) Mix(v);
        foreach (int v in layout.AllColumnIndices) Mix(v);
        return (long)h;
    }
}
