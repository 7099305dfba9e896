#!/usr/bin/env dotnet
// SparseNative's build steps, written once. build.sh (bash) and build.ps1 (PowerShell) only start this file with
// `dotnet run --file eng/build.cs -- VERB [args]`, so the two can never disagree about what a verb does.
// Test results are read from the JUnit files the runners write (xunit.v3 -result-junit, ctest --output-junit, the
// consumer test's own), never from console text. eng/Directory.Build.props keeps the repository's build settings
// (warnings as errors, versions, ...) away from this file.
#:property Nullable=enable
#:property PublishAot=false

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Xml.Linq;

return Driver.Run(args);

static class Driver
{
    const string Usage = """
        usage: ./build.sh [build|test|demo|bench|pack|clean] [args]      (Windows: ./build.ps1, the same verbs)
          build  native library (CMake, Release) + every .NET project
          test   build, then CTest (C library), the same CTest suite under ASan+UBSan and under TSan, the native
                 libFuzzer harnesses, the managed tests, the managed CUDA tests on the CPU-emulated CUDA library,
                 the command-line tool tests, the managed fuzz harnesses (coverage-guided), a short run of the
                 bench's soak command, the NEON tests under qemu (linux-arm64), the packed-package consumer test;
                 the last line is "N passed, N failed, N skipped". `test STEP...` runs only the steps named:
                 ctest sanitize fuzz-native managed cuda-emu cli fuzz soak neon-qemu consumer
          demo   16k-token BigBird attention: backend, time, density, speedup over dense, error vs the reference
          bench  the quick benchmark (FMA peak, every backend, ONNX Runtime peers); extra args go to it
          pack   the SparseNative and SparseNative.Cli NuGet packages into artifacts/packages, versioned
                 <version>-dev.<UTC yyyyMMddHHmmss> so that each local pack is newer than the last;
                 `pack --release` gives the plain release version
          clean  remove build/, artifacts/ and the .NET outputs
        environment:
          CONFIGURATION=Release       the .NET configuration (the native library is always Release)
          SPARSENATIVE_SKIP_ARM64=1   no linux-arm64 anything: no cross-compiled library (and no apt-get of the cross
                                      compiler), no NEON tests under qemu, and packages that hold the linux-x64
                                      native library only
        """;

    // The variable that points the managed CUDA backend at a CUDA library: here the CPU-emulated one.
    const string CudaLibraryVariable = "SPARSENATIVE_CUDA_PATH";

    // The test steps, in the order they run; each writes build/test-results/<step>.junit.xml.
    static readonly string[] TestSteps = ["ctest", "sanitize", "fuzz-native", "managed", "cuda-emu", "cli", "fuzz", "soak", "neon-qemu", "consumer"];

    static readonly string Root = RepoRoot();
    static readonly string Config = Environment.GetEnvironmentVariable("CONFIGURATION") is { Length: > 0 } c ? c : "Release";
    static readonly bool SkipArm64 = Environment.GetEnvironmentVariable("SPARSENATIVE_SKIP_ARM64") == "1";
    static readonly string NativeBuild = Path.Combine(Root, "build", "native");
    static readonly string NativeArm64Build = Path.Combine(Root, "build", "native-arm64");
    static readonly string Packages = Path.Combine(Root, "artifacts", "packages");
    static readonly string Results = Path.Combine(Root, "build", "test-results");
    static readonly string Exe = OperatingSystem.IsWindows() ? ".exe" : "";

