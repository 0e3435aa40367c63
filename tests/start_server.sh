# Sourced by the test scripts: start_server NAME LOG ARGS... starts
# "$bin" on a port of 127.0.0.1 it picks itself (port 0; the ready line
# names the URL), sets $server and $url, and stops it when the script exits.
# If it does not start, it records "NAME 0 1" in "$results" and exits.
start_server() {
  local name=$1 log=$2
  shift 2
  "$bin" --listen 127.0.0.1:0 --log-level info "$@" 2> "$log" &
  server=$!
  trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
  url=""
  for _ in $(seq 1 100); do
    url=$(grep -o '"url":"[^"]*"' "$log" 2>/dev/null | head -n 1 | cut -d'"' -f4)
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "$name: the server did not start; see $log" >&2
  echo "$name 0 1" >> "$results"
  exit 1
}
