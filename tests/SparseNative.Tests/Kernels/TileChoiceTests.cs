using System.Runtime.Intrinsics;
using SparseNative.Kernels;
using SparseNative.Kernels.Isa;
using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// The GEMM tile each ISA gets (4 × 4 vectors with 32 registers, 4 × 3 with 16: accumulators + loads + one broadcast
/// fit without spilling), and that the backend descriptions report exactly the tiles the kernels use.
/// </summary>
public class TileChoiceTests
{
    [Fact]
    public void SixteenRegisterIsasUseFourByThreeTilesAndThirtyTwoRegisterIsasFourByFour()
    {
        Assert.Equal(4, MicroKernels<Avx512Isa, Vector512<float>>.TileVectors);
        Assert.Equal(4, MicroKernels<NeonIsa, Vector128<float>>.TileVectors);
        Assert.Equal(3, MicroKernels<Avx2Isa, Vector256<float>>.TileVectors);
        Assert.Equal(3, MicroKernels<PortableIsa, Vector128<float>>.TileVectors);
    }

    [Fact]
    public void BackendDetailsNameTheTilesTheKernelsUse()
    {
        string Details(Backend b) => SparseAttention.Backends.Single(x => x.Backend == b).Details;
        // Details are reported whether or not the backend runs here.
        Assert.Contains("4×4-register GEMM tiles", Details(Backend.Avx512));
        Assert.Contains("Vector256, 4×3-register GEMM tiles", Details(Backend.Avx512)); // the odd-multiple-of-8 head dims
        Assert.Contains("4×3-register GEMM tiles", Details(Backend.Avx2));
        Assert.Contains("4×4-register GEMM tiles", Details(Backend.Neon));
        Assert.Contains("4×3-register GEMM tiles", Details(Backend.Portable));
    }
}
