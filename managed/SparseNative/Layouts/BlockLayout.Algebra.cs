namespace SparseNative;

public sealed partial class BlockLayout
{
    /// <summary>
    /// The blocks active in this layout or in <paramref name="other"/>. Both must share block size and block counts; the result has
    /// <c>lcm(LayoutCount, other.LayoutCount)</c> lists, so every query head sees the union of the two lists it used before.
    /// Both must also agree on <see cref="IsCausal"/>, which the result keeps: a union of a causal and a non-causal layout
    /// has no single meaning (would the non-causal part see future tokens?), so say which one you mean with
    /// <see cref="WithCausal"/> first.
    /// </summary>
    /// <exception cref="ArgumentException">The block grids differ, or exactly one of the two layouts is causal.</exception>
    public BlockLayout Union(BlockLayout other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.IsCausal != IsCausal)
            throw new ArgumentException(
                $"Cannot unite a {(IsCausal ? "causal" : "non-causal")} layout with a {(other.IsCausal ? "causal" : "non-causal")} one; " +
                "call WithCausal(true) or WithCausal(false) on one of them first to say which attention the union means.",
                nameof(other));
        return Combine(other, union: true);
    }

    /// <summary>
    /// The blocks active in both layouts (same grid rules as <see cref="Union"/>). The result is causal when either layout is:
    /// every pair it allows is then allowed by both.
    /// </summary>
    public BlockLayout Intersect(BlockLayout other) => Combine(other, union: false);

    /// <summary>Union of several layouts (at least one), all causal or all not (see <see cref="Union"/>).</summary>
    public static BlockLayout UnionAll(params BlockLayout[] layouts)
    {
        ArgumentNullException.ThrowIfNull(layouts);
        if (layouts.Length == 0) throw new ArgumentException("At least one layout is needed.", nameof(layouts));
        var acc = layouts[0];
        for (int i = 1; i < layouts.Length; i++) acc = acc.Union(layouts[i]);
        return acc;
    }

    private BlockLayout Combine(BlockLayout other, bool union)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.BlockSize != BlockSize || other.QueryBlocks != QueryBlocks || other.KeyBlocks != KeyBlocks)
            throw new InvalidLayoutException(
                $"Cannot combine a {QueryBlocks}×{KeyBlocks} layout of block {BlockSize} with a {other.QueryBlocks}×{other.KeyBlocks} layout of block {other.BlockSize}.",
                nameof(other));
        long lists = Lcm(LayoutCount, other.LayoutCount);
        if (lists > int.MaxValue)
            throw new ArgumentException(
                $"Combining {LayoutCount} with {other.LayoutCount} list(s) needs lcm = {lists} lists, more than {int.MaxValue}.", nameof(other));
        var combined = Build(BlockSize, QueryBlocks, KeyBlocks, (int)lists, (l, r, row) =>
        {
            var a = Row(l % LayoutCount, r);
            var b = other.Row(l % other.LayoutCount, r);
            int i = 0, j = 0;
            while (i < a.Length && j < b.Length)
            {
                if (a[i] == b[j]) { row.Add(a[i]); i++; j++; }
                else if (a[i] < b[j]) { if (union) row.Add(a[i]); i++; }
                else { if (union) row.Add(b[j]); j++; }
            }
            if (union)
            {
                for (; i < a.Length; i++) row.Add(a[i]);
                for (; j < b.Length; j++) row.Add(b[j]);
            }
        }, nameof(other));
        return combined.WithCausal(IsCausal || other.IsCausal);
    }

    /// <summary>The leading <paramref name="queryBlocks"/> × <paramref name="keyBlocks"/> corner of every list (e.g. an imported layout
    /// made for a maximum length, applied to a shorter prompt). Keeps <see cref="IsCausal"/>.</summary>
    public BlockLayout Crop(int queryBlocks, int keyBlocks)
    {
        if (queryBlocks <= 0 || queryBlocks > QueryBlocks)
            throw new ArgumentOutOfRangeException(nameof(queryBlocks), queryBlocks, $"Must be in [1, {QueryBlocks}].");
        if (keyBlocks <= 0 || keyBlocks > KeyBlocks)
            throw new ArgumentOutOfRangeException(nameof(keyBlocks), keyBlocks, $"Must be in [1, {KeyBlocks}].");
        return Build(BlockSize, queryBlocks, keyBlocks, LayoutCount, (l, r, row) =>
        {
            foreach (int c in Row(l, r)) if (c < keyBlocks) row.Add(c);
        }).WithCausal(IsCausal);
    }

    /// <summary>The same layout with one list per query head of <paramref name="heads"/> heads (expanding a shared layout);
    /// keeps <see cref="IsCausal"/>.</summary>
    public BlockLayout ExpandToHeads(int heads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        if (heads % LayoutCount != 0)
            throw new InvalidLayoutException($"{LayoutCount} list(s) do not divide {heads} heads.", nameof(heads));
        return Build(BlockSize, QueryBlocks, KeyBlocks, heads, (l, r, row) =>
        {
            foreach (int c in Row(l % LayoutCount, r)) row.Add(c);
        }, nameof(heads)).WithCausal(IsCausal);
    }

    private static long Lcm(int a, int b)
    {
        int x = a, y = b;
        while (y != 0) (x, y) = (y, x % y);
        return (long)(a / x) * b; // both below 2^31: the product fits a long
    }
}
