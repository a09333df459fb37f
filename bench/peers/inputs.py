#!/usr/bin/env python3
"""Issue 19 peers: the inputs every side of bench/peers/run.sh shares, from one fixed seed.

Writes into OUT_DIR:
  points.txt        10,000 random points "lon lat" (6 decimals) over the city's bounding box,
                    the same for shequ's GET/POST lookups and for PostGIS;
  lookups.txt       the same points as GET /api/v1/lookup paths (wrk, paths.lua);
  pts.tsv           the same points numbered 1..10,000, for PostGIS's table pts;
  batch.json        the POST /api/v1/lookup body with those 10,000 points;
  batch.sql         one SQL query joining the same 10,000 points (literal arrays, so the client
                    sends the points as shequ's client does) with the three layers;
  batch_sub.sql     the same over the layers' ST_Subdivide'd copies (towns_sub, …);
  tiles-ZZ.txt      per zoom 0..16, up to TILES_PER_ZOOM tiles "z x y" covering the city,
                    sampled with the same seed;
The bounding box comes from boundaries/towns.geojson itself (not from shequ's TileJSON), so
every side gets the same input without asking any of them.

Usage: inputs.py BOUNDARIES_DIR OUT_DIR [SEED] [TILES_PER_ZOOM]
"""
import json
import math
import random
import sys


def bounds(path):
    """West, south, east, north of every ring position in a GeoJSON polygon collection."""
    with open(path, encoding="utf-8") as f:
        collection = json.load(f)
    xs, ys = [], []
    for feature in collection["features"]:
        geometry = feature["geometry"]
        polygons = (
            [geometry["coordinates"]]
            if geometry["type"] == "Polygon"
            else geometry["coordinates"]
        )
        for polygon in polygons:
            for ring in polygon:
                for lon, lat in ring:
                    xs.append(lon)
                    ys.append(lat)
    return min(xs), min(ys), max(xs), max(ys)


def tile(lon, lat, z):
    """The XYZ (Web Mercator) tile holding a WGS84 position."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    phi = math.radians(lat)
    y = int((1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def main():
    boundaries, out = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 19
    per_zoom = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    rng = random.Random(seed)
    west, south, east, north = bounds(f"{boundaries}/towns.geojson")
    points = [
        (round(rng.uniform(west, east), 6), round(rng.uniform(south, north), 6))
        for _ in range(10_000)
    ]
    with open(f"{out}/points.txt", "w", encoding="ascii") as f:
        for lon, lat in points:
            f.write(f"{lon:.6f} {lat:.6f}\n")
    with open(f"{out}/lookups.txt", "w", encoding="ascii") as f:
        for lon, lat in points:
            f.write(f"/api/v1/lookup?lon={lon:.6f}&lat={lat:.6f}\n")
    with open(f"{out}/pts.tsv", "w", encoding="ascii") as f:
        for i, (lon, lat) in enumerate(points, start=1):
            f.write(f"{i}\t{lon:.6f}\t{lat:.6f}\n")
    with open(f"{out}/batch.json", "w", encoding="ascii") as f:
        json.dump({"points": [[lon, lat] for lon, lat in points]}, f, separators=(",", ":"))
    lons = ",".join(f"{lon:.6f}" for lon, _ in points)
    lats = ",".join(f"{lat:.6f}" for _, lat in points)
    # Once over the tables as loaded, once over their ST_Subdivide'd copies (suffix _sub).
    for name, suffix in (("batch.sql", ""), ("batch_sub.sql", "_sub")):
        with open(f"{out}/{name}", "w", encoding="ascii") as f:
            # One statement, one line (pgbench reads a statement up to its semicolon).
            f.write(
                "SELECT p.i, t.code, t.name, c.code, c.name, c.kind, g.code, g.name "
                f"FROM unnest('{{{lons}}}'::float8[], '{{{lats}}}'::float8[]) WITH ORDINALITY AS p(lon, lat, i) "
                "CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) AS geom) q "
                f"LEFT JOIN LATERAL (SELECT code, name FROM towns{suffix} l WHERE ST_Contains(l.geom, q.geom) LIMIT 1) t ON true "
                f"LEFT JOIN LATERAL (SELECT code, name, kind FROM communities{suffix} l WHERE ST_Contains(l.geom, q.geom) LIMIT 1) c ON true "
                f"LEFT JOIN LATERAL (SELECT code, name FROM grids{suffix} l WHERE ST_Contains(l.geom, q.geom) LIMIT 1) g ON true "
                "ORDER BY p.i;\n"
            )
    for z in range(0, 17):
        x0, y0 = tile(west, north, z)
        x1, y1 = tile(east, south, z)
        every = [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        chosen = every if len(every) <= per_zoom else rng.sample(every, per_zoom)
        with open(f"{out}/tiles-{z:02}.txt", "w", encoding="ascii") as f:
            for x, y in chosen:
                f.write(f"{z} {x} {y}\n")
    print(f"bounds {west:.4f},{south:.4f},{east:.4f},{north:.4f}; seed {seed}")


if __name__ == "__main__":
    main()
