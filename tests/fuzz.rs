//! Issue 12, part 4: property-based fuzzing of every parser that input reaches: proposals,
//! boundary features, tile paths and layer lists, CRS strings, `as_of`, address normalisation
//! and login bodies (the last four also through the router). Each target asserts no panic and
//! that no case takes longer than [`CASE_LIMIT`], and prints its slowest case.
//!
//! `cargo test --release --test fuzz` runs a short round (a few hundred to a few thousand cases
//! per target); `bench/fuzz.sh` runs the long one (`PROPTEST_CASES`, ≥ 1,000,000 per target).
//! Inputs are mostly mutations of valid documents (a random value put at random places of a
//! valid proposal or feature), so that they get past the first checks and reach deep code.

mod common;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::header;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use shequ::Snapshot;
use shequ::api::{self, ApiConfig, AppState};

/// The slowest a single case may take (generous: the machine is shared and noisy; the caps of
/// the handlers keep every real request well below it).
const CASE_LIMIT: Duration = Duration::from_secs(2);

/// `PROPTEST_CASES` when set (the long run), else `short`.
fn config(short: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(short);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `check` on `cases` inputs of `strategy`, timing each; prints the slowest case.
fn fuzz<S: Strategy>(
    target: &str,
    short: u32,
    strategy: S,
    check: impl Fn(&S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let config = config(short);
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    let slowest = std::sync::Mutex::new((Duration::ZERO, String::new()));
    let started = Instant::now();
    let done = std::sync::atomic::AtomicU64::new(0);
    let result = runner.run(&strategy, |input| {
        let t = Instant::now();
        check(&input)?;
        let took = t.elapsed();
        let mut s = slowest.lock().unwrap_or_else(|p| p.into_inner());
        // Progress for long runs, so that an interrupted run still says how far it got.
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if n.is_multiple_of(100_000) {
            eprintln!(
                "fuzz {target}: {n} cases so far in {:.0} s; slowest {:.2} ms",
                started.elapsed().as_secs_f64(),
                s.0.as_secs_f64() * 1e3
            );
        }
        if took > s.0 {
            *s = (took, format!("{input:?}").chars().take(300).collect());
        }
        prop_assert!(took < CASE_LIMIT, "case took {took:?}");
        Ok(())
    });
    let (slow, input) = slowest.into_inner().unwrap_or_else(|p| p.into_inner());
    eprintln!(
        "fuzz {target}: {cases} cases in {:.1} s; slowest {:.2} ms: {input}",
        started.elapsed().as_secs_f64(),
        slow.as_secs_f64() * 1e3
    );
    if let Err(e) = result {
        panic!("fuzz {target}: {e}");
    }
}

fn mini() -> &'static Snapshot {
    static MINI: OnceLock<Snapshot> = OnceLock::new();
    MINI.get_or_init(|| common::load(&common::mini_dir()))
}

fn mini_app() -> &'static Router {
    static APP: OnceLock<Router> = OnceLock::new();
    APP.get_or_init(|| common::app(&common::mini_dir()))
}

/// One runtime for the router targets.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    })
}

/// Status of a request through `app`; a 5xx other than 503 fails the case.
fn status_of(app: &Router, request: axum::http::Request<Body>) -> Result<u16, TestCaseError> {
    let reply = runtime().block_on(common::send(app, request));
    let status = reply.status.as_u16();
    prop_assert!(
        status < 500 || status == 503,
        "{status}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    Ok(status)
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// Numbers that break arithmetic: extremes, zero, negatives, huge, tiny, and ordinary ones.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // JSON has no NaN or infinity (`Value::from` would make them null): mapped, not
        // filtered, so that long runs do not hit proptest's limit of rejected inputs.
        any::<f64>().prop_map(|f| Value::from(if f.is_finite() { f } else { 0.0 })),
        Just(json!(u32::MAX)),
        Just(json!(1e308)),
        Just(json!(-1e308)),
        Just(json!(5e-324)),
        Just(json!(0)),
        Just(json!(-0.0)),
        (-200.0f64..200.0).prop_map(Value::from),
    ]
}

/// Strings with controls, bidi overrides, CJK, long runs and ordinary text.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9 ._:-]{0,12}",
        "[\u{0}-\u{1f}\u{202a}-\u{202e}\u{2066}-\u{2069}城南社区镇街道路号]{0,10}",
        "EPSG:[0-9]{0,7}",
        (1usize..3000).prop_map(|n| "社".repeat(n)),
    ]
}

