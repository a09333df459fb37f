//! Issue 12: heavy requests go through bounded admission (503 or 429 with `Retry-After` when it
//! is full, while `/health` and single lookups keep answering), and caps on the work of one
//! request answer 413 naming the cap, the value sent and the flag. The pools are filled
//! deterministically with `Pool::occupy`, never by timing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use serde_json::{Value, json};
use shequ::api::{self, ApiConfig, AppState, Limits, PoolConfig};

/// A valid split of the mini city's west community into its two grids.
fn split_proposal() -> Value {
    common::west_split(22.01)
}

fn state_with(config: &ApiConfig) -> (AppState, Router) {
    let state = AppState::with_config(common::load(&common::mini_dir()), config);
    let app = api::router(state.clone(), config);
    (state, app)
}

fn one_permit(queue: usize, deadline: Duration) -> PoolConfig {
    PoolConfig {
        permits: 1,
        queue,
        deadline,
    }
}

/// A POST of `body` to `uri` as `application/json`.
fn json_post(uri: &str, body: impl Into<Body>) -> axum::http::Request<Body> {
    let mut request = common::request("POST", uri, body.into());
    request.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    request
}

/// POST `body` to `uri`; the reply and its `Retry-After`.
async fn post(app: &Router, uri: &str, body: &Value) -> (common::Reply, Option<String>) {
    let (reply, headers) = common::send_with_headers(app, json_post(uri, body.to_string())).await;
    let retry = headers
        .get(axum::http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (reply, retry)
}

#[tokio::test]
async fn heavy_requests_are_refused_with_503_while_the_pool_is_full() {
    let config = ApiConfig {
        cpu_pool: one_permit(0, Duration::from_secs(60)),
        ..ApiConfig::default()
    };
    let (state, app) = state_with(&config);
    let held = state.admission().cpu.occupy();
    assert!(held.is_some());
    let heavy = [
        ("/api/v1/proposals/validate", split_proposal()),
        (
            "/api/v1/proposals/split",
            json!({"community": "442000901001", "line": [[112.99, 22.01], [113.02, 22.01]]}),
        ),
        ("/api/v1/lookup", json!({"points": [[113.005, 22.005]]})),
        ("/api/v1/address", json!({"queries": ["x"]})),
        (
            "/api/v1/proposals/suggest",
            json!({"community": "442000901001", "parts": 2}),
        ),
    ];
    for (uri, body) in &heavy {
        let (reply, retry) = post(&app, uri, body).await;
        reply.assert_problem(503, "the server is busy");
        assert_eq!(reply.json()["type"], "/problems/overloaded", "{uri}");
        assert_eq!(retry.as_deref(), Some("1"), "{uri}");
    }
    // Cheap requests do not wait for the pool.
    assert_eq!(common::get(&app, "/health").await.status, 200);
    let one = common::get(&app, "/api/v1/lookup?lon=113.005&lat=22.005").await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["grid"]["code"], "442000901001001");
    // Once the permit is back, the same request is validated.
    drop(held);
    let (reply, retry) = post(&app, heavy[0].0, &heavy[0].1).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(reply.json()["verdict"].is_string());
    assert_eq!(retry, None);
}

#[tokio::test]
async fn a_request_waiting_past_the_deadline_is_refused() {
    let config = ApiConfig {
        cpu_pool: one_permit(1, Duration::from_millis(1)),
        ..ApiConfig::default()
    };
    let (state, app) = state_with(&config);
    let _held = state.admission().cpu.occupy();
    let (reply, retry) = post(&app, "/api/v1/proposals/validate", &split_proposal()).await;
    reply.assert_problem(503, "within the deadline");
    assert_eq!(retry.as_deref(), Some("1"));
}