    public static int Run(string[] args)
    {
        string verb = args.Length > 0 ? args[0] : "test";
        string[] rest = args.Skip(1).ToArray();
        try
        {
            switch (verb)
            {
                case "build": BuildNative(); BuildManaged(); return 0;
                case "test":
                    if (rest.Except(TestSteps).ToArray() is { Length: > 0 } unknown)
                        return Fail($"unknown test step {string.Join(' ', unknown)} (the steps: {string.Join(' ', TestSteps)})");
                    return Test(rest.Length > 0 ? rest : TestSteps);
                case "demo":
                    BuildNative(); BuildManaged();
                    return Exec("dotnet", [$"managed/SparseNative.Cli/bin/{Config}/net10.0/SparseNative.Cli.dll", "demo", .. rest]);
                case "bench":
                    BuildNative(); BuildManaged();
                    return Exec("dotnet", ["run", "-c", Config, "--no-build", "--project", "bench/SparseNative.Bench", "--", "quick", .. rest]);
                case "pack":
                    if (rest.Any(a => a != "--release")) return Fail($"pack takes only --release, not: {string.Join(' ', rest)}");
                    Pack(release: rest.Contains("--release")); return 0;
                case "clean":
                    foreach (var dir in new[] { "build", "artifacts" }) if (Directory.Exists(Path.Combine(Root, dir))) Directory.Delete(Path.Combine(Root, dir), true);
                    Exec("dotnet", ["clean", "SparseNative.sln", "-nologo", "-v", "q"]);
                    return 0;
                case "-h" or "--help" or "help": Console.WriteLine(Usage); return 0;
                default: Console.Error.WriteLine(Usage); return 2;
            }
        }
        catch (StepFailed e) { return Fail(e.Message); }
    }

    static int Fail(string message) { Console.Error.WriteLine($"error: {message}"); return 1; }

    // ---- build steps -------------------------------------------------------------------------------------------

    static void BuildNative()
    {
        Log("native library (CMake, Release)");
        Checked("cmake", ["-S", ".", "-B", NativeBuild, "-DCMAKE_BUILD_TYPE=Release"], quiet: true);
        Checked("cmake", ["--build", NativeBuild, "--config", "Release", "-j", $"{Environment.ProcessorCount}"]);
    }

    // The linux-arm64 library for the NuGet package and the qemu test run (Linux only: it is cross-compiled with gcc).
    static bool BuildNativeArm64()
    {
        if (SkipArm64) { Log("native library for linux-arm64: skipped (SPARSENATIVE_SKIP_ARM64=1)"); return false; }
        if (!OperatingSystem.IsLinux()) { Log("native library for linux-arm64: skipped (cross-compiled on Linux only)"); return false; }
        if (!OnPath("aarch64-linux-gnu-gcc"))
        {
            Log("installing the arm64 cross compiler (apt-get install gcc-aarch64-linux-gnu)");
            AptInstall("gcc-aarch64-linux-gnu");
        }
        Log("native library for linux-arm64 (cross-compiled)");
        Checked("cmake", ["-S", ".", "-B", NativeArm64Build, "-DCMAKE_BUILD_TYPE=Release",
            $"-DCMAKE_TOOLCHAIN_FILE={Path.Combine(Root, "native", "cmake", "aarch64-linux-gnu.cmake")}",
            "-DSPARSENATIVE_BUILD_TESTS=OFF"], quiet: true);
        Checked("cmake", ["--build", NativeArm64Build, "-j", $"{Environment.ProcessorCount}"]);
        return true;
    }

    static void AptInstall(params string[] packages)
    {
        bool root = Capture("id", ["-u"]).Trim() == "0";
        string[] update = ["apt-get", "update", "-qq"];
        string[] install = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", .. packages];
        Checked(root ? update[0] : "sudo", root ? update[1..] : update, quiet: true);
        Checked(root ? install[0] : "sudo", root ? install[1..] : install, quiet: true);
    }

    static void BuildManaged()
    {
        Log($".NET projects ({Config})");
        Checked("dotnet", ["build", "SparseNative.sln", "-c", Config, "-nologo", "-clp:ErrorsOnly"]);
    }

