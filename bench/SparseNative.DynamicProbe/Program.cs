using SparseNative;
using SparseNative.DynamicProbe;

// Usage: dotnet run -c Release --project bench/SparseNative.DynamicProbe -- <selection|quality|decode> [--length N] [--keys N] [--strength S] [--backend B]
string mode = args.Length > 0 ? args[0] : "";
int Arg(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
}
var backend = Array.IndexOf(args, "--backend") is int b && b >= 0 && b + 1 < args.Length ? Enum.Parse<Backend>(args[b + 1], true) : Backend.Auto;
Console.WriteLine($"# {DateTime.UtcNow:u}, {Environment.ProcessorCount} logical cores, backend requested {backend}; shared machine: timings are noisy.");
switch (mode)
{
    case "selection": SelectionCost.Run(Arg("--length", 16384), backend, Arg("--attention", 1) != 0, Arg("--strength", 6)); break;
    case "quality": Quality.Run(Arg("--length", 4096), backend, Arg("--strength", 6)); break;
    case "decode": DecodeSpeed.Run(Arg("--keys", 131072), backend, Arg("--reps", 5)); break;
    default:
        Console.Error.WriteLine("usage: <selection|quality|decode> [--length N] [--keys N] [--reps N] [--attention 0|1] [--strength S] [--backend Auto|Reference|...]");
        return 2;
}
return 0;
