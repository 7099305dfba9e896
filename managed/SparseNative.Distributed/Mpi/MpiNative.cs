using System.Runtime.InteropServices;

namespace SparseNative.Distributed.Mpi;

/// <summary>
/// The MPI C functions this package calls, bound against Open MPI's ABI (<c>libmpi.so.40</c>): every handle
/// (communicator, datatype, operation, request) is a pointer, and the predefined handles are the addresses of exported
/// globals (<see cref="MpiLibrary"/>). MPICH's ABI (integer handles) is a different one and is not bound.
/// Every function returns an MPI error code; the world communicator is switched to MPI_ERRORS_RETURN so that these
/// codes come back instead of the job being aborted inside MPI.
/// </summary>
internal static unsafe partial class MpiNative
{
    /// <summary>The name the resolver maps to the loaded library (<see cref="MpiLibrary"/> installs the resolver).</summary>
    internal const string Library = "sparsenative-mpi";

    internal const int Success = 0;
    internal const int ThreadSerialized = 2;
    /// <summary>MPI_STATUS_IGNORE and MPI_STATUSES_IGNORE are null pointers in Open MPI.</summary>
    internal static nint StatusIgnore => 0;

    [LibraryImport(Library, EntryPoint = "MPI_Initialized")] internal static partial int Initialized(out int flag);
    [LibraryImport(Library, EntryPoint = "MPI_Finalized")] internal static partial int Finalized(out int flag);
    [LibraryImport(Library, EntryPoint = "MPI_Init_thread")] internal static partial int InitThread(nint argc, nint argv, int required, out int provided);
    [LibraryImport(Library, EntryPoint = "MPI_Finalize")] internal static partial int Finalize();
    [LibraryImport(Library, EntryPoint = "MPI_Abort")] internal static partial int Abort(nint comm, int errorCode);
    [LibraryImport(Library, EntryPoint = "MPI_Comm_rank")] internal static partial int CommRank(nint comm, out int rank);
    [LibraryImport(Library, EntryPoint = "MPI_Comm_size")] internal static partial int CommSize(nint comm, out int size);
    [LibraryImport(Library, EntryPoint = "MPI_Comm_set_errhandler")] internal static partial int CommSetErrhandler(nint comm, nint handler);
    [LibraryImport(Library, EntryPoint = "MPI_Error_string")] internal static partial int ErrorString(int code, byte* text, out int length);

    [LibraryImport(Library, EntryPoint = "MPI_Isend")]
    internal static partial int Isend(void* buffer, int count, nint datatype, int dest, int tag, nint comm, out nint request);
    [LibraryImport(Library, EntryPoint = "MPI_Irecv")]
    internal static partial int Irecv(void* buffer, int count, nint datatype, int source, int tag, nint comm, out nint request);
    [LibraryImport(Library, EntryPoint = "MPI_Iallreduce")]
    internal static partial int Iallreduce(void* send, void* receive, int count, nint datatype, nint op, nint comm, out nint request);
    [LibraryImport(Library, EntryPoint = "MPI_Ialltoallv")]
    internal static partial int Ialltoallv(void* send, int* sendCounts, int* sendOffsets, nint sendType,
        void* receive, int* receiveCounts, int* receiveOffsets, nint receiveType, nint comm, out nint request);
    [LibraryImport(Library, EntryPoint = "MPI_Testall")]
    internal static partial int Testall(int count, nint* requests, out int flag, nint statuses);
}