    // The packages: each local pack gets a newer prerelease version, so `dotnet tool update` and a restore never reuse
    // an older build of the same version from the NuGet cache. The version number itself lives in Directory.Build.props.
    static void Pack(bool release)
    {
        BuildNative();
        bool arm64 = BuildNativeArm64();
        string suffix = $"dev.{DateTime.UtcNow:yyyyMMddHHmmss}";
        Log($"NuGet packages -> {Packages}" + (release ? " (release version)" : $" (version suffix -{suffix})"));
        if (Directory.Exists(Packages)) Directory.Delete(Packages, true);
        List<string> props = [];
        if (!release) props.Add($"-p:VersionSuffix={suffix}");
        if (!arm64) props.Add("-p:IncludeLinuxArm64=false");
        foreach (var project in new[] { "managed/SparseNative", "managed/SparseNative.Cli" })
            Checked("dotnet", ["pack", project, "-c", Config, "-nologo", "-clp:ErrorsOnly", "-o", Packages, .. props]);
        if (File.Exists(Path.Combine(NativeBuild, "lib", "libsparsenative_cuda.so")))
            Checked("dotnet", ["pack", "interop/SparseNative.Runtime.Cuda", "-c", Config, "-nologo", "-clp:ErrorsOnly", "-o", Packages, .. props]);
        else
            Console.WriteLine("SparseNative.Runtime.Cuda: not packed (CUDA backend not built: no libsparsenative_cuda.so)");
        foreach (var file in Directory.GetFiles(Packages).Order()) Console.WriteLine(Path.GetFileName(file));
        if (!arm64)
            Console.WriteLine("WARNING: these packages hold the linux-x64 native library only (no linux-arm64: " +
                (SkipArm64 ? "SPARSENATIVE_SKIP_ARM64=1" : "not cross-compiled on this OS") + ").");
    }

    // ---- test ----------------------------------------------------------------------------------------------------

    static int Test(string[] steps)
    {
        var tally = new Tally();
        if (Directory.Exists(Results)) Directory.Delete(Results, true);
        Directory.CreateDirectory(Results);
        try
        {
            BuildNative();
            BuildManaged();
            foreach (var step in TestSteps.Where(steps.Contains)) RunStep(tally, step);
        }
        catch (StepFailed e) { tally.Fail(e.Message); }

        Console.WriteLine();
        foreach (var f in tally.Failures) Console.WriteLine($"FAILED: {f}");
        Console.WriteLine($"{tally.Passed} passed, {tally.Failed} failed, {tally.Skipped} skipped");
        return tally.Failed == 0 && tally.Failures.Count == 0 ? 0 : 1;
    }