#[tokio::test]
async fn logins_beyond_the_hashing_pool_get_429() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(shequ::store::Store::open(&dir.path().join("s.db")).expect("store"));
    let token = common::user_token(&store, "admin", shequ::accounts::Role::Admin, &[]);
    let config = ApiConfig {
        hash_pool: one_permit(0, Duration::from_secs(60)),
        ..ApiConfig::default()
    };
    let state = AppState::with_store(common::load(&common::mini_dir()), 1, store, &config);
    let app = api::router(state.clone(), &config);
    let held = state.admission().hashing.occupy();
    let login = json!({"user": "admin", "password": "whatever it is"});
    let (reply, retry) = post(&app, "/api/v1/login", &login).await;
    reply.assert_problem(429, "password checks");
    assert_eq!(retry.as_deref(), Some("1"));
    // Adding a user hashes a password too.
    let add = json!({"name": "li", "role": "viewer", "towns": [],
                     "password": "a long enough password 123"});
    let reply = common::call(&app, "POST", "/api/v1/users", &token, Some(add.clone())).await;
    reply.assert_problem(429, "password checks");
    drop(held);
    // With the permit back, the login is checked (and fails: admin has no password).
    let (reply, _) = post(&app, "/api/v1/login", &login).await;
    assert_eq!(reply.status, 401);
    let reply = common::call(&app, "POST", "/api/v1/users", &token, Some(add)).await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}

/// A closed ring of `n` positions (a fan of teeth inside the mini city's west community).
fn ring_of(n: usize) -> Value {
    let mut ring: Vec<[f64; 2]> = vec![[113.0, 22.0]];
    let teeth = (n - 3) / 2;
    for i in 0..teeth {
        let y = 22.0 + (i as f64 + 0.5) * 1e-7;
        ring.push([113.009, y]);
        ring.push([113.0005, y + 0.5e-7]);
    }
    ring.push([112.999, 22.0 + teeth as f64 * 1e-7]);
    ring.push([113.0, 22.0]);
    json!([ring])
}

/// A closed ring of `n` positions on a circle of ~450 m radius inside the mini city.
fn circle_of(n: usize) -> Value {
    let mut ring: Vec<[f64; 2]> = (0..n - 1)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / (n - 1) as f64;
            [113.005 + 0.004 * a.cos(), 22.005 + 0.004 * a.sin()]
        })
        .collect();
    ring.push(ring[0]);
    json!([ring])
}

fn new_community(rings: &[Value]) -> Value {
    let features: Vec<Value> = rings
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": r},
                   "properties": {"name": format!("p{i}"), "workers": 1, "office_area_m2": 1.0}})
        })
        .collect();
    json!({"type": "FeatureCollection", "proposal": {"kind": "new", "title": "t"},
           "features": features})
}

#[tokio::test]
async fn proposals_over_the_vertex_cap_get_413_naming_it() {
    let app = common::app(&common::mini_dir());
    // The default cap: 20,000 positions; this ring has 20,001.
    let big = new_community(&[ring_of(20_001)]);
    let positions = big["features"][0]["geometry"]["coordinates"][0]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(positions, 20_001);
    let (reply, _) = post(&app, "/api/v1/proposals/validate", &big).await;
    reply.assert_problem(
        413,
        "proposal has too many ring positions (vertices): 20001; the limit is 20000 \
         (--max-proposal-vertices)",
    );
    // Just under the cap a ring is validated: a circle, as the comb would now be refused for
    // crossing one meridian 19,996 times (see the crossings test below).
    let under = new_community(&[circle_of(19_999)]);
    let (reply, _) = post(&app, "/api/v1/proposals/validate", &under).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}

#[tokio::test]
async fn configured_caps_are_named_in_their_413s() {
    let config = ApiConfig {
        limits: Limits {
            proposal_vertices: 9,
            proposal_parts: 2,
            line_points: 2,
            address_matches: 10,
            line_crossings: 256,
        },
        ..ApiConfig::default()
    };
    let (_, app) = state_with(&config);
    // Two squares of 5 positions: 10 > 9.
    let (reply, _) = post(&app, "/api/v1/proposals/validate", &split_proposal()).await;
    reply.assert_problem(
        413,
        "proposal has too many ring positions (vertices): 10; the limit is 9 (--max-proposal-vertices)",
    );
    let square = json!([[
        [113.0, 22.0],
        [113.001, 22.0],
        [113.001, 22.001],
        [113.0, 22.0]
    ]]);
    let three = new_community(&[square.clone(), square.clone(), square]);
    let (reply, _) = post(&app, "/api/v1/proposals/validate", &three).await;
    reply.assert_problem(
        413,
        "proposal has too many parts: 3; the limit is 2 (--max-proposal-parts)",
    );
    let line = json!({"community": "442000901001",
                      "line": [[112.99, 22.01], [113.005, 22.011], [113.02, 22.01]]});
    let (reply, _) = post(&app, "/api/v1/proposals/split", &line).await;
    reply.assert_problem(
        413,
        "the split line has too many positions: 3; the limit is 2 (--max-line-points)",
    );
    let queries = json!({"queries": ["a", "b", "c"], "limit": 5});
    let (reply, _) = post(&app, "/api/v1/address", &queries).await;
    reply.assert_problem(
        413,
        "3 queries × limit 5 ask for up to 15 matches; the limit is 10 (--max-address-matches)",
    );
    // Within the caps the same kinds of request are served.
    let (reply, _) = post(&app, "/api/v1/address", &json!({"queries": ["a", "b"]})).await;
    assert_eq!(reply.status, 200);
}

