#!/usr/bin/env bash
# The packaged service: builds the .deb from the release build with
# packaging/build-deb.sh, checks its control data and contents, unpacks it
# into a temporary root, and serves MCP from the unpacked binary with the
# packaged default config (on a free port). Readiness and the watchdog are
# checked against the same binary by tests/integration/service_test.cpp.
# Appends "package <passed> <failed>" to RESULTS, one case per check.
#
#   tests/package.sh RESULTS_FILE LOG_DIR
set -uo pipefail
cd "$(dirname "$0")/.."
results=$1
logs=$2
log="$logs/package.log"
work=$(mktemp -d /tmp/mcpvisor-package-XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
passed=0
failed=0
check() {
  local name=$1
  shift
  if "$@" >> "$log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "  package: $name failed (see $log)" >&2
  fi
}
: > "$log"

deb=$(packaging/build-deb.sh build "$work" 2>> "$log")
check "the package is built" test -f "$deb"
dpkg-deb --info "$deb" > "$work/info" 2>> "$log"
dpkg-deb --contents "$deb" > "$work/contents" 2>> "$log"
check "control names the package and its version" \
  grep -qE '^ *Version: [0-9]+\.[0-9]+\.[0-9]+$' "$work/info"
check "Depends lists CAF, OpenSSL and libsystemd" \
  bash -c "grep -E '^ *Depends:' '$work/info' | grep -q libcaf && grep -E '^ *Depends:' '$work/info' | grep -q libssl && grep -E '^ *Depends:' '$work/info' | grep -q libsystemd0"
for path in ./usr/bin/mcpvisor ./lib/systemd/system/mcpvisor.service ./etc/mcpvisor/mcpvisor.toml \
            ./usr/include/mcpvisor/mcpvisor.hpp ./usr/include/mcpvisor/protocol/call_context.hpp \
            ./usr/share/doc/mcpvisor/README.md; do
  check "the package holds $path" grep -qE " $path\$" "$work/contents"
done
check "the package holds libmcpvisor and mcpvisor.pc" \
  bash -c "grep -qE '/libmcpvisor\.so\.[0-9.]+$' '$work/contents' && grep -qE '/pkgconfig/mcpvisor\.pc$' '$work/contents'"
check "the config is a conffile" bash -c "dpkg-deb -e '$deb' '$work/control' && grep -qx /etc/mcpvisor/mcpvisor.toml '$work/control/conffiles'"
check "files belong to root" bash -c "dpkg-deb -c '$deb' | awk '{print \$2}' | sort -u | grep -qx root/root"
dpkg-deb -x "$deb" "$work/root" 2>> "$log"
unit="$work/root/lib/systemd/system/mcpvisor.service"
check "the unit is Type=notify with a watchdog and sandboxing" bash -c "
  grep -qx Type=notify '$unit' && grep -qE '^WatchdogSec=' '$unit' &&
  grep -qx DynamicUser=yes '$unit' && grep -qx ProtectSystem=strict '$unit' &&
  grep -qx NoNewPrivileges=yes '$unit' &&
  grep -qx 'ExecStart=/usr/bin/mcpvisor --config /etc/mcpvisor/mcpvisor.toml' '$unit'"
if command -v systemd-analyze > /dev/null; then
  # the unit as systemd reads it (the binary is not installed here: its
  # absence is the one complaint allowed)
  check "systemd-analyze verify finds nothing else" bash -c "
    systemd-analyze verify '$unit' 2>&1 | grep -v 'mcpvisor: No such file\|is not executable\|Command /usr/bin/mcpvisor' | grep -q . && exit 1 || exit 0"
fi
# the unpacked binary serves with the packaged config (the port moved off
# 8080, which may be taken)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
       || echo $((20000 + RANDOM % 20000)))
"$work/root/usr/bin/mcpvisor" --config "$work/root/etc/mcpvisor/mcpvisor.toml" \
  --listen "127.0.0.1:$port" 2> "$work/server.log" &
pid=$!
for _ in $(seq 50); do grep -q '"ready"' "$work/server.log" && break; sleep 0.1; done
answer=$(curl -s -i -X POST "http://127.0.0.1:$port/mcp" -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"package","version":"1"}}}' 2>> "$log")
echo "$answer" >> "$log"
check "the packaged binary serves with the packaged config" \
  bash -c "grep -q '^HTTP/1.1 200' <<< \"\$0\" && grep -qi '^mcp-session-id:' <<< \"\$0\" && grep -q '\"serverInfo\"' <<< \"\$0\"" "$answer"
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=""
cat "$work/server.log" >> "$log"
echo "package $passed $failed" >> "$results"
printf '%-28s %4s passed, %s failed\n' package "$passed" "$failed"
