//! The coverage audit: the sample city is clean, every planted defect is found with the right
//! codes and area (checked against an independent shoelace area), nothing else is reported, and
//! perturbing a shared boundary yields exactly the expected overlap/gap pair.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};
use shequ::audit::{AuditReport, FindingKind, audit};
use shequ::registry::FILES;

fn defects_dir() -> std::path::PathBuf {
    common::sample_dir().join("examples/defects")
}

fn audit_dir(dir: &Path) -> AuditReport {
    let s = common::load(dir);
    audit(&s.registry, &s.guidelines, &|_, _| {})
}

/// Shoelace area in m² of a lon/lat ring in a local projection at its first vertex.
fn shoelace_m2(ring: &[[f64; 2]]) -> f64 {
    let (kx, ky) = common::metres_per_degree(ring[0][1]);
    let xy: Vec<(f64, f64)> = ring
        .iter()
        .map(|p| ((p[0] - ring[0][0]) * kx, (p[1] - ring[0][1]) * ky))
        .collect();
    let twice: f64 = xy
        .windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum();
    twice.abs() / 2.0
}

fn within_0_1_percent(measured: f64, expected: f64) -> bool {
    (measured - expected).abs() <= expected * 0.001
}

#[test]
fn the_sample_city_audits_clean_but_for_no_territory_and_guidelines() {
    let s = common::sample();
    let report = audit(&s.registry, &s.guidelines, &|_, _| {});
    let kinds: BTreeSet<&str> = report.findings.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["guideline", "no_territory"]),
        "{:#?}",
        report.summary
    );
    assert_eq!(report.summary.by_kind.get("no_territory"), Some(&13));
    // The article's oversized community is on the list of split candidates.
    let chengnan = report
        .findings
        .iter()
        .find(|f| {
            f.codes == ["442000005003"] && f.rule.is_some_and(|r| r.id.as_str() == "households")
        })
        .expect("城南 is flagged as oversized");
    assert_eq!(
        chengnan.rule.map(|r| r.measured),
        Some(
            s.registry.communities[s.registry.community_by_code("442000005003").expect("城南")]
                .counts
                .households as f64
        )
    );
    assert!(
        chengnan.suggestion.contains("split candidate"),
        "{}",
        chengnan.suggestion
    );
}

#[test]
fn the_defect_fixture_is_exactly_what_plant_defects_writes() {
    let sample = common::sample_dir().to_string_lossy().into_owned();
    let files: Vec<&str> = FILES
        .iter()
        .copied()
        .chain(["defects.json", "guidelines.toml"])
        .collect();
    common::assert_regenerates(
        env!("CARGO_BIN_EXE_plant-defects"),
        &["--from", &sample],
        &defects_dir(),
        &files,
    );
}

#[test]
fn every_planted_defect_is_found_with_its_area_and_nothing_else() {
    let report = audit_dir(&defects_dir());
    let manifest: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(defects_dir().join("defects.json")).expect("manifest"),
    )
    .expect("JSON");
    let mut expected = BTreeSet::new();
    for planted in &manifest {
        let kind = planted["kind"].as_str().expect("kind");
        let codes: Vec<String> = planted["codes"]
            .as_array()
            .expect("codes")
            .iter()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
        let rect: Option<Vec<[f64; 2]>> = planted["rectangle"].as_array().map(|r| {
            r.iter()
                .map(|p| [p[0].as_f64().expect("lon"), p[1].as_f64().expect("lat")])
                .collect()
        });
        if kind == "none" {
            // Below tolerance: no unassigned land or sliver mentions this community.
            assert!(
                !report.findings.iter().any(|f| matches!(
                    f.kind,
                    FindingKind::Sliver | FindingKind::UnassignedLand
                ) && f.codes.contains(&codes[1])),
                "a slit below tolerance was reported"
            );
            continue;
        }
        let found: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.kind.as_str() == kind && f.codes == codes)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{kind} {codes:?} found {} times in {:#?}",
            found.len(),
            report.findings
        );
        if let Some(rect) = rect {
            let want = shoelace_m2(&rect);
            let got = found[0].area_m2.expect("an area");
            assert!(
                within_0_1_percent(got, want),
                "{kind} {codes:?}: {got} m² vs {want} m²"
            );
            assert!(found[0].geometry.is_some());
        }
        expected.insert((kind.to_owned(), codes));
    }
    let reported: BTreeSet<(String, Vec<String>)> = report
        .findings
        .iter()
        .map(|f| (f.kind.as_str().to_owned(), f.codes.clone()))
        .collect();
    assert_eq!(reported, expected, "exactly the planted defects");
}

