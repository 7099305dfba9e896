using System.Runtime.CompilerServices;

// Every signature in this assembly is blittable (pointers, ints, floats, blittable structs), so runtime
// marshalling is switched off: a non-blittable signature added by mistake fails to compile instead of
// silently paying for (or getting wrong) a marshalling stub.
[assembly: DisableRuntimeMarshalling]

// The loader's probe order and ABI contracts are tested directly (tests/SparseNative.Tests/Native).
[assembly: InternalsVisibleTo("SparseNative.Tests")]

// SparseNative.OnnxRuntime probes for its op library with the same NativeLibraryProbe.
[assembly: InternalsVisibleTo("SparseNative.OnnxRuntime")]
