#!/usr/bin/env bash
# Issue 19: single-GET lookups against the HTTP floor. Starts the release server on the sample
# city (default access log on, at INFO, to a file) and `examples/floor.rs` (bare axum answering
# the same bytes with no middleware), then alternates wrk runs (-t2 -c64, bench/lookup_get.lua)
# against the two, ROUNDS times, and prints each pair's ratio and the median. Both servers and
# wrk share the machine's cores, as they would in any loopback measurement; compare ratios only.
# Extra arguments go to `shequ serve`. Needs wrk (apt-get install wrk). Loopback only.
#
# MEASURE=cpu: instead of throughput, the CPU each server spends per request. Throughput on a
# shared machine swings with whatever else runs; the CPU per request does not (much). `perf
# stat` counts the task-clock of the server's process while wrk drives it, divided by the
# requests wrk completed (kernel socket work included; CPU time rather than instructions, as
# virtual machines often expose no hardware counters). Needs perf (apt-get install linux-perf).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18100}
floor_port=$((port + 1))
rounds=${ROUNDS:-5}
duration=${DURATION:-5s}
measure=${MEASURE:-rate}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
if [ "$measure" = cpu ]; then
  command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
fi
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
echo "answer: $(wc -c <"$tmp/body") bytes"
target/release/examples/floor "127.0.0.1:$floor_port" "$tmp/body" 2>/dev/null &
floor=$!
for _ in $(seq 1 500); do
  curl -fs "http://127.0.0.1:$floor_port/api/v1/lookup" >/dev/null 2>&1 && break
  sleep 0.02
done
rate() {
  wrk -t2 -c64 -d"$duration" -s bench/lookup_get.lua "http://127.0.0.1:$1" |
    awk '/Non-2xx/ { bad = 1 } /Requests\/sec/ { r = $2 } END { if (bad) print "non-2xx"; else print r }'
}
# "requests µs-of-CPU/request" of one run against (pid, port).
cpu() {
  perf stat -x, -e task-clock -p "$1" -o "$tmp/stat" -- sleep "$((${duration%s} + 1))" &
  local perf_pid=$!
  sleep 0.5
  local n
  n=$(wrk -t2 -c64 -d"$duration" -s bench/lookup_get.lua "http://127.0.0.1:$2" |
    awk '/requests in/ { print $1 }')
  wait $perf_pid
  awk -F, -v n="$n" '/task-clock/ { c = $1 } END { printf "%d %.2f\n", n, c * 1000 / n }' "$tmp/stat"
}
if [ "$measure" = cpu ]; then
  cpu "$floor" "$floor_port" >/dev/null
  cpu "$shequ" "$port" >/dev/null
  for i in $(seq 1 "$rounds"); do
    read -r fn fc < <(cpu "$floor" "$floor_port")
    read -r sn sc < <(cpu "$shequ" "$port")
    printf 'round %d: floor %s µs/req (%s req), shequ %s µs/req (%s req): floor/shequ %.1f %%\n' \
      "$i" "$fc" "$fn" "$sc" "$sn" "$(echo "100*$fc/$sc" | bc -l)"
  done
  exit 0
fi
# Warm both (connection set-up, page faults, the allocator's arenas).
rate "$floor_port" >/dev/null
rate "$port" >/dev/null
ratios=()
for i in $(seq 1 "$rounds"); do
  f=$(rate "$floor_port")
  s=$(rate "$port")
  r=$(echo "scale=1; 100 * $s / $f" | bc)
  ratios+=("$r")
  printf 'round %d: floor %s req/s, shequ %s req/s: %s %%\n' "$i" "$f" "$s" "$r"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "median: %s %% of the floor\n", a[int((NR + 1) / 2)] }'
echo "access log lines written: $(grep -c ' GET /api/v1/lookup' "$tmp/log")"
