using Xunit;

namespace SparseNative.Tests;

/// <summary>Union and Intersect form a lattice on layouts, with lcm broadcasting of the lists.</summary>
public class LayoutAlgebraTests
{
    private const int Bs = 16, Qb = 7, Kb = 9;

    private static BlockLayout Random(int lists, double density, int seed) => TestData.RandomLayout(Bs, Qb, Kb, lists, density, seed);
    private static readonly BlockLayout Empty = BlockLayout.FromCsr(Bs, Qb, Kb, new int[Qb + 1], []);
    private static readonly BlockLayout Full = BlockLayout.FromPredicate(Bs, Qb, Kb, 1, (_, _, _) => true);

    // Same answer for every query head; lists are compared through Contains because broadcasting changes LayoutCount.
    private static void AssertSameForEveryHead(BlockLayout a, BlockLayout b, int heads)
    {
        for (int h = 0; h < heads; h++)
            for (int r = 0; r < Qb; r++)
                for (int c = 0; c < Kb; c++)
                    Assert.True(a.Contains(h, r, c) == b.Contains(h, r, c), $"head {h}, block ({r}, {c})");
    }

    public static TheoryData<int, int, int> ListCounts() => new() { { 1, 1, 1 }, { 1, 2, 3 }, { 2, 3, 2 }, { 4, 2, 1 }, { 3, 3, 3 } };

    [Theory, MemberData(nameof(ListCounts))]
    public void Commutative_and_associative(int la, int lb, int lc)
    {
        var (a, b, c) = (Random(la, 0.4, 1), Random(lb, 0.5, 2), Random(lc, 0.3, 3));
        Assert.Equal(a.Union(b), b.Union(a));
        Assert.Equal(a.Intersect(b), b.Intersect(a));
        Assert.Equal(a.Union(b).Union(c), a.Union(b.Union(c)));
        Assert.Equal(a.Intersect(b).Intersect(c), a.Intersect(b.Intersect(c)));
        Assert.Equal(a.Union(b).Union(c), BlockLayout.UnionAll(a, b, c));
    }

    [Theory, MemberData(nameof(ListCounts))]
    public void Idempotent_absorbing_and_distributive(int la, int lb, int lc)
    {
        var (a, b, c) = (Random(la, 0.4, 4), Random(lb, 0.5, 5), Random(lc, 0.6, 6));
        Assert.Equal(a, a.Union(a));
        Assert.Equal(a, a.Intersect(a));
        int heads = 2 * la * lb * lc;
        AssertSameForEveryHead(a, a.Union(a.Intersect(b)), heads);
        AssertSameForEveryHead(a, a.Intersect(a.Union(b)), heads);
        AssertSameForEveryHead(a.Intersect(b.Union(c)), a.Intersect(b).Union(a.Intersect(c)), heads);
    }

    [Theory, InlineData(1), InlineData(2), InlineData(3)]
    public void Dense_and_empty_are_the_identities(int la)
    {
        var a = Random(la, 0.45, 7);
        Assert.Equal(a, a.Intersect(Full));
        Assert.Equal(a, Full.Intersect(a));
        Assert.Equal(a, a.Union(Empty));
        Assert.Equal(a, Empty.Union(a));
        Assert.Equal(0, a.Intersect(Empty).ActiveBlocks);
        AssertSameForEveryHead(Full, a.Union(Full), la);
        Assert.Equal(BlockPatterns.Dense(Qb * Bs, Bs, Kb * Bs), Full);
    }

    [Fact]
    public void Lists_broadcast_to_the_lcm()
    {
        var two = Random(2, 0.3, 8);
        var three = Random(3, 0.3, 9);
        var union = two.Union(three);
        var meet = two.Intersect(three);
        Assert.Equal(6, union.LayoutCount);
        Assert.Equal(6, meet.LayoutCount);
        for (int h = 0; h < 12; h++)
            for (int r = 0; r < Qb; r++)
                for (int c = 0; c < Kb; c++)
                {
                    Assert.Equal(two.Contains(h, r, c) || three.Contains(h, r, c), union.Contains(h, r, c));
                    Assert.Equal(two.Contains(h, r, c) && three.Contains(h, r, c), meet.Contains(h, r, c));
                }
    }

    [Fact]
    public void Patterns_compose()
    {
        // A causal sliding window is the band intersected with the causal layout; BigBird without random blocks is the band
        // united with the global row and column.
        Assert.Equal(BlockPatterns.LocalWindow(333, 16, 3, causal: true),
            BlockPatterns.LocalWindow(333, 16, 3).Intersect(BlockPatterns.Causal(333, 16)));
        int nb = 21;
        var globalRowAndColumn = BlockLayout.FromPredicate(16, nb, nb, 1, (_, r, c) => r == 0 || c == 0);
        Assert.Equal(BlockPatterns.BigBird(333, 16, 0), BlockPatterns.LocalWindow(333, 16, 1).Union(globalRowAndColumn));
    }

    [Fact]
    public void Mismatched_layouts_do_not_combine()
    {
        var ex = Assert.Throws<InvalidLayoutException>(() => BlockPatterns.Dense(100, 16).Union(BlockPatterns.Dense(100, 32)));
        Assert.Equal("other", ex.ParamName);
        Assert.Throws<InvalidLayoutException>(() => BlockPatterns.Dense(100, 16).Intersect(BlockPatterns.Dense(120, 16)));
    }
}