/// Perturbs the boundary the mini city's west community shares with the east one: two new
/// vertices on it, each pushed east (into the neighbour: an overlap) or west (leaving a gap).
#[test]
fn perturbing_a_shared_boundary_gives_the_expected_overlap_and_gap() {
    let mut rng = common::Rng(5);
    for case in 0..12u32 {
        let offsets = [rng.uniform(2e-5, 8e-4), rng.uniform(2e-5, 8e-4)];
        let signs = [
            if rng.next_u64().is_multiple_of(2) {
                1.0
            } else {
                -1.0
            },
            if case.is_multiple_of(2) { -1.0 } else { 1.0 },
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        for file in FILES {
            std::fs::copy(common::mini_dir().join(file), dir.path().join(file)).expect("copy");
        }
        let path = dir.path().join("communities.geojson");
        let mut communities: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        let dx = [signs[0] * offsets[0], signs[1] * offsets[1]];
        // West community ring: (113.00,22.00) (113.01,22.00) [new] (113.01,22.01) [new] (113.01,22.02) …
        communities["features"][0]["geometry"]["coordinates"] = json!([[
            [113.0, 22.0],
            [113.01, 22.0],
            [113.01 + dx[0], 22.005],
            [113.01, 22.01],
            [113.01 + dx[1], 22.015],
            [113.01, 22.02],
            [113.0, 22.02],
            [113.0, 22.01],
            [113.0, 22.0]
        ]]);
        std::fs::write(&path, communities.to_string()).expect("write");

        let report = audit_dir(dir.path());
        let mut want: Vec<(&str, f64)> = Vec::new();
        for (i, &d) in dx.iter().enumerate() {
            let y = 22.005 + 0.01 * i as f64;
            let triangle = [
                [113.01, y - 0.005],
                [113.01 + d, y],
                [113.01, y + 0.005],
                [113.01, y - 0.005],
            ];
            let area = shoelace_m2(&triangle);
            let kind = if d > 0.0 {
                "community_overlap"
            } else {
                // Width of a triangle's largest inscribed circle: 2 · area / semi-perimeter.
                let (kx, ky) = common::metres_per_degree(y);
                let side =
                    |a: [f64; 2], b: [f64; 2]| ((b[0] - a[0]) * kx).hypot((b[1] - a[1]) * ky);
                let s = (side(triangle[0], triangle[1])
                    + side(triangle[1], triangle[2])
                    + side(triangle[2], triangle[0]))
                    / 2.0;
                let width = 2.0 * area / s;
                if area < 200.0 || width < 5.0 {
                    "sliver"
                } else {
                    "unassigned_land"
                }
            };
            want.push((kind, area));
        }
        let mut got: Vec<(&str, f64)> = report
            .findings
            .iter()
            .filter(|f| {
                matches!(
                    f.kind,
                    FindingKind::CommunityOverlap
                        | FindingKind::UnassignedLand
                        | FindingKind::Sliver
                )
            })
            .map(|f| (f.kind.as_str(), f.area_m2.unwrap_or(0.0)))
            .collect();
        want.sort_by(|a, b| a.1.total_cmp(&b.1));
        got.sort_by(|a, b| a.1.total_cmp(&b.1));
        // Overlaps of both vertices can merge into one finding per community pair.
        if want.iter().all(|w| w.0 == "community_overlap") {
            want = vec![("community_overlap", want.iter().map(|w| w.1).sum())];
        }
        assert_eq!(
            got.len(),
            want.len(),
            "case {case}, offsets {dx:?}: {got:?} vs {want:?}"
        );
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.0, w.0, "case {case}, offsets {dx:?}");
            assert!(
                within_0_1_percent(g.1, w.1),
                "case {case}: {} m² vs {} m²",
                g.1,
                w.1
            );
        }
    }
}

