#!/usr/bin/env python3
"""Issue 19 peers: the markdown table of bench/peers/run.sh's raw lines (medians, ratios).

Ratios are shequ / peer of the same measure: for rates (requests or transactions a second)
above 1 means shequ is faster; for times (ms) below 1 means shequ is faster.

Usage: report.py RESULTS
"""
import statistics
import sys
from collections import defaultdict


def med(values):
    numbers = [float(v) for v in values if v not in ("failed", "nan")]
    return statistics.median(numbers) if numbers else None


def fmt(value, digits=1):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def paired(ours, theirs):
    """The ratio of each round (runs alternate, so a round's two figures saw the same load)."""
    pairs = [
        float(a) / float(b)
        for a, b in zip(ours, theirs)
        if "failed" not in (a, b) and float(b) != 0
    ]
    return ", ".join(f"{r:.3g}" for r in pairs) or "n/a"


def ratio(a, b):
    return "n/a" if a is None or b in (None, 0) else f"{a / b:.3g}"


def main():
    runs = defaultdict(list)
    cold = defaultdict(dict)
    notes = []
    for line in open(sys.argv[1], encoding="utf-8"):
        words = line.split()
        if not words:
            continue
        if words[0] in ("lookup", "batch", "cached"):
            runs[(words[0], words[1])].append(words[3])
        elif words[0] == "cold":
            fields = dict(w.split("=") for w in words[3:])
            cold[int(words[2])][words[1]] = fields
        else:
            notes.append(line.rstrip())
    print("\n".join(notes))
    print()
    print("| measure | shequ | peer | peer's figure | shequ / peer (medians) | each round's ratio |")
    print("|---|---|---|---|---|---|")
    shequ = med(runs[("lookup", "shequ")])
    for peer, label in (
        ("postgis-3-layers", "PostGIS, three layers (pgbench)"),
        ("postgis-3-layers-subdivided", "PostGIS, three layers, ST_Subdivide 64 (pgbench)"),
        ("postgis-grids-only", "PostGIS, grids only (pgbench)"),
        ("postgis-floor", "PostgreSQL floor: point by key, no geometry (pgbench)"),
    ):
        theirs = med(runs[("lookup", peer)])
        print(f"| single lookups, req/s (median of {len(runs[('lookup', peer)])}) | {fmt(shequ, 0)} | {label} | {fmt(theirs, 0)} | {ratio(shequ, theirs)} | {paired(runs[('lookup', 'shequ')], runs[('lookup', peer)])} |")
    shequ = med(runs[("batch", "shequ")])
    for peer, label in (
        ("postgis", "PostGIS, one SQL query"),
        ("postgis-subdivided", "PostGIS, one SQL query, ST_Subdivide 64"),
    ):
        theirs = med(runs[("batch", peer)])
        print(f"| 10,000-point batch, ms (median) | {fmt(shequ)} | {label} | {fmt(theirs)} | {ratio(shequ, theirs)} | {paired(runs[('batch', 'shequ')], runs[('batch', peer)])} |")
    shequ = med(runs[("cached", "shequ")])
    for peer in ("martin-pg", "martin-geojson"):
        theirs = med(runs[("cached", peer)])
        print(f"| cached tiles, req/s (median) | {fmt(shequ, 0)} | {peer} | {fmt(theirs, 0)} | {ratio(shequ, theirs)} | {paired(runs[('cached', 'shequ')], runs[('cached', peer)])} |")
    print()
    peers = [p for p in ("martin-pg", "martin-geojson") if any(p in cold[z] for z in cold)]
    head = "| zoom | tiles | shequ median / max ms | " + "".join(
        f"{p} median / max ms | shequ / {p} (median) | " for p in peers
    ) + "mean bytes: shequ" + "".join(f" / {p}" for p in peers) + " |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    worst = {}
    for z in sorted(cold):
        row = cold[z]
        s = row.get("shequ", {})
        cells = [str(z), s.get("n", "?"), f"{s.get('median_ms', '?')} / {s.get('max_ms', '?')}"]
        for p in peers:
            r = row.get(p, {})
            cells.append(f"{r.get('median_ms', '?')} / {r.get('max_ms', '?')}")
            cells.append(ratio(float(s["median_ms"]), float(r["median_ms"])) if s and r else "n/a")
        cells.append(" / ".join([s.get("mean_bytes", "?")] + [row.get(p, {}).get("mean_bytes", "?") for p in peers]))
        print("| " + " | ".join(cells) + " |")
        for side, r in row.items():
            worst[side] = max(worst.get(side, 0.0), float(r["max_ms"]))
    print()
    print("worst cold tile, any zoom: " + ", ".join(f"{side} {ms:.1f} ms" for side, ms in worst.items()))


if __name__ == "__main__":
    main()
