#!/usr/bin/env python3
"""Issue 19 peers: the first request of each tile after a server's start, per zoom.

Asks one server (over one keep-alive connection, one request at a time) for every tile of the
tiles-ZZ.txt lists inputs.py wrote, zoom by zoom from 0 up, each tile once, and times each from
sending the request to having read the whole body. Prints one line per zoom:
    cold SIDE Z n=N median_ms=… max_ms=… mean_bytes=… empty=…
and writes every tile path it asked for to LIST_OUT (the cached pass replays them with wrk).

The layers asked for follow shequ's own minimum zooms (towns from z0, communities from z6,
grids from z12), for both shequ and martin, so both draw the same layers; martin has no
per-layer minimum zoom for GeoJSON sources, and would otherwise put every grid into z0.

Usage: cold_tiles.py SIDE BASE_URL SCHEME IN_DIR LIST_OUT
SCHEME: shequ (/tiles/{layers}/{z}/{x}/{y}.mvt) or martin (/{layers}/{z}/{x}/{y}).
"""
import http.client
import statistics
import sys
import time
import urllib.parse


def layers(z):
    """The layers a tile at zoom z carries in shequ (src/tiles/layers.rs minzoom)."""
    names = ["towns"]
    if z >= 6:
        names.append("communities")
    if z >= 12:
        names.append("grids")
    return ",".join(names)


def path(scheme, z, x, y):
    if scheme == "shequ":
        return f"/tiles/{layers(z)}/{z}/{x}/{y}.mvt"
    return f"/{layers(z)}/{z}/{x}/{y}"


def main():
    side, base, scheme, in_dir, list_out = sys.argv[1:6]
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    asked = []
    for z in range(0, 17):
        with open(f"{in_dir}/tiles-{z:02}.txt", encoding="ascii") as f:
            tiles = [tuple(map(int, line.split())) for line in f if line.strip()]
        times, sizes, empty = [], [], 0
        for _, x, y in tiles:
            p = path(scheme, z, x, y)
            start = time.perf_counter()
            conn.request("GET", p)
            reply = conn.getresponse()
            body = reply.read()
            elapsed = time.perf_counter() - start
            if reply.status not in (200, 204):
                sys.exit(f"{side}: {p} answered {reply.status}: {body[:200]!r}")
            empty += reply.status == 204 or not body
            times.append(elapsed * 1000)
            sizes.append(len(body))
            asked.append(p)
        print(
            f"cold {side} {z} n={len(times)} median_ms={statistics.median(times):.2f} "
            f"max_ms={max(times):.2f} mean_bytes={statistics.mean(sizes):.0f} empty={empty}",
            flush=True,
        )
    with open(list_out, "w", encoding="ascii") as f:
        f.write("\n".join(asked) + "\n")


if __name__ == "__main__":
    main()
