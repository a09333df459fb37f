//! `GET /` and `GET /web/{file}`: the web map, embedded in the binary.
//!
//! The page is a handful of files, so they are compiled in with `include_bytes!` rather than read
//! from `web/` at run time: a fresh clone's `cargo run --release -- serve` works from any working
//! directory, and a deployed binary needs nothing beside it. (A crate such as `rust-embed` would
//! walk the directory for us, but with a dozen files an explicit table is shorter, has no extra
//! dependency, and makes every served file and its Content-Type visible in one place.)

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// One embedded file.
struct Asset {
    /// Path under `/web/`.
    path: &'static str,
    content_type: &'static str,
    /// Vendored files carry their version in the refresh script, not in their name, so they are
    /// cached for a day rather than forever; the app's own files are revalidated every time.
    cache_control: &'static str,
    body: &'static [u8],
}

const APP_CACHE: &str = "no-cache";
const VENDOR_CACHE: &str = "public, max-age=86400";

macro_rules! asset {
    ($path:literal, $type:literal, $cache:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            cache_control: $cache,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path)),
        }
    };
}

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8", APP_CACHE),
    asset!("app.js", "text/javascript; charset=utf-8", APP_CACHE),
    asset!("util.js", "text/javascript; charset=utf-8", APP_CACHE),
    asset!("messages.js", "text/javascript; charset=utf-8", APP_CACHE),
    asset!("basemap.js", "text/javascript; charset=utf-8", APP_CACHE),
    asset!("proposal.js", "text/javascript; charset=utf-8", APP_CACHE),
    asset!("draw.js", "text/javascript; charset=utf-8", APP_CACHE),
    asset!("validation.js", "text/javascript; charset=utf-8", APP_CACHE),
    asset!("server.js", "text/javascript; charset=utf-8", APP_CACHE),
    asset!("suggest.js", "text/javascript; charset=utf-8", APP_CACHE),
    asset!("fetcher.js", "text/javascript; charset=utf-8", APP_CACHE),
    asset!("parts.js", "text/javascript; charset=utf-8", APP_CACHE),
    asset!("app.css", "text/css; charset=utf-8", APP_CACHE),
    asset!(
        "vendor/maplibre-gl/maplibre-gl.mjs",
        "text/javascript; charset=utf-8",
        VENDOR_CACHE
    ),
    asset!(
        "vendor/maplibre-gl/maplibre-gl-worker.mjs",
        "text/javascript; charset=utf-8",
        VENDOR_CACHE
    ),
    asset!(
        "vendor/maplibre-gl/maplibre-gl.css",
        "text/css; charset=utf-8",
        VENDOR_CACHE
    ),
    asset!(
        "vendor/maplibre-gl/LICENSE.txt",
        "text/plain; charset=utf-8",
        VENDOR_CACHE
    ),
    asset!(
        "vendor/terra-draw/terra-draw.umd.js",
        "text/javascript; charset=utf-8",
        VENDOR_CACHE
    ),
    asset!(
        "vendor/terra-draw/terra-draw-maplibre-gl-adapter.umd.js",
        "text/javascript; charset=utf-8",
        VENDOR_CACHE
    ),
    asset!(
        "vendor/terra-draw/LICENSE.txt",
        "text/plain; charset=utf-8",
        VENDOR_CACHE
    ),
];

fn respond(asset: &Asset) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(asset.cache_control),
            ),
        ],
        asset.body,
    )
        .into_response()
}

/// `GET /`: the page.
pub async fn index() -> Result<Response, ApiError> {
    asset("index.html")
}

/// `GET /web/{*path}`: the page's scripts, styles and vendored libraries.
pub async fn file(Path(path): Path<String>) -> Result<Response, ApiError> {
    asset(&path)
}

fn asset(path: &str) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|a| a.path == path)
        .map(respond)
        .ok_or_else(|| ApiError::not_found(format!("no such web file /web/{path}")))
}
