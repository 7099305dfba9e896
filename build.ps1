#!/usr/bin/env pwsh
# SparseNative's one command for every job, for Windows users (and PowerShell anywhere); mirrors build.sh.
# Usage: ./build.ps1 [build|test|demo|bench|pack|clean] [extra args]
#   build  native library (CMake, Release) + every .NET project
#   test   build, then CTest, the managed tests, the NEON tests under qemu (Linux only), the package consumer test;
#          ends with "N passed, N failed, N skipped"
#   demo   16k-token BigBird attention: backend, time, density, speedup over dense, error vs the reference
#   bench  the quick benchmark; extra args go to it
#   pack   NuGet packages into artifacts/packages
# Environment: CONFIGURATION (Release), SPARSENATIVE_SKIP_ARM64=1 skips the qemu run.
param([string]$Verb = 'test', [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest = @())
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$Root = $PSScriptRoot
$Config = if ($env:CONFIGURATION) { $env:CONFIGURATION } else { 'Release' }
$NativeBuild = Join-Path $Root 'build/native'
$NativeArm64Build = Join-Path $Root 'build/native-arm64'
$Artifacts = Join-Path $Root 'artifacts'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'; $env:DOTNET_NOLOGO = '1'
$IsLinuxHost = $IsLinux
# The native library's file name per OS (CMake's default naming).
$NativeName = if ($IsWindows) { 'sparsenative.dll' } elseif ($IsMacOS) { 'libsparsenative.dylib' } else { 'libsparsenative.so' }

$script:Passed = 0; $script:Failed = 0; $script:Skipped = 0; $script:Failures = @()

function Log([string]$m) { Write-Host "`n==> $m" }
function Invoke-Checked([string]$exe, [string[]]$argv) {
  & $exe @argv
  if ($LASTEXITCODE -ne 0) { throw "$exe $($argv -join ' ') failed with exit code $LASTEXITCODE" }
}

function Build-Native {
  Log 'native library (CMake, Release)'
  Invoke-Checked cmake @('-S', '.', '-B', $NativeBuild, '-DCMAKE_BUILD_TYPE=Release')
  Invoke-Checked cmake @('--build', $NativeBuild, '--config', 'Release', '-j', [Environment]::ProcessorCount)
}

function Build-NativeArm64 {
  if (-not $IsLinuxHost) { return }
  if (-not (Get-Command aarch64-linux-gnu-gcc -ErrorAction SilentlyContinue)) { Install-Apt @('gcc-aarch64-linux-gnu') }
  Log 'native library for linux-arm64 (cross-compiled)'
  Invoke-Checked cmake @('-S', '.', '-B', $NativeArm64Build, '-DCMAKE_BUILD_TYPE=Release',
    "-DCMAKE_TOOLCHAIN_FILE=$Root/native/cmake/aarch64-linux-gnu.cmake", '-DSPARSENATIVE_BUILD_TESTS=OFF')
  Invoke-Checked cmake @('--build', $NativeArm64Build, '-j', [Environment]::ProcessorCount)
}

function Install-Apt([string[]]$packages) {
  $sudo = if ((& id -u) -eq '0') { @() } else { @('sudo') }
  & @sudo apt-get update -qq | Out-Null
  $env:DEBIAN_FRONTEND = 'noninteractive'
  & @sudo apt-get install -y -qq @packages | Out-Null
}

function Build-Managed {
  Log ".NET projects ($Config)"
  Invoke-Checked dotnet @('build', 'SparseNative.sln', '-c', $Config, '-nologo', '-clp:ErrorsOnly')
}

# Runs a test command, echoes its output, and adds its counts (xunit.v3 summary or "N passed, N failed, N skipped").
function Invoke-Suite([string]$label, [string]$exe, [string[]]$argv) {
  Log $label
  $lines = & $exe @argv 2>&1 | ForEach-Object { "$_" } | Tee-Object -Variable captured
  $lines | Out-Host
  $rc = $LASTEXITCODE
  $text = ($captured -join "`n")
  $m = [regex]::Matches($text, 'Total: (\d+), Errors: (\d+), Failed: (\d+), Skipped: (\d+), Not Run: (\d+)')
  if ($m.Count -gt 0) {
    $g = $m[$m.Count - 1].Groups
    $total = [int]$g[1].Value; $errors = [int]$g[2].Value; $failed = [int]$g[3].Value; $skipped = [int]$g[4].Value; $notrun = [int]$g[5].Value
  } else {
    $p = [regex]::Matches($text, '(\d+) passed, (\d+) failed(, (\d+) skipped)?')
    if ($p.Count -eq 0) { $script:Failed++; $script:Failures += "${label}: no test summary (exit code $rc)"; return }
    $g = $p[$p.Count - 1].Groups
    $skipped = if ($g[4].Success) { [int]$g[4].Value } else { 0 }
    $failed = [int]$g[2].Value; $errors = 0; $notrun = 0; $total = [int]$g[1].Value + $failed + $skipped
  }
  $script:Passed += $total - $failed - $skipped - $notrun
  $script:Failed += $failed + $errors
  $script:Skipped += $skipped + $notrun
  if ($rc -ne 0 -or $failed -ne 0 -or $errors -ne 0) { $script:Failures += "$label (exit code $rc)" }
}

function Invoke-CTest {
  Log 'CTest: the C library against its own float64 reference'
  $captured = & ctest --test-dir $NativeBuild --output-on-failure -C Release 2>&1 | ForEach-Object { "$_" }
  $captured | Out-Host
  $rc = $LASTEXITCODE
  $m = [regex]::Match(($captured -join "`n"), '(\d+) tests failed out of (\d+)')
  if (-not $m.Success) { $script:Failed++; $script:Failures += "ctest: no summary (exit code $rc)"; return }
  $failed = [int]$m.Groups[1].Value; $total = [int]$m.Groups[2].Value
  $script:Passed += $total - $failed; $script:Failed += $failed
  if ($rc -ne 0) { $script:Failures += "ctest (exit code $rc)" }
}

function Invoke-Pack {
  if (-not (Test-Path (Join-Path $NativeBuild "lib/$NativeName"))) { Build-Native }
  $packArgs = @('pack', 'SparseNative.sln', '-c', $Config, '-nologo', '-clp:ErrorsOnly', '-o', "$Artifacts/packages")
  if ($IsLinuxHost) {
    if (-not (Test-Path "$NativeArm64Build/lib/libsparsenative.so")) { Build-NativeArm64 }
    $packArgs += @("-p:NativeLinuxX64=$NativeBuild/lib/libsparsenative.so", "-p:NativeLinuxArm64=$NativeArm64Build/lib/libsparsenative.so")
  }
  Log 'NuGet packages -> artifacts/packages'
  Remove-Item -Recurse -Force "$Artifacts/packages" -ErrorAction SilentlyContinue
  Invoke-Checked dotnet $packArgs
  if (Test-Path "$NativeBuild/lib/libsparsenative_cuda.so") {
    Invoke-Checked dotnet @('pack', 'interop/SparseNative.Runtime.Cuda', '-c', $Config, '-nologo', '-clp:ErrorsOnly', '-o', "$Artifacts/packages")
  } else { Write-Host 'SparseNative.Runtime.Cuda: not packed (CUDA backend not built: no libsparsenative_cuda.so)' }
  Get-ChildItem "$Artifacts/packages" | ForEach-Object { $_.Name }
}

function Invoke-Tests {
  Build-Native
  Build-Managed
  Invoke-CTest
  $ext = if ($IsWindows) { '.exe' } else { '' }
  Invoke-Suite 'managed tests' "tests/SparseNative.Tests/bin/$Config/net10.0/SparseNative.Tests$ext" @()
  # The managed CUDA backend end to end against the CUDA sources compiled for the CPU (native/cuda/emu): no GPU needed.
  $emu = Join-Path $NativeBuild 'testlib/libsparsenative_cuda_emu.so'
  if (Test-Path $emu) {
    $env:SPARSENATIVE_CUDA_PATH = $emu
    try { Invoke-Suite 'CUDA backend managed tests on the CPU-emulated CUDA library' "tests/SparseNative.Tests/bin/$Config/net10.0/SparseNative.Tests$ext" @('-namespace', 'SparseNative.Tests.Cuda') }
    finally { Remove-Item Env:SPARSENATIVE_CUDA_PATH }
  }
  if (Test-Path 'tests/SparseNative.Cli.Tests') {
    Invoke-Suite 'command-line tool tests' "tests/SparseNative.Cli.Tests/bin/$Config/net10.0/SparseNative.Cli.Tests$ext" @()
  }
  if (-not $IsLinuxHost -or $env:SPARSENATIVE_SKIP_ARM64 -eq '1') {
    Log 'linux-arm64 (NEON) tests under qemu: skipped (Linux only, or SPARSENATIVE_SKIP_ARM64=1)'; $script:Skipped++
  } else {
    Build-NativeArm64
    Invoke-Suite 'NEON kernel tests: linux-arm64 under qemu' 'bash' @('tests/arm64/run-under-qemu.sh')
  }
  Invoke-Pack
  if ($IsLinuxHost) {
    Invoke-Suite 'package consumer test (fresh project, local feed)' 'bash' @('tests/consumer/run.sh', "$Artifacts/packages")
  } else {
    Log 'package consumer test: skipped (its script is bash)'; $script:Skipped++
  }
  Write-Host ''
  foreach ($f in $script:Failures) { Write-Host "FAILED: $f" }
  Write-Host "$($script:Passed) passed, $($script:Failed) failed, $($script:Skipped) skipped"
  if ($script:Failed -ne 0 -or $script:Failures.Count -ne 0) { exit 1 }
}

switch ($Verb) {
  'build' { Build-Native; Build-Managed }
  'test' { Invoke-Tests }
  'demo' { Build-Native; Build-Managed; Invoke-Checked dotnet (@("managed/SparseNative.Cli/bin/$Config/net10.0/SparseNative.Cli.dll", 'demo') + $Rest) }
  'bench' { Build-Native; Build-Managed; Invoke-Checked dotnet (@('run', '-c', $Config, '--no-build', '--project', 'bench/SparseNative.Bench', '--', 'quick') + $Rest) }
  'pack' { Build-Native; Build-Managed; Invoke-Pack }
  'clean' { Remove-Item -Recurse -Force build, artifacts -ErrorAction SilentlyContinue; dotnet clean SparseNative.sln -nologo -v q | Out-Null }
  default { Write-Error "usage: ./build.ps1 [build|test|demo|bench|pack|clean]"; exit 2 }
}