#[test]
fn audit_cli_reports_by_town_and_fails_on_failing_findings() {
    let run = common::shequ;
    let out = run(&["audit", &defects_dir().to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("10 findings (9 failing)"), "{text}");
    assert!(text.contains("== 442000106 沙溪镇"), "{text}");
    assert!(text.contains("[warn] sliver:"), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr).is_empty(),
        "no progress bar when not a terminal"
    );

    let out = run(&["audit", "--json", &defects_dir().to_string_lossy()]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(v["summary"]["findings"], 10);
    assert_eq!(v["summary"]["by_kind"]["grid_gap"], 2);

    // A clean city (the mini city without its community lacking territory) passes.
    let dir = tempfile::tempdir().expect("tempdir");
    for file in FILES {
        std::fs::copy(common::mini_dir().join(file), dir.path().join(file)).expect("copy");
    }
    let path = dir.path().join("communities.geojson");
    let text = std::fs::read_to_string(&path).expect("read");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("442000901003"))
        .collect();
    std::fs::write(&path, kept.join("\n").replace("}},\n]}", "}}\n]}")).expect("write");
    std::fs::copy(
        defects_dir().join("guidelines.toml"),
        dir.path().join("guidelines.toml"),
    )
    .expect("copy");
    let out = run(&["audit", &dir.path().to_string_lossy()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("0 findings (0 failing)"));
}

#[test]
fn a_bad_guidelines_file_stops_loading_with_its_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in FILES {
        std::fs::copy(common::mini_dir().join(file), dir.path().join(file)).expect("copy");
    }
    std::fs::write(
        dir.path().join("guidelines.toml"),
        "[audit]\noverlap_tolerance_m2 = \"big\"\n",
    )
    .expect("write");
    let Err(e) = shequ::Snapshot::load(dir.path()) else {
        panic!("must not load")
    };
    let text = e.to_string();
    assert!(
        text.contains("guidelines.toml") && text.contains("overlap_tolerance_m2"),
        "{text}"
    );
}

#[tokio::test]
async fn audit_over_http() {
    let app = common::app(&common::mini_dir());
    let report = common::get(&app, "/api/v1/audit").await;
    assert_eq!(report.status, 200);
    let v = report.json();
    let no_territory: Vec<&Value> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "no_territory")
        .collect();
    assert_eq!(no_territory.len(), 1);
    assert_eq!(no_territory[0]["codes"], json!(["442000901003"]));
    assert_eq!(no_territory[0]["severity"], "fail");
    assert!(v["summary"]["failing"].as_u64().is_some_and(|n| n >= 1));

    let geojson = common::get(&app, "/api/v1/audit.geojson").await;
    assert_eq!(geojson.content_type, "application/geo+json");
    let g = geojson.json();
    assert_eq!(g["type"], "FeatureCollection");
    assert_eq!(
        g["features"].as_array().map(Vec::len),
        v["findings"].as_array().map(Vec::len)
    );
    assert!(
        g["features"]
            .as_array()
            .expect("features")
            .iter()
            .any(|f| f["properties"]["kind"] == "no_territory" && f["geometry"].is_null())
    );
}

