using SparseNative.Tests.Kernels;
using Xunit;

namespace SparseNative.Tests.Reliability;

/// <summary>
/// Exists only in a child process started by <see cref="GuardPageTests"/> (or the CUDA one): every backend reads Q, K, V and
/// the segment ids from, and writes O and LSE into, memory that ends at (or starts after) an inaccessible page. A read or write
/// outside a tensor kills this process with SIGSEGV; the results are also checked against the float64 reference on ordinary
/// arrays, so a backend that stayed inside but skipped an element fails too.
/// </summary>
public class GuardPageChildTests
{
    [ChildProcessFact(GuardPageCases.SideVariable)]
    public void EveryBackendStaysInsideEveryTensor()
    {
        var side = GuardPageCases.SideFromEnvironment();
        var backends = GuardPageCases.BackendsFromEnvironment();
        Assert.NotEmpty(backends);
        int runs = 0;
        foreach (var c in GuardPageCases.All(fewerHeadDims: backends.Contains(Backend.Cuda)))
        {
            var (q, k, v) = TestData.Qkv(c.Shape, c.Seed, scale: 1.5f);
            var (expected, expectedLse) = KernelCheck.Run(Backend.Reference, c, q, k, v, threads: 0);
            foreach (var backend in backends)
            {
                var opts = new AttentionOptions { Backend = backend, Causal = c.Causal, Format = c.Format, MaxThreads = 2 };
                if (!Supports(c, opts)) continue;
                var (o, lse) = RunGuarded(c, opts, q, k, v, side);
                double err = TestData.RelativeError(o, expected), lerr = TestData.MaxLseError(lse, expectedLse);
                Assert.True(err <= Tolerances.ForwardRelative && lerr <= Tolerances.LogSumExp,
                    $"{backend}, guard {side}: error {err:E2}, LSE error {lerr:E2} for {KernelCheck.Describe(c)}");
                runs++;
            }
        }
        TestContext.Current.SendDiagnosticMessage($"guard {side}: {runs} guarded runs over {string.Join(", ", backends)}");
    }

    /// <summary>Whether the backend takes this problem (a native backend may refuse a head dimension); checked on sizes only.</summary>
    private static bool Supports(KernelCheck.Case c, AttentionOptions opts)
    {
        try { return SparseAttention.SelectBackend(c.Shape, c.Layout, opts) == opts.Backend; }
        catch (BackendUnavailableException) { return false; }
    }

    private static (float[] O, float[] Lse) RunGuarded(KernelCheck.Case c, AttentionOptions opts, float[] q, float[] k, float[] v, GuardSide side)
    {
        using var gq = GuardedMemory<float>.CopyOf(q, side);
        using var gk = GuardedMemory<float>.CopyOf(k, side);
        using var gv = GuardedMemory<float>.CopyOf(v, side);
        using var go = new GuardedMemory<float>(q.Length, side);
        using var glse = new GuardedMemory<float>((int)c.Shape.LogSumExpElements, side);
        using var gsq = c.QuerySegments is null ? null : GuardedMemory<int>.CopyOf(c.QuerySegments, side);
        using var gsk = c.KeySegments is null ? null : GuardedMemory<int>.CopyOf(c.KeySegments, side);
        go.Span.Fill(float.NaN);
        glse.Span.Fill(float.NaN);
        opts = opts with
        {
            QuerySegmentIds = gsq?.Memory ?? default,
            KeySegmentIds = gsk?.Memory ?? default,
        };
        Assert.Equal(opts.Backend, SparseAttention.Forward(gq.Span, gk.Span, gv.Span, go.Span, c.Shape, c.Layout, opts, glse.Span));
        return (go.Span.ToArray(), glse.Span.ToArray());
    }
}
