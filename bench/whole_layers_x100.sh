#!/usr/bin/env bash
# bench/whole_layers_x100.sh — issue 20: memory and time of whole-layer downloads
# (`GET /api/v1/grids`) from a ×100 `serve`. A benchmark by hand (a ×100 server holds 3.5-10 GB:
# run it under `flock /tmp/x100.lock`), not part of CI.
#
#   BIN=target/release/shequ DB=/tmp/mine/db.sqlite OUT=/tmp/mine/run1 bash bench/whole_layers_x100.sh [gpkg]
#
# DB is a copy of a seeded ×100 database (e.g. of /work/data/topo_city100.sqlite: never the
# shared file itself), DATA (default /work/data/city100) the city, PORT (default 18401). Starts
# `serve`, waits for "serving on", then: one /api/v1/grids download to /dev/null, three at once,
# one with ?crs=EPSG:4547, one with ?crs=gcj02, and the SHA-256 of the WGS84 and GCJ-02 bodies;
# with `gpkg`, one ?format=gpkg download (the server is killed past 12 GB RSS). RSS is sampled
# every 0.2 s into OUT/rss (time, VmHWM kB, VmRSS kB); OUT/phases marks each phase; the curl
# figures (status, time to first byte, total, bytes) are in OUT/<phase>. Prints, per phase, the
# RSS before it and its peak (bench/whole_layers_peaks.py).
set -uo pipefail
BIN=${BIN:-target/release/shequ}
DB=${DB:?a copy of a seeded x100 database}
OUT=${OUT:?a directory for the results}
DATA=${DATA:-/work/data/city100}
PORT=${PORT:-18401}
GPKG=${1:-}
rm -rf "$OUT"; mkdir -p "$OUT"
URL=http://127.0.0.1:$PORT
"$BIN" serve --data "$DATA" --db "$DB" --addr 127.0.0.1:$PORT --tile-cache 0 --request-timeout 480 \
  > "$OUT/stdout" 2> "$OUT/log" &
PID=$!
( while kill -0 $PID 2>/dev/null; do
    echo "$(date +%s.%N | cut -c1-14) $(grep -E 'VmHWM|VmRSS' /proc/$PID/status | awk '{print $2}' | tr '\n' ' ')"
    sleep 0.2
  done ) > "$OUT/rss" &
T0=$(date +%s)
until grep -q "serving on" "$OUT/log"; do
  sleep 0.5
  kill -0 $PID 2>/dev/null || { echo "serve exited early"; exit 1; }
  if [ $(( $(date +%s) - T0 )) -gt 240 ]; then echo "no start in 240 s"; kill -INT $PID; exit 1; fi
done
echo "serving after $(( $(date +%s) - T0 )) s; load $(cut -d' ' -f1-3 /proc/loadavg)"
mark() { echo "$1 $(date +%s.%N | cut -c1-14) load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/phases"; }
W='%{http_code} ttfb %{time_starttransfer} total %{time_total} bytes %{size_download}\n'
sleep 3
mark single; curl -s -o /dev/null -w "$W" $URL/api/v1/grids > "$OUT/single"; mark single_end
sleep 3
mark three
CURLS=""
for i in 1 2 3; do curl -s -o /dev/null -w "$W" $URL/api/v1/grids > "$OUT/three_$i" & CURLS="$CURLS $!"; done
wait $CURLS
mark three_end
sleep 3
mark projected; curl -s -o "$OUT/body_4547" -w "$W" "$URL/api/v1/grids?crs=EPSG:4547" > "$OUT/projected"; mark projected_end
sleep 2
mark gcj02; curl -s -o /dev/null -w "$W" "$URL/api/v1/grids?crs=gcj02" > "$OUT/gcj02"; mark gcj02_end
sleep 2
mark sum
curl -s $URL/api/v1/grids | sha256sum > "$OUT/sha_wgs84"
curl -s "$URL/api/v1/grids?crs=gcj02" | sha256sum > "$OUT/sha_gcj02"
mark sum_end
if [ "$GPKG" = gpkg ]; then
  sleep 3
  mark gpkg
  curl -s -o /dev/null -w "$W" "$URL/api/v1/grids?format=gpkg" > "$OUT/gpkg" &
  CURL=$!
  while kill -0 $CURL 2>/dev/null; do
    RSS=$(grep VmRSS /proc/$PID/status | awk '{print $2}')
    if [ "$RSS" -gt 12000000 ]; then echo "killed at RSS $RSS kB" >> "$OUT/gpkg"; kill -9 $PID; kill $CURL; break; fi
    sleep 0.2
  done
  mark gpkg_end
fi
kill -INT $PID 2>/dev/null
for _ in $(seq 20); do kill -0 $PID 2>/dev/null || break; sleep 0.5; done
kill -9 $PID 2>/dev/null
head -n 100 "$OUT"/single "$OUT"/three_* "$OUT"/projected "$OUT"/gcj02 "$OUT"/sha_* "$OUT"/gpkg 2>/dev/null
python3 "$(dirname "$0")/whole_layers_peaks.py" "$OUT"
