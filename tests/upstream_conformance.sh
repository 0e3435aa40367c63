#!/usr/bin/env bash
# The official conformance suite (0.1.16, --suite all) against
# @modelcontextprotocol/server-everything on its own (its Streamable HTTP
# transport) and against mcpvisor fronting the same server over stdio (no
# name prefix, so the suite finds the names it asks for). Every scenario the
# server passes on its own must pass through mcpvisor too. Appends
# "upstream-conformance <passed> <failed>" to RESULTS, counting the
# scenarios the server passes alone.
#
#   tests/upstream_conformance.sh NODE MCPVISOR_BIN RESULTS_FILE LOG_DIR
set -uo pipefail
node=$1
bin=$2
results=$3
logs=$4
here=$(cd "$(dirname "$0")" && pwd)
pkg="$here/node/node_modules"
suite="$pkg/conformance-0.1.16/dist/index.js"
everything="$pkg/@modelcontextprotocol/server-everything/dist/index.js"
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$work"' EXIT

scenarios() { # LOG -> "name ✓|✗" lines
  grep -E '^[✓✗] [^ ]+: [0-9]+ passed, [0-9]+ failed' "$1" \
    | sed -E 's/^([✓✗]) ([^:]+):.*/\2 \1/' | sort
}

port=$(shuf -i 20000-32000 -n 1)
(cd "$here/../loadtest/peers" 2>/dev/null || cd "$here"; \
 PORT=$port exec "$node" --import "$here/../loadtest/peers/bind-loopback.mjs" "$everything" streamableHttp) \
  > "$logs/upstream-everything.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  (exec 3<> "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
timeout 600 "$node" "$suite" server --url "http://127.0.0.1:$port/mcp" --suite all \
  > "$logs/upstream-conformance-alone.log" 2>&1
cat > "$work/mcpvisor.toml" <<TOML
[upstream.everything]
command = ["$node", "$everything", "stdio"]
prefix = ""
TOML
"$bin" --listen 127.0.0.1:0 --tools none --config "$work/mcpvisor.toml" \
  2> "$logs/upstream-mcpvisor.log" &
pids+=($!)
url=""
for _ in $(seq 1 100); do
  url=$(grep -o '"url":"[^"]*"' "$logs/upstream-mcpvisor.log" | head -n 1 | cut -d'"' -f4)
  grep -q '"upstream offers"' "$logs/upstream-mcpvisor.log" && [ -n "$url" ] && break
  sleep 0.1
done
timeout 600 "$node" "$suite" server --url "$url" --suite all \
  > "$logs/upstream-conformance-fronted.log" 2>&1
scenarios "$logs/upstream-conformance-alone.log" > "$work/alone"
scenarios "$logs/upstream-conformance-fronted.log" > "$work/fronted"
passed=0
failed=0
alone_total=$(grep -c . "$work/alone")
while read -r name mark; do
  [ "$mark" = "✓" ] || continue
  if grep -qx "$name ✓" "$work/fronted"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "  FAILED through mcpvisor (passes alone): $name" >&2
  fi
done < "$work/alone"
extra=$(join -v2 <(grep ' ✓' "$work/alone" | cut -d' ' -f1) <(grep ' ✓' "$work/fronted" | cut -d' ' -f1) | wc -l)
[ "$alone_total" -eq 0 ] && { echo "  upstream-conformance: no scenario ran; see $logs" >&2; failed=1; }
echo "upstream-conformance $passed $failed" >> "$results"
printf '%-28s %4s passed, %s failed (of %s scenarios; %s more pass only through mcpvisor)\n' \
  upstream-conformance "$passed" "$failed" "$alone_total" "$extra"
