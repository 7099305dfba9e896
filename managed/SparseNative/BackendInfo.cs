namespace SparseNative;

/// <summary>What the dispatcher knows about one backend on this machine.</summary>
/// <param name="Backend">The backend.</param>
/// <param name="IsAvailable">Whether it can run here.</param>
/// <param name="Reason">Why it is unavailable, or <c>null</c>.</param>
/// <param name="Details">Vector width, library path, device: what a bug report needs.</param>
public sealed record BackendInfo(Backend Backend, bool IsAvailable, string? Reason, string Details)
{
    /// <inheritdoc />
    public override string ToString() =>
        IsAvailable ? $"{Backend}: available{(Details.Length > 0 ? $" ({Details})" : "")}" : $"{Backend}: unavailable — {Reason}";
}
