#!/usr/bin/env python3
"""Writes the attack payloads of issue 12 (deterministic; rerun to regenerate):

- sawtooth40k.json: a proposal with one ring of 40,000 positions, a comb whose teeth span the
  ring in x (the shape that made the old self-intersection sweep quadratic);
- sawtooth20k.json: the same at 19,999 positions (just under the default cap, so it is validated);
- comb_at_caps.json: the worst ring measured within every default cap: a comb of 128 teeth
  (256 crossings of one meridian, the --max-line-crossings default) subdivided to 19,000
  positions (under --max-proposal-vertices), validated in full;
- parts4000.json: a proposal of 4,000 small squares (the old all-pairs overlap check);
- zigzag_line.json: a split of community 442000001001 along a 1,500-point zigzag (~44 KB);
- zigzag_line_1000.json: the same zigzag cut to 1,000 points (the default cap);
- line50k.json: a split line of 50,000 points;
- login.json: a login with a wrong password (each costs one argon2id hash).
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(name, value):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(value, f, separators=(",", ":"))


def proposal(parts):
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"name": f"part {i}", "workers": 10, "office_area_m2": 300},
        }
        for i, ring in enumerate(parts)
    ]
    return {
        "type": "FeatureCollection",
        "proposal": {"kind": "new", "title": "attack", "parents": []},
        "features": features,
    }


def sawtooth(positions, x0=113.37, y0=22.50, width=0.01, step=1e-6):
    """A comb: teeth from x0 to x0 + width and back, stacked in y; closed."""
    teeth = (positions - 3) // 2
    ring = [[x0, y0]]
    for i in range(teeth):
        y = y0 + (i + 0.5) * step
        ring.append([round(x0 + width, 7), round(y, 9)])
        ring.append([round(x0 + 0.0005, 7), round(y + step / 2, 9)])
    ring.append([round(x0 - 0.001, 7), round(y0 + teeth * step, 9)])
    ring.append(ring[0])
    return ring


def comb_at_caps(teeth=128, positions=19_000, x0=113.37, y0=22.50, width=0.01, step=4e-5):
    """A comb whose tooth edges are cut into many short edges: as many vertices as the vertex
    cap allows, as many crossings of one meridian as the crossings cap allows."""
    k = max(1, positions // teeth // 2)
    ring = [[x0, y0]]
    for i in range(teeth):
        y = y0 + (i + 0.5) * step
        a, b, c = (x0 + 0.0005, y), (x0 + width, y + step / 4), (x0 + 0.0005, y + step / 2)
        for p, q in ((a, b), (b, c)):
            for j in range(1, k + 1):
                ring.append([round(p[0] + (q[0] - p[0]) * j / k, 9), round(p[1] + (q[1] - p[1]) * j / k, 9)])
    ring.append([x0 - 0.001, round(y0 + teeth * step, 9)])
    ring.append(ring[0])
    return ring


def community_bounds(code):
    with open(os.path.join(ROOT, "boundaries", "communities.geojson")) as f:
        for feature in json.load(f)["features"]:
            if feature["properties"]["code"] == code:
                g = feature["geometry"]
                polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
                pts = [p for poly in polys for ring in poly for p in ring]
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                return min(xs), min(ys), max(xs), max(ys)
    raise SystemExit(f"community {code} not found")


def zigzag(code, points):
    """West to east across the community, swinging over its whole height at every point."""
    x0, y0, x1, y1 = community_bounds(code)
    pad = 0.001
    line = []
    for i in range(points):
        x = x0 - pad + (x1 - x0 + 2 * pad) * i / (points - 1)
        y = y0 - pad if i % 2 else y1 + pad
        line.append([round(x, 7), round(y, 7)])
    line[0][1] = line[-1][1] = (y0 + y1) / 2
    return {"community": code, "line": line}


write("sawtooth40k.json", proposal([sawtooth(40_001)]))
write("sawtooth20k.json", proposal([sawtooth(20_000)]))
write("comb_at_caps.json", proposal([comb_at_caps()]))
squares = []
for i in range(4000):
    x, y = 113.30 + (i % 80) * 2e-4, 22.48 + (i // 80) * 2e-4
    squares.append([[x, y], [x + 1e-4, y], [x + 1e-4, y + 1e-4], [x, y + 1e-4], [x, y]])
write("parts4000.json", proposal(squares))
write("zigzag_line.json", zigzag("442000001001", 1500))
write("zigzag_line_1000.json", zigzag("442000001001", 1000))
write("line50k.json", zigzag("442000001001", 50_000))
write("login.json", {"user": "nobody", "password": "not the password"})