    static void RunStep(Tally tally, string step)
    {
        string tests = $"tests/SparseNative.Tests/bin/{Config}/net10.0/SparseNative.Tests{Exe}";
        switch (step)
        {
            case "ctest":
                RunSuite(tally, "CTest: the C library against its own float64 reference", "ctest",
                    ["--test-dir", NativeBuild, "--output-on-failure", "-C", "Release", "--output-junit", ResultFile(step)], step);
                break;
            case "sanitize":
                // The C library's CTest suite (the CUDA validation and emulation tests included) instrumented.
                Sanitized(tally, "address,undefined", "asan", "ASan + UBSan", [], []);
                // TSan is here for the thread pool and the concurrent callers of the C API. The CUDA library is not
                // built: its emulation starts one std::thread per CUDA thread (thousands per launch), far too slow
                // under TSan (it runs under ASan), and its validation test is single-threaded. The AVX2 and baseline
                // kernels share the AVX-512 variant's threading (the pool, dispatch) and run under ASan.
                const string sameThreading = "the same threading as the AVX-512 variant (runs under ASan)";
                Sanitized(tally, "thread", "tsan", "TSan",
                    [("forward_avx2", sameThreading), ("forward_generic", sameThreading),
                     ("backward_avx2", sameThreading), ("backward_generic", sameThreading)],
                    ["-DSPARSENATIVE_CUDA=OFF"]);
                break;
            case "fuzz-native":
                FuzzNative(tally, step);
                break;
            case "managed":
                RunXunit(tally, "managed tests", tests, [], step);
                break;
            case "cuda-emu":
                // The managed CUDA backend end to end against the CUDA sources compiled for the CPU (native/cuda/emu).
                string emu = Path.Combine(NativeBuild, "testlib", "libsparsenative_cuda_emu.so");
                if (File.Exists(emu))
                    RunXunit(tally, "CUDA backend managed tests on the CPU-emulated CUDA library", tests,
                        ["-namespace", "SparseNative.Tests.Cuda"], step, new() { [CudaLibraryVariable] = emu });
                else
                    tally.Skip("CUDA backend managed tests", $"no emulated CUDA library at {emu} (CMake SPARSENATIVE_CUDA=OFF?)");
                break;
            case "cli":
                RunXunit(tally, "command-line tool tests", $"tests/SparseNative.Cli.Tests/bin/{Config}/net10.0/SparseNative.Cli.Tests{Exe}", [], step);
                break;
            case "fuzz":
                // Each managed fuzz harness for a bounded time on its committed corpus, coverage-guided over the
                // instrumented library (docs/RELIABILITY.md).
                RunSuite(tally, "managed fuzz harnesses, coverage-guided, 30 s each on the committed corpus",
                    Path.Combine(InstrumentedFuzzBuild(), $"SparseNative.Fuzz{Exe}"),
                    ["run", "--seconds", "30", "--corpus", "tests/SparseNative.Fuzz/corpus", "--findings", Path.Combine(Results, "fuzz-findings"),
                     "--junit", ResultFile(step)], step, new() { ["DOTNET_GCHeapHardLimit"] = "0x40000000" });
                break;
            case "soak":
                // A short run of the bench's soak command (docs/RELIABILITY.md), so it keeps working; it writes no
                // result file, so its exit code is the one test it counts.
                Log("bench soak command, 2,000 calls");
                int soakRc = Exec($"bench/SparseNative.Bench/bin/{Config}/net10.0/SparseNative.Bench{Exe}", ["soak", "--calls", "2000", "--warmup", "1000", "--checkpoints", "1"]);
                if (soakRc == 0) tally.Passed++;
                else tally.Fail($"bench soak command: exit code {soakRc}");
                break;
            case "neon-qemu":
                if (BuildNativeArm64())
                    RunSuite(tally, "NEON kernel tests: linux-arm64 under qemu", "bash",
                        ["tests/arm64/run-under-qemu.sh", Path.Combine(Root, "build", "arm64-tests"), "-result-junit", ResultFile(step)], step);
                else
                    tally.Skip("NEON kernel tests under qemu", SkipArm64 ? "SPARSENATIVE_SKIP_ARM64=1" : "Linux only");
                break;
            case "consumer":
                // The packages carry the Linux native libraries; the consumer script is bash.
                if (!OperatingSystem.IsLinux()) { tally.Skip("packing and the package consumer test", "Linux only"); break; }
                Pack(release: false);
                RunSuite(tally, "package consumer test (fresh project, local feed)", "bash",
                    ["tests/consumer/run.sh", Packages, ResultFile(step)], step);
                break;
        }
    }

    // The fuzz driver is coverage-guided only over assemblies that the sharpfuzz tool has instrumented: instrument a copy
    // of its build (the tests keep the plain assemblies), with the tool pinned in build/tools.
    static string InstrumentedFuzzBuild()
    {
        string tools = Path.Combine(Root, "build", "tools"), sharpfuzz = Path.Combine(tools, "sharpfuzz" + Exe);
        if (!File.Exists(sharpfuzz))
            Checked("dotnet", ["tool", "install", "SharpFuzz.CommandLine", "--version", "2.3.0", "--tool-path", tools], quiet: true);
        string source = Path.Combine(Root, "tests", "SparseNative.Fuzz", "bin", Config, "net10.0");
        string target = Path.Combine(Root, "build", "fuzz-managed");
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            string copy = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
        foreach (var assembly in new[] { "SparseNative.dll", "SparseNative.Cli.dll" })
            Checked(sharpfuzz, [Path.Combine(target, assembly)], quiet: true);
        return target;
    }

    static string ResultFile(string name) => Path.Combine(Results, name + ".junit.xml");

    // A compiler for the sanitizer and fuzz builds: clang-16 (what .ci/run installs; libFuzzer needs clang), else gcc.
    static (string C, string Cxx)? SanitizerCompiler(bool clangOnly) =>
        OnPath("clang-16") ? ("clang-16", "clang++-16") : clangOnly ? null : OnPath("gcc") ? ("gcc", "g++") : null;

