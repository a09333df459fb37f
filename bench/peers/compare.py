#!/usr/bin/env python3
"""Issue 19 peers: do shequ and PostGIS give the same answers for the shared 10,000 points?

Compares shequ's POST /api/v1/lookup answer (JSON) with the rows of PostGIS's batch query
(psql -At -F'|': i, town code, town name, community code, name, kind, grid code, name) layer by
layer. Random points almost never fall on a boundary, where shequ's half-open rule and
ST_Contains (interior only) may differ, so any disagreement is worth a look; it prints the
counts and the first few differing points.

Usage: compare.py SHEQU_JSON POSTGIS_ROWS POINTS
"""
import json
import sys


def main():
    shequ = json.load(open(sys.argv[1], encoding="utf-8"))["results"]
    rows = [line.rstrip("\n").split("|") for line in open(sys.argv[2], encoding="utf-8") if line.strip()]
    points = [line.split() for line in open(sys.argv[3], encoding="ascii")]
    if len(shequ) != len(rows):
        sys.exit(f"shequ answered {len(shequ)} points, PostGIS {len(rows)}")
    same = {"town": 0, "community": 0, "grid": 0}
    covered = {"town": 0, "community": 0, "grid": 0}
    shown = 0
    for k, (answer, row) in enumerate(zip(shequ, rows)):
        theirs = {"town": row[1] or None, "community": row[3] or None, "grid": row[6] or None}
        for level in same:
            ours = ((answer or {}).get(level) or {}).get("code")
            covered[level] += ours is not None
            if ours == theirs[level]:
                same[level] += 1
            elif shown < 5:
                shown += 1
                print(f"  differs at {points[k]} ({level}): shequ {ours}, PostGIS {theirs[level]}")
    for level in same:
        print(f"agree {level} {same[level]}/{len(rows)} (shequ covered {covered[level]})")


if __name__ == "__main__":
    main()
