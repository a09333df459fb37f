//! `/proposals/grid-groups` (按网格取整): drawn split lines become groups of whole grids by the
//! majority rule approval uses. Checked against the parts `/proposals/split` draws for the same
//! line (each grid goes to the part holding most of its area, computed here with geo), for
//! several lines (every grid in exactly one group, groups accepted by `/split`), and refusals.

mod common;

use std::collections::BTreeSet;

use geo::{Area, BooleanOps, BoundingRect, MultiPolygon, Polygon};
use serde_json::{Value, json};

const COMMUNITY: &str = "442000005003"; // 城南社区, 64 grids

fn multipolygon(g: &Value) -> MultiPolygon<f64> {
    let ring = |r: &Value| -> geo::LineString<f64> {
        r.as_array()
            .expect("ring")
            .iter()
            .map(|p| (p[0].as_f64().expect("x"), p[1].as_f64().expect("y")))
            .collect::<Vec<_>>()
            .into()
    };
    let polygon = |p: &Value| {
        let rings = p.as_array().expect("rings");
        Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
    };
    match g["type"].as_str() {
        Some("Polygon") => MultiPolygon(vec![polygon(&g["coordinates"])]),
        Some("MultiPolygon") => MultiPolygon(
            g["coordinates"]
                .as_array()
                .expect("polygons")
                .iter()
                .map(polygon)
                .collect(),
        ),
        other => panic!("not an area: {other:?}"),
    }
}

/// 城南社区's extent, its grids (code, area) and a line across it at fraction `f` of its width.
fn setup() -> ([f64; 4], Vec<(String, MultiPolygon<f64>)>) {
    let registry = &common::sample().registry;
    let c = registry.community_by_code(COMMUNITY).expect("community");
    let b = registry.communities[c]
        .territory
        .as_deref()
        .and_then(|t| t.bounding_rect())
        .expect("bounds");
    let grids = registry.communities[c]
        .grids
        .iter()
        .map(|&g| {
            (
                registry.grids[g].code.clone(),
                geo::MultiPolygon::clone(&registry.grids[g].area),
            )
        })
        .collect();
    ([b.min().x, b.min().y, b.max().x, b.max().y], grids)
}

fn north_south(b: [f64; 4], f: f64) -> Value {
    let x = b[0] + f * (b[2] - b[0]);
    json!([
        [x, b[1] - 0.002],
        [x + 0.0004, (b[1] + b[3]) / 2.0],
        [x, b[3] + 0.002]
    ])
}

fn east_west(b: [f64; 4], f: f64) -> Value {
    let y = b[1] + f * (b[3] - b[1]);
    json!([[b[0] - 0.002, y], [b[2] + 0.002, y + 0.0003]])
}

