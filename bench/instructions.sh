#!/usr/bin/env bash
# Issue 19: user-space instructions a single-GET lookup costs the server process, shequ against
# the bare floor (`examples/floor.rs`), over a real socket. Throughput on the shared 2-core
# machine swings with whatever else runs; instruction counts do not. Each server runs under
# `valgrind --tool=callgrind` with instrumentation off while it loads; after a warm-up, wrk
# drives it (-t1 -c4, bench/lookup_get.lua) for DURATION with instrumentation on, and the
# instructions counted are divided by the requests wrk completed. The kernel's share (socket
# work) is not counted: `bench/floor.sh` (MEASURE=cpu) measures the whole.
#
# BIN=path runs another shequ build (to compare two builds in one run). Needs valgrind and wrk.
# Extra arguments go to `shequ serve`. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18150}
duration=${DURATION:-10s}
for tool in valgrind callgrind_control wrk; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
cargo build --release --quiet --bin shequ --example floor
bin=${BIN:-target/release/shequ}
tmp=$(mktemp -d)
trap 'kill ${server:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

# "requests instructions" of the server started by the remaining arguments, listening on $1.
count() {
  local at=$1
  shift
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/cg.%p" "$@" \
    2>"$tmp/valgrind.log" &
  server=$!
  for _ in $(seq 1 1200); do
    curl -fs "http://$at/api/v1/lookup?lon=113.39&lat=22.52" >/dev/null 2>&1 && break
    sleep 0.5
  done
  wrk -t1 -c4 -d3s -s bench/lookup_get.lua "http://$at" >/dev/null
  callgrind_control -i on "$server" >/dev/null
  local n
  n=$(wrk -t1 -c4 -d"$duration" -s bench/lookup_get.lua "http://$at" | awk '/requests in/ { print $1 }')
  callgrind_control -d "$server" >/dev/null
  kill "$server"
  wait "$server" 2>/dev/null || true
  local total
  total=$(grep -h '^totals:' "$tmp"/cg.*.1 | awk '{ print $2 }')
  rm -f "$tmp"/cg.*
  echo "$n $total"
}

curl_body() {
  "$bin" serve --addr "127.0.0.1:$port" --db "$tmp/body.db" "$@" 2>/dev/null &
  server=$!
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$port/api/v1/lookup?lon=113.39&lat=22.52" >"$tmp/body" 2>/dev/null && break
    sleep 0.1
  done
  kill "$server"
  wait "$server" 2>/dev/null || true
}
curl_body "$@"

read -r fn fi < <(count "127.0.0.1:$((port + 1))" target/release/examples/floor \
  "127.0.0.1:$((port + 1))" "$tmp/body")
read -r sn si < <(count "127.0.0.1:$port" "$bin" serve --addr "127.0.0.1:$port" \
  --db "$tmp/shequ.db" "$@")
echo "floor: $((fi / fn)) instructions a lookup ($fn requests)"
echo "shequ: $((si / sn)) instructions a lookup ($sn requests)"
echo "shequ / floor: $(echo "scale=2; ($si / $sn) / ($fi / $fn)" | bc)"
