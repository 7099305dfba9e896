namespace SparseNative;

/// <summary>A block layout (or an imported DeepSpeed / ONNX Runtime layout array) is malformed.</summary>
public sealed class InvalidLayoutException : ArgumentException
{
    /// <summary>Creates the exception with a message that names the offending argument and value.</summary>
    public InvalidLayoutException(string message, string? paramName) : base(message, paramName) { }
}
