//! Issue 21: a city drawn like surveyed data (`gen-city --t-junctions`): grid corners lie on
//! their community's edges without matching vertices (T-junctions), with survey jitter. Checked
//! through the real router and the CLI: no structural audit finding, every whole-grid split from
//! `/split` passes every territory rule, an approval dissolves one without slivers, tiles
//! reassemble without gaps at every zoom, and lookups agree with a brute-force `Contains` over
//! the polygons read straight from the files. Before noding, the same city showed false
//! `grid_gap` findings (reproduced below with the tolerance set to 0).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use geo::{BooleanOps, Contains, Distance, Euclidean, InteriorPoint, MultiPolygon, Point, Polygon};
use serde_json::{Value, json};
use shequ::accounts::Role;
use shequ::api::{self, ApiConfig, AppState};
use shequ::registry::{Level, parse_area};
use shequ::rules::RuleId;
use shequ::rules::catalogue::Class;
use shequ::store::{Store, registry};
use shequ::tiles::TileSource;

use common::tiles::reassembly;

/// Survey jitter of the city most tests use, millimetres (below the 5 mm node tolerance).
const JITTER_MM: &str = "2";

/// Writes a T-junction city into `dir` with `gen-city` (the binary under test, not the library).
fn generate(dir: &Path, jitter_mm: &str) -> PathBuf {
    let out = dir.join("boundaries");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_gen-city"))
        .args(["--t-junctions", "--jitter-mm", jitter_mm, "--out"])
        .arg(&out)
        .output()
        .expect("gen-city runs");
    assert!(status.status.success(), "{}", common::text(&status.stderr));
    out
}

/// The city's features as written, parsed here (not by the loader): (code, polygon, parent).
fn features(dir: &Path, file: &str, parent: &str) -> Vec<(String, MultiPolygon<f64>, String)> {
    let text = std::fs::read_to_string(dir.join(file)).expect("read");
    let v: Value = serde_json::from_str(&text).expect("json");
    v["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            let ring: Vec<(f64, f64)> = f["geometry"]["coordinates"][0]
                .as_array()
                .expect("ring")
                .iter()
                .map(|p| (p[0].as_f64().expect("lon"), p[1].as_f64().expect("lat")))
                .collect();
            (
                f["properties"]["code"].as_str().expect("code").to_owned(),
                MultiPolygon(vec![Polygon::new(ring.into(), vec![])]),
                f["properties"][parent].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The failing data defects of an audit report (overlaps, gaps, slivers, parts outside, grids
/// not tiling): kind and codes.
fn structural_failures(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| !matches!(f["kind"].as_str(), Some("guideline" | "no_territory")))
        .filter(|f| f["severity"] != "warn")
        .map(|f| format!("{} {} {}", f["kind"], f["codes"], f["area_m2"]))
        .collect()
}

#[tokio::test]
async fn the_audit_finds_no_structural_failure_with_or_without_jitter() {
    for jitter in ["0", JITTER_MM] {
        let dir = tempfile::tempdir().expect("tempdir");
        let city = generate(dir.path(), jitter);
        let snapshot = common::load(&city);
        assert!(snapshot.noding.junctions > 0, "the city has T-junctions");
        let report = common::get(&common::app(&city), "/api/v1/audit")
            .await
            .json();
        assert_eq!(
            structural_failures(&report),
            Vec::<String>::new(),
            "jitter {jitter} mm"
        );
        // The CLI says so too, and reports the junctions it resolved.
        let check = common::shequ(&["check-data", city.to_str().expect("utf-8")]);
        let out = common::text(&check.stdout);
        assert!(check.status.success(), "{out}");
        assert!(
            out.contains(&format!(
                "T-junctions resolved: {}",
                snapshot.noding.junctions
            )),
            "{out}"
        );
    }
}

/// The failure, reproduced: without noding (tolerance 0) the jittered city shows
/// `grid_gap` failures where grids tile their community up to the survey noise. Each is a
/// sliver: its area is tiny against its length (thinner than the 5 mm tolerance, taking the
/// community edge it runs along as its length).
#[tokio::test]
async fn without_noding_the_jittered_city_shows_false_grid_gaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let city = generate(dir.path(), JITTER_MM);
    let shipped =
        std::fs::read_to_string(common::sample_dir().join("guidelines.toml")).expect("guidelines");
    let off = shipped.replace("node_tolerance_m = 0.005", "node_tolerance_m = 0.0");
    assert_ne!(off, shipped);
    std::fs::write(city.join("guidelines.toml"), off).expect("write");
    let snapshot = common::load(&city);
    assert_eq!(snapshot.noding.junctions, 0);
    let report = common::get(&common::app(&city), "/api/v1/audit")
        .await
        .json();
    let gaps: Vec<f64> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "grid_gap")
        .map(|f| f["area_m2"].as_f64().expect("area"))
        .collect();
    assert!(gaps.len() >= 10, "{gaps:?}");
    // A community edge is at most ~6 km; a gap along it within 2 × 2 mm of jitter is at most
    // 6,000 m × 0.004 m = 24 m².
    assert!(gaps.iter().all(|&a| a < 24.0), "{gaps:?}");
}

#[tokio::test]
async fn lookups_agree_with_brute_force_contains_on_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let city = generate(dir.path(), JITTER_MM);
    let grids = features(&city, "grids.geojson", "community_code");
    let app = common::app(&city);
    let mut rng = common::Rng(21);
    let (mut points, mut expected) = (Vec::new(), Vec::new());
    let (kx, ky) = common::metres_per_degree(22.45);
    while points.len() < 3000 {
        let p = Point::new(rng.uniform(113.27, 113.57), rng.uniform(22.38, 22.49));
        // Within 1 cm of a boundary the answer depends on the tie rule and on noding (≤ 5 mm).
        let near = grids.iter().any(|(_, g, _)| {
            g.0.iter().any(|poly| {
                poly.exterior().lines().any(|l| {
                    let d = Euclidean.distance(&geo::Line::new(
                        geo::coord! { x: (l.start.x - p.x()) * kx, y: (l.start.y - p.y()) * ky },
                        geo::coord! { x: (l.end.x - p.x()) * kx, y: (l.end.y - p.y()) * ky },
                    ), &Point::new(0.0, 0.0));
                    d < 0.01
                })
            })
        });
        if near {
            continue;
        }
        let holders: Vec<&String> = grids
            .iter()
            .filter(|(_, g, _)| g.contains(&p))
            .map(|(code, _, _)| code)
            .collect();
        assert!(holders.len() <= 1, "{p:?} in {holders:?}");
        expected.push(holders.first().map(|c| (*c).clone()));
        points.push([p.x(), p.y()]);
    }
    let reply = common::post_json(
        &app,
        "/api/v1/lookup",
        json!({ "points": points }).to_string(),
    )
    .await;
    let results = reply.json()["results"].as_array().expect("results").clone();
    let inside = expected.iter().filter(|e| e.is_some()).count();
    assert!(inside > 1000, "{inside} of 3000 points inside the city");
    for ((p, want), got) in points.iter().zip(&expected).zip(&results) {
        let got = got["grid"]["code"].as_str().map(str::to_owned);
        assert_eq!(&got, want, "{p:?}");
    }
}

