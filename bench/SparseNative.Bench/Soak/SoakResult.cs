using System.Runtime.InteropServices;

namespace SparseNative.Bench.Soak;

/// <summary>
/// The bits of one call's results (backend that ran, outputs, log-sum-exp, gradients, layout arrays) in a buffer reused
/// from call to call, so a sampled call can be run again later and compared bit for bit.
/// </summary>
internal sealed class SoakResult
{
    private int[] _bits = new int[1 << 16];
    private int _count;

    public ReadOnlySpan<int> Bits => _bits.AsSpan(0, _count);

    public void Clear() => _count = 0;

    public void Add(int value) => Reserve(1)[0] = value;

    public void Add(ReadOnlySpan<float> values) => MemoryMarshal.Cast<float, int>(values).CopyTo(Reserve(values.Length));

    public void Add(BlockLayout layout)
    {
        Add(layout.LayoutCount);
        Add(layout.QueryBlocks);
        Add(layout.KeyBlocks);
        layout.AllRowOffsets.CopyTo(Reserve(layout.AllRowOffsets.Length));
        layout.AllColumnIndices.CopyTo(Reserve(layout.AllColumnIndices.Length));
    }

    private Span<int> Reserve(int n)
    {
        if (_count + n > _bits.Length) Array.Resize(ref _bits, Math.Max(_bits.Length * 2, _count + n));
        var span = _bits.AsSpan(_count, n);
        _count += n;
        return span;
    }
}
