using System.Runtime.ExceptionServices;

namespace SparseNative.Decode;

/// <summary><see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/> that throws what a worker threw, not an AggregateException.</summary>
internal static class ParallelWork
{
    /// <summary>
    /// Runs <paramref name="body"/> for 0 … count−1 on up to <paramref name="threads"/> threads. If workers throw, the first
    /// exception is rethrown as itself (with its stack), so callers see the ArgumentException or BackendUnavailableException
    /// the public API documents.
    /// </summary>
    public static void For(int count, int threads, Action<int> body)
    {
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