/// The territory rules (structural, always `fail`).
fn territory_rules() -> Vec<&'static str> {
    RuleId::all()
        .filter(|r| r.spec().class == Class::Territory)
        .map(|r| r.spec().name)
        .collect()
}

/// A split of `community` into its first `k` grids (by code) and the rest, from `/split`, with
/// staff and office space enough for the measured rules.
async fn split(app: &axum::Router, community: &str, grids: &[String], k: usize) -> Value {
    let groups = vec![grids[..k].to_vec(), grids[k..].to_vec()];
    let reply = common::post_json(
        app,
        "/api/v1/proposals/split",
        json!({"community": community, "groups": groups}).to_string(),
    )
    .await;
    assert!(reply.status.is_success(), "{}", reply.text());
    let mut p = reply.json();
    for f in p["features"].as_array_mut().expect("features") {
        f["properties"]["workers"] = json!(100);
        f["properties"]["office_area_m2"] = json!(5000);
        f["properties"]["justification"] = json!("丁字路口测试");
    }
    p
}

#[tokio::test]
async fn every_whole_grid_split_passes_every_territory_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let city = generate(dir.path(), JITTER_MM);
    let app = common::app(&city);
    let communities = features(&city, "communities.geojson", "town_code");
    let grids = features(&city, "grids.geojson", "community_code");
    let rules = territory_rules();
    assert!(rules.len() >= 7, "{rules:?}");
    let mut checked = 0;
    for (code, _, _) in &communities {
        let mine: Vec<String> = grids
            .iter()
            .filter(|(_, _, parent)| parent == code)
            .map(|(g, _, _)| g.clone())
            .collect();
        assert_eq!(mine.len(), 12);
        // Whole rows (or a row and a part of one): every part is contiguous.
        for k in [3, 6, 9] {
            let proposal = split(&app, code, &mine, k).await;
            let report =
                common::post_json(&app, "/api/v1/proposals/validate", proposal.to_string())
                    .await
                    .json();
            let checks = report["parts"]
                .as_array()
                .expect("parts")
                .iter()
                .flat_map(|p| p["checks"].as_array().expect("checks").clone())
                .chain(report["checks"].as_array().expect("checks").clone());
            for check in checks {
                let rule = check["rule"].as_str().expect("rule");
                if rules.contains(&rule) {
                    assert_eq!(check["verdict"], "pass", "{code} k={k}: {check}");
                    checked += 1;
                }
            }
            for part in report["parts"].as_array().expect("parts") {
                let cut = part["cut_grids"].as_array().expect("cut_grids");
                assert!(cut.is_empty(), "{code} k={k}: {cut:?}");
            }
        }
    }
    assert!(checked >= 36 * 7, "{checked} territory checks");
}

