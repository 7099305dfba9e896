using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// The instruction-set states the ISA-switch child processes run under: the runtime switches that produce each one,
/// what the runtime must then report, and the backend <see cref="Backend.Auto"/> must pick.
/// </summary>
internal sealed record IsaExpectation(string Name, (string Variable, string Value)[] Switches, Backend AutoPick)
{
    /// <summary>The variable that tells a child process which state to expect.</summary>
    public const string Variable = "SPARSENATIVE_EXPECT_ISA";

    public static readonly IsaExpectation[] All =
    [
        new("avx2", [("DOTNET_EnableAVX512", "0")], Backend.Avx2),
        new("prefer256", [("DOTNET_PreferredVectorBitWidth", "256")], Backend.Avx2),
        new("sse", [("DOTNET_EnableAVX2", "0")], Backend.Portable),
        new("scalar", [("DOTNET_EnableHWIntrinsic", "0")], Backend.Reference),
        new("neon", [], Backend.Neon),
    ];

    public static IsaExpectation? FromEnvironment()
    {
        string? name = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(name)) return null;
        return All.SingleOrDefault(e => e.Name == name) ?? throw new InvalidOperationException($"{Variable}={name} names no expectation");
    }

    /// <summary>Why this machine (running without switches) cannot produce the state, or null when it can.</summary>
    public string? CannotProduceReason() => Name switch
    {
        "avx2" => Avx2.IsSupported && Fma.IsSupported ? null : "the CPU has no AVX2+FMA",
        "prefer256" => Avx512F.IsSupported ? null : "the CPU has no AVX-512, so a preferred width of 256 changes nothing",
        "sse" or "scalar" => RuntimeInformation.ProcessArchitecture == Architecture.X64 ? null : "x64 switches",
        _ => "NEON runs under tests/arm64/run-under-qemu.sh",
    };

    /// <summary>Asserts what the runtime reports in this state (so a switch the runtime ignored fails here).</summary>
    public void AssertRuntimeState()
    {
        switch (Name)
        {
            case "avx2":
                Assert.False(Vector512.IsHardwareAccelerated, "Vector512 still accelerated: DOTNET_EnableAVX512=0 was ignored");
                Assert.False(Avx512F.IsSupported, "Avx512F still supported: DOTNET_EnableAVX512=0 was ignored");
                Assert.True(Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated);
                break;
            case "prefer256":
                Assert.False(Vector512.IsHardwareAccelerated, "Vector512 accelerated: DOTNET_PreferredVectorBitWidth=256 was ignored");
                Assert.True(Avx512F.IsSupported, "the instructions stay available; only the preferred width changes");
                break;
            case "sse":
                Assert.False(Avx2.IsSupported, "Avx2 still supported: DOTNET_EnableAVX2=0 was ignored");
                Assert.False(Fma.IsSupported, "Fma still supported: DOTNET_EnableAVX2=0 also turns off FMA");
                Assert.False(Vector512.IsHardwareAccelerated);
                Assert.True(Vector128.IsHardwareAccelerated);
                break;
            case "scalar":
                Assert.False(Vector128.IsHardwareAccelerated, "Vector128 still accelerated: DOTNET_EnableHWIntrinsic=0 was ignored");
                Assert.False(Sse.IsSupported || AdvSimd.IsSupported);
                break;
            case "neon":
                Assert.Equal(Architecture.Arm64, RuntimeInformation.ProcessArchitecture);
                Assert.True(AdvSimd.IsSupported && AdvSimd.Arm64.IsSupported, "AdvSimd not supported in an arm64 process");
                break;
        }
    }
}
