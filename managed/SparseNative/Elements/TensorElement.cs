using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace SparseNative.Elements;

/// <summary>
/// How the kernels read and write one element type, as static members of a struct so that the JIT compiles a separate
/// copy of each kernel per type with the float32 case reduced to plain loads (the pattern of <c>ISimdIsa</c>). Inputs are
/// widened to float32 exactly, where they are packed for the kernel; outputs are rounded once, to nearest even.
/// </summary>
internal unsafe interface ITensorElement
{
    static abstract ElementType Type { get; }

    /// <summary>Bytes per element.</summary>
    static abstract int Size { get; }

    /// <summary>Element <paramref name="i"/> of <paramref name="p"/>, widened exactly.</summary>
    static abstract float Read(void* p, long i);

    /// <summary>Element <paramref name="i"/> of <paramref name="p"/> set to <paramref name="x"/> rounded to nearest even.</summary>
    static abstract void Write(void* p, long i, double x);

    /// <summary><paramref name="n"/> consecutive elements widened exactly into <paramref name="dst"/>.</summary>
    static abstract void Widen(void* src, float* dst, int n);

    /// <summary><paramref name="n"/> floats rounded to nearest even into consecutive elements of <paramref name="dst"/>.</summary>
    static abstract void Narrow(float* src, void* dst, int n);
}

internal readonly unsafe struct FloatElement : ITensorElement
{
    public static ElementType Type => ElementType.Float32;
    public static int Size => sizeof(float);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Read(void* p, long i) => ((float*)p)[i];
    public static void Write(void* p, long i, double x) => ((float*)p)[i] = (float)x;
    public static void Widen(void* src, float* dst, int n) => new ReadOnlySpan<float>(src, n).CopyTo(new Span<float>(dst, n));
    public static void Narrow(float* src, void* dst, int n) => new ReadOnlySpan<float>(src, n).CopyTo(new Span<float>(dst, n));
}

/// <summary>IEEE binary16. Widening and narrowing use TensorPrimitives' vectorised integer conversions (.NET 10 exposes no F16C).</summary>
internal readonly unsafe struct HalfElement : ITensorElement
{
    public static ElementType Type => ElementType.Float16;
    public static int Size => sizeof(ushort);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Read(void* p, long i) => (float)((Half*)p)[i];
    public static void Write(void* p, long i, double x) => ((Half*)p)[i] = (Half)x;
    public static void Widen(void* src, float* dst, int n) =>
        TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src, n), new Span<float>(dst, n));
    public static void Narrow(float* src, void* dst, int n) =>
        TensorPrimitives.ConvertToHalf(new ReadOnlySpan<float>(src, n), new Span<Half>(dst, n));
}

/// <summary>bfloat16: widening is a 16-bit left shift of each element into a 32-bit lane.</summary>
internal readonly unsafe struct BFloat16Element : ITensorElement
{
    public static ElementType Type => ElementType.BFloat16;
    public static int Size => sizeof(ushort);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Read(void* p, long i) => ((BFloat16*)p)[i];
    public static void Write(void* p, long i, double x) => ((BFloat16*)p)[i] = (BFloat16)x;

    public static void Widen(void* src, float* dst, int n)
    {
        ushort* s = (ushort*)src;
        uint* d = (uint*)dst;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i + Vector<ushort>.Count <= n; i += Vector<ushort>.Count)
            {
                Vector.Widen(Vector.Load(s + i), out Vector<uint> low, out Vector<uint> high);
                Vector.Store(low << 16, d + i);
                Vector.Store(high << 16, d + i + Vector<uint>.Count);
            }
        for (; i < n; i++) d[i] = (uint)s[i] << 16;
    }

    public static void Narrow(float* src, void* dst, int n)
    {
        var d = (BFloat16*)dst;
        for (int i = 0; i < n; i++) d[i] = (BFloat16)src[i];
    }
}
