using System.Diagnostics;
using SparseNative;
using SparseNative.KernelProbe;

// Usage: dotnet run -c Release --project bench/SparseNative.KernelProbe [-- kernels|long|all]
// Prints GFLOP/s of each SIMD path (4·d flops per active (query, key) pair) next to the FMA peak measured in the
// same run. The machine may be shared: every figure is a median of several timed runs after warm-up.
string mode = args.Length > 0 ? args[0] : "kernels";
Console.WriteLine(SparseAttention.Describe());

if (mode is "kernels" or "all")
{
    double p512 = FmaPeak.GflopsVector512(1), p512x2 = FmaPeak.GflopsVector512(2);
    double p256 = FmaPeak.GflopsVector256(1), p256x2 = FmaPeak.GflopsVector256(2);
    Console.WriteLine($"FMA peak Vector512: {p512:F1} GFLOP/s (1 thread), {p512x2:F1} (2 threads)");
    Console.WriteLine($"FMA peak Vector256: {p256:F1} GFLOP/s (1 thread), {p256x2:F1} (2 threads)");
    Console.WriteLine();
    Console.WriteLine("Per row: median kernel time; GFLOP/s; median of (kernel ÷ paired peak sample) with that peak's median;");
    Console.WriteLine("Portable is compared with the 256-bit peak (its own 128-bit peak is half of that).");
    Console.WriteLine("| path | case | threads | ms | GFLOP/s | paired peak GFLOP/s | fraction of peak |");
    Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
    string? only = args.Length > 1 ? args[1] : null;
    foreach (var (backend, width) in new[] { (Backend.Avx512, 16), (Backend.Avx2, 8), (Backend.Portable, 8) })
    {
        if (!SparseAttention.Backends.Single(b => b.Backend == backend).IsAvailable) continue;
        if (only is not null && !backend.ToString().Equals(only, StringComparison.OrdinalIgnoreCase)) continue;
        foreach (var c in KernelCases.All())
            foreach (int threads in new[] { 1, 2 })
            {
                var (ms, gflops, fraction, peak) = c.Measure(backend, threads, width);
                Console.WriteLine($"| {backend} | {c.Name} | {threads} | {ms:F2} | {gflops:F1} | {peak:F1} | {100 * fraction:F0}% |");
            }
    }
}

if (mode is "long" or "all") LongSequence.Run();
