//! OGC API – Features (Part 1 Core with GeoJSON, HTML and OpenAPI; Part 2 CRS by reference)
//! under `/ogc`: the landing page, `/conformance`, `/collections` (towns, communities, grids
//! and the audit's findings), their `/items` and `/items/{featureId}`. GIS clients (GDAL's
//! OAPIF driver, QGIS) read the registry through it without knowing shequ. Thin handlers over
//! [`crate::output::select`] and [`crate::output::page`], like the GeoJSON endpoints.

mod crs;
mod html;
mod items;

pub use items::{ItemQuery, ItemsQuery};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::ApiQuery;
use super::lookup::json_response;
use super::route_table::RouteTable;
use crate::output::page::Link;
use crate::registry::Level;

/// Where the OGC API lives (documented in README).
pub const PREFIX: &str = "/ogc";

/// The conformance classes implemented.
const CONFORMANCE: [&str; 5] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
];

/// The routes under [`PREFIX`].
pub fn routes() -> RouteTable {
    RouteTable::new()
        .route("/ogc", get(landing))
        .route("/ogc/conformance", get(conformance))
        .route("/ogc/api", get(super::openapi::openapi_30))
        .route("/ogc/collections", get(collections))
        .route("/ogc/collections/{collection}", get(collection))
        .route("/ogc/collections/{collection}/items", get(items::items))
        .route(
            "/ogc/collections/{collection}/items/{feature}",
            get(items::item),
        )
}

/// A collection: the features of one level, or the audit's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Level(Level),
    Findings,
}

impl Collection {
    const ALL: [Collection; 4] = [
        Collection::Level(Level::Town),
        Collection::Level(Level::Community),
        Collection::Level(Level::Grid),
        Collection::Findings,
    ];

    fn id(self) -> String {
        match self {
            Collection::Level(level) => level.to_string(),
            Collection::Findings => "findings".to_owned(),
        }
    }

    fn title(self) -> &'static str {
        match self {
            Collection::Level(Level::Town) => "镇街 towns and streets",
            Collection::Level(Level::Community) => "社区 communities and villages",
            Collection::Level(Level::Grid) => "网格 grids",
            Collection::Findings => "审计发现 audit findings",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Collection::Level(Level::Town) => {
                "Towns and streets (镇街) with their counts; id is the 9-digit code."
            }
            Collection::Level(Level::Community) => {
                "Communities (社区) and villages; id is the 12-digit code; those without territory have a null geometry."
            }
            Collection::Level(Level::Grid) => {
                "Grids (网格), the unit of counts; id is the 15-digit code."
            }
            Collection::Findings => {
                "Findings of the coverage audit (overlaps, gaps, no territory, guideline misses); id is the finding's place in the report."
            }
        }
    }

    /// The collection `id` names, or 404 listing them.
    fn parse(id: &str) -> Result<Self, ApiError> {
        Collection::ALL
            .into_iter()
            .find(|c| c.id() == id)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no collection {id:?}; collections are towns, communities, grids and findings"
                ))
            })
    }
}

/// The query of the metadata resources: only the format.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatQuery {
    f: Option<String>,
}

fn base(state: &AppState) -> String {
    format!("{}{PREFIX}", state.tile_settings().public_url)
}

/// `self` and `alternate` links of a resource at `href` (JSON of `media`, and HTML).
fn self_links(href: &str, media: &'static str, html: bool) -> Vec<Link> {
    let (json_rel, html_rel) = if html {
        ("alternate", "self")
    } else {
        ("self", "alternate")
    };
    vec![
        Link::new(json_rel, format!("{href}?f=json"), media).titled("this document as JSON"),
        Link::new(html_rel, format!("{href}?f=html"), "text/html").titled("this document as HTML"),
    ]
}

/// JSON or the HTML view of a metadata document with `links`.
fn answer(html: bool, doc: Value, title: &str, links: &[Link]) -> Response {
    if html {
        let description = doc["description"].as_str().unwrap_or_default();
        html::page(title, description, links, None)
    } else {
        json_response(&doc)
    }
}

