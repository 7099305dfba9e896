using SparseNative.Elements;
namespace SparseNative.Dispatch;

/// <summary>One implementation of attention the dispatcher can choose.</summary>
internal abstract class AttentionBackend
{
    /// <summary>Which backend this is.</summary>
    public abstract Backend Kind { get; }

    /// <summary><c>null</c> when the backend can run on this machine, else why not (e.g. "AVX-512 not accelerated on this CPU").</summary>
    public abstract string? UnavailableReason { get; }

    /// <summary>A short description for <see cref="SparseAttention.Describe"/>: vector width, library path, device name.</summary>
    public virtual string Details => "";

    /// <summary>
    /// Whether this backend handles this problem; when not, <paramref name="reason"/> says why (e.g. head dimension not a multiple of 8).
    /// Only called when the backend is available.
    /// </summary>
    public virtual bool Supports(in AttentionProblem problem, out string? reason)
    {
        reason = null;
        return true;
    }

    /// <summary>
    /// Whether this backend reads and writes tensors of these element types; when not, <paramref name="reason"/> says
    /// why. The dispatcher asks this before <see cref="Supports"/>. Most backends take float32 only.
    /// </summary>
    public virtual bool SupportsTypes(TensorTypes types, out string? reason)
    {
        reason = types.IsAllFloat32 ? null : $"takes float32 tensors only, not {types}";
        return reason is null;
    }

    /// <summary>
    /// The head-dimension rule every fast kernel shares (managed SIMD, C, CUDA): a row of Q, K or V is whole groups of this many
    /// floats, so the kernels never handle a partial vector. Only the reference accepts any head dimension.
    /// </summary>
    public const int HeadDimMultiple = 8;

    /// <summary>
    /// Checks <see cref="HeadDimMultiple"/>; when it fails, <paramref name="reason"/> says so, followed by <paramref name="why"/>,
    /// the backend's own reason for needing it.
    /// </summary>
    protected static bool HeadDimFits(in AttentionProblem problem, string why, out string? reason)
    {
        int d = problem.Shape.HeadDim;
        reason = d % HeadDimMultiple == 0 ? null : $"head dimension {d} is not a multiple of {HeadDimMultiple} ({why})";
        return reason is null;
    }

    /// <summary>
    /// For a backend that reads plain K/V tensors only: false, with the reason, when the call's K and V are a
    /// <see cref="KeyValueCache"/> (the managed backends read those).
    /// </summary>
    protected static bool PlainKeyValues(in AttentionProblem problem, out string? reason)
    {
        reason = problem.Settings.Cache is not null
            ? "reads plain K/V tensors only; a KeyValueCache (preallocated, paged or with sequence lengths) is read by the managed backends"
            : problem.Settings.StridedKeys ? "reads plain K/V tensors only; strided tensor-span views are read by the managed backends" : null;
        return reason is null;
    }

    /// <summary>Computes the problem. The problem has been validated.</summary>
    public abstract void Forward(in AttentionProblem problem);

    /// <summary><c>null</c> when this backend implements <see cref="Backward"/>, else why not.</summary>
    public virtual string? BackwardUnavailableReason => $"backward not implemented by {Kind}";

    /// <summary>Computes dQ, dK and dV. The problem has been validated; only called when <see cref="BackwardUnavailableReason"/> is null.</summary>
    public virtual void Backward(in BackwardProblem problem) =>
        throw new BackendUnavailableException(Kind, BackwardUnavailableReason ?? "backward not implemented");
}
