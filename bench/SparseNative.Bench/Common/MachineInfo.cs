using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SparseNative.Bench.Common;

/// <summary>What a reader needs to judge the figures: CPU, cores, runtime, vector support, GC mode.</summary>
internal static class MachineInfo
{
    public static string CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    public static string Summary() =>
        $"{CpuModel()}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, " +
        $"{RuntimeInformation.FrameworkDescription}, Vector512 {(Vector512.IsHardwareAccelerated ? "on" : "off")}, " +
        $"Vector256 {(Vector256.IsHardwareAccelerated ? "on" : "off")}, server GC {(System.Runtime.GCSettings.IsServerGC ? "on" : "off")}";

    /// <summary>True when this assembly was compiled without optimisations (figures from it are worthless).</summary>
    public static bool IsDebugBuild =>
        typeof(MachineInfo).Assembly.GetCustomAttributes(typeof(System.Diagnostics.DebuggableAttribute), false)
            .OfType<System.Diagnostics.DebuggableAttribute>().Any(a => a.IsJITOptimizerDisabled);
}
