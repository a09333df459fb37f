//! The basemap proxy (`/basemap`, `/basemap/{layer}/{z}/{x}/{y}`) through the in-process router,
//! against a fake Tianditu on loopback (an axum server in the test, on 127.0.0.1): the key from
//! the server's configuration is added upstream and never reaches the browser (the page's HTML,
//! scripts and JSON, and every answer here); only the known layers and valid tile addresses are
//! forwarded; upstream failures, slow answers and oversized tiles are 502s with a code; without
//! a key the route is a 503 `basemap.no_key`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;
use shequ::api::{ApiConfig, BasemapConfig};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\nfake tile";

/// What the fake upstream saw: every request's path and query.
type Seen = Arc<Mutex<Vec<String>>>;

/// Answers a tile for `/vec_w/…` and `/img_w/…`, a 500 for `cva`, a slow answer for `cia` at
/// zoom 2 and an oversized one for `cia` at zoom 3.
async fn fake_tianditu(State(seen): State<Seen>, uri: Uri) -> axum::response::Response {
    let text = uri.to_string();
    if let Ok(mut s) = seen.lock() {
        s.push(text.clone());
    }
    if text.starts_with("/cva_w/") {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    if text.starts_with("/cia_w/") && text.contains("TILEMATRIX=2&") {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    if text.starts_with("/cia_w/") && text.contains("TILEMATRIX=3&") {
        let big = vec![0u8; 3 * 1024 * 1024];
        return ([(header::CONTENT_TYPE, "image/png")], big).into_response();
    }
    ([(header::CONTENT_TYPE, "image/png")], PNG).into_response()
}

/// Starts the fake upstream on 127.0.0.1; its base URL and what it sees.
async fn upstream() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .fallback(fake_tianditu)
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

fn app(basemap: BasemapConfig) -> Router {
    let config = ApiConfig {
        basemap,
        ..ApiConfig::default()
    };
    common::app_with(&common::mini_dir(), &config)
}

fn code(reply: &common::Reply) -> String {
    reply.json()["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn tiles_come_through_the_proxy_with_the_key_added_upstream_only() {
    let (base, seen) = upstream().await;
    let app = app(BasemapConfig {
        key: Some(KEY.to_owned()),
        upstream: base,
        timeout: Duration::from_millis(1500),
        max_bytes: 1024 * 1024,
        ..BasemapConfig::default()
    });

    let (tile, headers) = common::send_with_headers(
        &app,
        common::request("GET", "/basemap/vec/3/1/2", axum::body::Body::empty()),
    )
    .await;
    assert_eq!(tile.status, StatusCode::OK, "{}", tile.text());
    assert_eq!(tile.content_type, "image/png");
    assert_eq!(tile.body, PNG);
    assert_eq!(
        headers
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=86400")
    );
    let asked = seen.lock().expect("seen").clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let upstream_path = &asked[0];
    assert!(upstream_path.starts_with("/vec_w/wmts?"), "{upstream_path}");
    for part in [
        "SERVICE=WMTS",
        "REQUEST=GetTile",
        "LAYER=vec",
        "TILEMATRIXSET=w",
        "TILEMATRIX=3&",
        "TILEROW=2&",
        "TILECOL=1&",
    ] {
        assert!(upstream_path.contains(part), "{part} in {upstream_path}");
    }
    assert!(
        upstream_path.ends_with(&format!("&tk={KEY}")),
        "{upstream_path}"
    );
    let img = common::get(&app, "/basemap/img/18/262143/0").await;
    assert_eq!(img.status, StatusCode::OK, "{}", img.text());

    // Refused before anything goes upstream: unknown layers, addresses outside the grid.
    let before = seen.lock().expect("seen").len();
    for (uri, status, expected) in [
        ("/basemap/ter/3/1/2", 404, "basemap.unknown_layer"),
        ("/basemap/vec/0/0/0", 400, "basemap.bad_tile"),
        ("/basemap/vec/19/0/0", 400, "basemap.bad_tile"),
        ("/basemap/vec/3/8/0", 400, "basemap.bad_tile"),
        ("/basemap/vec/3/1/-2", 400, "basemap.bad_tile"),
        ("/basemap/vec/3/1/2.png", 400, "basemap.bad_tile"),
    ] {
        let r = common::get(&app, uri).await;
        assert_eq!(r.status.as_u16(), status, "{uri}: {}", r.text());
        assert_eq!(r.content_type, "application/problem+json", "{uri}");
        assert_eq!(code(&r), expected, "{uri}");
    }
    assert_eq!(
        seen.lock().expect("seen").len(),
        before,
        "nothing forwarded"
    );

    // Upstream failures: an error status, no answer in time, a tile over the size limit.
    for uri in [
        "/basemap/cva/3/1/2",
        "/basemap/cia/2/1/1",
        "/basemap/cia/3/1/1",
    ] {
        let started = std::time::Instant::now();
        let r = common::get(&app, uri).await;
        assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{uri}: {}", r.text());
        assert_eq!(code(&r), "basemap.upstream", "{uri}");
        assert!(!r.text().contains(KEY), "{uri} leaks the key");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{uri} waited too long"
        );
    }

    // The key reaches no answer the browser reads: the page, its scripts, the basemap
    // description, the style, the tile catalogue and the API description.
    let mut pages = vec![
        "/".to_owned(),
        "/basemap".to_owned(),
        "/style.json".to_owned(),
        "/tiles/catalog".to_owned(),
        "/api".to_owned(),
    ];
    for entry in std::fs::read_dir(common::root().join("web"))
        .expect("web/")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".js") || name.ends_with(".css") || name.ends_with(".html") {
            pages.push(format!("/web/{name}"));
        }
    }
    for uri in &pages {
        let r = common::get(&app, uri).await;
        assert!(!r.text().contains(KEY), "{uri} leaks the key");
    }
    let info = common::get(&app, "/basemap").await.json();
    assert_eq!(info["available"], true, "{info}");
    assert!(
        info["attribution"]
            .as_str()
            .is_some_and(|a| a.contains("天地图") && a.contains("审图号")),
        "{info}"
    );
    let layers: Vec<&str> = info["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(layers, ["vec", "cva", "img", "cia"]);
}

#[tokio::test]
async fn without_a_key_there_is_no_basemap_and_the_answer_says_why() {
    let app = app(BasemapConfig::default());
    let info = common::get(&app, "/basemap").await.json();
    assert_eq!(info["available"], false, "{info}");
    assert_eq!(info["reason"], "basemap.no_key", "{info}");
    let r = common::get(&app, "/basemap/vec/3/1/2").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(code(&r), "basemap.no_key");
    // Address checks come first: a bad address is a 400 with or without a key.
    let r = common::get(&app, "/basemap/vec/99/1/2").await;
    assert_eq!(code(&r), "basemap.bad_tile");
}
