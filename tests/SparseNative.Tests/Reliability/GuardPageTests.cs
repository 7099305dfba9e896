using Xunit;

namespace SparseNative.Tests.Reliability;

/// <summary>
/// Runs <see cref="GuardPageChildTests"/> in a child process with the guard page after each tensor, then before it: a backend
/// that reads or writes outside a tensor crashes the child, and this test fails with the child's output.
/// </summary>
public class GuardPageTests
{
    [Theory]
    [InlineData(GuardSide.After)]
    [InlineData(GuardSide.Before)]
    public async Task NoCpuBackendTouchesMemoryOutsideATensor(GuardSide side)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "guard pages use Linux mmap/mprotect");
        await ChildTestProcess.RunAndRequirePass(typeof(GuardPageChildTests),
            new Dictionary<string, string?> { [GuardPageCases.SideVariable] = side.ToString(), [GuardPageCases.BackendsVariable] = null },
            $"guard page {side}", TimeSpan.FromMinutes(3));
    }
}
