#!/usr/bin/env bash
# Runs each libFuzzer harness of a SPARSENATIVE_FUZZ=ON build for SECONDS on a copy of its committed corpus, then
# every input in native/fuzz/regressions/ through the harnesses it belongs to (by name: forward-* through
# fuzz_forward and fuzz_cuda, which fuzzes the same inputs; merge-* through fuzz_merge; cuda-* through fuzz_cuda),
# and writes one JUnit file: one test case per campaign and per regression input; a crash, leak, timeout or
# failed check is a failure with the log's tail.
#   native/fuzz/run.sh BUILD_DIR SECONDS RESULT.junit.xml
set -uo pipefail
build=$1 seconds=$2 result=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
cases="" failures=0 total=0

# record NAME RC ELAPSED LOG: one <testcase>, failed when RC is not 0.
record() {
  local name=$1 rc=$2 elapsed=$3 log=$4
  total=$((total + 1))
  if [ "$rc" -ne 0 ]; then
    failures=$((failures + 1))
    tail -n 40 "$log"
    local detail
    detail=$(tail -n 40 "$log" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g; s/"/\&quot;/g')
    cases+="<testcase classname=\"fuzz\" name=\"$name\" time=\"$elapsed\"><failure message=\"exit $rc\">$detail</failure></testcase>"
  else
    cases+="<testcase classname=\"fuzz\" name=\"$name\" time=\"$elapsed\"/>"
  fi
}

harnesses_for() {
  case "$1" in
    forward-*) echo fuzz_forward fuzz_cuda ;;
    merge-*) echo fuzz_merge ;;
    cuda-*) echo fuzz_cuda ;;
    *) echo "" ;;
  esac
}

for harness in fuzz_forward fuzz_merge fuzz_cuda; do
  exe="$build/fuzz/$harness"
  [ -x "$exe" ] || continue
  mkdir -p "$work/$harness"
  cp "$here/corpus/$harness"/* "$work/$harness/"
  start=$(date +%s)
  "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
         -artifact_prefix="$work/crash-$harness-" "$work/$harness" > "$work/$harness.log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  stats=$(grep -E "^stat::number_of_executed_units" "$work/$harness.log" | awk '{print $2}')
  echo "$harness: exit $rc, ${stats:-0} executions in ${elapsed}s"
  record "$harness" "$rc" "$elapsed" "$work/$harness.log"
done

for input in "$here"/regressions/*; do
  [ -f "$input" ] || continue
  name=$(basename "$input")
  owners=$(harnesses_for "$name")
  if [ -z "$owners" ]; then
    echo "regression $name: no harness (name it forward-*, merge-* or cuda-*)" > "$work/unowned.log"
    record "regression/$name" 1 0 "$work/unowned.log"
    continue
  fi
  for harness in $owners; do
    exe="$build/fuzz/$harness"
    [ -x "$exe" ] || continue
    "$exe" -timeout=10 -rss_limit_mb=2048 "$input" > "$work/regression.log" 2>&1
    rc=$?
    echo "$harness regression $name: exit $rc"
    record "$harness/regression/$name" "$rc" 0 "$work/regression.log"
  done
done

printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="fuzz" tests="%d" failures="%d">%s</testsuite>\n' \
  "$total" "$failures" "$cases" > "$result"
rm -rf "$work"
[ "$failures" -eq 0 ] && [ "$total" -gt 0 ]