/// Any JSON value, a few levels deep.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer inside `v` (the root included).
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                pointers(
                    item,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
    out.push(at);
}

/// `base` with each `(pick, value)` put at the pick-th of its places (or removed when the
/// value is `Null` and the pick is odd: missing members matter as much as wrong ones).
fn mutate(base: &Value, edits: &[(usize, Value)]) -> Value {
    let mut v = base.clone();
    for (pick, replacement) in edits {
        let mut places = Vec::new();
        pointers(&v, String::new(), &mut places);
        let Some(place) = places.get(pick % places.len().max(1)).cloned() else {
            continue;
        };
        if replacement.is_null()
            && pick % 2 == 1
            && let Some((parent, key)) = place.rsplit_once('/')
            && let Some(Value::Object(map)) = v.pointer_mut(parent)
        {
            map.remove(&key.replace("~1", "/").replace("~0", "~"));
            continue;
        }
        match v.pointer_mut(&place) {
            Some(slot) => *slot = replacement.clone(),
            None => v = replacement.clone(),
        }
    }
    v
}

fn edits() -> impl Strategy<Value = Vec<(usize, Value)>> {
    prop::collection::vec((any::<usize>(), value()), 1..4)
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!([[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]])
}

/// A valid split of the mini city's west community.
fn valid_split() -> Value {
    json!({"type": "FeatureCollection",
           "proposal": {"kind": "split", "title": "测试", "parents": ["442000901001"]},
           "features": [
               {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(113.0, 22.0, 113.01, 22.01)},
                "properties": {"name": "南", "workers": 2, "office_area_m2": 300.0, "office": [113.005, 22.005], "justification": "试点"}},
               {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(113.0, 22.01, 113.01, 22.02)},
                "properties": {"name": "北", "workers": 2, "office_area_m2": 300.0, "office": [113.005, 22.015]}}]})
}

