//! Issue 20, whole layers streamed: through the real router in-process, with the kept-layer
//! bound lowered to 0 so that the sample city's layers stream as a ×100 city's do. The body is,
//! byte for byte, `serde_json::to_vec` of the whole collection (the rendering that answered
//! before), in WGS84 and a projected CRS; it arrives in several chunks with no length known in
//! advance; the chunk size splits layers unevenly, a layer of one feature and an empty layer
//! stream whole; a CRS whose area of use misses the city is the same 400 as before; and a
//! stream keeps the snapshot it began with when another is published meanwhile.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use http_body_util::BodyExt;
use shequ::Snapshot;
use shequ::api::{self, ApiConfig, AppState, WholeLayers};
use shequ::crs::Crs;
use shequ::output::geojson;
use shequ::registry::Level;

const LAYERS: [(Level, &str); 3] = [
    (Level::Town, "/api/v1/towns"),
    (Level::Community, "/api/v1/communities"),
    (Level::Grid, "/api/v1/grids"),
];

fn config(kept_vertices: usize, chunk_bytes: usize) -> ApiConfig {
    ApiConfig {
        whole_layers: WholeLayers {
            kept_vertices,
            chunk_bytes,
        },
        ..ApiConfig::default()
    }
}

fn state(snapshot: Snapshot, config: &ApiConfig) -> (AppState, Router) {
    let state = AppState::with_config(snapshot, config);
    let router = api::router(state.clone(), config);
    (state, router)
}

/// The whole collection as it was rendered before streaming: `serde_json::to_vec` at once.
fn whole(snapshot: &Snapshot, level: Level, out: Option<&Crs>) -> serde_json::Result<Vec<u8>> {
    let r = &snapshot.registry;
    match level {
        Level::Town => geojson::towns(r, out),
        Level::Community => geojson::communities(r, out),
        Level::Grid => geojson::grids(r, out),
    }
}

fn crs(name: &str) -> Crs {
    match name.parse() {
        Ok(c) => c,
        Err(e) => panic!("{name}: {e}"),
    }
}

/// A response read frame by frame: status, headers, the data frames.
struct Framed {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    exact_length: Option<u64>,
    frames: Vec<Vec<u8>>,
}

impl Framed {
    fn body(&self) -> Vec<u8> {
        self.frames.concat()
    }
}

async fn get_framed(app: &Router, uri: &str) -> Framed {
    let response =
        match tower::ServiceExt::oneshot(app.clone(), common::request("GET", uri, Body::empty()))
            .await
        {
            Ok(r) => r,
            Err(e) => match e {},
        };
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = response.into_body();
    let exact_length = axum::body::HttpBody::size_hint(&body).exact();
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Ok(data) = f.into_data() {
                    frames.push(data.to_vec());
                }
            }
            Err(e) => panic!("{uri}: the body broke off: {e}"),
        }
    }
    Framed {
        status,
        headers,
        exact_length,
        frames,
    }
}

#[tokio::test]
async fn streamed_layers_are_the_whole_collection_byte_for_byte() {
    let sample = common::sample();
    let (_, app) = state(common::load(&common::sample_dir()), &config(0, 16 * 1024));
    let projected = crs("EPSG:4547");
    for (level, path) in LAYERS {
        for (query, out) in [("", None), ("?crs=EPSG:4547", Some(&projected))] {
            let uri = format!("{path}{query}");
            let reply = get_framed(&app, &uri).await;
            assert_eq!(reply.status, 200, "{uri}");
            assert_eq!(reply.headers["content-type"], "application/geo+json");
            if out.is_some() {
                assert_eq!(
                    reply.headers["content-crs"],
                    "<http://www.opengis.net/def/crs/EPSG/0/4547>"
                );
            }
            let Ok(reference) = whole(sample, level, out) else {
                panic!("{uri}: the sample city is inside EPSG:4547");
            };
            let body = reply.body();
            assert!(
                body == reference,
                "{uri}: {} bytes streamed, {} rendered whole; first difference at byte {:?}",
                body.len(),
                reference.len(),
                body.iter().zip(&reference).position(|(a, b)| a != b)
            );
            // Streamed: no length up front, and in chunks (the layers are 40 KB to several MB).
            assert_eq!(reply.exact_length, None, "{uri}");
            assert!(
                reply.frames.len() > 1,
                "{uri}: {} bytes in one frame",
                body.len()
            );
        }
    }
}

/// With the default bound the sample city's WGS84 layers are kept: one `Bytes`, its length
/// known; in another CRS they stream.
#[tokio::test]
async fn kept_layers_are_answered_from_memory_and_others_stream() {
    let app = common::app(&common::sample_dir());
    for (_, path) in LAYERS {
        let kept = get_framed(&app, path).await;
        assert_eq!(kept.status, 200);
        assert_eq!(kept.frames.len(), 1, "{path}");
        assert_eq!(kept.exact_length, Some(kept.body().len() as u64), "{path}");
        let gcj = get_framed(&app, &format!("{path}?crs=gcj02")).await;
        assert_eq!(gcj.status, 200);
        assert_eq!(gcj.exact_length, None, "{path}?crs=gcj02");
    }
}