/// POST raw bytes as JSON to `uri`.
async fn post_raw(app: &Router, uri: &str, body: &'static str) -> common::Reply {
    common::send_with_headers(app, json_post(uri, body)).await.0
}

#[tokio::test]
async fn heavy_bodies_are_parsed_only_after_admission() {
    // A full pool refuses even a body that is not JSON at all: it was never parsed (parsing up
    // to 2 MB on an async worker for a request that is then refused is what let retrying
    // clients starve /health). With a free permit the same body is a 400.
    let config = ApiConfig {
        cpu_pool: one_permit(0, Duration::from_secs(60)),
        ..ApiConfig::default()
    };
    let (state, app) = state_with(&config);
    let uris = [
        "/api/v1/proposals/validate",
        "/api/v1/proposals/split",
        "/api/v1/lookup",
        "/api/v1/address",
        "/api/v1/proposals/suggest",
    ];
    let held = state.admission().cpu.occupy();
    for uri in uris {
        post_raw(&app, uri, "{not json")
            .await
            .assert_problem(503, "the server is busy");
    }
    drop(held);
    for uri in uris {
        let reply = post_raw(&app, uri, "{not json").await;
        assert_eq!(
            reply.status,
            400,
            "{uri}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.json()["type"], "/problems/bad-request", "{uri}");
    }
    // The media type is still checked first, without a permit.
    let _held = state.admission().cpu.occupy();
    let mut request = common::request("POST", uris[0], Body::from("{}"));
    request.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain"),
    );
    common::send_with_headers(&app, request)
        .await
        .0
        .assert_problem(415, "Content-Type");
}

/// A comb: `teeth` teeth 1 km long and 0.1 m apart, the shape that makes the overlay slow.
fn comb(teeth: usize) -> Value {
    let (x0, y0, step) = (113.001, 22.001, 1e-6);
    let mut ring = vec![json!([x0, y0])];
    for i in 0..teeth {
        let y = y0 + (i as f64 + 0.5) * step;
        ring.push(json!([x0 + 0.008, y]));
        ring.push(json!([x0 + 0.0005, y + step / 2.0]));
    }
    ring.push(json!([x0 - 0.0005, y0 + teeth as f64 * step]));
    ring.push(json!([x0, y0]));
    json!([ring])
}

#[tokio::test]
async fn comb_boundaries_and_lines_are_refused_naming_the_line_and_the_cap() {
    let (_, app) = state_with(&ApiConfig::default());
    // 129 teeth: 258 edges cross one meridian, two more than the default cap of 256.
    let (reply, _) = post(
        &app,
        "/api/v1/proposals/validate",
        &new_community(&[comb(129)]),
    )
    .await;
    reply.assert_problem(
        422,
        "the boundary of part 1 (features[0]) is too convoluted to check: the line of \
         longitude 113.001500 crosses it 258 times; the limit is 256 (--max-line-crossings)",
    );
    assert_eq!(reply.json()["type"], "/problems/too-convoluted");
    // 128 teeth are within the cap: validated.
    let (reply, _) = post(
        &app,
        "/api/v1/proposals/validate",
        &new_community(&[comb(128)]),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    // A zigzag split line of 300 points crosses one parallel 299 times.
    let line: Vec<Value> = (0..300)
        .map(|i| {
            json!([
                112.99 + 0.0001 * i as f64,
                if i % 2 == 0 { 22.0 } else { 22.02 }
            ])
        })
        .collect();
    let (reply, _) = post(
        &app,
        "/api/v1/proposals/split",
        &json!({"community": "442000901001", "line": line}),
    )
    .await;
    reply.assert_problem(422, "the split line is too convoluted to check");
    assert!(
        reply.json()["detail"]
            .as_str()
            .unwrap()
            .contains("crosses it 299 times")
    );
}
