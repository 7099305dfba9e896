using System.Text;
using SparseNative.Dispatch;

namespace SparseNative;

/// <summary>
/// Fused block-sparse attention: <c>O = softmax(scale · QKᵀ + mask) · V</c> over the key blocks a <see cref="BlockLayout"/>
/// selects, computed with an online softmax so the score matrix is never stored. See docs/SEMANTICS.md for the exact rules.
/// </summary>
public static partial class SparseAttention
{
    /// <summary>
    /// Computes attention for every batch, query head and query token.
    /// </summary>
    /// <param name="query">Q, <c>[Batch, QueryHeads, QueryLength, HeadDim]</c> (or BSHD, see <see cref="AttentionOptions.Format"/>).</param>
    /// <param name="key">K, <c>[Batch, KeyValueHeads, KeyLength, HeadDim]</c>.</param>
    /// <param name="value">V, same shape as K.</param>
    /// <param name="output">O, same shape as Q; must not overlap the inputs.</param>
    /// <param name="shape">The sizes.</param>
    /// <param name="layout">Which key blocks each query block attends to; must cover the shape exactly. A causal layout
    /// (<see cref="BlockLayout.IsCausal"/>) turns the causal mask on, whatever <paramref name="options"/> say.</param>
    /// <param name="options">Scale, causal mask, backend, threads, format, segment ids; <c>null</c> for the defaults.</param>
    /// <param name="logSumExp">Optional <c>[Batch, QueryHeads, QueryLength]</c> output: the natural log of each row's softmax
    /// denominator (−∞ for a row with no allowed key). Pass it to <see cref="MergeStates"/> to combine partial results.</param>
    /// <returns>The backend that ran.</returns>
    /// <exception cref="ArgumentException">A length, shape, layout, scale, segment vector or input value is invalid; the message names it
    /// (<see cref="ArgumentException.ParamName"/>). A layout fault is an <see cref="InvalidLayoutException"/>. The native backends'
    /// own refusals (<c>SN_INVALID_ARGUMENT</c>, <c>SN_BUFFER_TOO_SMALL</c>, <c>SN_NON_FINITE</c>, <c>SN_INVALID_LAYOUT</c>) arrive as
    /// these too, naming the argument their message names.</exception>
    /// <exception cref="BackendUnavailableException">The requested backend cannot run here or cannot run this problem (including a
    /// native backend's <c>SN_UNSUPPORTED</c>).</exception>
    /// <exception cref="NativeBackendException">A native backend failed for a reason other than the input: out of memory, a CUDA
    /// runtime error, or an internal error of the library (the message has its status name and text).</exception>
    public static Backend Forward(ReadOnlySpan<float> query, ReadOnlySpan<float> key, ReadOnlySpan<float> value,
        Span<float> output, AttentionShape shape, BlockLayout layout, AttentionOptions? options = null,
        Span<float> logSumExp = default)
    {
        options ??= AttentionOptions.Default;
        var problem = CreateProblem(query, key, value, output, logSumExp, shape, layout, options);
        return Run(problem, options.Backend);
    }

    /// <summary>
    /// <see cref="Forward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, AttentionShape, BlockLayout, AttentionOptions?, Span{float})"/>
    /// for half-precision tensors: Q and O of one element type, K and V of one, each <see cref="float"/>, <see cref="Half"/>
    /// (IEEE float16) or <see cref="BFloat16"/> — all float16, all bfloat16, or a float32 Q and O over a float16 or bfloat16
    /// KV cache, for instance. The inputs are read exactly; scores, softmax, accumulation and <paramref name="logSumExp"/>
    /// are float32 (log-sum-exp is float32 whatever the tensors' type), and the output is rounded once, to nearest even.
    /// Backends that take only float32 (see <see cref="Backends"/>) are skipped by <see cref="Backend.Auto"/> and refused by name.
    /// </summary>
    /// <exception cref="ArgumentException">As for the float32 overload; also an element type other than these three.</exception>
    public static Backend Forward<TQueryOutput, TKeyValue>(ReadOnlySpan<TQueryOutput> query, ReadOnlySpan<TKeyValue> key,
        ReadOnlySpan<TKeyValue> value, Span<TQueryOutput> output, AttentionShape shape, BlockLayout layout,
        AttentionOptions? options = null, Span<float> logSumExp = default)
        where TQueryOutput : unmanaged
        where TKeyValue : unmanaged
    {
        options ??= AttentionOptions.Default;
        var problem = CreateProblem(query, key, value, output, logSumExp, shape, layout, options);
        return Run(problem, options.Backend);
    }

    /// <summary>The backend <see cref="Forward"/> would use for this problem (same checks and rules, no computation).</summary>
    public static Backend SelectBackend(AttentionShape shape, BlockLayout layout, AttentionOptions? options = null)
    {
        options ??= AttentionOptions.Default;
        var settings = ValidateSettings(shape, layout, options);
        // Backends decide from the sizes alone; empty spans stand in for the data.
        return BackendRegistry.Select(options.Backend, new AttentionProblem(default, default, default, default, default, settings)).Kind;
    }

    /// <summary>Runs a validated problem on the requested backend (or Auto's choice, or the tuner's) and says which ran.</summary>
    private static Backend Run(in AttentionProblem problem, Backend requested)
    {
        if (AutoTune && requested == Backend.Auto && BackendRegistry.EnvironmentOverride is null)
            return BackendTuner.RunTuned(problem);
        var backend = BackendRegistry.Select(requested, problem);
        if (Log is not null) Trace(problem.Settings.Describe(backend.Kind, requested));
        backend.Forward(problem);
        return backend.Kind;
    }

    /// <summary>Every backend with its availability on this machine and, when unavailable, the reason.</summary>
    public static IReadOnlyList<BackendInfo> Backends => BackendRegistry.Describe();

    /// <summary>
    /// A multi-line report for logs and bug reports: runtime, CPU vector support, each backend's availability, the
    /// <c>Auto</c> order, and the effect of <c>SPARSENATIVE_BACKEND</c>.
    /// </summary>
    public static string Describe()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"SparseNative {typeof(SparseAttention).Assembly.GetName().Version} on {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, " +
                      $"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical cores");
        sb.AppendLine($"Vector512 accelerated: {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, " +
                      $"Vector256: {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}, Vector128: {System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated}");
        sb.AppendLine("Backends:");
        foreach (var info in Backends) sb.AppendLine($"  {info}");
        // One line (tools pick it out by its start), one order per element type of K and V.
        sb.AppendLine("Auto tries, in order (first available that supports the problem): " + string.Join("; ",
            BackendRegistry.AutoOrderByKeyValueType.Select(e => $"{Elements.ElementTypes.Name(e.Key)} K/V: {string.Join(" > ", e.Value)}")) + ".");
        string? env = Environment.GetEnvironmentVariable("SPARSENATIVE_BACKEND");
        sb.AppendLine(string.IsNullOrWhiteSpace(env) ? "SPARSENATIVE_BACKEND: not set" : $"SPARSENATIVE_BACKEND={env}: Auto is replaced by this backend.");
        return sb.ToString();
    }

    internal static int ResolveThreads(int maxThreads)
    {
        if (maxThreads < 0)
            throw new ArgumentOutOfRangeException(nameof(AttentionOptions.MaxThreads), maxThreads, "MaxThreads must be 0 (all cores) or positive.");
        return maxThreads == 0 ? Environment.ProcessorCount : Math.Min(maxThreads, Environment.ProcessorCount * 4);
    }
}
