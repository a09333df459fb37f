#!/usr/bin/env bash
# Loopback figures for the approval procedure on the shipped sample city (BENCHMARKS.md): how
# long an approval takes (validation, planning, writing the version, building and publishing the
# new snapshot), and what GET /api/v1/lookup does meanwhile (wrk -t2 -c64; one 10 s run with an
# approval 3 s in, one without), and how long the first tile after the approval takes (at z12, then
# at every zoom z0–z16, with the worst of them).
# LOAD=none: the approval alone, without wrk. BIN=path: that binary instead of building this
# tree's (to alternate an older build with this one in one session). Needs wrk (apt-get install
# wrk). Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18082}
load=${LOAD:-wrk}
[ "$load" = none ] || command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
bin=${BIN:-target/release/shequ}
[ -n "${BIN:-}" ] || cargo build --release --quiet
tmp=$(mktemp -d)
db="$tmp/shequ.db"
echo "street-password-123" | $bin user add street --role street --towns 442000001 --db "$db" --password-stdin >/dev/null
echo "review-password-123" | $bin user add reviewer --role reviewer --db "$db" --password-stdin >/dev/null
street=$($bin token create --user street --label bench --db "$db")
reviewer=$($bin token create --user reviewer --label bench --db "$db")
$bin serve --addr "127.0.0.1:$port" --db "$db" 2>"$tmp/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.02
done
api="http://127.0.0.1:$port/api/v1"
post() { curl -fsS -X POST -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -d "$3" "$api$2"; }
id=$(post "$street" /proposals @boundaries/examples/proposals/compliant-split.geojson | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
post "$street" "/proposals/$id/transition" '{"to":"consultation"}' >/dev/null
post "$street" "/proposals/$id/transition" '{"to":"vote"}' >/dev/null
post "$street" "/proposals/$id/vote" '{"for":300,"against":20,"abstain":5}' >/dev/null
post "$street" "/proposals/$id/transition" '{"to":"submitted"}' >/dev/null
approve() {
  curl -fsS -o /dev/null -w 'approval: HTTP %{http_code} in %{time_total} s\n' -X POST \
    -H "Authorization: Bearer $reviewer" -H 'Content-Type: application/json' \
    -d '{"to":"approved"}' "$api/proposals/$id/transition"
  # Right after: a tile at z12 over the city, then (in one connection, one after the other, each
  # the new snapshot's first tile at its zoom) the tile over 太平 at every zoom z0–z16 with every
  # area and label layer; the worst of those is issue 19's "first tile at any zoom".
  curl -fsS -o /dev/null -w 'first tile after the approval: HTTP %{http_code} in %{time_total} s\n' \
    "http://127.0.0.1:$port/tiles/communities/12/3337/1784.mvt"
  local args=()
  for url in $(python3 -c '
import math
lon, lat = 113.3787, 22.5266  # the middle of 太平社区 (in tile 12/3337/1784)
for z in range(17):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    print(f"http://127.0.0.1:'"$port"'/tiles/towns,communities,grids,labels/{z}/{x}/{y}.mvt")'); do
    args+=(-o /dev/null "$url")
  done
  curl -fsS -w '%{url_effective} %{http_code} %{time_total}\n' "${args[@]}" | python3 -c '
import re, sys
worst = (0.0, "")
for line in sys.stdin:
    url, code, t = line.split()
    z = re.search(r"/(\d+)/\d+/\d+\.mvt", url).group(1)
    ms = float(t) * 1e3
    print(f"  first tile z{z}: HTTP {code} in {ms:.1f} ms")
    worst = max(worst, (ms, z))
print(f"worst first tile over z0-z16: {worst[0]:.1f} ms (z{worst[1]})")'
}
if [ "$load" = none ]; then
  sleep 3 # the server warms the seeded snapshot (tiles, audit) in the background
  echo "== the approval alone"
  approve
else
  echo "== GET /api/v1/lookup without approvals, wrk -t2 -c64 -d10s"
  wrk -t2 -c64 -d10s --latency -s bench/lookup_get.lua "http://127.0.0.1:$port" | grep -E 'Requests/sec|Latency  |50%|99%|Non-2xx|errors' || true
  echo "== the same with an approval 3 s in"
  wrk -t2 -c64 -d10s --latency -s bench/lookup_get.lua "http://127.0.0.1:$port" >"$tmp/wrk" &
  wrk_pid=$!
  sleep 3
  approve
  wait $wrk_pid
  grep -E 'Requests/sec|Latency  |50%|99%|Non-2xx|errors' "$tmp/wrk" || true
fi
curl -fs "$api/versions" | python3 -c 'import json,sys; v=json.load(sys.stdin); print("current version:", v["current"])'
