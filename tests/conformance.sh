#!/usr/bin/env bash
# Runs the official MCP conformance suites (pinned in tests/node/package.json)
# against the real binary serving the `conformance` set, and appends one line
# "<suite> <passed> <failed>" per suite to $3, counting scenarios: a scenario
# passes when none of its checks failed.
#
#   tests/conformance.sh NODE MCPVISOR_BIN RESULTS_FILE [LOG_DIR]
#
# Every scenario that runs is counted, also those the suite itself lists as
# "not scored" for a revision (the tasks extension's, and pending ones).
set -uo pipefail
node=$1
bin=$2
results=$3
logs=${4:-/tmp}
here=$(cd "$(dirname "$0")" && pwd)
pkg="$here/node/node_modules"

# shellcheck source=tests/start_server.sh
. "$here/start_server.sh"
start_server conformance-server "$logs/conformance-server.log" --tools conformance

# run_suite NAME PACKAGE ARGS...: counts ✓/✗ scenario lines of the summary
run_suite() {
  local name=$1 package=$2
  shift 2
  local log="$logs/$name.log"
  timeout 900 "$node" "$pkg/$package/dist/index.js" server --url "$url" "$@" > "$log" 2>&1
  local rc=$?
  local passed=0 failed=0
  while read -r line; do
    local mark=${line%% *}
    local scenario
    scenario=$(echo "$line" | sed -E 's/^[✓✗] ([^:]+):.*/\1/')
    if [ "$mark" = "✓" ]; then passed=$((passed + 1)); else
      failed=$((failed + 1)); echo "  FAILED: $name $scenario" >&2; fi
  done < <(grep -E '^[✓✗] [^ ]+: [0-9]+ passed, [0-9]+ failed' "$log")
  if [ $((passed + failed)) -eq 0 ]; then
    echo "  $name: no scenario ran (exit $rc); see $log" >&2
    failed=1
  fi
  echo "$name $passed $failed" >> "$results"
  printf '%-28s %4s passed, %s failed\n' "$name" "$passed" "$failed"
}

run_suite conformance-0.1.16 conformance-0.1.16 --suite all
run_suite conformance-2025-11-25 conformance-0.2.0-alpha.12 --requirements 2025-11-25
run_suite conformance-2026-07-28 conformance-0.2.0-alpha.12 --requirements 2026-07-28
