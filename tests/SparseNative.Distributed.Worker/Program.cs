using SparseNative;
using SparseNative.Distributed;
using SparseNative.Distributed.Worker;

// Usage (every rank): Worker SUITE [bound]. Rank 0 prints one line per case: "CASE name error=… ok|FAIL".
// SUITE: accuracy — every layout family × sharding × exchange against the single-process Forward;
//        mismatch-layout, mismatch-shape, bad-length [folder] — every rank prints "ERROR rank r: <message>" (and writes it
//        to folder/rank<r>.txt);
//        hang — rank 1 stops taking part (the others must time out); exit — rank 1 exits at once.
using var comm = Communicator.World();
string suite = args.Length > 0 ? args[0] : "accuracy";
try
{
    return suite switch
    {
        "accuracy" => Accuracy.Run(comm, args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1e-6),
        "mismatch-layout" or "mismatch-shape" or "bad-length" => BadInput.Run(comm, suite, args.Length > 1 ? args[1] : null),
        "hang" => BadInput.Hang(comm),
        "exit" => BadInput.Exit(comm),
        _ => throw new ArgumentException($"unknown suite {suite}"),
    };
}
catch (DistributedTimeoutException e)
{
    Console.Error.WriteLine($"TIMEOUT {e.Message}");
    return 3; // comm.Dispose aborts the job: the communicator is broken
}