fn vertices(v: &Value) -> usize {
    match v {
        Value::Array(items) if items.first().is_some_and(Value::is_number) => 1,
        Value::Array(items) => items.iter().map(vertices).sum(),
        Value::Object(map) => map.values().map(vertices).sum(),
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Targets

#[test]
fn fuzz_proposals() {
    let base = valid_split();
    let numeric = base.clone();
    let strategy = prop_oneof![
        // One number changed: mostly still a proposal, so validation runs on it.
        3 => (any::<usize>(), number()).prop_map(move |e| mutate(&numeric, &[e])),
        3 => edits().prop_map(move |e| mutate(&base, &e)),
        1 => value(),
    ];
    let validated = std::sync::atomic::AtomicUsize::new(0);
    fuzz("proposals", 3000, strategy, |doc| {
        let registry = &mini().registry;
        if let Ok(proposal) = shequ::rules::parse(doc, registry, &mini().guidelines.plausible)
            && vertices(doc) <= 200
        {
            validated.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let report = shequ::rules::validate(&proposal, registry, &mini().guidelines);
            let totals = &report.before_after.after;
            prop_assert!(totals.office_area_m2.is_finite(), "{totals:?}");
        }
        Ok(())
    });
    eprintln!(
        "fuzz proposals: {} cases parsed and were validated",
        validated.into_inner()
    );
}

#[test]
fn fuzz_boundary_features() {
    let read = |name: &str| -> Vec<Value> {
        let text = std::fs::read_to_string(common::mini_dir().join(name)).unwrap_or_default();
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["features"].as_array().cloned())
            .unwrap_or_default()
    };
    let base = json!([
        read("towns.geojson"),
        read("communities.geojson"),
        read("grids.geojson")
    ]);
    fuzz(
        "boundary features",
        1500,
        edits().prop_map(move |e| mutate(&base, &e)),
        |doc| {
            let layer = |i: usize| {
                doc.get(i)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            };
            let _ =
                shequ::registry::load_features([layer(0), layer(1), layer(2)], &Default::default());
            Ok(())
        },
    );
}

#[test]
fn fuzz_tile_paths_and_layer_lists() {
    let segment = prop_oneof![
        "[a-z,]{0,30}",
        Just("towns".to_owned()),
        Just("communities,grids,findings".to_owned()),
        "[0-9]{0,12}",
        "-?[0-9]{1,3}",
        any::<u32>().prop_map(|n| n.to_string()),
        "[%a-zA-Z0-9._~{}-]{0,16}",
    ];
    let strategy = (
        segment.clone(),
        segment.clone(),
        segment.clone(),
        segment,
        0u8..4,
    );
    fuzz("tile paths", 1500, strategy, |(layers, z, x, y, shape)| {
        let _ = shequ::tiles::LayerSet::parse(layers);
        let uri = match shape {
            0 => format!("/tiles/{layers}/{z}/{x}/{y}.mvt"),
            1 => format!("/tiles/{layers}.json"),
            2 => format!("/tiles/{layers}/{z}/{x}/{y}"),
            _ => format!("/tiles/{layers}"),
        };
        if uri.parse::<axum::http::Uri>().is_ok() {
            status_of(mini_app(), common::request("GET", &uri, Body::empty()))?;
        }
        Ok(())
    });
}

#[test]
fn fuzz_crs_strings() {
    let point = (any::<f64>(), any::<f64>());
    let names = prop_oneof![
        text(),
        Just("wgs84".to_owned()),
        Just("gcj02".to_owned()),
        Just("bd09".to_owned()),
        Just("cgcs2000".to_owned()),
        (2000u32..33000).prop_map(|c| format!("EPSG:{c}")),
    ];
    fuzz("crs strings", 3000, (names, point), |(name, (x, y))| {
        if let Ok(crs) = name.parse::<shequ::crs::Crs>() {
            if let Ok(p) = crs.to_wgs84([*x, *y]) {
                prop_assert!(p[0].is_finite() && p[1].is_finite(), "{p:?}");
            }
            let _ = crs.from_wgs84([*x, *y]);
        }
        Ok(())
    });
}

/// `text` with every byte percent-encoded, for a query string.
fn query_escape(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[test]
fn fuzz_as_of() {
    let dates = prop_oneof![
        text(),
        "[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}",
        (any::<i32>(), any::<u8>(), any::<u8>()).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
    ];
    fuzz("as_of", 2000, dates, |date| {
        let _ = api::parse_date("as_of", date);
        let uri = format!("/api/v1/towns?as_of={}", query_escape(date));
        status_of(mini_app(), common::request("GET", &uri, Body::empty()))?;
        Ok(())
    });
}

#[test]
fn fuzz_address_normalisation() {
    let sample = common::sample();
    let towns: Vec<&str> = sample
        .registry
        .towns
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let normalizer = shequ::address::normalize::Normalizer::new(towns);
    let strategy = prop_oneof![
        text(),
        "(广东省)?(某市)?[城南北东西镇街道路巷号栋室一二三四五六七八九十百千零〇0-9０-９ ]{0,40}",
    ];
    fuzz("address normalisation", 5000, strategy, |address| {
        let _ = shequ::address::normalize::canonical(address);
        let _ = normalizer.normalize(address);
        Ok(())
    });
}

/// A router with a database, for login bodies.
fn login_app() -> &'static Router {
    static APP: OnceLock<(tempfile::TempDir, Router)> = OnceLock::new();
    &APP.get_or_init(|| {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let store = match shequ::store::Store::open(&dir.path().join("fuzz.db")) {
            Ok(s) => Arc::new(s),
            Err(e) => panic!("store: {e}"),
        };
        let config = ApiConfig::default();
        let state = AppState::with_store(common::load(&common::mini_dir()), 1, store, &config);
        (dir, api::router(state, &config))
    })
    .1
}

#[test]
fn fuzz_login_bodies() {
    let base = json!({"user": "li", "password": "correct horse battery staple"});
    let bodies = prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..200),
        3 => edits().prop_map(move |e| mutate(&base, &e).to_string().into_bytes()),
        1 => value().prop_map(|v| v.to_string().into_bytes()),
    ];
    fuzz("login bodies", 400, bodies, |body| {
        let mut request = common::request("POST", "/api/v1/login", Body::from(body.clone()));
        request.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        let status = status_of(login_app(), request)?;
        prop_assert!(matches!(status, 400 | 401 | 413 | 422 | 429), "{status}");
        Ok(())
    });
}
