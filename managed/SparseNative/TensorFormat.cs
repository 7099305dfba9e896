namespace SparseNative;

/// <summary>How the four axes of Q, K, V and the output are laid out in memory (row-major).</summary>
public enum TensorFormat
{
    /// <summary><c>[batch, heads, seq, headDim]</c>: each head's tokens are contiguous (PyTorch SDPA, FlashAttention's internal layout).</summary>
    Bhsd = 0,

    /// <summary><c>[batch, seq, heads, headDim]</c>: each token's heads are contiguous (ONNX Runtime, most exported models).</summary>
    Bshd = 1,
}