#[tokio::test]
async fn an_approved_whole_grid_split_dissolves_without_slivers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let city = generate(dir.path(), JITTER_MM);
    let store = Arc::new(Store::open(&dir.path().join("shequ.db")).expect("store"));
    let (snapshot, version, _) = registry::open_or_seed(&store, &city).expect("seed");
    let (town, parent) = ("442000002", "442000002003");
    let street = common::user_token(&store, "street", Role::Street, &[town]);
    let reviewer = common::user_token(&store, "reviewer", Role::Reviewer, &[]);
    let config = ApiConfig::default();
    let app = api::router(
        AppState::with_store(snapshot, version.id, store.clone(), &config),
        &config,
    );
    let grids: Vec<String> = features(&city, "grids.geojson", "community_code")
        .into_iter()
        .filter(|(_, _, c)| c == parent)
        .map(|(g, _, _)| g)
        .collect();
    let proposal = split(&app, parent, &grids, 6).await;
    // The approval gate refuses any new structural failure, so this passing is the first check.
    common::carry_to_approval(&app, &street, &reviewer, proposal).await;

    let report = common::get(&app, "/api/v1/audit").await.json();
    assert_eq!(structural_failures(&report), Vec::<String>::new());
    // The two new communities, as served, against the parent read from the file: their union
    // is the parent (up to the node tolerance: < 1 m²), they do not overlap, and each is one
    // polygon (no sliver left over from the dissolve).
    let diff = common::get(&app, "/api/v1/versions/1/diff/2").await.json();
    let created: Vec<String> = diff["created"]
        .as_array()
        .expect("created")
        .iter()
        .map(|c| c["code"].as_str().expect("code").to_owned())
        .collect();
    assert_eq!(created.len(), 2, "{diff}");
    let parts: Vec<MultiPolygon<f64>> = served_territories(&app, &created).await;
    let original = features(&city, "communities.geojson", "town_code")
        .into_iter()
        .find(|(c, _, _)| c == parent)
        .expect("parent")
        .1;
    for p in &parts {
        assert_eq!(p.0.len(), 1, "one polygon each");
        assert!(p.0[0].interiors().is_empty(), "no holes");
    }
    let union = parts[0].union(&parts[1]);
    let area = |m: &MultiPolygon<f64>| shequ::geometry::measure::area_m2(m);
    assert!(area(&parts[0].intersection(&parts[1])) < 0.01);
    // Against the parent as loaded (noded): the same land, to rounding.
    let loaded = common::load(&city);
    let noded = loaded.registry.communities
        [loaded.registry.community_by_code(parent).expect("parent")]
    .territory
    .clone()
    .expect("territory");
    let symmetric = |a: &MultiPolygon<f64>, b: &MultiPolygon<f64>| {
        area(&a.difference(b)) + area(&b.difference(a))
    };
    assert!(
        symmetric(&noded, &union) < 0.01,
        "{}",
        symmetric(&noded, &union)
    );
    // Against the parent as written in the file: only the survey noise noding absorbed, no
    // more than its perimeter times the 5 mm tolerance (GEOS-style check by hand: the file's
    // straight edges against the grid corners jittered ≤ 2 mm off them).
    let perimeter = shequ::geometry::measure::perimeter_m(&original);
    let moved = symmetric(&original, &union);
    assert!(moved < perimeter * 0.005, "{moved} m² along {perimeter} m");
    // Each new community's interior point looks up to itself.
    for (code, p) in created.iter().zip(&parts) {
        let q = p.interior_point().expect("interior point");
        let hit = common::get(&app, &format!("/api/v1/lookup?lon={}&lat={}", q.x(), q.y()))
            .await
            .json();
        assert_eq!(hit["community"]["code"], code.as_str());
    }
}

async fn served_territories(app: &axum::Router, codes: &[String]) -> Vec<MultiPolygon<f64>> {
    let mut out = Vec::new();
    for code in codes {
        let f = common::get(app, &format!("/api/v1/communities/{code}"))
            .await
            .json();
        out.push(parse_area(&f["geometry"]).expect("geometry"));
    }
    out
}

/// Communities reassemble into their town, and grids into their community, from decoded tiles
/// at every zoom their layers have features (communities from z6, grids from z12), up to z16.
#[test]
fn tiles_stay_gap_free_at_every_zoom() {
    let dir = tempfile::tempdir().expect("tempdir");
    let city = generate(dir.path(), JITTER_MM);
    let snapshot = common::load(&city);
    let source = TileSource::new(&snapshot.registry);
    let r = &snapshot.registry;
    for z in 6..=16u8 {
        for town in &r.towns {
            let c = reassembly(&snapshot, &source, Level::Town, &town.code, z);
            assert!(c.parent > 0.0, "z{z}: {} not found", town.code);
            c.assert_within(0.5, &format!("z{z} {}", town.code));
        }
    }
    for z in 12..=16u8 {
        // Two communities per zoom (all of them at z12–z14 would be slow in a debug build).
        for c in r.communities.iter().skip(usize::from(z) % 6).step_by(6) {
            let cover = reassembly(&snapshot, &source, Level::Community, &c.code, z);
            assert!(cover.parent > 0.0, "z{z}: {} not found", c.code);
            cover.assert_within(0.5, &format!("z{z} {}", c.code));
        }
    }
}
