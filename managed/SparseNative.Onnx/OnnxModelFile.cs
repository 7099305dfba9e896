using Google.Protobuf;
using Onnx;

namespace SparseNative.Onnx;

/// <summary>Reads and writes .onnx files, keeping tensors stored as external data (weights beside the model file)
/// where they are: the references are kept as written, and the files they name are copied beside the output when it
/// goes to another folder.</summary>
public static class OnnxModelFile
{
    /// <summary>Reads a model; external data stays in its files (not loaded).</summary>
    public static ModelProto Read(string path)
    {
        using var stream = File.OpenRead(path);
        // ONNX models may exceed protobuf's default 100 MB nesting/size limits only in depth, never in recursion;
        // the default parser reads any size.
        return ModelProto.Parser.ParseFrom(stream);
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/>; external data files named by the model and
    /// found beside <paramref name="sourcePath"/> are copied beside the output when the folders differ.</summary>
    public static void Write(ModelProto model, string path, string? sourcePath = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        string outDir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        Directory.CreateDirectory(outDir);
        if (sourcePath != null)
        {
            string inDir = Path.GetDirectoryName(Path.GetFullPath(sourcePath)) ?? ".";
            if (!string.Equals(inDir, outDir, StringComparison.Ordinal))
            {
                foreach (string location in ExternalDataFiles(model))
                {
                    if (Path.IsPathRooted(location) || location.Split('/', '\\').Contains(".."))
                        throw new InvalidDataException($"external data location '{location}' must be a path relative to the model's folder");
                    string from = Path.Combine(inDir, location), to = Path.Combine(outDir, location);
                    if (!File.Exists(from)) throw new FileNotFoundException($"external data file '{location}' named by the model is missing", from);
                    Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                    File.Copy(from, to, overwrite: true);
                }
            }
        }
        using var stream = File.Create(path);
        model.WriteTo(stream);
    }

    /// <summary>The distinct files named by the model's external-data tensors (initializers, also in subgraphs).</summary>
    public static IReadOnlyList<string> ExternalDataFiles(ModelProto model)
    {
        var files = new SortedSet<string>(StringComparer.Ordinal);
        void Visit(GraphProto graph)
        {
            foreach (TensorProto t in graph.Initializer) Add(t);
            foreach (NodeProto node in graph.Node)
                foreach (AttributeProto a in node.Attribute)
                {
                    if (a.T != null) Add(a.T);
                    foreach (TensorProto t in a.Tensors) Add(t);
                    if (a.G != null) Visit(a.G);
                    foreach (GraphProto g in a.Graphs) Visit(g);
                }
        }
        void Add(TensorProto t)
        {
            if (t.DataLocation != TensorProto.Types.DataLocation.External) return;
            foreach (StringStringEntryProto e in t.ExternalData)
                if (e.Key == "location") files.Add(e.Value);
        }
        if (model.Graph != null) Visit(model.Graph);
        return files.ToList();
    }
}
