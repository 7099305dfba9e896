namespace SparseNative.Cli.Npy;

/// <summary>A file that is not a .npy array this tool can read; the message names the file and what is wrong with it.</summary>
public sealed class NpyFormatException(string message) : IOException(message);
