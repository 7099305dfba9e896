#!/usr/bin/env bash
# SparseNative's one command for every job: ./build.sh [build|test|demo|bench|pack|clean] [args]; ./build.sh help
# lists the verbs and the environment variables (CONFIGURATION, SPARSENATIVE_SKIP_ARM64).
# The steps live in eng/build.cs, a C# file-based app that the .NET SDK compiles on first use; build.ps1 starts the
# same file, so the two scripts cannot drift. Nothing but the start belongs here.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
exec dotnet run --file eng/build.cs -- "$@"
