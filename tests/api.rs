//! The HTTP API driven in-process through the real router, over the hand-made mini city whose
//! answers are known by construction (see tests/fixtures/mini/README.md).

mod common;

use axum::body::Body;
use axum::http::header;
use common::{app, app_with, get, post_json, request, send};
use serde_json::{Value, json};
use shequ::api::{ApiConfig, MAX_BATCH_POINTS};

const TOWN: &str = "442000901";
const WEST: &str = "442000901001";
const EAST: &str = "442000901002";

fn codes(v: &Value) -> [Value; 3] {
    [
        v["town"]["code"].clone(),
        v["community"]["code"].clone(),
        v["grid"]["code"].clone(),
    ]
}

async fn lookup(lon: f64, lat: f64) -> Value {
    let reply = get(
        &app(&common::mini_dir()),
        &format!("/api/v1/lookup?lon={lon}&lat={lat}"),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/json");
    reply.json()
}

#[tokio::test]
async fn health_reports_what_is_loaded() {
    let v = get(&app(&common::mini_dir()), "/health").await.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        (
            v["towns"].clone(),
            v["communities"].clone(),
            v["grids"].clone()
        ),
        (json!(1), json!(3), json!(4))
    );
}

#[tokio::test]
async fn lookup_inside_a_grid() {
    let v = lookup(113.005, 22.005).await;
    assert_eq!(v["point"], json!([113.005, 22.005]));
    assert_eq!(v["town"], json!({"code": TOWN, "name": "测试镇"}));
    assert_eq!(
        v["community"],
        json!({"code": WEST, "name": "西社区", "kind": "community"})
    );
    assert_eq!(
        v["grid"],
        json!({"code": "442000901001001", "name": "西社区第1网格"})
    );
}

#[tokio::test]
async fn points_on_shared_boundaries_go_east_then_north() {
    // On the north–south border between the west and east communities: east wins.
    assert_eq!(
        codes(&lookup(113.01, 22.005).await),
        [json!(TOWN), json!(EAST), json!("442000901002001")]
    );
    // On the east–west border between two grids of the west community: north wins.
    assert_eq!(
        codes(&lookup(113.005, 22.01).await),
        [json!(TOWN), json!(WEST), json!("442000901001002")]
    );
    // The vertex shared by all four grids: the north-east one.
    assert_eq!(
        codes(&lookup(113.01, 22.01).await),
        [json!(TOWN), json!(EAST), json!("442000901002002")]
    );
    // The city's own western edge is inside, its northern edge outside.
    assert_eq!(
        codes(&lookup(113.0, 22.015).await)[2],
        json!("442000901001002")
    );
    assert_eq!(
        codes(&lookup(113.015, 22.02).await),
        [Value::Null, Value::Null, Value::Null]
    );
}

#[tokio::test]
async fn lookup_outside_everything_is_null() {
    let v = lookup(114.0, 23.0).await;
    assert_eq!(
        v,
        json!({"point": [114.0, 23.0], "town": null, "community": null, "grid": null})
    );
}

#[tokio::test]
async fn cgcs2000_is_taken_as_wgs84() {
    let reply = get(
        &app(&common::mini_dir()),
        "/api/v1/lookup?lon=113.005&lat=22.005&crs=CGCS2000",
    )
    .await;
    assert_eq!(codes(&reply.json())[2], json!("442000901001001"));
}

#[tokio::test]
async fn lookup_errors_are_problems() {
    let app = app(&common::mini_dir());
    get(&app, "/api/v1/lookup?lat=22")
        .await
        .assert_problem(400, "parameter `lon` is missing");
    get(&app, "/api/v1/lookup?lon=113")
        .await
        .assert_problem(400, "parameter `lat` is missing");
    get(&app, "/api/v1/lookup?lon=abc&lat=22")
        .await
        .assert_problem(400, "parameter `lon`: \"abc\" is not a finite number");
    get(&app, "/api/v1/lookup?lon=inf&lat=22")
        .await
        .assert_problem(400, "parameter `lon`: \"inf\" is not a finite number");
    get(&app, "/api/v1/lookup?lon=113&lat=95")
        .await
        .assert_problem(400, "latitude 95 is out of range");
    get(&app, "/api/v1/lookup?lon=-181&lat=22")
        .await
        .assert_problem(400, "longitude -181 is out of range");
    get(&app, "/api/v1/lookup?lon=113&lat=22&crs=mars")
        .await
        .assert_problem(400, "parameter `crs`: unsupported crs \"mars\"");
    get(&app, "/api/v1/lookup?lon=%ZZ&lat=22")
        .await
        .assert_problem(400, "");
}

