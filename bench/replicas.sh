#!/usr/bin/env bash
# bench/replicas.sh — issue 20: lookup throughput of one `shequ serve` against three replicas on
# one PostgreSQL database, in one run on this machine.
#
#   bash bench/replicas.sh                  # ROUNDS=3 DURATION=5 (seconds) CLIENTS=64 by default
#
# Starts a private PostgreSQL cluster in a temporary directory (bench/peers/common.sh: Unix
# socket only, run as `nobody` when root), three release-build replicas of `shequ serve --db
# postgres://…` on the sample city (the first seeds the database), then alternates, ROUNDS times:
#   one:   wrk -t2 -cCLIENTS against replica 1 alone;
#   three: three wrk -t1 -c(CLIENTS/3) at once, one per replica; their rates added.
# GET /api/v1/lookup at random points (bench/lookup_get.lua). Prints each round and the medians
# with the ratio three/one, and the CPU count: on 2 cores one replica with its load generator
# already uses both, so three replicas cannot add throughput here (see BENCHMARKS.md).
# Needs wrk, psql, postgresql-15-postgis-3, setpriv. A benchmark by hand, not part of CI.
source "$(dirname "$0")/peers/common.sh"
need wrk "apt-get install wrk"
need psql "apt-get install postgresql-client-15"
clients=${CLIENTS:-64}
port0=${PORT:-18300}

[ -x "$repo/target/release/shequ" ] || (cd "$repo" && cargo build --release --quiet)
start_postgis
psql -qAt "postgresql:///postgres?host=$pg_host&port=5432&user=shequ" -c 'CREATE DATABASE registry' >/dev/null
db="postgresql:///registry?host=$pg_host&port=5432&user=shequ"
for k in 1 2 3; do
  port=$((port0 + k))
  "$repo/target/release/shequ" serve --addr "127.0.0.1:$port" --db "$db" --data "$boundaries" \
    2>"$work/replica$k.log" &
  servers+=($!)
  wait_http "http://127.0.0.1:$port/health" "${servers[-1]}" "$work/replica$k.log"
done

lua=$repo/bench/lookup_get.lua
one=() three=()
for round in $(seq 1 "$rounds"); do
  r1=$(wrk -t2 -c"$clients" -d"${duration}s" -s "$lua" "http://127.0.0.1:$((port0 + 1))" | wrk_rate)
  loads=()
  for k in 1 2 3; do
    wrk -t1 -c$((clients / 3)) -d"${duration}s" -s "$lua" "http://127.0.0.1:$((port0 + k))" \
      >"$work/wrk$k.txt" &
    loads+=($!)
  done
  for pid in "${loads[@]}"; do
    wait "$pid" || die "a wrk run failed"
  done
  r3=0
  for k in 1 2 3; do
    r=$(wrk_rate <"$work/wrk$k.txt")
    [ "$r" = failed ] && die "replica $k: $(cat "$work/wrk$k.txt")"
    r3=$(awk -v a="$r3" -v b="$r" 'BEGIN { print a + b }')
  done
  [ "$r1" = failed ] && die "one replica: wrk failed"
  one+=("$r1") three+=("$r3")
  printf 'round %d: one replica %.0f req/s, three replicas %.0f req/s (%.2f×), load %s\n' \
    "$round" "$r1" "$r3" "$(awk -v a="$r3" -v b="$r1" 'BEGIN { print a / b }')" \
    "$(cut -d' ' -f1 /proc/loadavg)"
done
m1=$(printf '%s\n' "${one[@]}" | median)
m3=$(printf '%s\n' "${three[@]}" | median)
printf 'median: one %.0f req/s, three %.0f req/s, ratio %.2f; %s CPUs\n' "$m1" "$m3" \
  "$(awk -v a="$m3" -v b="$m1" 'BEGIN { print a / b }')" "$(nproc)"
