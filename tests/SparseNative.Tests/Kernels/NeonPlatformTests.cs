using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// Proves the NEON path really ran under qemu (tests/arm64/run-under-qemu.sh sets SPARSENATIVE_EXPECT_ISA=neon): a
/// silent fallback to x64 or to scalar code would fail here instead of passing the kernel tests vacuously.
/// </summary>
public class NeonPlatformTests
{
    [Fact]
    public void ProcessIsArm64WithAdvSimd()
    {
        bool expected = Environment.GetEnvironmentVariable(IsaExpectation.Variable) == "neon";
        if (!expected && RuntimeInformation.ProcessArchitecture != Architecture.Arm64)
            Assert.Skip($"not an arm64 process ({RuntimeInformation.ProcessArchitecture}); tests/arm64/run-under-qemu.sh runs this under emulation");
        Assert.Equal(Architecture.Arm64, RuntimeInformation.ProcessArchitecture);
        Assert.True(AdvSimd.IsSupported, "AdvSimd.IsSupported is false in an arm64 process");
        Assert.Null(SparseAttention.Backends.Single(b => b.Backend == Backend.Neon).Reason);
    }
}