/// Chunks of at least `chunk_bytes`: a feature a chunk at 1 byte, uneven splits in between,
/// and the layers of one feature (the mini city's town) whole.
#[tokio::test]
async fn chunk_boundaries_split_layers_anywhere() {
    let mini = common::load(&common::mini_dir());
    for chunk_bytes in [1, 700, 1500, 1 << 20] {
        let (_, app) = state(common::load(&common::mini_dir()), &config(0, chunk_bytes));
        for (level, path) in LAYERS {
            let reply = get_framed(&app, path).await;
            assert_eq!(reply.status, 200);
            let Ok(reference) = whole(&mini, level, None) else {
                panic!("{path} renders");
            };
            assert_eq!(
                common::text(&reply.body()),
                common::text(&reference),
                "{path} in chunks of {chunk_bytes} bytes"
            );
            let features = geojson::layer_len(&mini.registry, level);
            if chunk_bytes == 1 {
                assert_eq!(reply.frames.len(), features, "{path}: a feature a chunk");
            }
            if chunk_bytes == 1 << 20 {
                assert_eq!(reply.frames.len(), 1, "{path}: one chunk");
            }
        }
    }
}

/// An empty layer streams as an empty collection (head and tail in one chunk) in a projected
/// CRS; in WGS84 it is kept (0 vertices), as small layers are.
#[tokio::test]
async fn an_empty_layer_streams_as_an_empty_collection() {
    let empty_grids = || {
        let mut city = common::load(&common::mini_dir());
        city.registry.grids.clear();
        city
    };
    let empty = empty_grids();
    let (_, app) = state(empty_grids(), &config(0, 1));
    for (query, out) in [("", None), ("?crs=EPSG:4547", Some(crs("EPSG:4547")))] {
        let reply = get_framed(&app, &format!("/api/v1/grids{query}")).await;
        assert_eq!(reply.status, 200);
        let Ok(reference) = whole(&empty, Level::Grid, out.as_ref()) else {
            panic!("an empty layer renders");
        };
        assert_eq!(common::text(&reply.body()), common::text(&reference));
        assert_eq!(reply.frames.len(), 1);
        // No vertices are within any bound, so the WGS84 one is kept; the projected one streams.
        assert_eq!(reply.exact_length.is_none(), out.is_some(), "{query}");
        assert!(common::text(&reference).ends_with("\"features\":[]}"));
    }
}

/// A CRS whose area of use misses the city: the same 400, with the same detail, as when the
/// layer was rendered whole, and no body of a 200 begun.
#[tokio::test]
async fn an_out_of_area_crs_is_the_same_400_before_any_byte() {
    let sample = common::sample();
    let far = crs("EPSG:4549");
    for kept_vertices in [0, usize::MAX] {
        let app = api::router(
            AppState::with_config(
                common::load(&common::sample_dir()),
                &config(kept_vertices, 16 * 1024),
            ),
            &config(kept_vertices, 16 * 1024),
        );
        for (level, path) in LAYERS {
            let reply = common::get(&app, &format!("{path}?crs=EPSG:4549")).await;
            let Err(e) = whole(sample, level, Some(&far)) else {
                panic!("the sample city is outside EPSG:4549");
            };
            reply.assert_problem(400, &format!("parameter `crs`: {e}"));
            assert_eq!(
                reply.json()["detail"],
                format!("parameter `crs`: {e}"),
                "{path}"
            );
        }
    }
}

/// A stream keeps the snapshot it began with: publishing another in the middle of the body
/// changes nothing in it, and the next request sees the new one.
#[tokio::test]
async fn a_stream_keeps_its_snapshot_while_another_is_published() {
    let sample = common::sample();
    let mini = common::load(&common::mini_dir());
    let (state, app) = state(common::load(&common::sample_dir()), &config(0, 4096));
    let response = match tower::ServiceExt::oneshot(
        app.clone(),
        common::request("GET", "/api/v1/grids", Body::empty()),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    if let Some(Ok(frame)) = body.frame().await
        && let Ok(data) = frame.into_data()
    {
        bytes.extend_from_slice(&data);
    }
    let Ok(reference) = whole(sample, Level::Grid, None) else {
        panic!("grids render");
    };
    // The body is under way, not whole, when the new snapshot is published.
    assert!(!bytes.is_empty() && bytes.len() < reference.len());
    state.publish(common::load(&common::mini_dir()), None);
    while let Some(frame) = body.frame().await {
        match frame.map(|f| f.into_data()) {
            Ok(Ok(data)) => bytes.extend_from_slice(&data),
            Ok(Err(_)) => {}
            Err(e) => panic!("the body broke off: {e}"),
        }
    }
    assert!(bytes == reference, "the stream mixed snapshots");
    let after = common::get(&app, "/api/v1/grids").await;
    let Ok(mini_grids) = whole(&mini, Level::Grid, None) else {
        panic!("grids render");
    };
    assert_eq!(after.body, mini_grids);
}