    // The native library and its CTest suite built with -fsanitize=<sanitizers> (RelWithDebInfo, every sanitizer
    // report fatal) in build/native-<name>, then run; `skip` lists tests left out, each with its reason.
    static void Sanitized(Tally tally, string sanitizers, string name, string label, (string Test, string Why)[] skip, string[] cmakeOptions)
    {
        string step = $"sanitize-{name}";
        if (!OperatingSystem.IsLinux()) { tally.Skip($"CTest under {label}", "Linux only"); return; }
        if (SanitizerCompiler(clangOnly: false) is not (string cc, string cxx)) { tally.Skip($"CTest under {label}", "no clang-16 or gcc"); return; }
        string dir = Path.Combine(Root, "build", $"native-{name}");
        Log($"native library and CTest suite under {label} ({cc}, {dir})");
        try
        {
            Checked("cmake", ["-S", ".", "-B", dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo", $"-DCMAKE_C_COMPILER={cc}",
                $"-DCMAKE_CXX_COMPILER={cxx}", $"-DSPARSENATIVE_SANITIZE={sanitizers}", .. cmakeOptions], quiet: true);
            Checked("cmake", ["--build", dir, "-j", $"{Environment.ProcessorCount}"]);
        }
        catch (StepFailed e) { tally.Fail($"CTest under {label}: {e.Message}"); return; }
        // A sanitizer report ends the test process with a non-zero exit code, so CTest records it as a failure.
        // cuda_syntax_check compiles the CUDA sources and runs no library code: nothing for a sanitizer to watch.
        if (!cmakeOptions.Contains("-DSPARSENATIVE_CUDA=OFF"))
            skip = [.. skip, ("cuda_syntax_check", "compiles the CUDA sources; runs no library code")];
        foreach (var (test, why) in skip) tally.Skip($"{test} under {label}", why);
        const string common = "halt_on_error=1:abort_on_error=0:print_stacktrace=1";
        RunSuite(tally, $"CTest under {label}", "ctest",
            ["--test-dir", dir, "--output-on-failure", "-j", $"{Environment.ProcessorCount}", "-E", $"^({string.Join('|', skip.Select(s => s.Test))})$",
             "--output-junit", ResultFile(step)], step,
            new() { ["ASAN_OPTIONS"] = $"{common}:detect_leaks=1:strict_string_checks=1", ["UBSAN_OPTIONS"] = common, ["TSAN_OPTIONS"] = common });
    }

    // The native libFuzzer harnesses (native/fuzz) for 30 s each on their committed corpus, and every committed
    // regression input through its harnesses (native/fuzz/run.sh writes the JUnit file).
    static void FuzzNative(Tally tally, string step)
    {
        const string label = "native fuzz harnesses (libFuzzer, ASan, UBSan): 30 s each, then the regression inputs";
        if (!OperatingSystem.IsLinux()) { tally.Skip(label, "Linux only"); return; }
        if (SanitizerCompiler(clangOnly: true) is not (string cc, string cxx)) { tally.Skip(label, "libFuzzer needs clang-16"); return; }
        string dir = Path.Combine(Root, "build", "native-fuzz");
        Log($"native fuzz harnesses ({cc}, {dir})");
        try
        {
            Checked("cmake", ["-S", ".", "-B", dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo", $"-DCMAKE_C_COMPILER={cc}",
                $"-DCMAKE_CXX_COMPILER={cxx}", "-DSPARSENATIVE_FUZZ=ON", "-DSPARSENATIVE_BUILD_TESTS=OFF"], quiet: true);
            Checked("cmake", ["--build", dir, "-j", $"{Environment.ProcessorCount}"]);
        }
        catch (StepFailed e) { tally.Fail($"{label}: {e.Message}"); return; }
        RunSuite(tally, label, "bash", ["native/fuzz/run.sh", dir, "30", ResultFile(step)], step);
    }

