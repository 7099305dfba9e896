using System.Text.RegularExpressions;
using SparseNative.Interop;

namespace SparseNative.Native;

/// <summary>
/// The one mapping from a native library's status to the exceptions this library documents, used by every native backend
/// (<see cref="NativeCpuBackend"/>, the CUDA backend and <c>CudaAttention</c>/<c>CudaBuffer</c>):
/// bad input (<c>SN_INVALID_ARGUMENT</c>, <c>SN_BUFFER_TOO_SMALL</c>, <c>SN_NON_FINITE</c>) → <see cref="ArgumentException"/>,
/// a bad layout (<c>SN_INVALID_LAYOUT</c>) → <see cref="InvalidLayoutException"/>, both naming the argument the native message
/// names; a problem the kernels do not cover (<c>SN_UNSUPPORTED</c>) → <see cref="BackendUnavailableException"/>, as when the
/// dispatcher's own Supports check refuses it; out of memory, internal and CUDA runtime errors →
/// <see cref="NativeBackendException"/>. Every exception carries the status name and the library's message.
/// </summary>
internal static partial class NativeErrors
{
    /// <summary>What a status means to a caller; <see cref="Unmapped"/> for a status this mapping does not know.</summary>
    public enum Kind { Unmapped, BadInput, BadLayout, Unavailable, Failure }

    public static Kind Classify(SnStatus status) => status switch
    {
        SnStatus.InvalidArgument or SnStatus.BufferTooSmall or SnStatus.NonFinite => Kind.BadInput,
        SnStatus.InvalidLayout => Kind.BadLayout,
        SnStatus.Unsupported => Kind.Unavailable,
        SnStatus.OutOfMemory or SnStatus.Internal or SnStatus.CudaError => Kind.Failure,
        _ => Kind.Unmapped,
    };

    /// <summary>The documented exception for a failed <paramref name="status"/> of <paramref name="backend"/>'s library.</summary>
    /// <param name="backend">The backend whose library returned the status.</param>
    /// <param name="status">The status (not <see cref="SnStatus.Ok"/>).</param>
    /// <param name="message">The library's last-error text, read right after the failed call.</param>
    /// <param name="paramName">The argument to name; by default the one the native message starts with.</param>
    public static Exception ToException(Backend backend, SnStatus status, string message, string? paramName = null)
    {
        string name = NativeStatus.Name(status);
        string text = $"{name}: {(message.Length > 0 ? message : "(no message)")}";
        return Classify(status) switch
        {
            Kind.BadInput => new ArgumentException(text, paramName ?? ParameterOf(message)),
            Kind.BadLayout => new InvalidLayoutException(text, paramName ?? ParameterOf(message) ?? "layout"),
            Kind.Unavailable => new BackendUnavailableException(backend, text),
            // Failures, and a status from a newer library that this mapping does not know.
            _ => new NativeBackendException(backend, (int)status, name, message),
        };
    }

    /// <summary>Throws the documented exception (<see cref="ToException"/>) unless <paramref name="status"/> is
    /// <see cref="SnStatus.Ok"/>.</summary>
    /// <param name="backend">The backend whose library returned the status.</param>
    /// <param name="status">The status a native call returned.</param>
    /// <param name="lastError">Reads the library's thread-local message; called only on failure.</param>
    /// <param name="paramName">The argument to name; by default the one the native message starts with.</param>
    public static void ThrowIfFailed(Backend backend, SnStatus status, Func<string> lastError, string? paramName = null)
    {
        if (status != SnStatus.Ok) throw ToException(backend, status, lastError(), paramName);
    }

    /// <summary>
    /// The managed argument that a native message names. The C libraries start every message with the field at fault
    /// ("problem->head_dim = 20: …", "layout->row_offsets[3] …", "k_len = 10: …", "q[7] (batch 0, …) = nan: …"); this maps
    /// it to the parameter of <c>Forward</c> or <c>Backward</c> that carries it. Null when the message names nothing recognisable.
    /// </summary>
    internal static string? ParameterOf(string message)
    {
        var m = LeadingField().Match(message);
        if (!m.Success) return null;
        string root = m.Groups["root"].Value;
        string field = m.Groups["field"].Value;
        return root switch
        {
            "layout" => "layout",
            "problem" => field is "format" or "flags" or "scale" or "num_threads" or "query_segment_ids" or "key_segment_ids"
                ? "options" : "shape",
            "q" or "q_len" => "query",
            "k" or "k_len" => "key",
            "v" or "v_len" => "value",
            "out" or "out_len" => "output",
            "lse" or "lse_len" => "logSumExp",
            "dout" or "dout_len" => "outputGradient",
            "dq" or "dq_len" => "queryGradient",
            "dk" or "dk_len" => "keyGradient",
            "dv" or "dv_len" => "valueGradient",
            _ => root,
        };
    }

    [GeneratedRegex(@"^(?<root>[A-Za-z_][A-Za-z0-9_]*)(?:->(?<field>[A-Za-z_][A-Za-z0-9_]*))?")]
    private static partial Regex LeadingField();
}
