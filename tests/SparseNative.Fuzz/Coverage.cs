using System.Runtime.InteropServices;

namespace SparseNative.Fuzz;

/// <summary>
/// In-process edge coverage from assemblies instrumented by the <c>sharpfuzz</c> tool. The instrumentation bumps
/// <c>SharpFuzz.Common.Trace.SharedMem[branch ^ previous]</c> on every branch (AFL's scheme); this class owns that map,
/// clears it before each execution and tells whether the execution reached an edge, or an edge hit-count bucket, that no
/// earlier one did — which is what makes <see cref="Campaign"/> keep an input. Without instrumented assemblies the map stays
/// empty, <see cref="Instrumented"/> is false and the campaign is a plain mutation run (it says so).
/// </summary>
internal static unsafe class Coverage
{
    private const int MapSize = 1 << 16;

    private static readonly byte* Map = Install();

    /// <summary>For each map entry, the hit-count buckets seen so far (one bit per bucket).</summary>
    private static readonly byte[] Seen = new byte[MapSize];

    /// <summary>Map entries (edges) ever hit.</summary>
    public static int Edges { get; private set; }

    /// <summary>Whether any execution so far hit an instrumented branch.</summary>
    public static bool Instrumented => Edges > 0;

    // Must run before any instrumented code: the instrumentation writes through the pointer unconditionally.
    private static byte* Install()
    {
        var map = (byte*)NativeMemory.AllocZeroed(MapSize);
        SharpFuzz.Common.Trace.SharedMem = map;
        return map;
    }

    /// <summary>Makes sure the map is installed (call first thing in Main).</summary>
    public static void Initialize() => _ = Map;

    public static void BeforeExecution()
    {
        new Span<byte>(Map, MapSize).Clear();
        SharpFuzz.Common.Trace.PrevLocation = 0;
    }

    /// <summary>Whether the execution since <see cref="BeforeExecution"/> added an edge or a hit-count bucket; records it.</summary>
    public static bool AfterExecution()
    {
        bool novel = false;
        var map = new ReadOnlySpan<ulong>(Map, MapSize / 8);
        for (int w = 0; w < map.Length; w++)
        {
            if (map[w] == 0) continue; // most of the map is untouched by one execution
            for (int i = w * 8; i < w * 8 + 8; i++)
            {
                byte hits = Map[i];
                if (hits == 0) continue;
                byte bucket = Bucket(hits);
                if ((Seen[i] & bucket) != 0) continue;
                if (Seen[i] == 0) Edges++;
                Seen[i] |= bucket;
                novel = true;
            }
        }
        return novel;
    }

    /// <summary>AFL's hit-count classes (1, 2, 3, 4–7, 8–15, 16–31, 32–127, 128+) as one bit each.</summary>
    private static byte Bucket(byte hits) => hits switch
    {
        1 => 1, 2 => 2, 3 => 4, < 8 => 8, < 16 => 16, < 32 => 32, < 128 => 64, _ => 128,
    };

    /// <summary>Starts a new campaign's bookkeeping (each harness is measured on its own).</summary>
    public static void Reset()
    {
        Array.Clear(Seen);
        Edges = 0;
    }
}