/// Issue 19: a plain `GET /api/v1/lookup` is answered by the edge before the router; a client
/// that accepts an encoding still goes through the router and the handler. Both must give the
/// same status, type and bytes, for answers and for every kind of refusal.
#[tokio::test]
async fn the_edge_answers_lookups_exactly_as_the_routed_handler() {
    let app = app(&common::mini_dir());
    for uri in [
        "/api/v1/lookup?lon=113.015&lat=22.015",
        "/api/v1/lookup?lat=22.015&lon=113.025",
        "/api/v1/lookup?lon=113.02&lat=22.01",
        "/api/v1/lookup?lon=100&lat=10",
        "/api/v1/lookup?lon=113.015&lat=22.015&crs=gcj02",
        "/api/v1/lookup?lon=113.015&lat=22.015&crs=EPSG%3A4490",
        "/api/v1/lookup?lon=113.015&lat=22.015&crs=mars",
        "/api/v1/lookup?lon=%2B113.015&lat=22.015",
        "/api/v1/lookup?lon=abc&lat=22",
        "/api/v1/lookup?lat=22",
        "/api/v1/lookup?lon=113&lat=95",
        "/api/v1/lookup?lon=113&lon=114&lat=22",
        "/api/v1/lookup?lng=113&lat=22",
        "/api/v1/lookup?lon=113&lat=22&as_of=2026-01-01",
        "/api/v1/lookup?lon=113&lat=22&as_of=yesterday",
        "/api/v1/lookup",
        "/api/v1/lookup?",
        "/api/v1/lookup?&&lon=113.015&&lat=22.015&",
    ] {
        let edge = get(&app, uri).await;
        let mut routed = request("GET", uri, Body::empty());
        routed.headers_mut().insert(
            header::ACCEPT_ENCODING,
            axum::http::HeaderValue::from_static("identity"),
        );
        let routed = send(&app, routed).await;
        assert_eq!(edge.status, routed.status, "{uri}");
        assert_eq!(edge.content_type, routed.content_type, "{uri}");
        assert_eq!(edge.text(), routed.text(), "{uri}");
    }
}

