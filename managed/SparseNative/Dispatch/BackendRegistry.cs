using SparseNative.Elements;
using SparseNative.Reference;
namespace SparseNative.Dispatch;

/// <summary>
/// Every backend this build knows, and the order in which <see cref="Backend.Auto"/> tries them. The order is data:
/// change <see cref="AutoOrder"/>, not the code that walks it.
/// </summary>
internal static class BackendRegistry
{
    /// <summary>
    /// The GPU first, where its library loads and a device exists (its speed has not been measured on hardware; docs/CUDA.md).
    /// Then the managed SIMD paths, widest first: the fastest CPU paths in docs/PERFORMANCE.md. Then the native C library,
    /// which measured slower than AVX-512 and AVX2 and is reached only where no managed path is available (Portable runs on
    /// every x64 and Arm64 CPU, so in practice only with hardware intrinsics switched off, DOTNET_EnableHWIntrinsic=0). Last the float64 reference, which always works.
    /// </summary>
    internal static readonly Backend[] AutoOrder =
    [
        Backend.Cuda, Backend.Avx512, Backend.Avx2, Backend.Neon, Backend.Portable, Backend.NativeCpu, Backend.Reference,
    ];

    /// <summary>
    /// The order <see cref="Backend.Auto"/> tries for each element type of K and V (the type that decides a kernel's speed:
    /// it is the bulk of the bytes read). A type not listed uses <see cref="AutoOrder"/>. The float16 and bfloat16 rows
    /// start as the float32 order; each is changed here, as data, when a bench run measures another backend faster for
    /// that type (docs/PERFORMANCE.md).
    /// </summary>
    internal static readonly Dictionary<ElementType, Backend[]> AutoOrderByKeyValueType = new()
    {
        [ElementType.Float32] = AutoOrder,
        [ElementType.Float16] = AutoOrder,
        [ElementType.BFloat16] = AutoOrder,
    };

    /// <summary>The order <see cref="Backend.Auto"/> tries for tensors of these types.</summary>
    public static Backend[] AutoOrderFor(TensorTypes types) => AutoOrderByKeyValueType.GetValueOrDefault(types.KeyValue, AutoOrder);

    private static readonly Lazy<Dictionary<Backend, AttentionBackend>> s_backends = new(CreateAll);

    private static Dictionary<Backend, AttentionBackend> CreateAll()
    {
        var list = new List<AttentionBackend> { new ReferenceBackend() };
        foreach (var extra in s_factories) list.Add(extra());
        return list.ToDictionary(b => b.Kind);
    }

    // Every backend beyond the reference comes from BackendFactories; the objects are made on first use, and their
    // availability is probed only when asked, so a missing native library costs nothing until someone asks for it.
    private static readonly List<Func<AttentionBackend>> s_factories = BackendFactories.All();

    /// <summary>The backend object for a kind, or null when this build has none.</summary>
    public static AttentionBackend? Get(Backend kind) => s_backends.Value.GetValueOrDefault(kind);

    /// <summary>What each backend in <see cref="Backend"/> looks like on this machine.</summary>
    public static IReadOnlyList<BackendInfo> Describe()
    {
        var infos = new List<BackendInfo>();
        foreach (var kind in Enum.GetValues<Backend>())
        {
            if (kind == Backend.Auto) continue;
            var b = Get(kind);
            if (b is null)
                infos.Add(new BackendInfo(kind, false, "not part of this build of SparseNative", ""));
            else
            {
                string? reason = b.UnavailableReason;
                infos.Add(new BackendInfo(kind, reason is null, reason, b.Details));
            }
        }
        return infos;
    }

    /// <summary>
    /// The backend that runs a problem: the one requested (error if it cannot run it, never a silent fallback),
    /// else the first of <see cref="AutoOrderFor"/> the problem's element types that is available and supports the problem — and, for
    /// <paramref name="backward"/>, implements the backward pass.
    /// </summary>
    public static AttentionBackend Select(Backend requested, in AttentionProblem problem, bool backward = false)
    {
        if (requested == Backend.Auto && EnvironmentOverride is { } env) requested = env;
        if (requested != Backend.Auto)
        {
            var b = Get(requested) ?? throw new BackendUnavailableException(requested, "not part of this build of SparseNative");
            if (backward && b.BackwardUnavailableReason is { } noBackward) throw new BackendUnavailableException(requested, noBackward);
            if (b.UnavailableReason is { } why) throw new BackendUnavailableException(requested, why);
            if (!b.SupportsTypes(problem.Types, out var typeReason)) throw new BackendUnavailableException(requested, typeReason ?? "unsupported element types");
            if (!b.Supports(problem, out var reason)) throw new BackendUnavailableException(requested, reason ?? "unsupported problem");
            return b;
        }
        foreach (var kind in AutoOrderFor(problem.Types))
        {
            var b = Get(kind);
            if (b is null || b.UnavailableReason is not null) continue;
            if (backward && b.BackwardUnavailableReason is not null) continue;
            if (b.SupportsTypes(problem.Types, out _) && b.Supports(problem, out _)) return b;
        }
        return Get(Backend.Reference)!; // always available, supports everything
    }

    /// <summary>The backend named by <c>SPARSENATIVE_BACKEND</c> (read each call, so tests and tools can set it), or null.</summary>
    public static Backend? EnvironmentOverride => ParseOverride(Environment.GetEnvironmentVariable("SPARSENATIVE_BACKEND"));

    /// <summary>Parses a <c>SPARSENATIVE_BACKEND</c> value: null/blank/Auto mean no override; anything else must name a backend.</summary>
    internal static Backend? ParseOverride(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (Enum.TryParse<Backend>(value.Trim(), ignoreCase: true, out var b) && Enum.IsDefined(b)) return b == Backend.Auto ? null : b;
        throw new ArgumentException(
            $"SPARSENATIVE_BACKEND='{value}' is not a backend; use one of {string.Join(", ", Enum.GetNames<Backend>())}.",
            "SPARSENATIVE_BACKEND");
    }
}
