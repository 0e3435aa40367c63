#!/usr/bin/env bash
# Benchmarks of a cluster of mcpvisor nodes on 127.0.0.1 (docs/benchmarks.md,
# "Cluster"), each node a process of the release build with certificates
# from `mcpvisor cluster-certs`:
#
#   loadtest/cluster.sh forward [rounds] [seconds]
#       two nodes; calls through node 1 to sessions on node 1 (local) and on
#       node 2 (forwarded), interleaved round by round, one connection
#       (the latency forwarding adds) and 16 (throughput); CPU per call is
#       both nodes' together. Medians.
#   loadtest/cluster.sh million [sessions] [nodes]
#       1,000,000 sessions (default) opened over six nodes, RSS per node;
#       then node 1 is SIGKILLed and every one of its sessions is asked
#       again through the others: when the buddies took them over (their
#       log), and when the last one answered.
#   loadtest/cluster.sh connections [connections] [seconds]
#       six nodes; the highest closed-loop rate of calls whose sessions live
#       on another node than the one called, then 100,000 connections held
#       open over the six nodes while calls run in an open loop at half that
#       rate, each landing on a random node: p50/p99.
#
# Needs the release build (build/). Nothing is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
what=${1:-forward}
bin="$root/build/mcpvisor"
load="$root/build/loadtest/mcpvisor-load"
out=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$out"
}
trap cleanup EXIT
[ -x "$load" ] || { echo "build first: .ci/build release" >&2; exit 1; }
"$bin" cluster-certs "$out/certs" --nodes 6 > /dev/null

base=18400
http_port() { echo $((base + $1)); }
admin_port() { echo $((base + 10 + $1)); }
cluster_port() { echo $((base + 20 + $1)); }

# start_nodes N [flags...]: nodes 1..N, each knowing all the others
start_nodes() {
  local n=$1; shift
  for i in $(seq 1 "$n"); do
    local seeds=()
    for j in $(seq 1 "$n"); do
      [ "$j" != "$i" ] && seeds+=(--join "127.0.0.1:$(cluster_port "$j")")
    done
    "$bin" --listen "127.0.0.1:$(http_port "$i")" --admin "127.0.0.1:$(admin_port "$i")" \
      --node-name "node-$i" --cluster-listen "127.0.0.1:$(cluster_port "$i")" "${seeds[@]}" \
      --cluster-tls-ca "$out/certs/ca.pem" --cluster-tls-cert "$out/certs/node-$i.pem" \
      --cluster-tls-key "$out/certs/node-$i.key" \
      --cluster-secret-file "$out/certs/cluster.secret" "$@" 2> "$out/node-$i.log" &
    pids[$i]=$!
  done
  # every node sees every other up
  for i in $(seq 1 "$n"); do
    for _ in $(seq 1 100); do
      local up
      up=$(curl -s "http://127.0.0.1:$(admin_port "$i")/admin/cluster" \
           | grep -o '"state":"up"' | wc -l || true)
      [ "$up" -eq "$n" ] && break
      sleep 0.2
    done
  done
}

