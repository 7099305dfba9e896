using SparseNative.Tests.Reliability;
using Xunit;

namespace SparseNative.Tests.Cuda;

/// <summary>
/// <see cref="GuardPageChildTests"/> for the CUDA backend's host path (its argument checks and copies to and from the device):
/// runs where the backend is available, as in the build driver's cuda-emu step against the CPU-emulated library.
/// </summary>
public class CudaGuardPageTests
{
    [Theory]
    [InlineData(GuardSide.After)]
    [InlineData(GuardSide.Before)]
    public async Task TheCudaHostPathTouchesNothingOutsideATensor(GuardSide side)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "guard pages use Linux mmap/mprotect");
        var info = SparseAttention.Backends.Single(b => b.Backend == Backend.Cuda);
        Assert.SkipUnless(info.IsAvailable, $"the CUDA backend is unavailable: {info.Reason}");
        await ChildTestProcess.RunAndRequirePass(typeof(GuardPageChildTests),
            new Dictionary<string, string?> { [GuardPageCases.SideVariable] = side.ToString(), [GuardPageCases.BackendsVariable] = nameof(Backend.Cuda) },
            $"CUDA, guard page {side}", TimeSpan.FromMinutes(3));
    }
}
