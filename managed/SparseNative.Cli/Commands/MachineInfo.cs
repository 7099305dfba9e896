using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace SparseNative.Cli.Commands;

/// <summary>What <c>sparsenative info</c> reports; also the JSON document of <c>info --json</c> (field names in camelCase).</summary>
internal sealed record MachineInfo(
    string Cpu,
    string Os,
    string Architecture,
    int LogicalCores,
    string Runtime,
    string LibraryVersion,
    IReadOnlyDictionary<string, bool> InstructionSets,
    IReadOnlyList<BackendReport> Backends,
    string AutoBackend,
    string Describe)
{
    public static MachineInfo Collect()
    {
        var isa = new Dictionary<string, bool>
        {
            ["vector512Accelerated"] = Vector512.IsHardwareAccelerated,
            ["vector256Accelerated"] = Vector256.IsHardwareAccelerated,
            ["vector128Accelerated"] = Vector128.IsHardwareAccelerated,
            ["avx512F"] = Avx512F.IsSupported,
            ["avx512BW"] = Avx512BW.IsSupported,
            ["avx2"] = Avx2.IsSupported,
            ["fma"] = Fma.IsSupported,
            ["advSimd"] = AdvSimd.IsSupported,
        };
        var backends = SparseAttention.Backends
            .Select(b => new BackendReport(b.Backend.ToString(), b.IsAvailable, b.Reason, b.Details)).ToList();
        // The backend Auto picks for a typical problem (8 heads, 4096 tokens, d 64, block 64, dense layout).
        var shape = AttentionShape.SelfAttention(1, 8, 4096, 64);
        var dense = BlockLayout.FromPredicate(64, 64, 64, 1, (_, _, _) => true);
        string auto;
        try { auto = SparseAttention.SelectBackend(shape, dense).ToString(); }
        catch (Exception e) when (e is BackendUnavailableException or ArgumentException) { auto = $"none ({e.Message})"; }
        return new MachineInfo(CpuModel(), RuntimeInformation.OSDescription, RuntimeInformation.ProcessArchitecture.ToString(),
            Environment.ProcessorCount, RuntimeInformation.FrameworkDescription,
            typeof(SparseAttention).Assembly.GetName().Version?.ToString() ?? "?", isa, backends, auto, SparseAttention.Describe());
    }

    /// <summary>The CPU's marketing name: /proc/cpuinfo on Linux (x64 "model name", arm64 implementer/part), else what the OS says.</summary>
    internal static string CpuModel()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
            {
                var fields = File.ReadLines("/proc/cpuinfo")
                    .Select(l => l.Split(':', 2))
                    .Where(p => p.Length == 2)
                    .GroupBy(p => p[0].Trim())
                    .ToDictionary(g => g.Key, g => g.First()[1].Trim());
                if (fields.TryGetValue("model name", out var name)) return name;
                if (fields.TryGetValue("Hardware", out var hw)) return hw;
                if (fields.TryGetValue("CPU implementer", out var impl) && fields.TryGetValue("CPU part", out var part))
                    return $"Arm CPU (implementer {impl}, part {part})";
            }
            if (Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") is { Length: > 0 } id) return id;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"unknown {RuntimeInformation.ProcessArchitecture} CPU";
    }
}

/// <summary>One backend in <see cref="MachineInfo"/>.</summary>
internal sealed record BackendReport(string Name, bool Available, string? Reason, string Details);
