//! The tile endpoints over HTTP: one test per behaviour a tile server owes its clients.

mod common;

use std::fs;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;
use mvt_reader::Reader;
use shequ::api::{self, ApiConfig, AppState};
use shequ::tiles::StyleOptions;
use tower::ServiceExt;

/// The z13 tile holding the mini city (113.00–113.02E, 22.00–22.02N), worked out by hand:
/// x = floor((113.01 + 180) / 360 · 2¹³) = 6667, y = floor((1 − ln(tan φ + sec φ)/π) / 2 · 2¹³) = 3582.
const MINI_TILE: &str = "13/6667/3582";

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn fetch(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = common::request("GET", uri, Body::empty());
    for (k, v) in headers {
        request.headers_mut().insert(
            header::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            v.parse().expect("header value"),
        );
    }
    let response = match app.clone().oneshot(request).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

fn header_of(a: &Answer, name: header::HeaderName) -> &str {
    a.headers
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn mini() -> Router {
    common::app(&common::mini_dir())
}

#[tokio::test]
async fn tile_is_mvt_with_validators_and_decodes() {
    let a = fetch(&mini(), &format!("/tiles/towns,grids/{MINI_TILE}.mvt"), &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        header_of(&a, header::CONTENT_TYPE),
        "application/vnd.mapbox-vector-tile"
    );
    let etag = header_of(&a, header::ETAG);
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );
    assert!(header_of(&a, header::CACHE_CONTROL).contains("max-age="));
    let reader = Reader::new(a.body).expect("decodes");
    assert_eq!(
        reader.get_layer_names().expect("names"),
        ["towns".to_owned(), "grids".to_owned()]
    );
    assert_eq!(reader.get_features(1).expect("grids").len(), 4);
}

#[tokio::test]
async fn empty_tiles_are_204() {
    let app = mini();
    // Far from the city.
    let a = fetch(&app, "/tiles/towns/10/0/0.mvt", &[]).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(a.body.is_empty());
    // Over the city but below the grids' minzoom.
    let a = fetch(&app, "/tiles/grids/5/26/14.mvt", &[]).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn if_none_match_gives_304() {
    let app = mini();
    let uri = format!("/tiles/communities/{MINI_TILE}.mvt");
    let first = fetch(&app, &uri, &[]).await;
    let etag = header_of(&first, header::ETAG).to_owned();
    let again = fetch(&app, &uri, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(header_of(&again, header::ETAG), etag);
    let listed = fetch(
        &app,
        &uri,
        &[("if-none-match", &format!("\"x\", W/{etag}"))],
    )
    .await;
    assert_eq!(listed.status, StatusCode::NOT_MODIFIED);
    let other = fetch(&app, &uri, &[("if-none-match", "\"something-else\"")]).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.body, first.body);
}

#[tokio::test]
async fn tiles_are_compressed_on_request() {
    let app = mini();
    let uri = format!("/tiles/towns,communities,grids,labels/{MINI_TILE}.mvt");
    let plain = fetch(&app, &uri, &[]).await;
    assert_eq!(header_of(&plain, header::CONTENT_ENCODING), "");
    for encoding in ["gzip", "br"] {
        let a = fetch(&app, &uri, &[("accept-encoding", encoding)]).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(header_of(&a, header::CONTENT_ENCODING), encoding);
        assert_eq!(
            header_of(&a, header::CONTENT_TYPE),
            "application/vnd.mapbox-vector-tile"
        );
        assert_ne!(a.body, plain.body);
        assert!(a.body.len() < plain.body.len(), "{encoding}");
    }
}

#[tokio::test]
async fn cors_allows_any_origin() {
    let a = fetch(
        &mini(),
        &format!("/tiles/towns/{MINI_TILE}.mvt"),
        &[("origin", "https://example.org")],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(header_of(&a, header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
}

#[tokio::test]
async fn bad_layers_are_404_problems() {
    let app = mini();
    for uri in [
        "/tiles/roads/13/6667/3582.mvt",
        "/tiles/towns,roads/13/6667/3582.mvt",
        "/tiles/roads.json",
    ] {
        common::get(&app, uri).await.assert_problem(404, "roads");
    }
    common::get(&app, "/tiles/towns/13/6667/3582.png")
        .await
        .assert_problem(404, ".mvt");
}

#[tokio::test]
async fn out_of_range_tiles_are_400_problems() {
    let app = mini();
    common::get(&app, "/tiles/towns/23/0/0.mvt")
        .await
        .assert_problem(400, "zoom 23");
    common::get(&app, "/tiles/towns/2/4/0.mvt")
        .await
        .assert_problem(400, "below 4");
    common::get(&app, "/tiles/towns/2/0/4.mvt")
        .await
        .assert_problem(400, "below 4");
    common::get(&app, "/tiles/towns/2/-1/0.mvt")
        .await
        .assert_problem(400, "x \"-1\"");
}

#[tokio::test]
async fn tilejson_catalog_and_style_describe_the_tiles() {
    let app = mini();
    let tj = common::get(&app, "/tiles/communities.json").await.json();
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(
        tj["tiles"][0],
        "http://127.0.0.1:8080/tiles/communities/{z}/{x}/{y}.mvt"
    );
    assert_eq!(tj["vector_layers"][0]["id"], "communities");
    assert!(tj["vector_layers"][0]["fields"]["town_code"].is_string());
    assert_eq!(
        tj["bounds"],
        serde_json::json!([113.0, 22.0, 113.02, 22.02])
    );
    assert_eq!(tj["maxzoom"], 22);

    let catalog = common::get(&app, "/tiles/catalog").await.json();
    let ids: Vec<&str> = catalog["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(|l| l["id"].as_str())
        .collect();
    assert_eq!(ids, ["towns", "communities", "grids", "labels", "findings"]);

    let style = common::get(&app, "/style.json").await.json();
    assert_eq!(style["version"], 8);
    let sources: Vec<&String> = style["sources"]
        .as_object()
        .expect("sources")
        .keys()
        .collect();
    assert_eq!(
        sources,
        ["findings", "shequ"],
        "no external basemap by default"
    );
    let source_layers: Vec<&str> = style["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(|l| l["source-layer"].as_str())
        .collect();
    for layer in ["towns", "communities", "grids", "findings"] {
        assert!(source_layers.contains(&layer), "style shows {layer}");
    }
    // No glyph source: no text layer (MapLibre Native would draw none and fail), and the labels
    // layer waits in the metadata for a client drawing text with local fonts.
    assert!(style.get("glyphs").is_none());
    assert!(!source_layers.contains(&"labels"), "{source_layers:?}");
    assert_eq!(style["metadata"]["shequ:labels"]["source-layer"], "labels");
    let config = ApiConfig {
        style: StyleOptions {
            basemap: None,
            glyphs: Some("https://fonts.example/{fontstack}/{range}.pbf".into()),
        },
        ..ApiConfig::default()
    };
    let with_glyphs = common::get(
        &common::app_with(&common::mini_dir(), &config),
        "/style.json",
    )
    .await
    .json();
    assert_eq!(
        with_glyphs["glyphs"],
        "https://fonts.example/{fontstack}/{range}.pbf"
    );
    let labels = with_glyphs["layers"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["id"] == "labels"))
        .expect("a labels layer with glyphs");
    assert_eq!(labels["type"], "symbol");

    let config = ApiConfig {
        style: StyleOptions {
            basemap: Some("https://t0.tianditu.gov.cn/vec_w/wmts?x={x}&y={y}&l={z}".into()),
            glyphs: None,
        },
        ..ApiConfig::default()
    };
    let with_basemap = common::app_with(&common::mini_dir(), &config);
    let style = common::get(&with_basemap, "/style.json").await.json();
    assert_eq!(style["sources"]["basemap"]["type"], "raster");
    assert_eq!(style["layers"][1]["id"], "basemap");
}

#[tokio::test]
async fn changed_registry_never_serves_a_stale_tile() {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in ["towns.geojson", "communities.geojson", "grids.geojson"] {
        fs::copy(common::mini_dir().join(file), dir.path().join(file)).expect("copy");
    }
    let config = ApiConfig::default();
    let state = AppState::with_config(common::load(dir.path()), &config);
    // One router throughout: publishing swaps the snapshot under it, as an approval does.
    let router = api::router(state.clone(), &config);
    let uri = format!("/tiles/communities/{MINI_TILE}.mvt");
    let old = fetch(&router, &uri, &[]).await;
    assert_eq!(state.cached_tiles(), 1);
    let before = state.version();

    let path = dir.path().join("communities.geojson");
    let renamed = fs::read_to_string(&path)
        .expect("read")
        .replace("西社区", "西门社区");
    fs::write(&path, renamed).expect("write");
    state.publish(common::load(dir.path()), None);
    assert!(state.version() > before);
    let new = fetch(&router, &uri, &[]).await;
    assert_eq!(new.status, StatusCode::OK);
    assert_ne!(new.body, old.body);
    assert_ne!(header_of(&new, header::ETAG), header_of(&old, header::ETAG));
    // The old tile is still cached (same cache, older version) but not served for the new one.
    assert_eq!(state.cached_tiles(), 2);
    let name_found = String::from_utf8_lossy(&new.body).contains("西门社区");
    assert!(name_found);
    // And the old ETag no longer validates.
    let stale = fetch(
        &router,
        &uri,
        &[("if-none-match", header_of(&old, header::ETAG))],
    )
    .await;
    assert_eq!(stale.status, StatusCode::OK);
}

#[tokio::test]
async fn tile_cache_size_is_configurable() {
    let config = ApiConfig {
        tile_cache: 0,
        ..ApiConfig::default()
    };
    let state = AppState::with_config(common::load(&common::mini_dir()), &config);
    let app = api::router(state.clone(), &config);
    let a = fetch(&app, &format!("/tiles/towns/{MINI_TILE}.mvt"), &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(state.cached_tiles(), 0);
}

#[tokio::test]
async fn unknown_layer_names_every_layer_of_the_catalog() {
    let app = mini();
    let catalog = common::get(&app, "/tiles/catalog").await.json();
    let reply = common::get(&app, "/tiles/roads/0/0/0.mvt").await;
    assert_eq!(reply.status, 404);
    let detail = reply.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for layer in catalog["layers"].as_array().expect("layers") {
        let id = layer["id"].as_str().expect("id");
        assert!(detail.contains(id), "{detail:?} should name {id}");
    }
}

#[tokio::test]
async fn the_start_view_shows_the_whole_city() {
    // The shipped city: a fixed zoom 10 cut off its south in a browser window.
    let app = common::app(&common::sample_dir());
    let style = common::get(&app, "/style.json").await.json();
    let [w, s, e, n] = shequ::tiles::style::city_bounds(&common::sample().registry);
    let (lon, lat) = (
        style["center"][0].as_f64().expect("lon"),
        style["center"][1].as_f64().expect("lat"),
    );
    let zoom = style["zoom"].as_f64().expect("zoom");
    // Web Mercator in pixels at that zoom (MapLibre: 512 px tiles), for a 1024 × 600 window.
    let world = 512.0 * 2f64.powf(zoom);
    let x = |lon: f64| (lon + 180.0) / 360.0 * world;
    let y = |lat: f64| {
        let r = lat.to_radians();
        (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * world
    };
    let (cx, cy) = (x(lon), y(lat));
    for (px, py) in [(x(w), y(n)), (x(e), y(s)), (x(w), y(s)), (x(e), y(n))] {
        assert!(
            (px - cx).abs() <= 512.0 && (py - cy).abs() <= 300.0,
            "corner outside the view at zoom {zoom}"
        );
    }
    assert!(zoom >= 8.0, "not zoomed out further than needed: {zoom}");
}
