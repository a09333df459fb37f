#!/usr/bin/env bash
# Issue 12: the attack payloads (bench/attack/*.json, from bench/attack/make_payloads.py) against
# the release server on the sample city: single heavy requests, /health and lookups while 8
# heavy requests run, and RSS under 256 concurrent logins. Needs wrk (apt-get install wrk).
# Loopback only; every phase is bounded. Extra arguments go to `shequ serve` (e.g. raise a cap).
# HEAVY=<payload> picks the request of the load phase; PHASES=singles,load,logins picks phases.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18090}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet
log=$(mktemp)
db=$(mktemp -d)
target/release/shequ serve --addr "127.0.0.1:$port" --db "$db/shequ.db" "$@" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$log" "$db"' EXIT
for _ in $(seq 1 500); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.02
done
python3 bench/attack/attack.py "$pid" "$port" "${HEAVY:-sawtooth20k.json}"
