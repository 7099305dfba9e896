using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SparseNative.Bench.Common;

/// <summary>What a reader needs to judge the figures: CPU, cores, runtime, vector support, GC mode.</summary>
internal static class MachineInfo
{
    /// <summary>
    /// The CPU's name with its family and model numbers: a VM may report only "AMD EPYC", and the generation matters here
    /// (family 25 = Zen 3/4, whose 512-bit FMAs issue at half the rate of Zen 5's, family 26).
    /// </summary>
    public static string CpuModel()
    {
        string? name = null, family = null, model = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                string Value() => line[(line.IndexOf(':') + 1)..].Trim();
                if (name is null && line.StartsWith("model name", StringComparison.Ordinal)) name = Value();
                else if (family is null && line.StartsWith("cpu family", StringComparison.Ordinal)) family = Value();
                else if (model is null && line.StartsWith("model", StringComparison.Ordinal) && !line.StartsWith("model name", StringComparison.Ordinal)) model = Value();
                if (name is not null && family is not null && model is not null) break;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return name is null ? RuntimeInformation.ProcessArchitecture.ToString() : $"{name} (family {family}, model {model})";
    }

    public static string Summary() =>
        $"{CpuModel()}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, " +
        $"{RuntimeInformation.FrameworkDescription}, Vector512 {(Vector512.IsHardwareAccelerated ? "on" : "off")}, " +
        $"Vector256 {(Vector256.IsHardwareAccelerated ? "on" : "off")}, server GC {(System.Runtime.GCSettings.IsServerGC ? "on" : "off")}";

    /// <summary>
    /// The 1, 5 and 15-minute load averages (Linux), or "unknown": above the core count, other processes were competing
    /// for the cores and the figures are not trustworthy.
    /// </summary>
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} / {parts[1]} / {parts[2]}";
        }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }

    /// <summary>True when this assembly was compiled without optimisations (figures from it are worthless).</summary>
    public static bool IsDebugBuild =>
        typeof(MachineInfo).Assembly.GetCustomAttributes(typeof(System.Diagnostics.DebuggableAttribute), false)
            .OfType<System.Diagnostics.DebuggableAttribute>().Any(a => a.IsJITOptimizerDisabled);
}
