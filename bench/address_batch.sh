#!/usr/bin/env bash
# Issues 19 and 20: 10,000 addresses in one `POST /api/v1/address`. Draws 10,000 addresses from
# boundaries/addresses.csv (seed 7) into three bodies: all exact (`广东省中山市 ` + the address),
# one in ten with a road character mistyped (the first character of the road, as in
# benches/address.rs), all mistyped; and 256 mistyped (one chunk: searched on one thread). Starts the release server on the sample city (and, with
# OLD=path/to/another/shequ, that binary beside it), then times ROUNDS requests of each body
# with curl, alternating the servers request by request, and prints each time and the medians.
# Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18300}
rounds=${ROUNDS:-5}
new=${NEW:-target/release/shequ}
old=${OLD:-}
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
python3 - "$tmp" <<'PY'
import csv, json, random, sys
rows = [r["address"] for r in csv.DictReader(open("boundaries/addresses.csv", encoding="utf-8"))]
rng = random.Random(7)
picked = [rng.choice(rows) for _ in range(10_000)]
def typo(a):
    digits = next((i for i, c in enumerate(a) if c.isdigit()), 0)
    return a[: digits - 3] + "之" + a[digits - 2 :] if digits >= 3 else a
bodies = {
    "exact": ["广东省中山市 " + a for a in picked],
    "tenth": [typo(a) if i % 10 == 0 else "广东省中山市 " + a for i, a in enumerate(picked)],
    "typos": [typo(a) for a in picked],
    # Below the server's chunk size: searched on one thread by both old and new servers, so
    # the time is the per-query cost of the search itself (and its JSON).
    "typos256": [typo(a) for a in picked[:256]],
}
for name, queries in bodies.items():
    with open(f"{sys.argv[1]}/{name}.json", "w", encoding="utf-8") as f:
        json.dump({"queries": queries}, f, ensure_ascii=False)
PY
start() { # binary port
  "$1" serve --addr "127.0.0.1:$2" --db "$tmp/$2.db" 2>"$tmp/$2.log" &
  pids+=($!)
  for _ in $(seq 1 1500); do
    curl -fs "http://127.0.0.1:$2/health" >/dev/null 2>&1 && return
    sleep 0.02
  done
  echo "server on $2 did not start: $(cat "$tmp/$2.log")" >&2
  exit 1
}
servers=("new:$port")
start "$new" "$port"
if [ -n "$old" ]; then
  start "$old" $((port + 1))
  servers=("old:$((port + 1))" "new:$port")
fi
time_one() { # port body
  local out
  out=$(curl -s -o "$tmp/answer" -w '%{http_code} %{time_total}' -H 'content-type: application/json' \
    --data-binary "@$tmp/$2.json" "http://127.0.0.1:$1/api/v1/address")
  [ "${out%% *}" = 200 ] || echo "HTTP ${out%% *} from $1: $(head -c 300 "$tmp/answer")" >&2
  echo "${out#* }"
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for body in exact tenth typos typos256; do
  for s in "${servers[@]}"; do time_one "${s#*:}" "$body" >/dev/null; done # warm
  declare -A times=()
  for _ in $(seq 1 "$rounds"); do
    for s in "${servers[@]}"; do
      times[${s%%:*}]+="$(time_one "${s#*:}" "$body") "
    done
  done
  for s in "${servers[@]}"; do
    name=${s%%:*}
    median=$(tr ' ' '\n' <<<"${times[$name]}" | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    echo "$body $name: ${times[$name]}(median $median s)"
  done
  unset times
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
