using SparseNative.Bench.Common;
using SparseNative.Interop;
using SparseNative.Native;

namespace SparseNative.Bench.Soak;

/// <summary>What a soak call exercises; <see cref="SoakCalls.Weights"/> says how often each is drawn.</summary>
internal enum SoakKind { Forward, ForwardSplitKeys, MergeStates, TopK, Routing, Backward, TrainingContext, AbiForward, AbiBackward }

/// <summary>A sampled result that is wrong: it differs from the float64 reference beyond the tolerance.</summary>
internal sealed class SoakCheckException(string message) : Exception(message);

/// <summary>
/// The soak's call mix. A call is a pure function of its seed: the seed draws the kind, shape, block size, layout,
/// backend, format, MaxThreads, LSE on or off and the input offsets, so running a seed twice must give the same bits.
/// </summary>
internal sealed class SoakCalls
{
    /// <summary>Largest |fast − float64 reference| accepted for an output or a finite log-sum-exp (inputs in [−1, 1), d ≤ 64).</summary>
    public const float ReferenceTolerance = 1e-4f;

    private readonly SoakData _data;
    private readonly SoakLayouts _layouts = new();
    private readonly (SoakKind Kind, int Weight)[] _mix;
    private readonly int _totalWeight;

    /// <summary>Auto and every available backend but the float64 reference (which checks the others).</summary>
    public IReadOnlyList<Backend> ForwardBackends { get; }

    /// <summary>The forward backends whose backward pass runs here.</summary>
    public IReadOnlyList<Backend> BackwardBackends { get; }

    /// <summary>Why a backend is left out (unavailable, or no backward), for the report.</summary>
    public IReadOnlyList<string> Notes { get; }

    public static readonly (SoakKind Kind, int Weight)[] Weights =
    [
        (SoakKind.Forward, 36), (SoakKind.ForwardSplitKeys, 10), (SoakKind.MergeStates, 8), (SoakKind.TopK, 8), (SoakKind.Routing, 5),
        (SoakKind.Backward, 12), (SoakKind.TrainingContext, 6), (SoakKind.AbiForward, 10), (SoakKind.AbiBackward, 5),
    ];

    public SoakCalls(SoakData data)
    {
        _data = data;
        var notes = new List<string>();
        foreach (var info in SparseAttention.Backends.Where(b => !b.IsAvailable))
            notes.Add($"{info.Backend} unavailable: {info.Reason}");
        ForwardBackends = [Backend.Auto, .. BackendCatalog.Available().Where(b => b != Backend.Reference)];
        BackwardBackends = ForwardBackends.Where(b => b == Backend.Auto || HasBackward(b, notes)).ToList();
        Notes = notes;
        bool native = ForwardBackends.Contains(Backend.NativeCpu);
        if (!native) notes.Add("C ABI calls left out: the native library is not loaded (see NativeCpu above)");
        _mix = Weights.Where(w => native || w.Kind is not (SoakKind.AbiForward or SoakKind.AbiBackward)).ToArray();
        _totalWeight = _mix.Sum(w => w.Weight);
    }

    public SoakKind DrawKind(Random rng)
    {
        int x = rng.Next(_totalWeight);
        foreach (var (kind, weight) in _mix)
            if ((x -= weight) < 0) return kind;
        throw new InvalidOperationException("unreachable: weights cover the draw");
    }

