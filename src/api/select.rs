//! The selection parameters the feature endpoints share (`/api/v1/{towns,communities,grids}`
//! and OGC API Features items): `bbox`, `limit`, `offset`, and the parent filters `town` and
//! `community`, parsed into a [`Filter`] and a [`Window`] with 400s that name the parameter.

use geo::{LineString, Polygon};

use super::error::ApiError;
use crate::crs::Crs;
use crate::output::page::Window;
use crate::output::select::Filter;
use crate::registry::{Level, Registry};

/// The most features one page may hold (a larger `limit` is lowered to it, as OGC API
/// Features asks; the whole grid layer of the shipped city is ~4,900).
pub const MAX_LIMIT: usize = 10_000;

/// Points per bounding-box edge when the box is in a projected CRS: its edges are curves in
/// WGS84, and 16 points follow them to well under a millimetre over a city.
const EDGE_POINTS: usize = 16;

/// `minx,miny,maxx,maxy` (or the 3D `minx,miny,minz,maxx,maxy,maxz`, heights ignored) in
/// `crs`, as the area it covers in WGS84.
pub fn parse_bbox(name: &str, text: &str, crs: &Crs) -> Result<Polygon<f64>, ApiError> {
    let numbers: Vec<f64> = text
        .split(',')
        .map(|n| n.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "parameter `{name}`: {text:?} is not a list of numbers minx,miny,maxx,maxy"
            ))
        })?;
    let [x0, y0, x1, y1] = match *numbers.as_slice() {
        [a, b, c, d] => [a, b, c, d],
        [a, b, _, c, d, _] => [a, b, c, d],
        _ => {
            return Err(ApiError::bad_request(format!(
                "parameter `{name}`: {} numbers given; give 4 (minx,miny,maxx,maxy) or 6",
                numbers.len()
            )));
        }
    };
    if x0 > x1 || y0 > y1 {
        return Err(ApiError::bad_request(format!(
            "parameter `{name}`: the lower corner ({x0}, {y0}) is not below and left of the upper corner ({x1}, {y1})"
        )));
    }
    let corners = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
    let edges = if crs.is_wgs84() { 1 } else { EDGE_POINTS };
    let mut ring = Vec::with_capacity(4 * edges + 1);
    for k in 0..4 {
        let ([ax, ay], [bx, by]) = (corners[k], corners[(k + 1) % 4]);
        for step in 0..edges {
            let t = step as f64 / edges as f64;
            let p = [ax + (bx - ax) * t, ay + (by - ay) * t];
            let [lon, lat] = crs
                .to_wgs84(p)
                .map_err(|e| ApiError::bad_request(format!("parameter `{name}`: {e}")))?;
            ring.push((lon, lat));
        }
    }
    ring.push(ring[0]);
    Ok(Polygon::new(LineString::from(ring), vec![]))
}

/// `limit` (default `default`, at least 1, lowered to [`MAX_LIMIT`]) and `offset` (default 0).
pub fn parse_window(
    limit: Option<&str>,
    offset: Option<&str>,
    default: usize,
) -> Result<Window, ApiError> {
    let number = |name: &str, text: &str| {
        text.trim().parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!(
                "parameter `{name}`: {text:?} is not a non-negative integer"
            ))
        })
    };
    let limit = match limit {
        None => default,
        Some(text) => match number("limit", text)? {
            0 => {
                return Err(ApiError::bad_request(
                    "parameter `limit`: must be at least 1",
                ));
            }
            n => n.min(MAX_LIMIT),
        },
    };
    Ok(Window {
        offset: offset
            .map(|o| number("offset", o))
            .transpose()?
            .unwrap_or(0),
        limit,
    })
}

/// The URL of the page after `window`: `base` + the request's path and query, with `limit`
/// and `offset` set for the next page (every other parameter kept as the client gave it).
pub fn next_href(base: &str, uri: &axum::http::Uri, window: Window) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if k != "limit" && k != "offset" {
            query.append_pair(&k, &v);
        }
    }
    query.append_pair("limit", &window.limit.to_string());
    query.append_pair(
        "offset",
        &window.offset.saturating_add(window.limit).to_string(),
    );
    format!("{base}{}?{}", uri.path(), query.finish())
}

/// The parent filters `town` and `community` as indices, 400 where the level has no such
/// parent (a town under a community) and 404 for a code the registry does not have.
pub fn parent_filter(
    registry: &Registry,
    level: Option<Level>,
    town: Option<&str>,
    community: Option<&str>,
) -> Result<Filter, ApiError> {
    if level == Some(Level::Town) && community.is_some() {
        return Err(ApiError::bad_request(
            "parameter `community`: towns are not under a community; filter communities or grids",
        ));
    }
    let town = town
        .map(|code| {
            registry.town_by_code(code).ok_or_else(|| {
                ApiError::not_found(format!("filter `town`: no town with code {code:?}"))
            })
        })
        .transpose()?;
    let community = community
        .map(|code| {
            registry.community_by_code(code).ok_or_else(|| {
                ApiError::not_found(format!(
                    "filter `community`: no community with code {code:?}"
                ))
            })
        })
        .transpose()?;
    Ok(Filter {
        area: None,
        town,
        community,
    })
}
