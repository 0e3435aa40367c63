#!/usr/bin/env bash
# A small run of every mcpvisor-load scenario against the real binary, on
# 127.0.0.1: each run must see every request answered and no error (the load
# tool exits non-zero otherwise). It checks correctness, never speed. Appends
# "load-smoke <passed> <failed>" to $3, one test case per scenario.
#
#   tests/load_smoke.sh MCPVISOR_BIN LOAD_BIN RESULTS_FILE [LOG_DIR]
set -uo pipefail
bin=$1
load=$2
results=$3
logs=${4:-/tmp}

# shellcheck source=tests/start_server.sh
. "$(dirname "$0")/start_server.sh"
start_server load-smoke "$logs/load-smoke-server.log"

passed=0
failed=0
# check NAME ARGS...: one scenario run; its report goes to the log
check() {
  local name=$1
  shift
  local log="$logs/load-smoke-$name.log"
  if timeout 120 "$load" --url "$url" --server-pid "$server" --show-errors 5 "$@" \
       > "$log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "load-smoke $name failed:" >&2
    tail -n 25 "$log" >&2
  fi
}

check calls-json --scenario calls --mode json --concurrency 8 --duration 2 --warmup 0.5
check calls-sse --scenario calls --mode sse --concurrency 8 --duration 2 --warmup 0.5
check calls-stateless --scenario calls --mode stateless --concurrency 8 --duration 2 --warmup 0.5
check calls-open-loop --scenario calls --rate 2000 --concurrency 16 --duration 2 --warmup 0.5
check sessions --scenario sessions --sessions 2000 --connections 8 --hold 1
check connections --scenario connections --connections 3000 --procs 3 --hold 1
check soak --scenario soak --concurrency 4 --duration 4 --sample-every 1 --warmup 0.5
check websocket --scenario websocket --concurrency 4 --pipeline 8 --duration 2 --warmup 0.5

# the server lived through all of it
if ! kill -0 "$server" 2>/dev/null; then
  echo "load-smoke: the server died; see $logs/load-smoke-server.log" >&2
  failed=$((failed + 1))
fi
echo "load-smoke $passed $failed" >> "$results"
printf '%-28s %4s passed, %s failed\n' load-smoke "$passed" "$failed"