    /// <summary>Runs one call into <paramref name="w"/>.Result; with <paramref name="checkReference"/>, forward results are also compared with the float64 reference.</summary>
    public void Run(SoakKind kind, Random rng, SoakBuffers w, bool checkReference)
    {
        w.Result.Clear();
        switch (kind)
        {
            case SoakKind.Forward: Forward(rng, w, checkReference); break;
            case SoakKind.ForwardSplitKeys: SplitKeys(rng, w); break;
            case SoakKind.MergeStates: Merge(rng, w); break;
            case SoakKind.TopK: TopK(rng, w); break;
            case SoakKind.Routing: Routing(rng, w); break;
            case SoakKind.Backward: Backward(rng, w); break;
            case SoakKind.TrainingContext: Training(rng, w); break;
            case SoakKind.AbiForward: AbiForward(rng, w, checkReference); break;
            case SoakKind.AbiBackward: AbiBackward(rng, w); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>The problem of a forward-family call: inputs taken from the pools, outputs in the caller's buffers.</summary>
    private readonly ref struct Problem
    {
        public readonly AttentionShape Shape;
        public readonly BlockLayout Layout;
        public readonly AttentionOptions Options;
        public readonly ReadOnlyMemory<float> Query, Key, Value, OutputGradient;
        public readonly Span<float> Output, LogSumExp;

        public Problem(SoakData data, SoakLayouts layouts, Random rng, SoakBuffers w, AttentionShape s, Backend backend, bool lse)
        {
            Shape = s;
            Layout = layouts.Draw(rng, s, SoakShapes.DrawBlockSize(rng));
            Options = new AttentionOptions
            {
                Backend = backend, Causal = rng.Next(3) == 0, MaxThreads = SoakShapes.DrawMaxThreads(rng),
                Format = SoakShapes.DrawFormat(rng), CheckFinite = rng.Next(2) == 0,
            };
            Query = SoakData.Take(data.Query, s.QueryElements, rng);
            Key = SoakData.Take(data.Key, s.KeyElements, rng);
            Value = SoakData.Take(data.Value, s.KeyElements, rng);
            OutputGradient = SoakData.Take(data.Gradient, s.QueryElements, rng);
            Output = w.Output.AsSpan(0, (int)s.QueryElements);
            LogSumExp = lse ? w.LogSumExp.AsSpan(0, (int)s.LogSumExpElements) : default;
        }

        public Backend Forward() =>
            SparseAttention.Forward(Query.Span, Key.Span, Value.Span, Output, Shape, Layout, Options, LogSumExp);
    }

    private static Backend Draw(IReadOnlyList<Backend> backends, Random rng) => backends[rng.Next(backends.Count)];

    private void Forward(Random rng, SoakBuffers w, bool checkReference)
    {
        var p = new Problem(_data, _layouts, rng, w, SoakShapes.Draw(rng), Draw(ForwardBackends, rng), rng.Next(2) == 0);
        w.Result.Add((int)p.Forward());
        AddOutputs(w, p);
        if (checkReference) CompareWithReference(w, p, p.Options.Causal, p.Options.Format);
    }

    private void SplitKeys(Random rng, SoakBuffers w)
    {
        var p = new Problem(_data, _layouts, rng, w, SoakShapes.DrawDecode(rng), Draw(ForwardBackends, rng), rng.Next(2) == 0);
        int splits = rng.Next(0, 5);
        w.Result.Add((int)SparseAttention.ForwardSplitKeys(p.Query.Span, p.Key.Span, p.Value.Span, p.Output, p.Shape, p.Layout, p.Options, p.LogSumExp, splits));
        AddOutputs(w, p);
    }

    /// <summary>Two partial results merged into fresh buffers, or (one call in two) in place over the first.</summary>
    private void Merge(Random rng, SoakBuffers w)
    {
        var s = SoakShapes.Draw(rng);
        var format = SoakShapes.DrawFormat(rng);
        int qe = (int)s.QueryElements, le = (int)s.LogSumExpElements;
        var oa = SoakData.Take(_data.Value, qe, rng).Span;
        var ob = SoakData.Take(_data.Gradient, qe, rng).Span;
        var la = SoakData.Take(_data.LogSumExp, le, rng).Span;
        var lb = SoakData.Take(_data.LogSumExp, le, rng).Span;
        Span<float> o = w.Output.AsSpan(0, qe), lse = w.LogSumExp.AsSpan(0, le);
        if (rng.Next(2) == 0)
        {
            oa.CopyTo(o);
            la.CopyTo(lse);
            SparseAttention.MergeStates(o, lse, ob, lb, o, lse, s, format);
        }
        else
        {
            SparseAttention.MergeStates(oa, la, ob, lb, o, lse, s, format);
        }
        w.Result.Add(o);
        w.Result.Add(lse);
    }

    private void TopK(Random rng, SoakBuffers w)
    {
        var s = SoakShapes.Draw(rng);
        int bs = SoakShapes.DrawBlockSize(rng);
        var q = SoakData.Take(_data.Query, s.QueryElements, rng).Span;
        var k = SoakData.Take(_data.Key, s.KeyElements, rng).Span;
        var options = new TopKOptions
        {
            K = rng.Next(0, 6), MassThreshold = rng.Next(3) == 0 ? 0.5 + 0.49 * rng.NextDouble() : null,
            KeepLocalWindow = rng.Next(0, 3), Causal = rng.Next(2) == 0, PerKeyValueGroup = rng.Next(3) == 0,
            Format = SoakShapes.DrawFormat(rng), MaxThreads = SoakShapes.DrawMaxThreads(rng),
        };
        var layout = BlockSelection.TopK(q, k, s, bs, options);
        w.Result.Add(layout);
        // Half the selections are then used, as a model would: a forward over the chosen blocks.
        if (rng.Next(2) == 0) ForwardOn(rng, w, s, layout, options.Format, q, k);
    }

    private void Routing(Random rng, SoakBuffers w)
    {
        var s = SoakShapes.Draw(rng);
        int bs = SoakShapes.DrawBlockSize(rng);
        var q = SoakData.Take(_data.Query, s.QueryElements, rng).Span;
        var k = SoakData.Take(_data.Key, s.KeyElements, rng).Span;
        int clusters = rng.Next(2, 5);
        var options = new RoutingOptions
        {
            Clusters = clusters, TopClusters = rng.Next(1, clusters), Iterations = rng.Next(1, 6), Seed = (ulong)rng.NextInt64(),
            Causal = rng.Next(2) == 0, KeepLocalWindow = rng.Next(0, 2), Format = SoakShapes.DrawFormat(rng),
            MaxThreads = SoakShapes.DrawMaxThreads(rng),
        };
        var layout = BlockSelection.Routing(q, k, s, bs, options);
        w.Result.Add(layout);
        if (rng.Next(2) == 0) ForwardOn(rng, w, s, layout, options.Format, q, k);
    }

    private void ForwardOn(Random rng, SoakBuffers w, AttentionShape s, BlockLayout layout, TensorFormat format,
        ReadOnlySpan<float> q, ReadOnlySpan<float> k)
    {
        var v = SoakData.Take(_data.Value, s.KeyElements, rng).Span;
        var o = w.Output.AsSpan(0, (int)s.QueryElements);
        var options = new AttentionOptions { Backend = Draw(ForwardBackends, rng), Format = format, MaxThreads = SoakShapes.DrawMaxThreads(rng) };
        w.Result.Add((int)SparseAttention.Forward(q, k, v, o, s, layout, options));
        w.Result.Add(o);
    }

    private void Backward(Random rng, SoakBuffers w)
    {
        var p = new Problem(_data, _layouts, rng, w, SoakShapes.Draw(rng), Draw(BackwardBackends, rng), lse: true);
        w.Result.Add((int)p.Forward());
        var (dq, dk, dv) = Gradients(w, p.Shape);
        w.Result.Add((int)SparseAttention.Backward(p.Query.Span, p.Key.Span, p.Value.Span, p.Output, p.LogSumExp, p.OutputGradient.Span,
            dq.Span, dk.Span, dv.Span, p.Shape, p.Layout, p.Options));
        AddOutputs(w, p);
        AddGradients(w, dq, dk, dv);
    }

    /// <summary>ForwardForTraining and the context's backward; one in two lets the library allocate O, LSE and the gradients.</summary>
    private void Training(Random rng, SoakBuffers w)
    {
        var p = new Problem(_data, _layouts, rng, w, SoakShapes.Draw(rng), Draw(BackwardBackends, rng), lse: true);
        var s = p.Shape;
        if (rng.Next(2) == 0)
        {
            var ctx = SparseAttention.ForwardForTraining(p.Query, p.Key, p.Value, s, p.Layout, p.Options,
                w.Output.AsMemory(0, (int)s.QueryElements), w.LogSumExp.AsMemory(0, (int)s.LogSumExpElements));
            var (dq, dk, dv) = Gradients(w, s);
            w.Result.Add((int)ctx.ForwardBackend);
            w.Result.Add((int)ctx.Backward(p.OutputGradient.Span, dq.Span, dk.Span, dv.Span));
            w.Result.Add(ctx.Output.Span);
            w.Result.Add(ctx.LogSumExp.Span);
            AddGradients(w, dq, dk, dv);
        }
        else
        {
            var ctx = SparseAttention.ForwardForTraining(p.Query, p.Key, p.Value, s, p.Layout, p.Options);
            var (dq, dk, dv) = ctx.Backward(p.OutputGradient.Span);
            w.Result.Add((int)ctx.ForwardBackend);
            w.Result.Add(ctx.Output.Span);
            w.Result.Add(ctx.LogSumExp.Span);
            AddGradients(w, dq, dk, dv);
        }
    }

    /// <summary>The C ABI straight through <see cref="SparseNativeApi"/>, with the library's own struct translation; one call in two asks the C side to scan for NaN/∞.</summary>
    private unsafe void AbiForward(Random rng, SoakBuffers w, bool checkReference)
    {
        var p = new Problem(_data, _layouts, rng, w, SoakShapes.Draw(rng), Backend.NativeCpu, rng.Next(2) == 0);
        bool causal = p.Options.Causal || p.Layout.IsCausal;
        fixed (int* rows = p.Layout.AllRowOffsets, cols = p.Layout.AllColumnIndices)
        {
            var problem = AbiProblem(p, causal, rng);
            SparseNativeApi.AttentionForward(problem, NativeStructs.Layout(p.Layout, rows, cols), p.Query.Span, p.Key.Span, p.Value.Span, p.Output, p.LogSumExp);
        }
        AddOutputs(w, p);
        if (checkReference) CompareWithReference(w, p, causal, p.Options.Format);
    }

    private unsafe void AbiBackward(Random rng, SoakBuffers w)
    {
        var p = new Problem(_data, _layouts, rng, w, SoakShapes.Draw(rng), Backend.NativeCpu, lse: true);
        bool causal = p.Options.Causal || p.Layout.IsCausal;
        var (dq, dk, dv) = Gradients(w, p.Shape);
        fixed (int* rows = p.Layout.AllRowOffsets, cols = p.Layout.AllColumnIndices)
        {
            var problem = AbiProblem(p, causal, rng);
            var layout = NativeStructs.Layout(p.Layout, rows, cols);
            SparseNativeApi.AttentionForward(problem, layout, p.Query.Span, p.Key.Span, p.Value.Span, p.Output, p.LogSumExp);
            SparseNativeApi.AttentionBackward(problem, layout, p.Query.Span, p.Key.Span, p.Value.Span, p.Output, p.LogSumExp,
                p.OutputGradient.Span, dq.Span, dk.Span, dv.Span);
        }
        AddOutputs(w, p);
        AddGradients(w, dq, dk, dv);
    }

    private static unsafe SnProblem AbiProblem(in Problem p, bool causal, Random rng)
    {
        var problem = NativeStructs.Problem(p.Shape, p.Options.Format, causal, p.Options.ResolveScale(p.Shape.HeadDim), p.Options.MaxThreads, null, null);
        if (rng.Next(2) == 0) problem.Flags &= ~SnFlags.AllowNonFinite;
        return problem;
    }

    private static (Memory<float> Q, Memory<float> K, Memory<float> V) Gradients(SoakBuffers w, AttentionShape s) =>
        (w.QueryGradient.AsMemory(0, (int)s.QueryElements), w.KeyGradient.AsMemory(0, (int)s.KeyElements), w.ValueGradient.AsMemory(0, (int)s.KeyElements));

    private static void AddGradients(SoakBuffers w, ReadOnlyMemory<float> dq, ReadOnlyMemory<float> dk, ReadOnlyMemory<float> dv)
    {
        w.Result.Add(dq.Span);
        w.Result.Add(dk.Span);
        w.Result.Add(dv.Span);
    }

    private static void AddOutputs(SoakBuffers w, in Problem p)
    {
        w.Result.Add(p.Output);
        w.Result.Add(p.LogSumExp);
    }

    /// <summary>The same problem on the float64 reference; throws <see cref="SoakCheckException"/> past <see cref="ReferenceTolerance"/>.</summary>
    private static void CompareWithReference(SoakBuffers w, in Problem p, bool causal, TensorFormat format)
    {
        var s = p.Shape;
        var o = w.ReferenceOutput.AsSpan(0, (int)s.QueryElements);
        var lse = w.ReferenceLogSumExp.AsSpan(0, (int)s.LogSumExpElements);
        SparseAttention.Forward(p.Query.Span, p.Key.Span, p.Value.Span, o, s, p.Layout,
            new AttentionOptions { Backend = Backend.Reference, Causal = causal, Format = format }, lse);
        for (int i = 0; i < o.Length; i++)
            if (!(MathF.Abs(o[i] - p.Output[i]) <= ReferenceTolerance))
                throw new SoakCheckException($"output[{i}] = {p.Output[i]:R}, reference {o[i]:R} ({s}, {p.Layout}, {p.Options.Backend})");
        for (int i = 0; i < p.LogSumExp.Length; i++)
        {
            float a = p.LogSumExp[i], r = lse[i];
            if (a != r && !(MathF.Abs(a - r) <= ReferenceTolerance * Math.Max(1, MathF.Abs(r))))
                throw new SoakCheckException($"logSumExp[{i}] = {a:R}, reference {r:R} ({s}, {p.Layout}, {p.Options.Backend})");
        }
    }

    /// <summary>Whether <paramref name="backend"/>'s backward runs (a tiny causal problem); if not, the library's reason goes to the notes.</summary>
    private static bool HasBackward(Backend backend, List<string> notes)
    {
        var s = new AttentionShape(1, 1, 1, 16, 16, 8);
        var q = BenchData.Random(s.QueryElements, 1);
        var o = new float[s.QueryElements];
        var lse = new float[s.LogSumExpElements];
        var d = new float[s.QueryElements];
        var layout = BlockPatterns.Causal(16, 16);
        var options = new AttentionOptions { Backend = backend };
        try
        {
            SparseAttention.Forward(q, q, q, o, s, layout, options, lse);
            SparseAttention.Backward(q, q, q, o, lse, q, d, new float[s.KeyElements], new float[s.KeyElements], s, layout, options);
            return true;
        }
        catch (BackendUnavailableException e)
        {
            notes.Add($"{backend} has no backward here: {e.Message}");
            return false;
        }
    }
}