    static void RunXunit(Tally tally, string label, string exe, string[] args, string name, Dictionary<string, string>? env = null) =>
        RunSuite(tally, label, exe, [.. args, "-noColor", "-result-junit", ResultFile(name)], name, env);

    // Runs one test command that writes ResultFile(name) and adds what that file says to the tally. No file, an
    // unreadable file or no test in it is a failure; so is a non-zero exit code when the file names no failed test.
    static void RunSuite(Tally tally, string label, string exe, string[] args, string name, Dictionary<string, string>? env = null)
    {
        Log(label);
        string file = ResultFile(name);
        File.Delete(file);
        int rc = Exec(exe, args, env);
        if (!File.Exists(file)) { tally.Fail($"{label}: no result file {file} (exit code {rc})"); return; }
        Counts counts;
        try { counts = JUnit.Read(file); }
        catch (Exception e) when (e is IOException or System.Xml.XmlException or UnauthorizedAccessException)
        {
            tally.Fail($"{label}: unreadable result file {file}: {e.Message} (exit code {rc})"); return;
        }
        if (counts.Total == 0) { tally.Fail($"{label}: no test ran (exit code {rc})"); return; }
        tally.Passed += counts.Passed; tally.Failed += counts.Failed; tally.Skipped += counts.Skipped;
        if (counts.Failed > 0) tally.Failures.Add($"{label}: {counts.Failed} failed (exit code {rc})");
        else if (rc != 0) tally.Fail($"{label}: exit code {rc} although its results name no failure");
    }

    // ---- processes -----------------------------------------------------------------------------------------------

    sealed class StepFailed(string message) : Exception(message);

    static void Log(string message) => Console.WriteLine($"\n==> {message}");

    static void Checked(string exe, string[] args, bool quiet = false)
    {
        int rc = Exec(exe, args, quiet: quiet);
        if (rc != 0) throw new StepFailed($"{exe} {string.Join(' ', args)} failed with exit code {rc}");
    }

    // Runs a command in the repository root with this console (quiet: its standard output is shown only if it fails).
    static int Exec(string exe, string[] args, Dictionary<string, string>? env = null, bool quiet = false)
    {
        var psi = new ProcessStartInfo(exe) { WorkingDirectory = Root, UseShellExecute = false, RedirectStandardOutput = quiet };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? []) psi.Environment[k] = v;
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new StepFailed($"cannot start {exe}: {e.Message}"); }
        using (p)
        {
            string output = quiet ? p.StandardOutput.ReadToEnd() : "";
            p.WaitForExit();
            if (quiet && p.ExitCode != 0) Console.Write(output);
            return p.ExitCode;
        }
    }

    static string Capture(string exe, string[] args)
    {
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return output;
    }

    static bool OnPath(string exe) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, exe + Exe)));

    static string RepoRoot([CallerFilePath] string thisFile = "") => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, ".."));
}

sealed class Tally
{
    public int Passed, Failed, Skipped;
    public readonly List<string> Failures = [];

    // A failure that no result file counts (a build that failed, a step without results): one failed test.
    public void Fail(string why) { Failed++; Failures.Add(why); }

    public void Skip(string what, string why)
    {
        Console.WriteLine($"\n==> {what}: skipped ({why})");
        Skipped++;
    }
}

readonly record struct Counts(int Passed, int Failed, int Skipped)
{
    public int Total => Passed + Failed + Skipped;
}

// JUnit XML as xunit.v3 (-result-junit), CTest (--output-junit) and tests/consumer write it: every <testcase> counts
// once, as failed when it holds <failure> or <error>, as skipped when it holds <skipped>, as passed otherwise.
static class JUnit
{
    public static Counts Read(string file)
    {
        var cases = XDocument.Load(file).Descendants("testcase").ToList();
        int failed = cases.Count(c => c.Element("failure") != null || c.Element("error") != null);
        int skipped = cases.Count(c => c.Element("failure") == null && c.Element("error") == null && c.Element("skipped") != null);
        return new Counts(cases.Count - failed - skipped, failed, skipped);
    }
}
