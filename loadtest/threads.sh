#!/usr/bin/env bash
# Measures calls/s, p50/p99 and server CPU per call for each combination of
# CAF scheduler threads, scheduler policy (io: the actors on the I/O threads,
# whatever the scheduler threads say) and Asio I/O threads, with the load
# generator on the same machine. Configurations are interleaved round by round
# so that drift on a shared machine hits them all alike; the table shows the
# median over the rounds.
#
#   loadtest/threads.sh [build-dir] [rounds] [seconds] [mode]
#
# Defaults: build, 3 rounds, 5 s per run, json answers.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
secs=${3:-5}
mode=${4:-json}
port=18181
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

configs=(
  "1 io 1" "1 io 2"
  "1 sharing 1" "1 sharing 2" "2 sharing 1" "2 sharing 2"
  "1 stealing 2" "2 stealing 1" "2 stealing 2"
)

for r in $(seq 1 "$rounds"); do
  for c in "${configs[@]}"; do
    read -r sched policy io <<< "$c"
    "$build/mcpvisor" --listen "127.0.0.1:$port" --tools default \
      --scheduler-threads "$sched" --scheduler-policy "$policy" \
      --io-threads "$io" 2> "$out/server.log" &
    pid=$!
    for _ in $(seq 1 50); do
      grep -q "ready" "$out/server.log" 2>/dev/null && break
      sleep 0.1
    done
    "$build/loadtest/mcpvisor-load" --url "http://127.0.0.1:$port/mcp" \
      --mode "$mode" --duration "$secs" --server-pid "$pid" \
      --json "$out/${sched}_${policy}_${io}_$r.json" > /dev/null
    kill "$pid"
    wait "$pid" || true
  done
done

python3 - "$out" "$rounds" "${configs[@]}" <<'EOF'
import json, statistics, sys
out, rounds, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print(f"{'sched':>5} {'policy':>8} {'io':>3} {'calls/s':>9} {'p50 µs':>8} "
      f"{'p99 µs':>8} {'cpu µs/call':>11}")
for c in configs:
    s, p, i = c.split()
    runs = [json.load(open(f"{out}/{s}_{p}_{i}_{r}.json"))
            for r in range(1, rounds + 1)]
    med = lambda k: statistics.median(float(x[k]) for x in runs)
    print(f"{s:>5} {p:>8} {i:>3} {med('calls_per_s'):>9.0f} {med('p50_us'):>8.1f} "
          f"{med('p99_us'):>8.1f} {med('server_cpu_us_per_call'):>11.2f}")
EOF