fn codes(groups: &Value) -> Vec<BTreeSet<String>> {
    groups
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            g.as_array()
                .expect("group")
                .iter()
                .map(|c| c.as_str().expect("code").to_owned())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn one_line_groups_each_grid_with_the_part_holding_most_of_it() {
    let app = common::app(&common::sample_dir());
    let (b, grids) = setup();
    let line = north_south(b, 0.5);
    let split = common::post_json(
        &app,
        "/api/v1/proposals/split",
        json!({"community": COMMUNITY, "line": line}).to_string(),
    )
    .await;
    assert_eq!(split.status, 200, "{}", split.text());
    let parts: Vec<MultiPolygon<f64>> = split.json()["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| multipolygon(&f["geometry"]))
        .collect();
    // Expected: each grid with the part that holds the largest share of its area.
    let mut expected: Vec<BTreeSet<String>> = vec![BTreeSet::new(); parts.len()];
    for (code, area) in &grids {
        let best = parts
            .iter()
            .enumerate()
            .map(|(i, p)| (i, area.intersection(p).unsigned_area()))
            .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
        expected[best.0].insert(code.clone());
    }
    expected.retain(|g| !g.is_empty());
    let reply = common::post_json(
        &app,
        "/api/v1/proposals/grid-groups",
        json!({"community": COMMUNITY, "lines": [line]}).to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["community"], COMMUNITY);
    let mut got = codes(&body["groups"]);
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    // Every share is the grid's largest, so at least a half with two parts.
    for s in body["shares"]
        .as_array()
        .expect("shares")
        .iter()
        .flat_map(|g| g.as_array().expect("g"))
    {
        assert!(s.as_f64().expect("share") >= 0.5, "{s}");
    }
}

#[tokio::test]
async fn several_lines_give_a_grouping_that_split_accepts() {
    let app = common::app(&common::sample_dir());
    let (b, grids) = setup();
    let lines = json!([
        north_south(b, 0.35),
        north_south(b, 0.65),
        east_west(b, 0.5)
    ]);
    let reply = common::post_json(
        &app,
        "/api/v1/proposals/grid-groups",
        json!({"community": COMMUNITY, "lines": lines}).to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let groups = codes(&reply.json()["groups"]);
    assert!(groups.len() >= 5, "{} groups", groups.len());
    let all: Vec<&String> = groups.iter().flatten().collect();
    let unique: BTreeSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), grids.len(), "every grid once");
    assert_eq!(unique.len(), grids.len());
    let split = common::post_json(
        &app,
        "/api/v1/proposals/split",
        json!({"community": COMMUNITY, "groups": reply.json()["groups"]}).to_string(),
    )
    .await;
    assert_eq!(split.status, 200, "{}", split.text());
    assert_eq!(
        split.json()["features"].as_array().map(Vec::len),
        Some(groups.len())
    );
}

#[tokio::test]
async fn refusals_are_problems() {
    let app = common::app(&common::sample_dir());
    let (b, _) = setup();
    let post = |body: Value| {
        let app = app.clone();
        async move { common::post_json(&app, "/api/v1/proposals/grid-groups", body.to_string()).await }
    };
    // A line ending inside the community.
    let inside = json!([
        [b[0] - 0.002, b[1] + 0.5 * (b[3] - b[1])],
        [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0]
    ]);
    post(json!({"community": COMMUNITY, "lines": [north_south(b, 0.5), inside]}))
        .await
        .assert_problem(422, "line 2");
    post(json!({"community": "442000005999", "lines": [north_south(b, 0.5)]}))
        .await
        .assert_problem(404, "unknown community");
    post(json!({"community": COMMUNITY, "lines": []}))
        .await
        .assert_problem(422, "lines");
    post(json!({"community": COMMUNITY, "lines": [[1, 2, 3]]}))
        .await
        .assert_problem(400, "lines[0]");
}

#[tokio::test]
async fn assignment_of_a_grid_split_gives_back_its_groups() {
    let app = common::app(&common::sample_dir());
    let (b, grids) = setup();
    let lines = json!([north_south(b, 0.5), east_west(b, 0.5)]);
    let groups = common::post_json(
        &app,
        "/api/v1/proposals/grid-groups",
        json!({"community": COMMUNITY, "lines": lines}).to_string(),
    )
    .await
    .json()["groups"]
        .clone();
    let split = common::post_json(
        &app,
        "/api/v1/proposals/split",
        json!({"community": COMMUNITY, "groups": groups}).to_string(),
    )
    .await;
    assert_eq!(split.status, 200, "{}", split.text());
    let reply = common::post_json(&app, "/api/v1/proposals/assignment", split.text()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let rows = reply.json()["grids"].as_array().cloned().expect("grids");
    assert_eq!(rows.len(), grids.len());
    let expected = codes(&groups);
    for row in &rows {
        let part = row["part"].as_u64().expect("every grid has a part") as usize;
        let code = row["grid"].as_str().expect("code");
        assert!(expected[part].contains(code), "{row}");
        assert_eq!(row["share"], 1.0, "{row}");
        assert_eq!(row["parent"], COMMUNITY);
    }
    common::post_json(&app, "/api/v1/proposals/assignment", "{\"type\": 1}")
        .await
        .assert_problem(400, "");
}
