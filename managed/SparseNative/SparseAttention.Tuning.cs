using SparseNative.Dispatch;
namespace SparseNative;

public static partial class SparseAttention
{
    /// <summary>
    /// Opt-in measuring mode for <see cref="Backend.Auto"/>: when true, the first call of each problem signature (shape,
    /// block size, density in 10% steps, causal, format, segment ids, LSE, threads) times every available backend once and
    /// later calls use the fastest. Off by default: the static <c>Auto</c> order is right on the machines we measured.
    /// Also turned on by the environment variable <c>SPARSENATIVE_AUTOTUNE=1</c>.
    /// </summary>
    public static bool AutoTune { get; set; } = Environment.GetEnvironmentVariable("SPARSENATIVE_AUTOTUNE") == "1";

    /// <summary>Forgets the winners measured by <see cref="AutoTune"/>.</summary>
    public static void ClearAutoTuneCache() => BackendTuner.Clear();

    /// <summary>
    /// Optional diagnostics sink: receives one line per dispatcher decision (and per tuning measurement).
    /// Keep it cheap; it is called on the calling thread.
    /// </summary>
    public static Action<string>? Log { get; set; }

    internal static void Trace(string message) => Log?.Invoke(message);
}
