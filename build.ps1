#!/usr/bin/env pwsh
# SparseNative's one command for every job, for Windows users (and PowerShell anywhere): the same verbs and
# environment variables as build.sh; ./build.ps1 help lists them.
# The steps live in eng/build.cs, a C# file-based app that the .NET SDK compiles on first use; build.sh starts the
# same file, so the two scripts cannot drift. Nothing but the start belongs here.
$ErrorActionPreference = 'Stop'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'; $env:DOTNET_NOLOGO = '1'; $env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'
Push-Location $PSScriptRoot
try { & dotnet run --file eng/build.cs -- @args; $rc = $LASTEXITCODE }
finally { Pop-Location }
exit $rc
