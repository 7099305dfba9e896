using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Parameters;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SparseNative.Bench.Bdn;

/// <summary>A benchmark class whose work per invocation is a known number of flops.</summary>
public interface IFlopCounted
{
    /// <summary>Flops of one benchmark invocation with these parameter values.</summary>
    static abstract double Flops(ParameterInstances parameters);
}

/// <summary>
/// GFLOP/s at the median time: the flops of one invocation (from the benchmark class, which counts attention with
/// <see cref="AttentionCost.Flops"/>) over BenchmarkDotNet's median.
/// </summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "fp32 GFLOP/s at the median time (attention: 4·d flops per allowed (query, key) pair)";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        var method = benchmarkCase.Descriptor.Type.GetMethod(nameof(IFlopCounted.Flops), BindingFlags.Public | BindingFlags.Static,
            [typeof(ParameterInstances)]);
        if (stats is null || method is null) return "—";
        double flops = (double)method.Invoke(null, [benchmarkCase.Parameters])!;
        return (flops / stats.Median).ToString("F1", System.Globalization.CultureInfo.InvariantCulture); // flops per ns = GFLOP/s
    }

    public override string ToString() => ColumnName;
}
