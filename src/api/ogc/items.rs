//! `/ogc/collections/{id}/items` and `/items/{featureId}`: pages of features with `bbox` (in
//! `bbox-crs`), `crs`, `limit`/`offset` (`next` links), `datetime` (the registry as of that
//! day) and the filters `town` and `community`; a single feature by id. The answer names its
//! CRS in `Content-Crs`, as OGC API Features Part 2 asks.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Collection, base, crs, html};
use crate::api::error::ApiError;
use crate::api::extract::{ApiQuery, parse_date};
use crate::api::select;
use crate::api::{AppState, Published};
use crate::output::page::{self, AnyFeature, Link};
use crate::output::select::{findings, records};

/// Features per page when the client gives no `limit` (OGC API Features' example default).
const DEFAULT_LIMIT: usize = 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    f: Option<String>,
    bbox: Option<String>,
    #[serde(rename = "bbox-crs")]
    bbox_crs: Option<String>,
    crs: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
    datetime: Option<String>,
    town: Option<String>,
    community: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemQuery {
    f: Option<String>,
    crs: Option<String>,
    datetime: Option<String>,
}

/// The day `datetime` names: a date (`2025-06-01`) or a date-time whose date is taken
/// (`2025-06-01T12:00:00Z`). Intervals are refused: the registry answers "as it stood on a
/// day", not "what changed between two".
fn day(text: &str) -> Result<time::Date, ApiError> {
    if text.contains('/') {
        return Err(ApiError::bad_request(format!(
            "parameter `datetime`: {text:?} is an interval; give one day (YYYY-MM-DD) to read the registry as it stood then"
        )));
    }
    let date = text.get(..10).unwrap_or(text);
    let rest = text.get(10..).unwrap_or_default();
    if !(rest.is_empty() || rest.starts_with(['T', 't', ' '])) {
        return Err(ApiError::bad_request(format!(
            "parameter `datetime`: {text:?} is not a date YYYY-MM-DD or an RFC 3339 date-time"
        )));
    }
    parse_date("datetime", date)
}

/// The snapshot `datetime` asks for (the published one without it).
async fn snapshot(state: &AppState, datetime: Option<&str>) -> Result<Arc<Published>, ApiError> {
    match datetime {
        None => Ok(state.published()),
        Some(text) => state.published_as_of(day(text)?).await,
    }
}

fn geo_json(body: Vec<u8>, crs_uri: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/geo+json"),
            ),
            (
                header::HeaderName::from_static("content-crs"),
                HeaderValue::from_str(&format!("<{crs_uri}>"))
                    .unwrap_or(HeaderValue::from_static("")),
            ),
        ],
        Bytes::from(body),
    )
        .into_response()
}

/// A position outside the output CRS's area of use is the client's choice of CRS (400).
fn serialise(value: &impl serde::Serialize) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::bad_request(format!("parameter `crs`: {e}")))
}

pub async fn items(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    ApiQuery(query): ApiQuery<ItemsQuery>,
) -> Result<Response, ApiError> {
    let html = html::wanted(query.f.as_deref(), &headers)?;
    let collection = Collection::parse(&id)?;
    let (out_crs, crs_uri) = crs::parse("crs", query.crs.as_deref())?;
    let (bbox_crs, _) = crs::parse("bbox-crs", query.bbox_crs.as_deref())?;
    let window = select::parse_window(
        query.limit.as_deref(),
        query.offset.as_deref(),
        DEFAULT_LIMIT,
    )?;
    let published = snapshot(&state, query.datetime.as_deref()).await?;
    let r = &published.snapshot().registry;
    let level = match collection {
        Collection::Level(level) => Some(level),
        Collection::Findings => None,
    };
    let mut filter =
        select::parent_filter(r, level, query.town.as_deref(), query.community.as_deref())?;
    filter.area = query
        .bbox
        .as_deref()
        .map(|b| select::parse_bbox("bbox", b, &bbox_crs))
        .transpose()?;
    let out = (!out_crs.is_wgs84()).then_some(&out_crs);
    let report;
    let (matched, features): (Vec<usize>, Vec<AnyFeature>) = match collection {
        Collection::Level(level) => {
            let matched = records(r, level, &filter);
            let features = window
                .of(&matched)
                .iter()
                .map(|&i| page::record(r, level, i, out))
                .collect();
            (matched, features)
        }
        Collection::Findings => {
            report = published.audit();
            let matched = findings(&report.findings, &filter, r);
            let features = window
                .of(&matched)
                .iter()
                .map(|&i| page::finding(&report.findings, i, out))
                .collect();
            (matched, features)
        }
    };
    let public = &state.tile_settings().public_url;
    let this = format!("{public}{}", uri.path());
    let mut links = vec![
        Link::new(
            if html { "alternate" } else { "self" },
            format!("{this}?{}", uri.query().unwrap_or_default()),
            "application/geo+json",
        )
        .titled("this page"),
        Link::new(
            "collection",
            format!("{}/collections/{}", base(&state), collection.id()),
            "application/json",
        )
        .titled(collection.title()),
    ];
    if window.has_next(matched.len()) {
        links.push(
            Link::new(
                "next",
                select::next_href(public, &uri, window),
                if html {
                    "text/html"
                } else {
                    "application/geo+json"
                },
            )
            .titled("next page"),
        );
    }
    let time_stamp = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .ok();
    let body = serialise(&page::page(
        features,
        matched.len(),
        time_stamp,
        links.clone(),
    ))?;
    if html {
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(ApiError::internal)?;
        let features = value["features"].as_array().cloned().unwrap_or_default();
        let description = format!(
            "{} of {} features (offset {})",
            features.len(),
            matched.len(),
            window.offset
        );
        return Ok(html::page(
            collection.title(),
            &description,
            &links,
            Some(&features),
        ));
    }
    Ok(geo_json(body, crs_uri))
}

pub async fn item(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, feature)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<ItemQuery>,
) -> Result<Response, ApiError> {
    let html = html::wanted(query.f.as_deref(), &headers)?;
    let collection = Collection::parse(&id)?;
    let (out_crs, crs_uri) = crs::parse("crs", query.crs.as_deref())?;
    let published = snapshot(&state, query.datetime.as_deref()).await?;
    let r = &published.snapshot().registry;
    let out = (!out_crs.is_wgs84()).then_some(&out_crs);
    let missing = || {
        ApiError::not_found(format!(
            "collection {}: no feature {feature:?}",
            collection.id()
        ))
    };
    let report;
    let found = match collection {
        Collection::Level(level) => {
            let i = r.by_code(level, &feature).ok_or_else(missing)?;
            page::record(r, level, i, out)
        }
        Collection::Findings => {
            report = published.audit();
            let n: usize = feature.parse().map_err(|_| missing())?;
            if n == 0 || n > report.findings.len() {
                return Err(missing());
            }
            page::finding(&report.findings, n - 1, out)
        }
    };
    let body = serialise(&found)?;
    if html {
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(ApiError::internal)?;
        let links = [Link::new(
            "collection",
            format!("{}/collections/{}", base(&state), collection.id()),
            "application/json",
        )
        .titled(collection.title())];
        return Ok(html::page(
            &feature,
            collection.title(),
            &links,
            Some(&[value]),
        ));
    }
    Ok(geo_json(body, crs_uri))
}
