using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Parameters;
using SparseNative.Bench.Common;

namespace SparseNative.Bench.Bdn;

/// <summary>The fp32 FMA peak (see <see cref="FmaPeak"/>) for 512- and 256-bit vectors on 1 and 2 threads.</summary>
public class FmaPeakBenchmarks : IFlopCounted
{
    [Params(512, 256)]
    public int Width { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [Benchmark]
    public void Fma()
    {
        Func<float> kernel = Width == 512 ? FmaPeak.Kernel512 : FmaPeak.Kernel256;
        FmaPeak.RunConcurrently(kernel, Threads);
    }

    public static double Flops(ParameterInstances parameters) =>
        FmaPeak.FlopsPerCall((VectorWidth)(int)parameters["Width"]) * (int)parameters["Threads"];
}
