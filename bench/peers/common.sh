# shellcheck shell=bash
# bench/peers/common.sh: what the peer benchmarks share (sourced by run.sh; not run alone).
# One temporary directory for everything (PostgreSQL's cluster and socket, logs, inputs), and one
# EXIT trap that stops every server started here (by the process ids kept in `servers`, and
# PostgreSQL by a fast shutdown) and removes the directory. Everything listens on 127.0.0.1 or a
# Unix socket; every load run is bounded in time.
set -euo pipefail

peers_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$peers_dir/../.." && pwd)
# The sample city; BOUNDARIES may name another directory with the same three files.
boundaries=${BOUNDARIES:-$repo/boundaries}
shequ_port=${SHEQU_PORT:-18200}
martin_pg_port=${MARTIN_PG_PORT:-18201}
martin_gj_port=${MARTIN_GEOJSON_PORT:-18202}
martin=${MARTIN:-$peers_dir/.tools/bin/martin}
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
rounds=${ROUNDS:-3}
duration=${DURATION:-5}
clients=${CLIENTS:-32}

work=$(mktemp -d -t shequ-peers-XXXXXX)
chmod 755 "$work"
servers=()
pg_pid=

stop_all() {
  local pid
  for pid in "${servers[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  if [ -n "$pg_pid" ]; then
    kill -INT "$pg_pid" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench/peers: %s\n' "$*" >&2; exit 1; }

need() {
  command -v "$1" >/dev/null || die "$1 is not installed ($2)"
}

# Waits until URL answers 2xx (at most ~30 s) from the server PID just started (whose output
# is in LOG): if PID has exited, another program holds the port or the server failed.
wait_http() {
  local _
  for _ in $(seq 1 600); do
    kill -0 "$2" 2>/dev/null || die "the server for $1 exited: $(tail -5 "$3")"
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.05
  done
  die "no answer from $1"
}

# The median of the numbers on standard input.
median() {
  sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# How PostgreSQL's programs are run: as `nobody` when we are root (PostgreSQL refuses to run as
# root); setpriv execs the program, so a background server's process id is the server's own.
pg_as=()
if [ "$(id -u)" = 0 ]; then
  pg_as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi

# A private cluster in $work/pg, listening on a Unix socket there only (no TCP), fsync off; the
# URL for clients in $pg_url, the socket directory in $pg_host.
start_postgis() {
  need setpriv "util-linux"
  [ -x "$pg_bin/initdb" ] || die "no initdb under /usr/lib/postgresql/*/bin (apt-get install postgresql-15-postgis-3)"
  pg_host=$work/pg
  mkdir -p "$pg_host"
  [ "$(id -u)" = 0 ] && chown nobody:nogroup "$pg_host"
  (cd "$pg_host" && LC_ALL=C "${pg_as[@]}" "$pg_bin/initdb" -D "$pg_host/data" -U shequ -A trust \
    -E UTF8 --locale=C --no-sync >"$work/initdb.log" 2>&1) || die "initdb failed: $(cat "$work/initdb.log")"
  # jit off: for the 10,000-point query a JIT compile costs more than it saves (as usual for
  # short queries); shared_buffers holds the whole city.
  (cd "$pg_host" && LC_ALL=C exec "${pg_as[@]}" "$pg_bin/postgres" -D "$pg_host/data" -k "$pg_host" \
    -c listen_addresses= -p 5432 -F -c jit=off -c max_connections=100 -c shared_buffers=256MB \
    >"$work/postgres.log" 2>&1) &
  pg_pid=$!
  pg_url="postgresql:///city?host=$pg_host&port=5432&user=shequ"
  local _
  for _ in $(seq 1 600); do
    psql -qAt "postgresql:///postgres?host=$pg_host&port=5432&user=shequ" -c 'select 1' >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  die "PostgreSQL did not start: $(cat "$work/postgres.log")"
}

# The three layers into database `city` with GiST indexes, in WGS84 (public.towns, …: the
# lookups) and in Web Mercator (merc.towns, …: martin's tiles, so that martin's tile query need
# not reproject every feature, the layout martin's documentation recommends); table pts holds
# the shared 10,000 points (inputs.py's pts.tsv); towns_sub, … the layers cut by ST_Subdivide.
load_postgis() {
  need ogr2ogr "apt-get install gdal-bin"
  psql -qAt "postgresql:///postgres?host=$pg_host&port=5432&user=shequ" -c 'CREATE DATABASE city' >/dev/null
  psql -qAt "$pg_url" -c 'CREATE EXTENSION postgis' >/dev/null
  local layer
  for layer in towns communities grids; do
    ogr2ogr -f PostgreSQL "PG:host=$pg_host port=5432 user=shequ dbname=city" \
      "$boundaries/$layer.geojson" -nln "$layer" -nlt POLYGON -lco GEOMETRY_NAME=geom \
      -lco SPATIAL_INDEX=GIST -lco FID=gid
  done
  psql -qAt -v ON_ERROR_STOP=1 "$pg_url" >/dev/null <<SQL
CREATE TABLE pts (i int PRIMARY KEY, lon float8 NOT NULL, lat float8 NOT NULL, geom geometry(Point, 4326));
\copy pts (i, lon, lat) FROM '$work/in/pts.tsv'
UPDATE pts SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326);
CREATE SCHEMA merc;
CREATE TABLE merc.towns AS SELECT gid, code, name, ST_Transform(geom, 3857)::geometry(Polygon, 3857) AS geom FROM towns;
CREATE TABLE merc.communities AS SELECT gid, code, name, town_code, kind, households, population,
  ST_Transform(geom, 3857)::geometry(Polygon, 3857) AS geom FROM communities;
CREATE TABLE merc.grids AS SELECT gid, code, name, community_code, households, population,
  ST_Transform(geom, 3857)::geometry(Polygon, 3857) AS geom FROM grids;
CREATE INDEX ON merc.towns USING gist (geom);
CREATE INDEX ON merc.communities USING gist (geom);
CREATE INDEX ON merc.grids USING gist (geom);
-- PostGIS's usual advice for point-in-polygon on large polygons: cut them into pieces of at
-- most 64 vertices, so each test reads a small geometry (the towns have ~900 positions).
CREATE TABLE towns_sub AS SELECT code, name, ST_Subdivide(geom, 64) AS geom FROM towns;
CREATE TABLE communities_sub AS SELECT code, name, kind, ST_Subdivide(geom, 64) AS geom FROM communities;
CREATE TABLE grids_sub AS SELECT code, name, ST_Subdivide(geom, 64) AS geom FROM grids;
CREATE INDEX ON towns_sub USING gist (geom);
CREATE INDEX ON communities_sub USING gist (geom);
CREATE INDEX ON grids_sub USING gist (geom);
VACUUM ANALYZE;
SQL
}

# One table source of martin's configuration: merc.NAME from zoom MINZOOM, with PROPERTIES.
martin_table() {
  cat <<YAML
    $1:
      schema: merc
      table: $1
      srid: 3857
      geometry_column: geom
      geometry_type: POLYGON
      extent: 4096
      buffer: 64
      clip_geom: true
      minzoom: $2
      properties: { $3 }
YAML
}

# martin over PostGIS: the three Web Mercator tables, with shequ's minimum zooms per layer, the
# same extent (4096) and buffer (64) as shequ, and the properties shequ's tiles carry that the
# source files have; the tile cache 512 MB (martin's own default cache size is 512 MB for all
# caches together, half for tiles: more here, so no tile is ever evicted).
start_martin_pg() {
  cat >"$work/martin-pg.yaml" <<YAML
listen_addresses: 127.0.0.1:$martin_pg_port
cache:
  size_mb: 1024
postgres:
  connection_string: "postgresql:///city?host=$pg_host&port=5432&user=shequ"
  auto_publish: false
  tables:
$(martin_table towns 0 "code: text, name: text")
$(martin_table communities 6 "code: text, name: text, town_code: text, kind: text, households: int4, population: int4")
$(martin_table grids 12 "code: text, name: text, community_code: text, households: int4, population: int4")
YAML
  RUST_LOG=${MARTIN_LOG:-info} "$martin" --config "$work/martin-pg.yaml" >"$work/martin-pg.log" 2>&1 &
  servers+=($!)
  wait_http "http://127.0.0.1:$martin_pg_port/health" "${servers[-1]}" "$work/martin-pg.log"
}

# martin's GeoJSON file source: the three files of the sample city, held in memory (reprojected
# to Web Mercator and indexed in an R-tree at start-up), extent 4096 and buffer 64 as shequ.
start_martin_geojson() {
  cat >"$work/martin-geojson.yaml" <<YAML
listen_addresses: 127.0.0.1:$martin_gj_port
cache:
  size_mb: 1024
geojson:
  extent: 4096
  buffer: 64
  sources:
    towns: $boundaries/towns.geojson
    communities: $boundaries/communities.geojson
    grids: $boundaries/grids.geojson
YAML
  RUST_LOG=${MARTIN_LOG:-info} "$martin" --config "$work/martin-geojson.yaml" >"$work/martin-geojson.log" 2>&1 &
  servers+=($!)
  wait_http "http://127.0.0.1:$martin_gj_port/health" "${servers[-1]}" "$work/martin-geojson.log"
}

# shequ's release server on the sample city, default access log (INFO) to a file.
start_shequ() {
  "$repo/target/release/shequ" serve --addr "127.0.0.1:$shequ_port" --db "$work/shequ.db" \
    --data "$boundaries" 2>"$work/shequ.log" &
  servers+=($!)
  wait_http "http://127.0.0.1:$shequ_port/health" "${servers[-1]}" "$work/shequ.log"
}

# "Requests/sec" of a wrk run, or "failed" when any answer was not 2xx or the socket failed.
wrk_rate() {
  awk '/Non-2xx|Socket errors/ { bad = 1 } /Requests\/sec/ { r = $2 } END { if (bad || r == "") print "failed"; else print r }'
}

# The 50 % latency of a `wrk --latency` run, in ms.
wrk_median_ms() {
  awk '/Non-2xx/ { bad = 1 }
       $1 == "50%" { v = $2; if (v ~ /us$/) m = v / 1000; else if (v ~ /ms$/) m = v + 0; else if (v ~ /m$/) m = v * 60000; else m = v * 1000 }
       END { if (bad || m == "") print "failed"; else print m }'
}

# The tps of a pgbench run (without connection set-up), or "failed".
pgbench_tps() {
  awk '/without initial connection time/ { t = $3 } /failed transactions: [1-9]/ { bad = 1 } END { if (bad || t == "") print "failed"; else print t }'
}
