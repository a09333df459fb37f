#!/usr/bin/env bash
# bench/pg_x100.sh — issue 20: seeding a city into PostgreSQL and starting `shequ serve` from it,
# timed from the server's own log. A benchmark by hand (a ×100 run holds 4-8 GB: run it under
# `flock /tmp/x100.lock`), not part of CI.
#
#   bash bench/pg_x100.sh seed PGDIR [DATA]   # new cluster in PGDIR, `serve` seeds it from DATA
#   bash bench/pg_x100.sh load PGDIR [DATA]   # `serve` on the seeded cluster in PGDIR
#
# BIN (default target/release/shequ) is the program measured; DATA defaults to
# /work/data/city100. The cluster (PostgreSQL 15 + PostGIS 3, default settings: fsync on,
# shared_buffers 128 MB) lives in PGDIR/data and listens only on a Unix socket in PGDIR; it is
# kept between runs (stopped at the end of each), so a seeded PGDIR can be loaded again.
# PostgreSQL logs every statement's duration (PGDIR/postgres.log), so the `COPY` of each layer is
# timed by the server too. `seed` stops the server once it logs the seeded version (the warm-up
# that follows is not seeding); `load` waits for "serving on" (or stops after the load when
# STOP=loaded). Prints the server's timings and the peak RSS.
set -euo pipefail
mode=${1:?seed or load}
pgdir=${2:?PGDIR}
data=${3:-/work/data/city100}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$repo/target/release/shequ}
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
port=${PORT:-18390}
pg_as=()
[ "$(id -u)" = 0 ] && pg_as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

mkdir -p "$pgdir"
[ "$(id -u)" = 0 ] && chown nobody:nogroup "$pgdir"
if [ "$mode" = seed ]; then
  [ -e "$pgdir/data" ] && { echo "$pgdir/data exists: seed wants a new cluster" >&2; exit 2; }
  (cd "$pgdir" && LC_ALL=C "${pg_as[@]}" "$pg_bin/initdb" -D "$pgdir/data" -U shequ -A trust \
    -E UTF8 --locale=C >"$pgdir/initdb.log" 2>&1)
fi
(cd "$pgdir" && LC_ALL=C exec "${pg_as[@]}" "$pg_bin/postgres" -D "$pgdir/data" -k "$pgdir" \
  -c listen_addresses= -p 5432 -c log_min_duration_statement=0 -c log_parameter_max_length=0 -c jit=off \
  >>"$pgdir/postgres.log" 2>&1) &
pg_pid=$!
server=
stop() {
  if [ -n "$server" ]; then
    kill "$(pgrep -P "$server")" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  kill -INT "$pg_pid" 2>/dev/null || true
  wait "$pg_pid" 2>/dev/null || true
}
trap stop EXIT
admin="postgresql:///postgres?host=$pgdir&port=5432&user=shequ"
for _ in $(seq 1 600); do
  psql -qAt "$admin" -c 'select 1' >/dev/null 2>&1 && break
  sleep 0.1
done
[ "$mode" = seed ] && psql -qAt "$admin" -c 'CREATE DATABASE registry' >/dev/null
db="postgresql:///registry?host=$pgdir&port=5432&user=shequ"

log=$pgdir/serve-$mode-$(date +%H%M%S).log
echo "$(date -u +%T) $mode with $bin, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
start=$(date +%s.%N)
/usr/bin/time -v "$bin" serve --addr "127.0.0.1:$port" --db "$db" --data "$data" 2>"$log" &
server=$!
elapsed() { awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
want=serving
[ "$mode" = seed ] && want="seeded "
[ "${STOP:-}" = loaded ] && want="loaded from"
while ! grep -q "$want" "$log" 2>/dev/null; do
  kill -0 "$server" 2>/dev/null || { echo "serve exited:" >&2; tail -5 "$log" >&2; exit 1; }
  sleep 0.2
done
# CPU seconds the PostgreSQL server has used so far (the postmaster and all its children: the
# backends of shequ's connections, the checkpointer, the WAL writer, autovacuum).
server_cpu() {
  local tick pids
  tick=$(getconf CLK_TCK)
  pids="$pg_pid $(pgrep -P "$pg_pid" | tr '\n' ' ')"
  for p in $pids; do cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null; done |
    awk -v t="$tick" '{ s += $1 + $2 } END { printf "%.1f", s / t }'
}
# CPU seconds shequ has used so far (user + system, all threads).
shequ_cpu() {
  cut -d' ' -f14,15 "/proc/$(pgrep -P "$server")/stat" |
    awk -v t="$(getconf CLK_TCK)" '{ printf "%.1f", ($1 + $2) / t }'
}
echo "$(date -u +%T) '$want' after $(elapsed) s (wall, from exec); load average $(cut -d' ' -f1-3 /proc/loadavg); CPU so far: shequ $(shequ_cpu) s, PostgreSQL $(server_cpu) s"
grep -E "seeded |loaded from|tile topology|serving on" "$log" | sed 's/^/  /' | cut -c1-400
# To shequ, the child of GNU time (a background job ignores SIGINT).
kill -TERM "$(pgrep -P "$server")"
wait "$server" 2>/dev/null || true
server=
grep -E "Maximum resident|Elapsed|User time|System time" "$log" | sed 's/^\s*/  /'
# The seeding transaction as the server logged it: each COPY (the log line is written at its
# end) and the COMMIT after them.
awk '/duration: .* COPY features/ { copy = 1 }
     copy && /duration: / && (/execute [^:]*: COPY / || / COMMIT/) {
       match($0, /duration: [0-9.]+ ms/)
       print "  server " $2 " " substr($0, RSTART, RLENGTH) " " ($0 ~ /COMMIT/ ? "COMMIT" : "COPY")
       if ($0 ~ /COMMIT/) copy = 0
     }' "$pgdir/postgres.log" | tail -4
echo "  database: $(du -sh "$pgdir/data" | cut -f1)"
