using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using SparseNative.Bench.Common;

namespace SparseNative.Bench.Bdn;

/// <summary>The <c>bdn</c> command: BenchmarkDotNet's switcher over the suite, with the GFLOP/s column added.</summary>
internal static class BdnRunner
{
    public static int Run(string[] args)
    {
        if (!AttentionBenchmarks.AvailableBackends().Any())
            Console.WriteLine("> No fast backend is available yet (only Reference, left out of the suite): AttentionBenchmarks has no cases.");
        var config = DefaultConfig.Instance.AddColumn(new GflopsColumn());
        var summaries = BenchmarkSwitcher.FromTypes([typeof(AttentionBenchmarks), typeof(FmaPeakBenchmarks)]).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;
    }
}
