//! Downloads of the registry's layers and the audit findings as GIS files: the same answer as
//! the GeoJSON one (filters, `as_of`, access rules, output CRS), written by
//! [`crate::formats::export`] in the format `format=` or the `Accept` header asks for.
//!
//! The handlers of the layers (`features.rs`) and of the findings (`audit.rs`) decide the
//! format and CRS here first, so an unknown format, or KML in a projected CRS, is a 400
//! naming the parameter before any work; the file is then made in the CPU pool (rendering,
//! table, writer), never on the async runtime.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::AppState;
use super::error::ApiError;
use crate::crs::Crs;
use crate::formats::export::{self, Format, Table};

/// The format of an answer: `format=` when given (an unknown value is a 400), else the
/// `Accept` type of the highest quality that names a format, else GeoJSON (`*/*`, browsers).
pub fn format(format: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    if let Some(name) = format {
        return Format::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            ApiError::bad_request(format!(
                "parameter `format`: unknown format {name:?}; expected one of {}",
                known.join(", ")
            ))
        });
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut best: Option<(f32, Format)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media_type = parts.next().unwrap_or_default();
        let quality = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Some(f) = Format::from_media_type(media_type)
            && quality > 0.0
            && best.is_none_or(|(q, _)| quality > q)
        {
            best = Some((quality, f));
        }
    }
    Ok(best.map_or(Format::GeoJson, |(_, f)| f))
}

/// The EPSG code a download in `crs` states; a 400 naming `crs` for a CRS a file cannot state
/// (GCJ-02, BD-09: no EPSG code) and for KML in anything but WGS84.
pub fn epsg(format: Format, crs: &Crs) -> Result<u32, ApiError> {
    let code = match crs {
        Crs::Wgs84 => 4326,
        Crs::Cgcs2000 => 4490,
        Crs::Projected(p) => u32::from(p.code()),
        other => {
            return Err(ApiError::bad_request(format!(
                "parameter `crs`: {other} has no EPSG code, so a {} file cannot state it; \
                 downloads are in wgs84, EPSG:4490 (cgcs2000) or a projected EPSG:<code> such as EPSG:4547",
                format.name()
            )));
        }
    };
    if format.wgs84_only() && code != 4326 {
        return Err(ApiError::bad_request(format!(
            "parameter `crs`: KML is always WGS84 longitude/latitude (OGC KML 2.2), not EPSG:{code}; \
             leave out crs, or ask for format=gpkg, shp, csv or fgb in EPSG:{code}"
        )));
    }
    Ok(code)
}

/// `Content-Crs` (OGC API Features Part 2) of an answer in EPSG:`code`; none for WGS84.
pub fn content_crs(code: u32) -> Option<HeaderValue> {
    (code != 4326)
        .then(|| {
            HeaderValue::from_str(&format!("<http://www.opengis.net/def/crs/EPSG/0/{code}>")).ok()
        })
        .flatten()
}

/// Makes the download in the CPU pool: `render` gives the GeoJSON answer (in EPSG:`epsg`),
/// which becomes a [`Table`] named `layer` and is written in `format`.
pub async fn answer<F>(
    state: &AppState,
    format: Format,
    layer: &'static str,
    epsg: u32,
    render: F,
) -> Result<Response, ApiError>
where
    F: FnOnce() -> Result<Bytes, ApiError> + Send + 'static,
{
    answer_table(state, format, layer, epsg, move || {
        let geojson: serde_json::Value =
            serde_json::from_slice(&render()?).map_err(ApiError::internal)?;
        Table::from_geojson(layer, epsg, &geojson).map_err(ApiError::internal)
    })
    .await
}

/// Makes the download in the CPU pool from the [`Table`] `make` builds (in EPSG:`epsg`), named
/// `layer` and written in `format`. A whole layer's table is built from the registry's
/// features one at a time rather than from its GeoJSON text ([`answer`]): at ×100 the grids'
/// text and its `Value` tree took 10.6 GB.
pub async fn answer_table<F>(
    state: &AppState,
    format: Format,
    layer: &'static str,
    epsg: u32,
    make: F,
) -> Result<Response, ApiError>
where
    F: FnOnce() -> Result<Table, ApiError> + Send + 'static,
{
    let bytes = state
        .admission()
        .cpu
        .run(move || -> Result<Vec<u8>, ApiError> {
            let table = make()?;
            export::write(format, &table).map_err(ApiError::internal)
        })
        .await??;
    let disposition = format!("attachment; filename=\"{}\"", format.file_name(layer, epsg));
    let mut response = (
        [
            (header::CONTENT_TYPE, format.media_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response();
    if let Some(value) = content_crs(epsg) {
        response.headers_mut().insert("content-crs", value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(header::ACCEPT, v);
        }
        h
    }

    #[test]
    fn the_parameter_wins_and_accept_is_read_by_quality() {
        let h = accept("application/flatgeobuf");
        assert_eq!(format(Some("gpkg"), &h), Ok(Format::Gpkg));
        assert_eq!(format(None, &h), Ok(Format::Fgb));
        assert_eq!(format(None, &accept("*/*")), Ok(Format::GeoJson));
        assert_eq!(format(None, &HeaderMap::new()), Ok(Format::GeoJson));
        assert_eq!(
            format(None, &accept("application/geo+json;q=0.5, application/zip")),
            Ok(Format::Shp)
        );
        assert_eq!(
            format(None, &accept("text/csv;q=0.2, application/geo+json")),
            Ok(Format::GeoJson)
        );
        let e = format(Some("xlsx"), &h).expect_err("unknown");
        assert!(e.detail.contains("parameter `format`"), "{}", e.detail);
    }

    #[test]
    fn kml_is_wgs84_only_and_gcj02_has_no_code() {
        let projected: Crs = "EPSG:4547".parse().expect("4547");
        assert_eq!(epsg(Format::Shp, &projected), Ok(4547));
        assert_eq!(epsg(Format::Gpkg, &Crs::Cgcs2000), Ok(4490));
        assert_eq!(epsg(Format::Kml, &Crs::Wgs84), Ok(4326));
        let e = epsg(Format::Kml, &projected).expect_err("kml in metres");
        assert!(e.detail.contains("parameter `crs`"), "{}", e.detail);
        assert!(epsg(Format::Csv, &Crs::Gcj02).is_err());
    }
}
