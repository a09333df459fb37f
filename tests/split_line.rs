//! `/proposals/split` with a drawn line: for a deterministic family of straight and bent lines
//! across several sample communities (coordinates rounded to 7 decimals, as the web map's drawing
//! library sends them), every split must come back as parts that `/proposals/validate` accepts
//! as geometry (no 400/422) and that partition the parent: checked here independently of the
//! crate with geo's BooleanOps and geodesic areas.

mod common;

use geo::{BooleanOps, BoundingRect, GeodesicArea, LineString, MultiPolygon, Polygon};
use serde_json::{Value, json};

/// 城南社区 (64 grids, the report's split candidate) and four other communities of many grids.
const COMMUNITIES: [&str; 5] = [
    "442000005003",
    "442000001005",
    "442000002003",
    "442000004001",
    "442000103002",
];

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Straight and bent lines across the bounding box (x0, y0)–(x1, y1) at several fractions; their
/// ends lie outside the box, so outside the community.
fn lines(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<(String, Vec<[f64; 2]>)> {
    let (w, h) = (x1 - x0, y1 - y0);
    let (mx, my) = (0.1 * w, 0.1 * h);
    let mut out = Vec::new();
    for f in [0.2, 0.35, 0.5, 0.65, 0.8] {
        let (x, y) = (x0 + f * w, y0 + f * h);
        let family: [(&str, Vec<[f64; 2]>); 5] = [
            (
                "slanted north-south",
                vec![[x, y0 - my], [x + 0.07 * w, y1 + my]],
            ),
            (
                "slanted east-west",
                vec![[x0 - mx, y], [x1 + mx, y - 0.05 * h]],
            ),
            (
                "diagonal",
                vec![
                    [x - w, y0 + (1.0 - f) * h - h],
                    [x + w, y0 + (1.0 - f) * h + h],
                ],
            ),
            (
                "bent north-south",
                vec![
                    [x, y0 - my],
                    [x + 0.15 * w, y0 + 0.45 * h],
                    [x - 0.05 * w, y1 + my],
                ],
            ),
            (
                "bent east-west",
                vec![
                    [x0 - mx, y],
                    [x0 + 0.3 * w, y + 0.1 * h],
                    [x0 + 0.6 * w, y - 0.08 * h],
                    [x1 + mx, y + 0.02 * h],
                ],
            ),
        ];
        for (name, line) in family {
            let line = line.iter().map(|p| [round7(p[0]), round7(p[1])]).collect();
            out.push((format!("{name} at {f}"), line));
        }
    }
    out
}

/// A GeoJSON Polygon or MultiPolygon as geo's type, without the crate's parser.
fn to_geo(geometry: &Value) -> MultiPolygon<f64> {
    let ring = |r: &Value| -> LineString<f64> {
        r.as_array()
            .expect("ring")
            .iter()
            .map(|p| (p[0].as_f64().expect("lon"), p[1].as_f64().expect("lat")))
            .collect()
    };
    let polygon = |p: &Value| -> Polygon<f64> {
        let rings = p.as_array().expect("rings");
        Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
    };
    match geometry["type"].as_str() {
        Some("Polygon") => MultiPolygon(vec![polygon(&geometry["coordinates"])]),
        Some("MultiPolygon") => MultiPolygon(
            geometry["coordinates"]
                .as_array()
                .expect("polygons")
                .iter()
                .map(polygon)
                .collect(),
        ),
        other => panic!("unexpected geometry type {other:?}"),
    }
}

/// Geodesic area in m², each ring measured signed (so either winding gives the small side).
fn geodesic_m2(area: &MultiPolygon<f64>) -> f64 {
    let ring = |r: &LineString<f64>| Polygon::new(r.clone(), vec![]).geodesic_area_signed().abs();
    area.0
        .iter()
        .map(|p| ring(p.exterior()) - p.interiors().iter().map(ring).sum::<f64>())
        .sum()
}

#[tokio::test]
async fn every_line_split_gives_valid_parts_that_partition_the_parent() {
    let app = common::app(&common::sample_dir());
    let registry = &common::sample().registry;
    let (mut tried, mut split, mut refused) = (0, 0, 0);
    let mut failures = Vec::new();
    for code in COMMUNITIES {
        let c = registry.community_by_code(code).expect("community");
        let parent = registry.communities[c]
            .territory
            .as_deref()
            .expect("territory");
        let parent_m2 = geodesic_m2(parent);
        let b = parent.bounding_rect().expect("bounds");
        for (name, line) in lines(b.min().x, b.min().y, b.max().x, b.max().y) {
            tried += 1;
            let what = format!("{code} {name} {}", json!(line));
            let reply = common::post_json(
                &app,
                "/api/v1/proposals/split",
                json!({"community": code, "line": line}).to_string(),
            )
            .await;
            if reply.status == 422
                && reply.json()["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("the line must cross"))
            {
                refused += 1;
                continue;
            }
            if reply.status != 200 {
                failures.push(format!("{what}: /split {}", reply.json()["detail"]));
                continue;
            }
            split += 1;
            let proposal = reply.json();
            let validated =
                common::post_json(&app, "/api/v1/proposals/validate", proposal.to_string()).await;
            if validated.status != 200 {
                failures.push(format!(
                    "{what}: /validate {} {}",
                    validated.status,
                    validated.json()["detail"]
                ));
                continue;
            }
            // The parts partition the parent: areas add up, no overlap, nothing left out.
            let parts: Vec<MultiPolygon<f64>> = proposal["features"]
                .as_array()
                .expect("features")
                .iter()
                .map(|f| to_geo(&f["geometry"]))
                .collect();
            let sum: f64 = parts.iter().map(geodesic_m2).sum();
            let mut overlap = 0.0;
            for (i, a) in parts.iter().enumerate() {
                for b in &parts[i + 1..] {
                    overlap += geodesic_m2(&a.intersection(b));
                }
            }
            let union = parts.iter().fold(MultiPolygon(vec![]), |u, p| u.union(p));
            let missing = geodesic_m2(&parent.difference(&union));
            let beyond = geodesic_m2(&union.difference(parent));
            if (sum - parent_m2).abs() > 1.0 || overlap > 1.0 || missing > 1.0 || beyond > 1.0 {
                failures.push(format!(
                    "{what}: parts do not partition the parent: sum {sum:.2} m² vs {parent_m2:.2} m², \
                     overlap {overlap:.2}, missing {missing:.2}, beyond {beyond:.2}"
                ));
            }
        }
    }
    eprintln!(
        "{tried} lines: {split} split, {refused} refused as not crossing, {} failed",
        failures.len()
    );
    assert!(
        refused * 10 <= tried,
        "most lines cross their community: {refused} of {tried} refused"
    );
    assert!(
        failures.is_empty(),
        "{} of {tried} lines failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
