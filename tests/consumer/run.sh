#!/usr/bin/env bash
# The package consumer test: a fresh console project, outside the solution, restores the just-packed SparseNative
# package from a local folder feed and runs attention through Auto and through the native C backend, checking the
# result against a float64 computation of its own, and writes a JUnit result file when given one.
# Usage: tests/consumer/run.sh <folder with the .nupkg files> [results.junit.xml]
set -euo pipefail
feed=$(readlink -f "$1")
result=${2:+$(readlink -m "$2")}
here=$(dirname "$(readlink -f "$0")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=$(ls "$feed"/SparseNative.[0-9]*.nupkg | grep -v symbols | head -n 1 | sed -E 's/.*SparseNative\.([0-9][^/]*)\.nupkg/\1/')
cp "$here/Program.cs" "$work/"
# A console project referencing the given packages ("Id Version" pairs).
project() {
  local file=$1
  shift
  {
    cat <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
  </PropertyGroup>
  <ItemGroup>
XML
    while [ $# -gt 0 ]; do echo "    <PackageReference Include=\"$1\" Version=\"$2\" />"; shift 2; done
    printf '  </ItemGroup>\n</Project>\n'
  } > "$file"
}
project "$work/Consumer.csproj" SparseNative "$version"
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="sparsenative-local" value="$feed" />
  </packageSources>
</configuration>
XML
# A private package folder: the NuGet cache would otherwise serve an older build of the same version.
cd "$work"
dotnet run -c Release -p:RestorePackagesPath="$work/packages" --property:NuGetAudit=false -- ${result:+"$result"}

# SparseNative.OnnxRuntime: a second fresh project with ONNX Runtime's own package, registering the op library.
if ls "$feed"/SparseNative.OnnxRuntime.[0-9]*.nupkg >/dev/null 2>&1; then
  mkdir -p "$work/ort"
  cp "$here/ort/Program.cs" "$work/ort/"
  cp "$work/nuget.config" "$work/ort/"
  project "$work/ort/ConsumerOrt.csproj" SparseNative.OnnxRuntime "$version" Microsoft.ML.OnnxRuntime 1.31.1 \
    OnnxSharp 0.3.2 Google.Protobuf 3.36.2
  cd "$work/ort"
  dotnet run -c Release -p:RestorePackagesPath="$work/packages" --property:NuGetAudit=false -- ${result:+"$result"}
fi
