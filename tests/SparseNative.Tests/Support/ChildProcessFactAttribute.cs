using System.Runtime.CompilerServices;
using Xunit;
using Xunit.Sdk;
using Xunit.v3;

namespace SparseNative.Tests;

/// <summary>
/// A fact that exists only inside a child process started by <see cref="ChildTestProcess"/> (or a script that sets up the
/// same state, like tests/arm64/run-under-qemu.sh): it is discovered only when <see cref="Variable"/> is set, so a normal
/// run neither runs nor lists it — not even as a skip — while the parent test that starts the child still fails when
/// the child's checks do.
/// </summary>
[XunitTestCaseDiscoverer(typeof(ChildProcessFactDiscoverer))]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class ChildProcessFactAttribute(
    string variable, [CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
    : FactAttribute(sourceFilePath, sourceLineNumber)
{
    /// <summary>The environment variable through which the parent tells the child what to expect.</summary>
    public string Variable { get; } = variable;
}

/// <summary>Discovers a <see cref="ChildProcessFactAttribute"/> test like a fact when its variable is set, else not at all.</summary>
public sealed class ChildProcessFactDiscoverer : FactDiscoverer
{
    public override ValueTask<IReadOnlyCollection<IXunitTestCase>> Discover(
        ITestFrameworkDiscoveryOptions discoveryOptions, IXunitTestMethod testMethod, IFactAttribute factAttribute) =>
        factAttribute is ChildProcessFactAttribute { Variable: var variable } && Environment.GetEnvironmentVariable(variable) is null
            ? new([])
            : base.Discover(discoveryOptions, testMethod, factAttribute);
}