pub async fn landing(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    let html = html::wanted(query.f.as_deref(), &headers)?;
    let base = base(&state);
    let mut links = self_links(&base, "application/json", html);
    links.extend([
        Link::new(
            "service-desc",
            format!("{base}/api"),
            "application/vnd.oai.openapi+json;version=3.0",
        )
        .titled("the API definition (OpenAPI 3.0)"),
        Link::new(
            "service-desc",
            format!("{}/api/v1/openapi.json", state.tile_settings().public_url),
            "application/vnd.oai.openapi+json;version=3.1",
        )
        .titled("the API definition (OpenAPI 3.1)"),
        Link::new(
            "service-doc",
            format!("{}/api/v1/docs", state.tile_settings().public_url),
            "text/html",
        )
        .titled("the API documentation"),
        Link::new(
            "conformance",
            format!("{base}/conformance"),
            "application/json",
        )
        .titled("conformance classes implemented"),
        Link::new("data", format!("{base}/collections"), "application/json")
            .titled("the collections"),
    ]);
    let title = "shequ: towns, communities and grids";
    let doc = json!({
        "title": title,
        "description": "The community boundary registry as OGC API – Features: towns (镇街), communities (社区), grids (网格) and the coverage audit's findings.",
        "links": links,
    });
    Ok(answer(html, doc, title, &links))
}

pub async fn conformance(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    let html = html::wanted(query.f.as_deref(), &headers)?;
    let mut links = self_links(
        &format!("{}/conformance", base(&state)),
        "application/json",
        html,
    );
    links.extend(
        CONFORMANCE
            .iter()
            .map(|c| Link::new("conformance", *c, "text/html")),
    );
    let doc = json!({ "conformsTo": CONFORMANCE });
    Ok(answer(html, doc, "Conformance", &links))
}

/// The description of `collection` (as listed in `/collections` and at its own URL).
fn describe(state: &AppState, collection: Collection) -> (Value, Vec<Link>) {
    let published = state.published();
    let href = format!("{}/collections/{}", base(state), collection.id());
    let mut links = self_links(&href, "application/json", false);
    links.extend([
        Link::new(
            "items",
            format!("{href}/items?f=json"),
            "application/geo+json",
        )
        .titled("the features as GeoJSON"),
        Link::new("items", format!("{href}/items?f=html"), "text/html")
            .titled("the features as HTML"),
    ]);
    let [w, s, e, n] = crate::tiles::style::city_bounds(&published.snapshot().registry);
    let doc = json!({
        "id": collection.id(),
        "title": collection.title(),
        "description": collection.description(),
        "itemType": "feature",
        "crs": crs::OFFERED,
        "storageCrs": crs::CRS84,
        "extent": {"spatial": {"bbox": [[w, s, e, n]], "crs": crs::CRS84}},
        "links": links,
    });
    (doc, links)
}

pub async fn collections(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    let html = html::wanted(query.f.as_deref(), &headers)?;
    let href = format!("{}/collections", base(&state));
    let mut links = self_links(&href, "application/json", html);
    let described: Vec<Value> = Collection::ALL
        .into_iter()
        .map(|c| describe(&state, c).0)
        .collect();
    if html {
        links.extend(Collection::ALL.into_iter().map(|c| {
            Link::new("data", format!("{href}/{}?f=html", c.id()), "text/html").titled(c.title())
        }));
    }
    let doc = json!({"links": links, "collections": described, "crs": crs::OFFERED});
    Ok(answer(html, doc, "Collections", &links))
}

pub async fn collection(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    let html = html::wanted(query.f.as_deref(), &headers)?;
    let collection = Collection::parse(&id)?;
    let (doc, links) = describe(&state, collection);
    Ok(answer(html, doc, collection.title(), &links))
}
