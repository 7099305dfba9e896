#!/usr/bin/env bash
# Runs each libFuzzer harness of a SPARSENATIVE_FUZZ=ON build for SECONDS on a copy of its committed corpus and
# writes one JUnit file (one test case per harness; a crash, leak or timeout is a failure with the log's tail).
#   native/fuzz/run.sh BUILD_DIR SECONDS RESULT.junit.xml
set -uo pipefail
build=$1 seconds=$2 result=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
cases="" failures=0 total=0
for harness in fuzz_forward fuzz_merge fuzz_cuda; do
  exe="$build/fuzz/$harness"
  [ -x "$exe" ] || continue
  total=$((total + 1))
  mkdir -p "$work/$harness"
  cp "$here/corpus/$harness"/* "$work/$harness/"
  start=$(date +%s)
  "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
         -artifact_prefix="$work/crash-$harness-" "$work/$harness" > "$work/$harness.log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  stats=$(grep -E "^stat::number_of_executed_units" "$work/$harness.log" | awk '{print $2}')
  echo "$harness: exit $rc, ${stats:-0} executions in ${elapsed}s"
  if [ $rc -ne 0 ]; then
    failures=$((failures + 1))
    tail -n 40 "$work/$harness.log"
    detail=$(tail -n 40 "$work/$harness.log" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g')
    cases+="<testcase classname=\"fuzz\" name=\"$harness\" time=\"$elapsed\"><failure message=\"exit $rc\">$detail</failure></testcase>"
  else
    cases+="<testcase classname=\"fuzz\" name=\"$harness\" time=\"$elapsed\"/>"
  fi
done
printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="fuzz" tests="%d" failures="%d">%s</testsuite>\n' \
  "$total" "$failures" "$cases" > "$result"
rm -rf "$work"
[ "$failures" -eq 0 ] && [ "$total" -gt 0 ]
