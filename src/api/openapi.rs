//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of every route, and `GET
//! /api/v1/docs`, a page that shows it (self-written, no script from elsewhere).
//!
//! Built from the code: each operation's query parameters are the fields of the very struct
//! its handler deserialises the query into (read through serde, see [`query_fields`]), so a
//! parameter added to a handler appears here; path parameters come from the route template;
//! error answers are the one problem+json type. `tests/protocols.rs` checks the document
//! against the OpenAPI 3.1 schema and that every route registered in `src/api` is in it.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::{Map, Value, json};

use super::lookup::json_response;
use crate::formats::export::Format;
use crate::store::proposals::Summary;

/// Collects the field names a struct's `Deserialize` asks for, then stops.
struct Probe<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("probe")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The query parameters `T` accepts: the names (after `rename`) its derived `Deserialize`
/// knows.
pub fn query_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

fn none() -> &'static [&'static str] {
    &[]
}

/// A schema of a request body or answer: generated from the Rust type the handler reads or
/// writes ([`schema`]), or written beside the hand-written parsers ([`super::schemas`]).
type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T` (a `$ref` into `components/schemas` for a named type).
fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// One operation: method, path template (axum's), tag, summary, its query struct's fields,
/// whether `as_of` is read (the snapshot of a day), the request body (media type and schema),
/// and the success answer (status, media type, schema).
struct Op {
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    query: fn() -> &'static [&'static str],
    as_of: bool,
    body: Option<(&'static str, Option<SchemaOf>)>,
    ok: (&'static str, &'static str),
    answer: Option<SchemaOf>,
    /// Whether the answer can also be a GIS file (`format=`, `Accept`).
    downloads: bool,
}

const fn op(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
) -> Op {
    Op {
        method,
        path,
        tag,
        summary,
        query: none,
        as_of: false,
        body: None,
        ok: ("200", "application/json"),
        answer: None,
        downloads: false,
    }
}

impl Op {
    const fn query(self, query: fn() -> &'static [&'static str]) -> Op {
        Op { query, ..self }
    }
    const fn reads_as_of(self) -> Op {
        Op {
            as_of: true,
            ..self
        }
    }
    /// A JSON request body of this schema.
    const fn body(self, schema: SchemaOf) -> Op {
        Op {
            body: Some((JSON, Some(schema))),
            ..self
        }
    }
    /// A request body of another media type, described by the operation's summary.
    const fn raw_body(self, media: &'static str) -> Op {
        Op {
            body: Some((media, None)),
            ..self
        }
    }
    const fn downloads(self) -> Op {
        Op {
            downloads: true,
            ..self
        }
    }
    /// The success status and media type (empty: no content).
    const fn ok(self, status: &'static str, media: &'static str) -> Op {
        Op {
            ok: (status, media),
            ..self
        }
    }
    /// The success answer's schema.
    const fn answer(self, schema: SchemaOf) -> Op {
        Op {
            answer: Some(schema),
            ..self
        }
    }
}

use super::{
    address, audit, auth, features, grid_groups, health, log as audit_log, lookup, ogc, proposals,
    resurveys, schemas, suggest, tiles as tile_api, users, versions, workflow,
};

const JSON: &str = "application/json";
const GEOJSON: &str = "application/geo+json";

/// Every operation the router serves. A route missing here fails `tests/protocols.rs`.
fn operations() -> Vec<Op> {
    let collection = query_fields::<features::CollectionQuery>;
    let one = query_fields::<features::OutputCrs>;
    let format = query_fields::<ogc::FormatQuery>;
    vec![
        op("get", "/health", "service", "Liveness and the registry's size").ok("200", JSON).answer(schema::<health::Health>),
        op("get", "/metrics", "service", "Prometheus metrics (text format 0.0.4)").ok("200", "text/plain"),
        op("get", "/", "web", "The web map").ok("200", "text/html"),
        op("get", "/web/{*path}", "web", "Static files of the web map").ok("200", "application/octet-stream"),
        op("get", "/api/v1/openapi.json", "service", "This OpenAPI document").answer(schemas::openapi_document),
        op("get", "/api/v1/docs", "service", "A page to browse this document").ok("200", "text/html"),
        op("get", "/api/v1/lookup", "lookup", "Town, community and grid of a point").query(|| &lookup::QUERY).reads_as_of().answer(schema::<crate::output::PointPlace>),
        op("post", "/api/v1/lookup", "lookup", "Batch lookup of up to 10,000 points").reads_as_of().body(schema::<lookup::BatchRequest>).answer(schema::<lookup::BatchResponse>),
        op("get", "/api/v1/address", "lookup", "Search the standard address register").query(query_fields::<address::AddressQuery>).reads_as_of().answer(schema::<crate::output::AddressAnswer>),
        op("post", "/api/v1/address", "lookup", "Batch address search").reads_as_of().body(schema::<address::AddressBatch>).answer(schema::<address::BatchAnswer>),
        op("get", "/api/v1/towns", "registry", "Towns as GeoJSON or a GIS file (format: gpkg, shp, kml, csv, fgb; bbox, paging, filters)").query(collection).reads_as_of().ok("200", GEOJSON).answer(schemas::feature_collection).downloads(),
        op("get", "/api/v1/towns/{code}", "registry", "One town as a GeoJSON Feature").query(one).reads_as_of().ok("200", GEOJSON).answer(schemas::feature),
        op("get", "/api/v1/communities", "registry", "Communities as GeoJSON or a GIS file (format: gpkg, shp, kml, csv, fgb; bbox, paging, filters)").query(collection).reads_as_of().ok("200", GEOJSON).answer(schemas::feature_collection).downloads(),
        op("get", "/api/v1/communities/{code}", "registry", "One community as a GeoJSON Feature").query(one).reads_as_of().ok("200", GEOJSON).answer(schemas::feature),
        op("get", "/api/v1/grids", "registry", "Grids as GeoJSON or a GIS file (format: gpkg, shp, kml, csv, fgb; bbox, paging, filters)").query(collection).reads_as_of().ok("200", GEOJSON).answer(schemas::feature_collection).downloads(),
        op("get", "/api/v1/grids/{code}", "registry", "One grid as a GeoJSON Feature").query(one).reads_as_of().ok("200", GEOJSON).answer(schemas::feature),
        op("get", "/api/v1/versions", "registry", "Stored registry versions").answer(schema::<versions::Versions>),
        op("get", "/api/v1/versions/{a}/diff/{b}", "registry", "What changed between two versions").answer(schema::<crate::store::registry::Diff>),
        op("get", "/api/v1/{layer}/{code}/history", "registry", "The versions of one record").answer(schema::<versions::History>),
        op("get", "/api/v1/audit", "audit", "Coverage audit report").reads_as_of().answer(schema::<crate::audit::AuditReport>),
        op("get", "/api/v1/audit.geojson", "audit", "Audit findings as GeoJSON").reads_as_of().ok("200", GEOJSON).answer(schemas::feature_collection),
        op("get", "/api/v1/audit/findings", "audit", "Audit findings as GeoJSON or a GIS file, in an output CRS").query(query_fields::<audit::FindingsQuery>).reads_as_of().ok("200", GEOJSON).answer(schemas::feature_collection).downloads(),
        op("get", "/api/v1/proposals", "proposals", "Stored proposals").query(query_fields::<workflow::ListQuery>).answer(schema::<workflow::ProposalList>),
        op("post", "/api/v1/proposals", "proposals", "Store a new proposal (draft)").body(schemas::proposal).ok("201", JSON).answer(schema::<Summary>),
        op("get", "/api/v1/proposals/{id}", "proposals", "One stored proposal with its procedure").answer(schema::<crate::store::proposals::Detail>),
        op("put", "/api/v1/proposals/{id}", "proposals", "Edit a draft").body(schemas::proposal).answer(schema::<Summary>),
        op("post", "/api/v1/proposals/{id}/comments", "proposals", "Comment on a proposal (consultation)").body(schema::<workflow::CommentRequest>).ok("201", ""),
        op("post", "/api/v1/proposals/{id}/vote", "proposals", "Record the residents' vote").body(schema::<crate::workflow::Tally>).answer(schema::<crate::store::proposals::VoteState>),
        op("post", "/api/v1/proposals/{id}/transition", "proposals", "Move a proposal through the procedure").body(schema::<workflow::MoveRequest>).answer(schema::<Summary>),
        op("post", "/api/v1/resurveys", "proposals", "Stage a re-survey (admins, reviewers): a zip of Shapefiles, GeoPackage, GeoJSON or CSV layers and an optional mapping.toml; answers the proposal, its diff and audit").query(query_fields::<resurveys::UploadQuery>).raw_body("application/zip").ok("201", JSON).answer(schema::<crate::store::resurvey::Staged>),
        op("post", "/api/v1/proposals/validate", "proposals", "Validate a proposal against the guidelines").body(schemas::proposal).answer(schemas::validation_report),
        op("post", "/api/v1/proposals/split", "proposals", "Split a community by a line or by groups of grids").body(schema::<proposals::SplitRequest>).answer(schemas::proposal),
        op("post", "/api/v1/proposals/grid-groups", "proposals", "Group a community's grids by drawn split lines (majority of each grid's area)").body(schema::<grid_groups::Body>).answer(schema::<crate::rules::GridGroups>),
        op("post", "/api/v1/proposals/assignment", "proposals", "Where each grid of a proposal's parents goes on approval").body(schemas::proposal).answer(schema::<grid_groups::Assignment>),
        op("post", "/api/v1/proposals/suggest", "proposals", "Suggest splits of a community").body(schema::<suggest::Body>).answer(schema::<crate::rules::suggest::Suggestion>),
        op("post", "/api/v1/login", "accounts", "Sign in (session cookie)").body(schema::<auth::LoginRequest>).answer(schema::<auth::Me>),
        op("post", "/api/v1/logout", "accounts", "Sign out").ok("204", JSON),
        op("get", "/api/v1/me", "accounts", "Who is signed in").answer(schema::<auth::Me>),
        op("get", "/api/v1/users", "accounts", "Users (admin)").answer(schema::<users::UserList>),
        op("post", "/api/v1/users", "accounts", "Add a user (admin)").body(schema::<users::AddUser>).ok("201", JSON).answer(schema::<crate::store::accounts::User>),
        op("post", "/api/v1/users/{name}/disable", "accounts", "Disable a user (admin)").answer(schema::<crate::store::accounts::User>),
        op("get", "/api/v1/tokens", "accounts", "API tokens").answer(schema::<users::TokenList>),
        op("post", "/api/v1/tokens", "accounts", "Create an API token").body(schema::<users::CreateToken>).ok("201", JSON).answer(schema::<crate::store::accounts::NewToken>),
        op("delete", "/api/v1/tokens/{id}", "accounts", "Revoke an API token").ok("204", JSON),
        op("get", "/api/v1/log", "accounts", "The hash-chained audit log").query(query_fields::<audit_log::LogQuery>).answer(schema::<audit_log::LogPage>),
        op("get", "/api/v1/log/verify", "accounts", "Verify the audit log's chain").answer(schema::<audit_log::Verification>),
        op("get", "/tiles/catalog", "tiles", "Tile layers with their TileJSON and tile URLs").query(query_fields::<tile_api::NoQuery>).answer(schemas::tile_catalog),
        op("get", "/tiles/{file}", "tiles", "TileJSON 3.0.0 of a layer or composite (`{layers}.json`)").query(query_fields::<tile_api::TileQuery>).answer(schemas::tilejson),
        op("get", "/tiles/{layers}/{z}/{x}/{y}", "tiles", "A vector tile (`{y}.mvt` or `{y}.pbf`)").query(query_fields::<tile_api::TileQuery>).ok("200", super::tiles::MVT_CONTENT_TYPE),
        op("get", "/style.json", "tiles", "MapLibre style").reads_as_of().answer(schemas::style),
        op("get", "/basemap", "tiles", "Whether the 天地图 basemap is available (a key is configured), its layers, tile URL template and attribution; never the key").answer(schemas::basemap),
        op("get", "/basemap/{layer}/{z}/{x}/{y}", "tiles", "A 天地图 raster tile through the server, which adds its key (`layer`: vec, cva, img, cia; `z` 1–18); 503 `basemap.no_key` without a key, 502 `basemap.upstream` when Tianditu fails").ok("200", "image/png"),
        op("get", "/ogc", "ogc", "OGC API – Features landing page").query(format).answer(schemas::ogc_landing),
        op("get", "/ogc/conformance", "ogc", "Conformance classes").query(format).answer(schemas::ogc_conformance),
        op("get", "/ogc/api", "ogc", "This API definition as OpenAPI 3.0 (the OGC landing page's service-desc)").answer(schemas::openapi_document),
        op("get", "/ogc/collections", "ogc", "Collections").query(format).answer(schemas::ogc_collections),
        op("get", "/ogc/collections/{collection}", "ogc", "One collection").query(format).answer(schemas::ogc_collection),
        op("get", "/ogc/collections/{collection}/items", "ogc", "Features of a collection").query(query_fields::<ogc::ItemsQuery>).ok("200", GEOJSON).answer(schemas::feature_collection),
        op("get", "/ogc/collections/{collection}/items/{feature}", "ogc", "One feature").query(query_fields::<ogc::ItemQuery>).ok("200", GEOJSON).answer(schemas::feature),
    ]
}

/// The problem answers every operation may give, and those of writes.
const PROBLEMS: [(&str, &str); 6] = [
    (
        "400",
        "malformed input or an unknown parameter (the detail names it)",
    ),
    (
        "401",
        "a credential is needed (reads with --read-access token; writes)",
    ),
    ("404", "no such code, collection or route"),
    ("413", "the request asks for too much"),
    ("500", "internal error (a reference to the server log)"),
    (
        "503",
        "busy (admission pool full) or timed out; see Retry-After",
    ),
];
const WRITE_PROBLEMS: [(&str, &str); 4] = [
    ("403", "the user's role or towns do not allow it"),
    ("409", "the proposal's state does not allow it"),
    ("415", "the body is not JSON"),
    (
        "422",
        "well-formed but invalid (e.g. a self-intersecting polygon)",
    ),
];

/// OpenAPI's form of an axum template: `{*path}` is `{path}`.
pub fn openapi_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

fn parameters(op: &Op) -> Vec<Value> {
    let mut out = Vec::new();
    let path = openapi_path(op.path);
    let mut rest = path.as_str();
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + len];
        out.push(
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}),
        );
        rest = &rest[start + len..];
    }
    let mut query: Vec<&str> = (op.query)().to_vec();
    if op.as_of && !query.contains(&"as_of") {
        query.push("as_of");
    }
    for name in query {
        let description = match name {
            "as_of" => "the registry as it stood on this day (YYYY-MM-DD)",
            "crs" => "coordinate reference system (output for features, input for lookups)",
            "bbox" => "minx,miny,maxx,maxy: features meeting this box",
            "limit" => "largest number of results",
            "offset" => "results to skip (paging; follow the `next` link)",
            "datetime" => "the registry as it stood on this day (a date or RFC 3339 date-time)",
            "f" => "json or html",
            "skipGeometry" => {
                "true: every feature with `geometry: null` (attributes only; draw boundaries from the vector tiles)"
            }
            "format" => {
                "the answer as a file: geojson (default), gpkg, shp (zipped), kml (WGS84 only), csv (WKT, UTF-8 with BOM) or fgb; or ask by Accept"
            }
            _ => "",
        };
        let schema = match name {
            "format" => {
                json!({"type": "string", "enum": Format::ALL.iter().map(|f| f.name()).collect::<Vec<_>>()})
            }
            "limit" | "offset" | "after" => json!({"type": "integer", "minimum": 0}),
            "skipGeometry" => json!({"type": "boolean"}),
            "lon" | "lat" => json!({"type": "number"}),
            _ => json!({"type": "string"}),
        };
        out.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema}));
    }
    out
}

/// The generators of one document: request bodies are described as the server reads them
/// (serde's deserialising side), answers as it writes them.
struct Generators {
    requests: SchemaGenerator,
    answers: SchemaGenerator,
}

impl Generators {
    fn new(settings: SchemaSettings) -> Self {
        let settings = settings.with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        });
        Generators {
            requests: settings.clone().for_deserialize().into_generator(),
            answers: settings.for_serialize().into_generator(),
        }
    }

    /// `of`'s schema, with the generator's transforms applied (OpenAPI 3.0's dialect).
    fn schema(generator: &mut SchemaGenerator, of: SchemaOf) -> Value {
        let mut schema = of(generator);
        for transform in generator.transforms_mut() {
            transform.transform(&mut schema);
        }
        schema.to_value()
    }

    /// Every named schema used, for `components/schemas`, and the paths with their references
    /// settled. A type read and written alike has one schema; one whose answer differs from
    /// its request (e.g. `Tally`: `eligible` may be left out of a request, an answer always has
    /// it) keeps its name for the request, and the answer's is `{name}Answer`, with the
    /// references in answers and answer schemas renamed to match.
    fn components(mut self, paths: &mut Map<String, Value>) -> Map<String, Value> {
        let mut all = self.requests.take_definitions(true);
        let mut answers = self.answers.take_definitions(true);
        // Renaming one can make another differ (a schema referring to it): until none does.
        loop {
            let renamed: Vec<String> = answers
                .iter()
                .filter(|(name, schema)| all.get(*name).is_some_and(|r| r != *schema))
                .map(|(name, _)| name.clone())
                .collect();
            if renamed.is_empty() {
                break;
            }
            for name in renamed {
                let from = format!("#/components/schemas/{name}");
                let to = format!("{from}Answer");
                for schema in answers.values_mut() {
                    rename_refs(schema, &from, &to);
                }
                for o in paths.values_mut().filter_map(Value::as_object_mut) {
                    for responses in o.values_mut().filter_map(|o| o.get_mut("responses")) {
                        rename_refs(responses, &from, &to);
                    }
                }
                if let Some(schema) = answers.remove(&name) {
                    answers.insert(format!("{name}Answer"), schema);
                }
            }
        }
        for (name, schema) in answers {
            all.entry(name).or_insert(schema);
        }
        all
    }
}

/// Renames every `$ref` equal to `from` in `value` to `to`.
fn rename_refs(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "$ref" && v.as_str() == Some(from) {
                    *v = Value::String(to.to_owned());
                } else {
                    rename_refs(v, from, to);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, from, to)),
        _ => {}
    }
}

fn operation(op: &Op, generators: &mut Generators) -> Value {
    let mut responses = Map::new();
    let answer = op.answer.map_or_else(
        || json!({}),
        |of| Generators::schema(&mut generators.answers, of),
    );
    responses.insert(
        op.ok.0.to_owned(),
        if op.ok.0 == "204" || op.ok.1.is_empty() {
            json!({"description": "done"})
        } else if op.downloads {
            let content: Map<String, Value> = Format::ALL
                .iter()
                .map(|f| {
                    let schema = if f.media_type() == GEOJSON {
                        answer.clone()
                    } else {
                        json!({})
                    };
                    (f.media_type().to_owned(), json!({ "schema": schema }))
                })
                .collect();
            json!({"description": "success: GeoJSON, or the file `format`/`Accept` asks for (Content-Disposition: attachment)", "content": content})
        } else {
            json!({"description": "success", "content": {op.ok.1: {"schema": answer}}})
        },
    );
    let problem = |text: &str| json!({"description": text, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
    for (status, text) in PROBLEMS {
        responses.insert(status.to_owned(), problem(text));
    }
    if op.method != "get" {
        for (status, text) in WRITE_PROBLEMS {
            responses.insert(status.to_owned(), problem(text));
        }
    }
    let mut o = json!({
        "tags": [op.tag],
        "summary": op.summary,
        "operationId": format!("{}{}", op.method, openapi_path(op.path).replace(['/', '{', '}', '.', '*'], "_")),
        "parameters": parameters(op),
        "responses": responses,
    });
    if let Some((media, of)) = op.body {
        let schema = of.map_or_else(
            || json!({}),
            |of| Generators::schema(&mut generators.requests, of),
        );
        o["requestBody"] = json!({"required": true, "content": {media: {"schema": schema}}});
    }
    o
}

/// The OpenAPI 3.1 document.
pub fn document(public_url: &str) -> Value {
    document_in(public_url, "3.1.0", SchemaSettings::draft2020_12())
}

/// The document in OpenAPI `version` with schemas in `settings`' dialect.
fn document_in(public_url: &str, version: &str, settings: SchemaSettings) -> Value {
    let mut generators = Generators::new(settings);
    let mut paths = Map::new();
    for op in operations() {
        let item = paths
            .entry(openapi_path(op.path))
            .or_insert_with(|| json!({}));
        item[op.method] = operation(&op, &mut generators);
    }
    let mut schemas = generators.components(&mut paths);
    schemas.insert("Problem".to_owned(), problem_schema());
    let mut license = json!({"name": "MIT OR Apache-2.0"});
    if version.starts_with("3.1") {
        // The SPDX `identifier` is new in 3.1.
        license["identifier"] = json!("MIT OR Apache-2.0");
    }
    json!({
        "openapi": version,
        "info": {
            "title": "shequ",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Community boundary service: towns, communities and grids; lookups, vector tiles, proposals and their procedure, audit; OGC API – Features under /ogc. Errors are RFC 9457 problem details.",
            "license": license,
        },
        "servers": [{"url": public_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API token (`shequ token`)"},
                "session": {"type": "apiKey", "in": "cookie", "name": super::SESSION_COOKIE},
            },
        },
        "security": [{}, {"bearer": []}, {"session": []}],
    })
}

/// RFC 9457 problem details as `ApiError` writes them: `code` names the problem for programs
/// (and the page's Chinese text), `params` its particulars.
fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "description": "/problems/<slug>"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "what was wrong and where (English)"},
            "code": {"type": "string", "description": "the problem's code, e.g. `proposal.stale`; web/messages.js has its Chinese text"},
            "params": {"type": "object", "description": "the particulars the code's text names"},
        },
    })
}

pub async fn openapi(
    axum::extract::State(state): axum::extract::State<super::AppState>,
) -> Response {
    json_response(&document(&state.tile_settings().public_url))
}

/// The same operations as OpenAPI 3.0, for OGC API – Features clients: its Part 1
/// conformance class "OpenAPI 3.0" asks for a 3.0 definition as the landing page's
/// `service-desc`. The schemas are generated in OpenAPI 3.0's dialect (`nullable`, no `const`).
pub fn document_30(public_url: &str) -> Value {
    document_in(public_url, "3.0.3", SchemaSettings::openapi3())
}

/// `GET /ogc/api`: [`document_30`].
pub async fn openapi_30(
    axum::extract::State(state): axum::extract::State<super::AppState>,
) -> Response {
    json_response(&document_30(&state.tile_settings().public_url))
}

/// The browsing page: fetches the document and lists the operations with their parameters
/// and answers. Plain HTML and a few lines of script, served from here.
pub async fn docs() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("openapi.html"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_fields_are_the_structs_own() {
        assert_eq!(
            query_fields::<features::CollectionQuery>(),
            [
                "crs",
                "bbox",
                "limit",
                "offset",
                "town",
                "community",
                "format",
                "skipGeometry",
                "as_of"
            ]
        );
        assert!(query_fields::<ogc::ItemsQuery>().contains(&"bbox-crs"));
    }

    /// A type whose answer differs from its request gets a second schema for its answers, and
    /// the answers refer to it: `Tally` (a vote's request may leave `eligible` out; its answer,
    /// `VoteState`, always has it).
    #[test]
    fn an_answer_that_differs_from_its_request_has_its_own_schema() {
        for doc in [
            document("http://localhost"),
            document_30("http://localhost"),
        ] {
            let schemas = &doc["components"]["schemas"];
            let required = |name: &str| schemas[name]["required"].clone();
            assert!(
                !required("Tally")
                    .as_array()
                    .is_some_and(|r| r.contains(&json!("eligible")))
            );
            assert!(
                required("TallyAnswer")
                    .as_array()
                    .is_some_and(|r| r.contains(&json!("eligible")))
            );
            let text = doc.to_string();
            assert!(text.contains("#/components/schemas/TallyAnswer"));
            let vote = &doc["paths"]["/api/v1/proposals/{id}/vote"]["post"];
            assert_eq!(
                vote["requestBody"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Tally"
            );
            for (name, _) in schemas.as_object().into_iter().flatten() {
                assert!(!name.ends_with("AnswerAnswer"), "{name}");
            }
        }
    }

    /// Every JSON request body has a schema that says something (not `{}`).
    #[test]
    fn every_json_body_has_a_schema() {
        let doc = document("http://localhost");
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, o) in item.as_object().into_iter().flatten() {
                if let Some(schema) = o.pointer("/requestBody/content/application~1json/schema") {
                    assert_ne!(schema, &json!({}), "{method} {path}");
                }
            }
        }
    }
}
