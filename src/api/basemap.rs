//! `GET /basemap` and `GET /basemap/{layer}/{z}/{x}/{y}`: 天地图 (Tianditu) raster tiles
//! through shequ, so that the key stays on the server. The page asks `/basemap` whether a
//! basemap is available (and the attribution to show), then draws tiles from the proxy route,
//! which adds the key from the server's configuration (`serve --tianditu-key` or
//! `SHEQU_TIANDITU_KEY`) and fetches the tile from the upstream (`--tianditu-url`, by default
//! `http://t0.tianditu.gov.cn`). Bounded: only the four known layers, `z` 1–18 with `x`, `y`
//! inside the zoom's grid (400 otherwise), one upstream request at a time per tile with a time
//! limit and a size limit, answers cached by clients for a day. Without a key the route
//! answers 503 `basemap.no_key`. The key is never written to an answer or to the log.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Request, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::lookup::json_response;

/// The layers served: name in the route (and Tianditu's layer name), what it is.
pub const LAYERS: [(&str, &str); 4] = [
    ("vec", "矢量底图"),
    ("cva", "矢量注记"),
    ("img", "影像底图"),
    ("cia", "影像注记"),
];

/// Highest zoom served (Tianditu's web-Mercator tile sets go to 18).
pub const MAX_ZOOM: u32 = 18;

/// Where tiles come from and with what key.
#[derive(Debug, Clone)]
pub struct BasemapConfig {
    /// The Tianditu key (`tk`); `None`: no basemap.
    pub key: Option<String>,
    /// The upstream base URL (`http://host[:port][/path]`), without a trailing slash.
    pub upstream: String,
    /// The attribution to show with the tiles (天地图 and its map review number, 审图号).
    pub attribution: String,
    /// Longest wait for one upstream tile (connection, answer and body).
    pub timeout: Duration,
    /// Largest tile accepted from upstream, in bytes (502 beyond).
    pub max_bytes: usize,
}

impl Default for BasemapConfig {
    fn default() -> Self {
        BasemapConfig {
            key: None,
            upstream: "http://t0.tianditu.gov.cn".to_owned(),
            attribution: DEFAULT_ATTRIBUTION.to_owned(),
            timeout: Duration::from_secs(10),
            max_bytes: 1024 * 1024,
        }
    }
}

/// The attribution Tianditu's terms ask for: the service's name and the map's review number.
pub const DEFAULT_ATTRIBUTION: &str =
    "© 天地图（国家地理信息公共服务平台） 审图号：GS（2024）0568号";

impl BasemapConfig {
    /// Checks a key given on the command line: Tianditu keys are 32 hex digits; anything but
    /// letters and digits would change the upstream URL.
    pub fn check_key(key: &str) -> Result<(), String> {
        if key.is_empty() || key.len() > 64 || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("the Tianditu key must be 1 to 64 letters and digits".to_owned());
        }
        Ok(())
    }
}

/// `GET /basemap`: whether a basemap is available, its layers, tile URL template and
/// attribution. Never the key.
pub async fn info(State(state): State<AppState>) -> Response {
    let config = state.basemap();
    let available = config.key.is_some();
    let layers: Vec<_> = LAYERS
        .iter()
        .map(|(name, title)| json!({"name": name, "title": title}))
        .collect();
    json_response(&json!({
        "available": available,
        "reason": if available { None } else { Some("basemap.no_key") },
        "tiles": "/basemap/{layer}/{z}/{x}/{y}",
        "layers": layers,
        "minzoom": 1,
        "maxzoom": MAX_ZOOM,
        "attribution": config.attribution,
    }))
}

/// `GET /basemap/{layer}/{z}/{x}/{y}`: one 256-pixel tile of `layer`.
pub async fn tile(
    State(state): State<AppState>,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let Some(&(layer, _)) = LAYERS.iter().find(|(name, _)| *name == layer) else {
        return Err(ApiError::not_found(format!(
            "no basemap layer {layer:?}; the layers are {}",
            LAYERS.map(|l| l.0).join(", ")
        ))
        .with_code("basemap.unknown_layer", Default::default())
        .param("layer", layer));
    };
    let (z, x, y) = tile_address(&z, &x, &y)?;
    let config = state.basemap();
    let Some(key) = config.key.as_deref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-basemap",
            "this server has no Tianditu key (serve --tianditu-key or SHEQU_TIANDITU_KEY), so it serves no basemap",
        )
        .with_code("basemap.no_key", Default::default()));
    };
    let path = format!(
        "/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}&STYLE=default\
         &TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
    );
    let fetched = tokio::time::timeout(config.timeout, fetch(config, &path, key)).await;
    let (content_type, bytes) = match fetched {
        Ok(Ok(answer)) => answer,
        Ok(Err(why)) => return Err(upstream_failed(&format!("{layer}/{z}/{x}/{y}: {why}"))),
        Err(_) => {
            return Err(upstream_failed(&format!(
                "{layer}/{z}/{x}/{y}: no answer within {} s",
                config.timeout.as_secs_f64()
            )));
        }
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    Ok(response)
}

