#!/usr/bin/env bash
# A one-second round of `loadtest/peers.sh floor` (nginx and mcpvisor's
# JSON, SSE, stateless, padded session and sharing rows under wrk): every
# row must be measured and every answer must be a 200. It checks that the
# benchmark runs, never speed. Appends "floor-smoke <passed> <failed>" to
# $1, one test case per row.
#
#   tests/floor_smoke.sh RESULTS_FILE [LOG_DIR]
set -uo pipefail
results=$1
logs=${2:-/tmp}
log="$logs/floor-smoke.log"
cd "$(dirname "$0")/.."
timeout 300 loadtest/peers.sh floor 1 1 > "$log" 2>&1
rc=$?
passed=0
failed=0
for row in "nginx, one worker" "mcpvisor, JSON answer" "mcpvisor, SSE answer" \
           "mcpvisor, stateless" "session, stateless's request" "mcpvisor on CAF sharing"; do
  # the non-2xx column is the 7th field from the end of the row's numbers
  line=$(grep -F "$row" "$log" | tail -n 1)
  bad=$(echo "$line" | awk '{for (i = NF; i > 0; i--) if ($i ~ /^[0-9]+$/) {print $i; exit}}')
  if [ "$rc" -eq 0 ] && [ -n "$line" ] && [ "$bad" = 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "floor-smoke: row '$row' failed (exit $rc): ${line:-missing}" >&2
  fi
done
[ "$failed" -ne 0 ] && tail -n 20 "$log" >&2
echo "floor-smoke $passed $failed" >> "$results"
printf '%-28s %4s passed, %s failed\n' floor-smoke "$passed" "$failed"
