#!/usr/bin/env bash
# Runs every fuzz target of build-fuzz/ for SECONDS seconds each (default
# 60) over its seed corpus, and fails on any finding. New inputs go to a
# scratch folder, findings to build-fuzz/findings/: a finding becomes a
# regression input by copying it into tests/fuzz/corpus/<target>/.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(ls tests/fuzz/corpus))
fi
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/tests/ubsan.supp"
mkdir -p build-fuzz/findings
failed=0
for t in "${targets[@]}"; do
  bin="build-fuzz/tests/fuzz/${t}_fuzz"
  scratch=$(mktemp -d)
  log="build-fuzz/findings/$t.log"
  # -rss_limit_mb: a target that keeps more than this is a finding too
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/findings/$t-" \
    "$scratch" "tests/fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  if [ $rc -ne 0 ]; then
    failed=$((failed + 1))
    echo "$t: FINDING after ${runs:-?} runs (build-fuzz/findings/$t-*)" >&2
    grep -E 'ERROR|runtime error|SUMMARY' "$log" | head -n 5 >&2
  fi
  printf '%-16s %s runs in %ss, exit %s\n' "$t" "${runs:-?}" "$seconds" "$rc"
  rm -rf "$scratch"
done
exit $((failed > 0))