/// Issue 17: a parameter a route does not know is a 400 naming it, never silently ignored (a
/// client that writes `lng` or `bbox` would otherwise get an answer to another question).
#[tokio::test]
async fn unknown_query_parameters_are_refused_not_ignored() {
    let app = app(&common::mini_dir());
    for (method, uri, name) in [
        ("GET", "/api/v1/lookup?lng=113.3&lat=22.5", "lng"),
        (
            "GET",
            "/api/v1/lookup?lon=113.3&lat=22.5&bbox=1,2,3,4",
            "bbox",
        ),
        ("GET", "/api/v1/address?q=%E5%B2%90%E6%B1%9F&limt=3", "limt"),
        ("GET", "/api/v1/audit?town=442000005", "town"),
        ("GET", "/api/v1/audit.geojson?limit=10", "limit"),
        ("POST", "/api/v1/lookup?crs=gcj02", "crs"),
        ("POST", "/api/v1/address?limit=3", "limit"),
    ] {
        let reply = if method == "GET" {
            get(&app, uri).await
        } else {
            post_json(&app, uri, r#"{"points": [], "queries": []}"#).await
        };
        reply.assert_problem(400, &format!("`{name}`"));
    }
    get(&app, "/api/v1/lookup?lon=113&lon=114&lat=22")
        .await
        .assert_problem(400, "parameter `lon` is given more than once");
    // The known ones, `as_of` included, still pass the parameter check (this server keeps no
    // history, which is the next thing it says).
    get(&app, "/api/v1/lookup?lon=113&lat=22&as_of=2026-01-01")
        .await
        .assert_problem(400, "keeps no history");
}

#[tokio::test]
async fn batch_lookup_keeps_input_order_and_nulls_outside() {
    let app = app(&common::mini_dir());
    let body =
        json!({"points": [[113.015, 22.015], [114.0, 23.0], [113.005, 22.005, 12.0]]}).to_string();
    let reply = post_json(&app, "/api/v1/lookup", body).await;
    assert_eq!(reply.status, 200);
    let results = reply.json()["results"].clone();
    assert_eq!(results.as_array().map(Vec::len), Some(3));
    assert_eq!(
        codes(&results[0]),
        [json!(TOWN), json!(EAST), json!("442000901002002")]
    );
    assert_eq!(results[0]["community"]["kind"], "village_converted");
    assert_eq!(results[1], Value::Null);
    assert_eq!(codes(&results[2])[2], json!("442000901001001"));
    assert!(results[0].get("point").is_none());
}

#[tokio::test]
async fn batch_errors_are_problems() {
    let app = app(&common::mini_dir());
    post_json(
        &app,
        "/api/v1/lookup",
        r#"{"points": [[113, 22], [113, "x"]]}"#,
    )
    .await
    .assert_problem(400, "points[1]: expected [longitude, latitude] numbers");
    post_json(
        &app,
        "/api/v1/lookup",
        r#"{"points": [[113, 22], [200, 22]]}"#,
    )
    .await
    .assert_problem(400, "points[1]: longitude 200 is out of range");
    post_json(&app, "/api/v1/lookup", r#"{"crs": "bd9", "points": []}"#)
        .await
        .assert_problem(400, "unsupported crs \"bd9\"");
    post_json(
        &app,
        "/api/v1/lookup",
        r#"{"crs": "EPSG:9999", "points": []}"#,
    )
    .await
    .assert_problem(400, "parameter `crs`: unknown or unusable crs EPSG:9999");
    post_json(
        &app,
        "/api/v1/lookup",
        r#"{"crs": "EPSG:4547", "points": [[437241.47, 2491510.01], [113.39, 22.52]]}"#,
    )
    .await
    .assert_problem(
        400,
        "points[1]: point (113.39, 22.52) is outside the area of use of EPSG:4547",
    );
    post_json(&app, "/api/v1/lookup", r#"{"points": [[113, 22]"#)
        .await
        .assert_problem(400, "");
    post_json(&app, "/api/v1/lookup", r#"{"pts": []}"#)
        .await
        .assert_problem(400, "missing field `points`");
    let no_type = send(
        &app,
        request("POST", "/api/v1/lookup", Body::from(r#"{"points": []}"#)),
    )
    .await;
    no_type.assert_problem(415, "Content-Type");
}

#[tokio::test]
async fn batch_limits_are_413() {
    let app = app(&common::mini_dir());
    let points = vec![[113.005, 22.005]; MAX_BATCH_POINTS];
    let ok = post_json(
        &app,
        "/api/v1/lookup",
        json!({"points": points}).to_string(),
    )
    .await;
    assert_eq!(ok.status, 200);
    let points = vec![[113.005, 22.005]; MAX_BATCH_POINTS + 1];
    post_json(
        &app,
        "/api/v1/lookup",
        json!({"points": points}).to_string(),
    )
    .await
    .assert_problem(413, "10001 points in one request; the limit is 10000");

    let small = app_with(
        &common::mini_dir(),
        &ApiConfig {
            body_limit: 100,
            ..ApiConfig::default()
        },
    );
    let body = json!({"points": vec![[113.005, 22.005]; 20]}).to_string();
    assert!(body.len() > 100);
    post_json(&small, "/api/v1/lookup", body)
        .await
        .assert_problem(413, "");
}

#[tokio::test]
async fn feature_collections_and_filters() {
    let app = app(&common::mini_dir());
    let towns = get(&app, "/api/v1/towns").await;
    assert_eq!(towns.content_type, "application/geo+json");
    let towns = towns.json();
    assert_eq!(towns["type"], "FeatureCollection");
    assert_eq!(
        towns["features"][0]["properties"],
        json!({
            "code": TOWN, "name": "测试镇", "communities": 3,
            "households": 2900, "population": 8100, "service_households": 41
        })
    );

    let communities = get(&app, &format!("/api/v1/communities?town={TOWN}"))
        .await
        .json();
    let features = communities["features"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(features.len(), 3);
    assert_eq!(features[2]["geometry"], Value::Null);
    assert_eq!(
        features[0]["properties"],
        json!({
            "code": WEST, "name": "西社区", "town_code": TOWN, "kind": "community", "workers": 12,
            "office_area_m2": 400.0, "office": [113.005, 22.01], "grids": 2,
            "households": 500, "population": 1400, "service_households": 10
        })
    );
    assert_eq!(
        get(&app, "/api/v1/communities").await.json()["features"],
        communities["features"]
    );

    let grids = get(&app, &format!("/api/v1/grids?community={EAST}"))
        .await
        .json();
    let codes: Vec<&str> = grids["features"]
        .as_array()
        .map(|fs| fs.iter().filter_map(|f| f["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(codes, ["442000901002001", "442000901002002"]);
    assert_eq!(
        get(&app, "/api/v1/grids").await.json()["features"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
}

#[tokio::test]
async fn single_features_by_code() {
    let app = app(&common::mini_dir());
    let grid = get(&app, "/api/v1/grids/442000901002001").await.json();
    assert_eq!(grid["type"], "Feature");
    assert_eq!(
        grid["geometry"],
        json!({"type": "Polygon", "coordinates": [[
            [113.01, 22.0], [113.02, 22.0], [113.02, 22.01], [113.01, 22.01], [113.01, 22.0]
        ]]})
    );
    assert_eq!(grid["properties"]["community_code"], EAST);
    assert_eq!(grid["properties"]["town_code"], TOWN);
    assert_eq!(grid["properties"]["households"], 450);
    assert_eq!(
        get(&app, &format!("/api/v1/towns/{TOWN}")).await.json()["id"],
        TOWN
    );
    assert_eq!(
        get(&app, &format!("/api/v1/communities/{WEST}"))
            .await
            .json()["properties"]["grids"],
        2
    );
}

#[tokio::test]
async fn unknown_codes_and_routes_are_404() {
    let app = app(&common::mini_dir());
    get(&app, "/api/v1/towns/442000999")
        .await
        .assert_problem(404, "no town with code \"442000999\"");
    get(&app, "/api/v1/communities/x")
        .await
        .assert_problem(404, "no community with code \"x\"");
    get(&app, "/api/v1/grids/442000901001009")
        .await
        .assert_problem(404, "no grid with code");
    get(&app, "/api/v1/communities?town=442000999")
        .await
        .assert_problem(404, "filter `town`: no town");
    get(&app, "/api/v1/grids?community=1")
        .await
        .assert_problem(404, "filter `community`: no community");
    get(&app, "/api/v1/nothing")
        .await
        .assert_problem(404, "no such route");
    send(&app, request("DELETE", "/api/v1/towns", Body::empty()))
        .await
        .assert_problem(405, "method");
}

#[tokio::test]
async fn responses_are_compressed_and_cors_enabled_on_request() {
    let app = app(&common::mini_dir());
    let mut r = request("GET", "/api/v1/grids", Body::empty());
    r.headers_mut().insert(
        header::ACCEPT_ENCODING,
        header::HeaderValue::from_static("gzip"),
    );
    r.headers_mut().insert(
        header::ORIGIN,
        header::HeaderValue::from_static("http://example.org"),
    );
    let response = tower::ServiceExt::oneshot(app, r)
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    assert_eq!(
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.as_bytes()),
        Some(&b"*"[..])
    );
}

/// Issue 19: a 10,000-point batch answer compressed with gzip and with brotli decompresses to the
/// very bytes sent plain, and is several times smaller (the fast level still compresses).
#[tokio::test]
async fn a_large_batch_answer_compresses_to_the_same_bytes_with_gzip_and_br() {
    use std::io::Read;
    let app = common::app(&common::sample_dir());
    let mut state = 7u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let points: Vec<[f64; 2]> = (0..MAX_BATCH_POINTS)
        .map(|_| [113.15 + next() * 0.5, 22.20 + next() * 0.58])
        .collect();
    let body = json!({ "points": points }).to_string();
    let ask = |encoding: Option<&'static str>| {
        let mut r = request("POST", "/api/v1/lookup", Body::from(body.clone()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        if let Some(e) = encoding {
            r.headers_mut()
                .insert(header::ACCEPT_ENCODING, header::HeaderValue::from_static(e));
        }
        common::send_with_headers(&app, r)
    };
    let (plain, headers) = ask(None).await;
    assert_eq!(plain.status, 200, "{}", plain.text());
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert!(plain.body.len() > 1_000_000, "{} bytes", plain.body.len());
    for encoding in ["gzip", "br"] {
        let (packed, headers) = ask(Some(encoding)).await;
        assert_eq!(packed.status, 200);
        assert_eq!(
            headers.get(header::CONTENT_ENCODING).map(|v| v.as_bytes()),
            Some(encoding.as_bytes())
        );
        let mut unpacked = Vec::new();
        let read = match encoding {
            "gzip" => {
                flate2::read::GzDecoder::new(packed.body.as_slice()).read_to_end(&mut unpacked)
            }
            _ => brotli_decompressor::Decompressor::new(packed.body.as_slice(), 4096)
                .read_to_end(&mut unpacked),
        };
        assert!(read.is_ok(), "{encoding}: {read:?}");
        assert!(unpacked == plain.body, "{encoding}: not the plain bytes");
        assert!(
            packed.body.len() * 4 < plain.body.len(),
            "{encoding}: {} of {} bytes",
            packed.body.len(),
            plain.body.len()
        );
    }
}