/// `z`, `x`, `y` of a tile: numbers, `z` from 1 to [`MAX_ZOOM`], `x` and `y` inside the grid.
fn tile_address(z: &str, x: &str, y: &str) -> Result<(u32, u32, u32), ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "no basemap tile {z}/{x}/{y}: z is 1 to {MAX_ZOOM}, x and y 0 to 2^z − 1"
        ))
        .with_code("basemap.bad_tile", Default::default())
    };
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (Some(z), Some(x), Some(y)) = (number(z), number(x), number(y)) else {
        return Err(bad());
    };
    if !(1..=MAX_ZOOM).contains(&z) || x >= 1 << z || y >= 1 << z {
        return Err(bad());
    }
    Ok((z, x, y))
}

/// 502 for a tile the upstream did not give; the log line never holds the key.
fn upstream_failed(why: &str) -> ApiError {
    tracing::warn!("basemap upstream: {why}");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "basemap-upstream",
        "the basemap service (Tianditu) did not answer with a tile",
    )
    .with_code("basemap.upstream", Default::default())
}

/// GETs `path` (with `&tk=key`) from the upstream over HTTP/1.1: the tile's content type (an
/// image) and bytes, at most `max_bytes`.
async fn fetch(
    config: &BasemapConfig,
    path: &str,
    key: &str,
) -> Result<(HeaderValue, bytes::Bytes), String> {
    let base: Uri = config
        .upstream
        .parse()
        .map_err(|e| format!("upstream URL: {e}"))?;
    if base.scheme_str() != Some("http") {
        return Err("the upstream URL must be http:// (shequ has no TLS client)".to_owned());
    }
    let authority = base
        .authority()
        .ok_or("the upstream URL has no host")?
        .clone();
    let port = authority.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((authority.host(), port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        // Ends with the request; an error here is reported by the request itself.
        let _ = connection.await;
    });
    let prefix = base.path().trim_end_matches('/');
    let request = Request::get(format!("{prefix}{path}&tk={key}"))
        .header(header::HOST, authority.as_str())
        .header(
            header::USER_AGENT,
            concat!("shequ/", env!("CARGO_PKG_VERSION")),
        )
        .header(header::ACCEPT, "image/*")
        .body(Body::empty())
        .map_err(|e| format!("request: {e}"))?;
    let answer = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    if answer.status() != StatusCode::OK {
        return Err(format!("answered {}", answer.status()));
    }
    let content_type = answer
        .headers()
        .get(header::CONTENT_TYPE)
        .filter(|t| t.as_bytes().starts_with(b"image/"))
        .cloned()
        .ok_or("the answer is not an image")?;
    let too_long = answer
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|n| n > config.max_bytes);
    if too_long {
        return Err(format!("the tile is over {} bytes", config.max_bytes));
    }
    let bytes = axum::body::to_bytes(Body::new(answer.into_body()), config.max_bytes)
        .await
        .map_err(|e| format!("body (at most {} bytes): {e}", config.max_bytes))?;
    Ok((content_type, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_addresses_are_inside_the_grid_of_their_zoom() {
        assert_eq!(tile_address("1", "1", "0").ok(), Some((1, 1, 0)));
        assert_eq!(
            tile_address("18", "262143", "0").ok(),
            Some((18, 262_143, 0))
        );
        for (z, x, y) in [
            ("0", "0", "0"),
            ("19", "0", "0"),
            ("2", "4", "0"),
            ("2", "0", "4"),
            ("a", "0", "0"),
            ("2", "-1", "0"),
            ("2", "1.5", "0"),
            ("2", "", "0"),
            ("99999999999", "0", "0"),
        ] {
            let e = tile_address(z, x, y).err();
            assert_eq!(
                e.map(|e| e.code),
                Some("basemap.bad_tile".into()),
                "{z}/{x}/{y}"
            );
        }
    }

    #[test]
    fn keys_are_letters_and_digits() {
        assert!(BasemapConfig::check_key("0123456789abcdef0123456789abcdef").is_ok());
        for bad in ["", "a&b=c", "key with space", "é"] {
            assert!(BasemapConfig::check_key(bad).is_err(), "{bad}");
        }
    }
}
