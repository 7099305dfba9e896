using SparseNative.Kernels;
using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>Steady-state calls reuse the per-thread native scratch: a fresh buffer per call would pay first-touch page faults.</summary>
public class ScratchReuseTests
{
    [Theory]
    [InlineData(Backend.Avx512)]
    [InlineData(Backend.Avx2)]
    [InlineData(Backend.Portable)]
    [InlineData(Backend.Neon)]
    public void RepeatedCallsAllocateNoNewScratch(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(1, 2, 2, 256, 256, 64);
        var c = new KernelCheck.Case(s, KernelCheck.Layout(s, 64, 1, 0.7, 3), Causal: true);
        var (q, k, v) = TestData.Qkv(s, 1);
        // One thread: the kernel runs on this (test) thread, so this thread's scratch is the one used.
        KernelCheck.Run(backend, c, q, k, v, threads: 1); // the first call on this thread may size the buffer
        var scratch = KernelScratch.ForCurrentThread();
        long before = scratch.Allocations;
        for (int i = 0; i < 5; i++) KernelCheck.Run(backend, c, q, k, v, threads: 1);
        Assert.Equal(before, scratch.Allocations);
        Assert.True(before >= 1);
    }
}
