using SparseNative.Dispatch;
using SparseNative.Elements;
using Xunit;

namespace SparseNative.Tests;

/// <summary>The dispatcher's order is a table per element type of K and V, and Describe() shows each row.</summary>
[Collection(nameof(GlobalDispatcherState))]
public class DispatcherElementTypeTests
{
    private static readonly AttentionShape S = new(1, 2, 2, 64, 64, 16);
    private static readonly BlockLayout L = TestData.RandomLayout(16, 4, 4, 1, 0.8, 3);

    [Fact]
    public void AutoFollowsTheRowForTheKeyValueType()
    {
        var (q, k, v) = TestData.Qkv(S, 6);
        var kb = k.Select(x => (BFloat16)x).ToArray();
        var vb = v.Select(x => (BFloat16)x).ToArray();
        var saved = BackendRegistry.AutoOrderByKeyValueType[ElementType.BFloat16];
        try
        {
            BackendRegistry.AutoOrderByKeyValueType[ElementType.BFloat16] = [Backend.Reference];
            Assert.Equal(Backend.Reference, SparseAttention.Forward<float, BFloat16>(q, kb, vb, new float[S.QueryElements], S, L));
            Assert.NotEqual(Backend.Reference, SparseAttention.Forward(q, k, v, new float[S.QueryElements], S, L));
            Assert.Contains("bf16 K/V: Reference.", SparseAttention.Describe());
        }
        finally
        {
            BackendRegistry.AutoOrderByKeyValueType[ElementType.BFloat16] = saved;
        }
        var text = SparseAttention.Describe();
        foreach (var name in new[] { "fp32", "fp16", "bf16" })
            Assert.Contains($"{name} K/V: {string.Join(" > ", BackendRegistry.AutoOrder)}", text);
    }
}
