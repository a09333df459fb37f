#!/usr/bin/env bash
# bench/peers/run.sh — issue 19: shequ against its peers on the same sample city, in one run.
#
#   bash bench/peers/run.sh                 # ROUNDS=3 DURATION=5 (seconds) CLIENTS=32 by default
#
# Starts, all on this machine (127.0.0.1 and Unix sockets only; every load run bounded in time):
#   - shequ: the release build of `shequ serve` on boundaries/ (default access log on);
#   - PostGIS: a private PostgreSQL cluster in a temporary directory (run as `nobody` when root),
#     the three layers loaded with ogr2ogr, GiST indexes, VACUUM ANALYZE;
#   - martin over PostGIS (the Web Mercator copies of the layers) and martin's in-memory GeoJSON
#     source (the three files), when bench/peers/.tools/bin/martin exists (MARTIN=path
#     overrides; bench/peers/install-martin.sh builds it); otherwise the martin rows say
#     "not available".
# and measures, on the same 10,000 random points and the same tiles (inputs.py, seed 19):
#   1. cold tiles: the first request of each tile per zoom after start (shequ, martin-pg,
#      martin-geojson), one keep-alive client, one request at a time (cold_tiles.py);
#   2. agreement: shequ's and PostGIS's answers for the 10,000 points compared (compare.py);
#   3. single lookups: wrk -t2 -cCLIENTS over the 10,000 GET /api/v1/lookup URLs against
#      pgbench -cCLIENTS -j2 -M prepared --random-seed=19 with a custom script (lookup3.sql:
#      three layers; lookup3sub.sql: the same over ST_Subdivide'd layers; lookup1.sql: grids
#      only; floor.sql: PostgreSQL's floor), ROUNDS alternating rounds of DURATION seconds:
#      PostGIS is judged through its own client and protocol, with no HTTP front of ours;
#   4. the 10,000-point batch: POST /api/v1/lookup (wrk -t1 -c1, median latency) against one
#      SQL query joining the same points with the three layers, plain and subdivided (pgbench
#      -c1, median of the per-transaction log), alternating;
#   5. cached tiles: the cold pass's tiles again, wrk -t2 -cCLIENTS over the list
#      (paths.lua), alternating between the three tile servers;
# then prints a markdown table of medians and shequ/peer ratios (report.py). Raw lines are kept
# in RESULTS (default bench/peers/last-run.txt, gitignored).
#
# Needs: cargo, wrk, pgbench + psql + postgres (postgresql-15-postgis-3), ogr2ogr (gdal-bin),
# python3, curl, setpriv. Not part of `cargo test` or CI: a benchmark, by hand.
source "$(dirname "$0")/common.sh"

need wrk "apt-get install wrk"
need pgbench "apt-get install postgresql-client-15"
need psql "apt-get install postgresql-client-15"
need python3 "apt-get install python3"
need curl "apt-get install curl"
results=${RESULTS:-$peers_dir/last-run.txt}
: >"$results"
record() { echo "$*" | tee -a "$results"; }

cd "$repo"
say "build (release)"
cargo build --release --quiet --bin shequ

mkdir -p "$work/in"
python3 "$peers_dir/inputs.py" "$boundaries" "$work/in" 19 "${TILES_PER_ZOOM:-32}" >&2

say "PostGIS: private cluster, load, index"
start_postgis
load_postgis

say "servers"
start_shequ
sides=(shequ)
if [ -x "$martin" ]; then
  start_martin_pg
  start_martin_geojson
  sides+=(martin-pg martin-geojson)
else
  record "note martin not available: no executable at $martin"
fi

record "machine $(nproc) cores; $(uname -r)"
record "version shequ $(git -C "$repo" rev-parse --short HEAD)"
record "version $(psql -qAt "$pg_url" -c 'SELECT version()' | cut -d' ' -f1-2)"
record "version PostGIS $(psql -qAt "$pg_url" -c 'SELECT postgis_lib_version()') GEOS $(psql -qAt "$pg_url" -c 'SELECT postgis_geos_version()' | cut -d- -f1)"
[ -x "$martin" ] && record "version $("$martin" --version)"
record "load-before $(cut -d' ' -f1-3 /proc/loadavg)"