url() { echo "http://127.0.0.1:$(http_port "$1")/mcp"; }
field() { grep -E "^$1 " | awk '{print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

case $what in
  forward)
    rounds=${2:-3}
    seconds=${3:-5}
    start_nodes 2 --tools default
    for c in 1 16; do
      for r in $(seq 1 "$rounds"); do
        for where in local forwarded; do
          session=$(url 1)
          [ $where = forwarded ] && session=$(url 2)
          "$load" --url "$(url 1)" --session-url "$session" --concurrency $c \
            --duration "$seconds" --server-pid "${pids[1]},${pids[2]}" > "$out/r"
          for f in calls_per_s p50_us p99_us server_cpu_us_per_call; do
            field $f < "$out/r" >> "$out/$where-$c-$f"
          done
        done
      done
      printf '\nconcurrency %s (medians of %s rounds of %s s)\n' $c "$rounds" "$seconds"
      printf '%-10s %10s %10s %10s %22s\n' "" calls/s p50_us p99_us cpu_us_per_call_2_nodes
      for where in local forwarded; do
        printf '%-10s' $where
        for f in calls_per_s p50_us p99_us server_cpu_us_per_call; do
          printf ' %10s' "$(median < "$out/$where-$c-$f")"
        done
        printf '\n'
      done
    done
    ;;
  million)
    total=${2:-1000000}
    nodes=${3:-6}
    start_nodes "$nodes" --tools default --max-sessions 1000000
    per=$((total / nodes))
    loaders=()
    started=$(date +%s%3N)
    for i in $(seq 1 "$nodes"); do
      "$load" --scenario sessions --url "$(url "$i")" --sessions "$per" --connections 8 \
        --keep --hold 0 --ids "$out/ids-$i" > "$out/sessions-$i" &
      loaders+=($!)
    done
    wait "${loaders[@]}" || true
    echo "opened in $(( $(date +%s%3N) - started )) ms"
    sleep 12 # replication settles, and idle sessions sleep
    echo "sessions opened: $(cat "$out"/ids-* | wc -l)"
    printf '%-8s %10s %10s %12s\n' node sessions replicas rss_mib
    for i in $(seq 1 "$nodes"); do
      j=$(curl -s "http://127.0.0.1:$(admin_port "$i")/admin/cluster")
      s=$(echo "$j" | grep -o '"self":true[^}]*"sessions":[0-9]*' | grep -o '[0-9]*$')
      rep=$(echo "$j" | grep -o '"replicas_held":[0-9]*' | grep -o '[0-9]*$')
      printf '%-8s %10s %10s %12s\n' "node-$i" "$s" "$rep" "$(( $(rss_kb "${pids[$i]}") / 1024 ))"
    done
    victims=$(wc -l < "$out/ids-1")
    others=()
    for i in $(seq 2 "$nodes"); do others+=(--url "$(url "$i")"); done
    killed_at=$(date +%s%3N)
    kill -9 "${pids[1]}"
    "$load" --scenario resume --ids "$out/ids-1" "${others[@]}" --concurrency 64 \
      --duration 300 > "$out/resume" || true
    echo "node-1 SIGKILLed with $victims sessions; asked again through the other nodes:"
    cat "$out/resume"
    # when each buddy logged its takeover, after the kill
    last=0
    for i in $(seq 2 "$nodes"); do
      t=$(grep '"sessions taken over from their replicas"' "$out/node-$i.log" | tail -1 \
          | grep -o '"ts":"[^"]*"' | cut -d'"' -f4)
      [ -z "$t" ] && continue
      ms=$(( $(date -d "$t" +%s%3N) - killed_at ))
      n=$(grep '"sessions taken over from their replicas"' "$out/node-$i.log" | tail -1 \
          | grep -o '"sessions":"[0-9]*"' | grep -o '[0-9]*')
      echo "node-$i took over $n sessions, logged ${ms} ms after the kill"
      [ "$ms" -gt "$last" ] && last=$ms
    done
    echo "every buddy had taken its sessions over ${last} ms after the kill"
    ;;
  connections)
    conns=${2:-100000}
    seconds=${3:-20}
    start_nodes 6 --tools default --andon-fds-high 19800 --max-connections 19000
    urls=()
    for i in $(seq 1 6); do urls+=(--url "$(url "$i")"); done
    "$load" "${urls[@]}" --session-elsewhere --concurrency 64 --duration "$seconds" \
      --server-pid "$(IFS=,; echo "${pids[*]}")" > "$out/closed"
    rate=$(field calls_per_s < "$out/closed")
    echo "closed loop, 64 connections, sessions on another node than the one called:"
    grep -E '^(calls_per_s|p50_us|p99_us|server_cpu_us_per_call) ' "$out/closed"
    half=$((rate / 2))
    hold=$((seconds + 60))
    "$load" --scenario connections "${urls[@]}" --connections "$conns" --procs 12 \
      --hold "$hold" > "$out/held" &
    holder=$!
    # until every connection is open (each node counts its own)
    for _ in $(seq 1 300); do
      open=0
      for i in $(seq 1 6); do
        c=$(curl -s "http://127.0.0.1:$(admin_port "$i")/metrics" \
            | awk '/^mcpvisor_connections / {print $2}')
        open=$((open + ${c:-0}))
      done
      [ "$open" -ge "$conns" ] && break
      sleep 1
    done
    echo "connections held open: $open (after ${SECONDS} s of the script)"
    "$load" "${urls[@]}" --session-elsewhere --concurrency 256 --rate "$half" \
      --duration "$seconds" > "$out/open"
    echo "open loop at half that rate ($half calls/s) with the connections held:"
    grep -E '^(calls_per_s|p50_us|p90_us|p99_us|p99.9_us|errors) ' "$out/open"
    wait "$holder" || true
    grep -E '^(connections_served|failed) ' "$out/held"
    ;;
  *)
    echo "usage: loadtest/cluster.sh forward|million|connections [...]" >&2
    exit 2
    ;;
esac
