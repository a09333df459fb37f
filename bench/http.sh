#!/usr/bin/env bash
# Loopback load test of the release server on the shipped sample city (figures for BENCHMARKS.md):
# start-up time, RSS after start-up, GET /api/v1/lookup throughput (wrk, 2 threads, 64
# connections), and the latency of a 10,000-point batch. Needs wrk (apt-get install wrk).
# Traffic goes to 127.0.0.1 only; every wrk run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18080}
duration=${DURATION:-10s}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet
log=$(mktemp)
db=$(mktemp -d)
start=$(date +%s.%N)
# A fresh database: start-up includes checking the files and seeding version 1.
target/release/shequ serve --addr "127.0.0.1:$port" --db "$db/shequ.db" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$log" "$db"' EXIT
for _ in $(seq 1 200); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.02
done
ready=$(date +%s.%N)
echo "start-up to first /health answer: $(echo "($ready - $start) * 1000" | bc) ms"
grep -o 'registry version [0-9]* in [0-9]* ms' "$log" || true
echo "RSS after start-up: $(ps -o rss= -p $pid) KiB"
curl -fs "http://127.0.0.1:$port/api/v1/lookup?lon=113.39&lat=22.52" >/dev/null
echo "== GET /api/v1/lookup, wrk -t2 -c64 -d$duration"
wrk -t2 -c64 -d"$duration" --latency -s bench/lookup_get.lua "http://127.0.0.1:$port" | grep -E 'Requests/sec|50%|99%|Non-2xx|errors'
echo "== POST /api/v1/lookup with 10,000 points, wrk -t1 -c1 -d$duration"
wrk -t1 -c1 -d"$duration" --latency -s bench/lookup_batch.lua "http://127.0.0.1:$port" | grep -E 'Requests/sec|50%|90%|99%|Non-2xx|errors'
bounds=$(curl -fs "http://127.0.0.1:$port/tiles/towns.json" | python3 -c 'import json,sys; print(",".join(map(str, json.load(sys.stdin)["bounds"])))')
echo "== GET cached tiles z10–z14 (all layers, every city tile: 858 URLs), wrk -t2 -c64 -d$duration"
# One pass renders and caches every tile; the measured run then serves them from the cache.
TILE_BOUNDS=$bounds wrk -t2 -c64 -d5s -s bench/tiles.lua "http://127.0.0.1:$port" >/dev/null
TILE_BOUNDS=$bounds wrk -t2 -c64 -d"$duration" --latency -s bench/tiles.lua "http://127.0.0.1:$port" | grep -E 'Requests/sec|Transfer/sec|50%|99%|Non-2xx|errors'
echo "RSS after load: $(ps -o rss= -p $pid) KiB"
