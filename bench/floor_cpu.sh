#!/usr/bin/env bash
# Issue 19: CPU per lookup over loopback, shequ against the bare floor (`examples/floor.rs`).
# Throughput on a shared machine swings with whatever else runs; the CPU a server spends per
# request does not (much). For each server, `perf stat` counts the CPU time (task-clock) of
# that server's process while `wrk -t2 -c64` drives single-GET lookups at it; dividing by the
# requests wrk completed gives the cost per request, kernel socket work included. The ratio
# floor/shequ of CPU per request is the throughput ratio both would reach on idle cores.
# Needs wrk and perf (apt-get install wrk linux-perf). Extra arguments go to `shequ serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18100}
floor_port=$((port + 1))
rounds=${ROUNDS:-3}
duration=${DURATION:-5}
for tool in wrk perf; do
  command -v $tool >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
cargo build --release --quiet --bin shequ --example floor
tmp=$(mktemp -d)
target/release/shequ serve --addr "127.0.0.1:$port" --db "$tmp/shequ.db" "$@" 2>"$tmp/log" &
shequ=$!
trap 'kill $shequ ${floor:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 500); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.02
done
curl -fs "http://127.0.0.1:$port/api/v1/lookup?lon=113.39&lat=22.52" >"$tmp/body"
target/release/examples/floor "127.0.0.1:$floor_port" "$tmp/body" 2>/dev/null &
floor=$!
for _ in $(seq 1 500); do
  curl -fs "http://127.0.0.1:$floor_port/api/v1/lookup" >/dev/null 2>&1 && break
  sleep 0.02
done
# Prints "requests µs-of-CPU/request" for one run against (pid, port). (CPU time rather than
# instructions: virtual machines often expose no hardware counters.)
measure() {
  perf stat -x, -e task-clock -p "$1" -o "$tmp/stat" -- sleep "$((duration + 1))" &
  local perf_pid=$!
  sleep 0.5
  local n
  n=$(wrk -t2 -c64 -d"${duration}s" -s bench/lookup_get.lua "http://127.0.0.1:$2" |
    awk '/requests in/ { print $1 }')
  wait $perf_pid
  awk -F, -v n="$n" '/task-clock/ { c = $1 } END { printf "%d %.2f\n", n, c * 1000 / n }' "$tmp/stat"
}
measure "$floor" "$floor_port" >/dev/null
measure "$shequ" "$port" >/dev/null
for i in $(seq 1 "$rounds"); do
  read -r fn fc < <(measure "$floor" "$floor_port")
  read -r sn sc < <(measure "$shequ" "$port")
  printf 'round %d: floor %s µs/req (%s req), shequ %s µs/req (%s req): floor/shequ %.1f %%, requests %.1f %%\n' \
    "$i" "$fc" "$fn" "$sc" "$sn" "$(echo "100*$fc/$sc" | bc -l)" "$(echo "100*$sn/$fn" | bc -l)"
done