#[tokio::test]
async fn findings_are_drawn_in_their_own_tile_layer() {
    use mvt_reader::Reader;
    use mvt_reader::feature::Value as MvtValue;
    use shequ::tiles::TileId;

    let app = common::app(&defects_dir());
    let manifest: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(defects_dir().join("defects.json")).expect("manifest"),
    )
    .expect("JSON");
    let planted = manifest
        .iter()
        .find(|d| d["kind"] == "unassigned_land")
        .expect("planted gap");
    let corners: Vec<[f64; 2]> = planted["rectangle"]
        .as_array()
        .expect("rectangle")
        .iter()
        .map(|p| [p[0].as_f64().expect("lon"), p[1].as_f64().expect("lat")])
        .collect();
    let centre = geo::coord! { x: (corners[0][0] + corners[2][0]) / 2.0, y: (corners[0][1] + corners[2][1]) / 2.0 };
    let tile = TileId::containing(centre, 15);
    let reply = common::get(
        &app,
        &format!("/tiles/findings/{}/{}/{}.mvt", tile.z, tile.x, tile.y),
    )
    .await;
    assert_eq!(reply.status, 200);
    let reader = Reader::new(reply.body.clone()).expect("a second decoder reads the tile");
    assert_eq!(
        reader.get_layer_names().expect("names"),
        vec!["findings".to_owned()]
    );
    let features = reader.get_features_as::<f64>(0).expect("features");
    let gap = features
        .iter()
        .find(|f| {
            f.properties.as_ref().and_then(|p| p.get("kind"))
                == Some(&MvtValue::String("unassigned_land".into()))
        })
        .expect("the planted gap is drawn");
    let area = match gap.properties.as_ref().and_then(|p| p.get("area_m2")) {
        Some(MvtValue::UInt(a)) => *a as f64,
        other => panic!("area_m2 should be an integer, is {other:?}"),
    };
    assert!((area - shoelace_m2(&corners)).abs() <= 1.0, "{area}");
    // Below the layer's minzoom, and in tiles of the other layers, no findings.
    let low = TileId::containing(centre, 6);
    assert_eq!(
        common::get(
            &app,
            &format!("/tiles/findings/{}/{}/{}.mvt", low.z, low.x, low.y)
        )
        .await
        .status,
        204
    );
    let towns = common::get(
        &app,
        &format!("/tiles/towns/{}/{}/{}.mvt", tile.z, tile.x, tile.y),
    )
    .await;
    let reader = Reader::new(towns.body).expect("decodes");
    assert_eq!(
        reader.get_layer_names().expect("names"),
        vec!["towns".to_owned()]
    );
}

/// The text report ends by sorting the failing findings into data defects, communities without
/// territory and guideline findings (the shipped city fails its audit, and a newcomer needs to
/// know why); the counts agree with the JSON report, counted here from its findings.
#[test]
fn audit_text_says_how_to_read_the_failing_findings() {
    let run = common::shequ;
    for dir in [defects_dir(), common::sample_dir()] {
        let dir = dir.to_string_lossy();
        let text = String::from_utf8_lossy(&run(&["audit", &dir]).stdout).into_owned();
        let json: Value =
            serde_json::from_slice(&run(&["audit", "--json", &dir]).stdout).expect("JSON report");
        let failing: Vec<&str> = json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["severity"] == "fail" || f["severity"] == "exception")
            .filter_map(|f| f["kind"].as_str())
            .collect();
        let of = |kind: &str| failing.iter().filter(|&&k| k == kind).count();
        let defects = failing.len() - of("no_territory") - of("guideline");
        for line in [
            format!("How to read this: {} failing findings.", failing.len()),
            format!("  {defects} data defects"),
            format!("  {} communities without territory", of("no_territory")),
            format!("  {} guideline findings", of("guideline")),
        ] {
            assert!(text.contains(&line), "{dir}: {line:?} in\n{text}");
        }
        assert_eq!(
            text.contains("The boundary data itself is consistent"),
            defects == 0,
            "{dir}"
        );
    }
}