say "1. cold tiles (first request of each tile after start)"
declare -A base=([shequ]="http://127.0.0.1:$shequ_port" [martin-pg]="http://127.0.0.1:$martin_pg_port"
  [martin-geojson]="http://127.0.0.1:$martin_gj_port")
for side in "${sides[@]}"; do
  scheme=martin
  [ "$side" = shequ ] && scheme=shequ
  python3 "$peers_dir/cold_tiles.py" "$side" "${base[$side]}" "$scheme" "$work/in" "$work/$side.tiles" |
    tee -a "$results"
done

say "2. agreement on the 10,000 points (shequ against PostGIS)"
curl -fsS -X POST -H 'Content-Type: application/json' --data-binary "@$work/in/batch.json" \
  "${base[shequ]}/api/v1/lookup" >"$work/shequ-batch.json"
for variant in batch batch_sub; do
  psql -qAt -F'|' -v ON_ERROR_STOP=1 "$pg_url" -f "$work/in/$variant.sql" >"$work/postgis-$variant.txt"
  python3 "$peers_dir/compare.py" "$work/shequ-batch.json" "$work/postgis-$variant.txt" "$work/in/points.txt" |
    sed "s/^/agreement $variant: /" | tee -a "$results"
done

lookup_shequ() {
  PATHS=$work/in/lookups.txt wrk -t2 -c"$clients" -d"${1}s" -s "$peers_dir/paths.lua" "${base[shequ]}" | wrk_rate
}
lookup_pg() {
  pgbench -n -M prepared --random-seed=19 -c "$clients" -j 2 -T "$2" -f "$peers_dir/$1.sql" "$pg_url" 2>/dev/null | pgbench_tps
}
say "3. single lookups, $clients connections, ${duration} s a run, $rounds rounds"
lookup_shequ 2 >/dev/null
lookup_pg lookup3 2 >/dev/null
for round in $(seq 1 "$rounds"); do
  record "lookup shequ $round $(lookup_shequ "$duration")"
  record "lookup postgis-3-layers $round $(lookup_pg lookup3 "$duration")"
  record "lookup postgis-3-layers-subdivided $round $(lookup_pg lookup3sub "$duration")"
  record "lookup postgis-grids-only $round $(lookup_pg lookup1 "$duration")"
  record "lookup postgis-floor $round $(lookup_pg floor "$duration")"
done

batch_shequ() {
  BATCH=$work/in/batch.json wrk -t1 -c1 -d"${duration}s" --latency -s "$peers_dir/batch.lua" "${base[shequ]}" | wrk_median_ms
}
batch_pg() {
  rm -f "$work"/pgb.*
  pgbench -n -M simple -c 1 -j 1 -T "$duration" -f "$work/in/$1.sql" -l --log-prefix="$work/pgb" "$pg_url" >/dev/null 2>&1 ||
    { echo failed; return; }
  # Per-transaction log: the third column is the latency in µs.
  cat "$work"/pgb.* | awk '{ print $3 / 1000 }' | median
}
say "4. 10,000-point batch, ${duration} s a run, $rounds rounds"
batch_shequ >/dev/null
for round in $(seq 1 "$rounds"); do
  record "batch shequ $round $(batch_shequ)"
  record "batch postgis $round $(batch_pg batch)"
  record "batch postgis-subdivided $round $(batch_pg batch_sub)"
done

cached() {
  PATHS=$work/$1.tiles wrk -t2 -c"$clients" -d"${duration}s" -s "$peers_dir/paths.lua" "${base[$1]}" | wrk_rate
}
say "5. cached tiles (the cold pass's tiles again), $clients connections"
for round in $(seq 1 "$rounds"); do
  for side in "${sides[@]}"; do
    record "cached $side $round $(cached "$side")"
  done
done
record "load-after $(cut -d' ' -f1-3 /proc/loadavg)"

say "report"
python3 "$peers_dir/report.py" "$results"
