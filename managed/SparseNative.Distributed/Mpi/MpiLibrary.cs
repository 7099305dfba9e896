using System.Runtime.InteropServices;

namespace SparseNative.Distributed.Mpi;

/// <summary>
/// Loads Open MPI's <c>libmpi</c> once, explicitly: <c>SPARSENATIVE_MPI_PATH</c> when set (the only candidate then),
/// otherwise <c>libmpi.so.40</c> and <c>libmpi.so</c> from the system search path. It is opened with RTLD_GLOBAL, as
/// Open MPI's own plug-ins (loaded by MPI_Init) expect to find its symbols. The predefined handles are read here.
/// </summary>
internal static unsafe partial class MpiLibrary
{
    internal const string PathVariable = "SPARSENATIVE_MPI_PATH";
    private const int RtldNow = 0x2, RtldGlobal = 0x100;

    private static readonly Lazy<nint> Handle = new(Load);

    internal static nint CommWorld => Export("ompi_mpi_comm_world");
    internal static nint Float => Export("ompi_mpi_float");
    internal static nint Int64 => Export("ompi_mpi_int64_t");
    internal static nint OpMax => Export("ompi_mpi_op_max");
    internal static nint OpMin => Export("ompi_mpi_op_min");
    internal static nint ErrorsReturn => Export("ompi_mpi_errors_return");

    /// <summary>Installs the resolver (once) so that the <see cref="MpiNative"/> imports bind to the loaded library.</summary>
    internal static void EnsureLoaded() => _ = Handle.Value;

    private static nint Export(string name) =>
        NativeLibrary.TryGetExport(Handle.Value, name, out nint address) ? address
            : throw new DistributedException($"{name} is not exported by the loaded MPI library: it is not Open MPI's ABI (libmpi.so.40).");

    private static nint Load()
    {
        string? explicitPath = Environment.GetEnvironmentVariable(PathVariable);
        string[] candidates = explicitPath is { Length: > 0 } ? [explicitPath] : ["libmpi.so.40", "libmpi.so"];
        var tried = new List<string>();
        foreach (string candidate in candidates)
        {
            nint handle = OperatingSystem.IsLinux() ? DlOpen(candidate, RtldNow | RtldGlobal) : 0;
            if (handle == 0 && !NativeLibrary.TryLoad(candidate, out handle))
            {
                tried.Add(candidate);
                continue;
            }
            NativeLibrary.SetDllImportResolver(typeof(MpiLibrary).Assembly, (name, _, _) => name == MpiNative.Library ? handle : 0);
            return handle;
        }
        throw new DistributedException(
            $"Open MPI's library could not be loaded (tried {string.Join(", ", tried)}). Install Open MPI (Debian: apt-get install " +
            $"openmpi-bin libopenmpi-dev) or set {PathVariable} to its libmpi.so.40.");
    }

    [LibraryImport("libc.so.6", EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint DlOpen(string file, int mode);
}
