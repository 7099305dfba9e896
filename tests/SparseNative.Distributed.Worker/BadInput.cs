using SparseNative;
using SparseNative.Distributed;

namespace SparseNative.Distributed.Worker;

/// <summary>Ranks that disagree, a rank with a wrong argument, a rank that stops taking part, a rank that exits.</summary>
internal static class BadInput
{
    internal static int Run(Communicator comm, string suite, string? reportFolder = null)
    {
        int n = 16 * 9 + 3;
        var shape = AttentionShape.SelfAttention(1, 2, n, 8);
        var layout = BlockPatterns.LocalWindow(n, 16, 2);
        if (suite == "mismatch-layout" && comm.Rank == 1) layout = BlockPatterns.LocalWindow(n, 16, 3);
        if (suite == "mismatch-shape" && comm.Rank == comm.Size - 1) shape = shape with { QueryHeads = 4 };
        var sharding = SequenceSharding.Create(ShardingKind.Contiguous, n, 16, comm.Size);
        int local = sharding.LocalLength(comm.Rank);
        int q = shape.Batch * shape.QueryHeads * local * shape.HeadDim, kv = shape.Batch * shape.KeyValueHeads * local * shape.HeadDim;
        if (suite == "bad-length" && comm.Rank == comm.Size - 1) q--;
        try
        {
            DistributedAttention.Forward(comm, sharding, new float[q], new float[kv], new float[kv], new float[q], shape, layout);
            Report($"NOERROR rank {comm.Rank}");
        }
        catch (ArgumentException e)
        {
            Report($"ERROR rank {comm.Rank}: {e.GetType().Name}: {e.Message}");
        }
        return 0;

        // mpirun may interleave long lines of different ranks: each rank's line also goes to a file of its own.
        void Report(string line)
        {
            Console.WriteLine(line);
            if (reportFolder is not null) File.WriteAllText(Path.Combine(reportFolder, $"rank{comm.Rank}.txt"), line);
        }
    }

    /// <summary>Rank 1 never joins; the others must give up after the communicator's timeout.</summary>
    internal static int Hang(Communicator comm)
    {
        if (comm.Rank == 1) Thread.Sleep(Timeout.Infinite);
        Run(comm, "ok");
        return 0;
    }

    /// <summary>Rank 1 ends without MPI_Finalize; mpirun must end the job.</summary>
    internal static int Exit(Communicator comm)
    {
        if (comm.Rank == 1) Environment.Exit(7);
        Run(comm, "ok");
        return 0;
    }
}
