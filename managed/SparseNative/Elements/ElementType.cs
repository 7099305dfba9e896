namespace SparseNative.Elements;

/// <summary>
/// The element type of one tensor. The values are the C libraries' dtype codes (<c>sn_dtype</c>, <c>snc_dtype</c>).
/// </summary>
internal enum ElementType
{
    Float32 = 0,
    Float16 = 1,
    BFloat16 = 2,
}

/// <summary>The element types of one attention call: Q and O share one, K and V another.</summary>
internal readonly record struct TensorTypes(ElementType QueryOutput, ElementType KeyValue)
{
    public static readonly TensorTypes AllFloat32 = new(ElementType.Float32, ElementType.Float32);

    public bool IsAllFloat32 => this == AllFloat32;

    public override string ToString() => QueryOutput == KeyValue
        ? QueryOutput.Name()
        : $"Q/O {QueryOutput.Name()}, K/V {KeyValue.Name()}";
}

internal static class ElementTypes
{
    /// <summary>Bytes per element.</summary>
    public static int Size(this ElementType t) => t == ElementType.Float32 ? 4 : 2;

    /// <summary>The short name users see in messages and reports: fp32, fp16, bf16.</summary>
    public static string Name(this ElementType t) => t switch
    {
        ElementType.Float32 => "fp32",
        ElementType.Float16 => "fp16",
        _ => "bf16",
    };

    /// <summary>The element type of <typeparamref name="T"/>, or an ArgumentException naming <paramref name="argument"/>.</summary>
    public static ElementType Of<T>(string argument) where T : unmanaged =>
        typeof(T) == typeof(float) ? ElementType.Float32
        : typeof(T) == typeof(Half) ? ElementType.Float16
        : typeof(T) == typeof(BFloat16) ? ElementType.BFloat16
        : throw new ArgumentException(
            $"{argument} has elements of type {typeof(T).Name}; tensors hold float, System.Half or SparseNative.BFloat16.", argument);
}
