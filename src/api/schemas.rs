//! JSON Schemas of what the handlers read by hand (a `Value` judged after parsing, so that
//! every problem can be named with its place) and of the GeoJSON answers. The typed request
//! bodies derive theirs (`schemars::JsonSchema`); these are the rest, referenced from those
//! derives (`#[schemars(schema_with = …)]`) and from the OpenAPI document. `tests/protocols.rs`
//! validates real accepted and refused bodies against them with an independent validator, so
//! a parser change that they do not follow fails there.

use schemars::{Schema, SchemaGenerator, json_schema};

use super::lookup::MAX_BATCH_POINTS;

/// A position: `[x, y]` or `[x, y, z]` (the third ignored).
fn position() -> Schema {
    json_schema!({
        "type": "array",
        "items": {"type": "number"},
        "minItems": 2,
        "maxItems": 3,
    })
}

/// The points of a batch lookup: positions in the request's `crs`.
pub fn batch_points(_: &mut SchemaGenerator) -> Schema {
    let position = position();
    json_schema!({
        "type": "array",
        "items": position,
        "maxItems": MAX_BATCH_POINTS,
        "description": "positions [x, y] (or [x, y, z]) in `crs` (default WGS84 longitude, latitude)",
    })
}

/// A drawn line: its positions, or a GeoJSON LineString.
fn line() -> Schema {
    let positions = json_schema!({"type": "array", "items": position(), "minItems": 2});
    json_schema!({
        "description": "positions (WGS84 longitude, latitude) or a GeoJSON LineString",
        "oneOf": [
            positions,
            {
                "type": "object",
                "required": ["type", "coordinates"],
                "properties": {
                    "type": {"const": "LineString"},
                    "coordinates": positions,
                },
            },
        ],
    })
}

/// `line` of a split: one drawn line.
pub fn split_line(_: &mut SchemaGenerator) -> Schema {
    line()
}

/// `lines` of the grid grouping: one or more drawn lines.
pub fn lines(_: &mut SchemaGenerator) -> Schema {
    let line = line();
    json_schema!({"type": "array", "items": line, "minItems": 1})
}

/// `parts` of a suggestion: a number of parts, or `"auto"`.
pub fn parts(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "the number of parts, or \"auto\" (default) for what the band allows",
        "oneOf": [{"type": "integer", "minimum": 0}, {"const": "auto"}],
    })
}

/// `kind` of a suggestion.
pub fn suggest_kind(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"enum": ["auto", "split", "merge"], "description": "default auto"})
}

/// A proposal as officials send it (`rules::proposal::parse`): a FeatureCollection with a
/// `proposal` member and one Polygon or MultiPolygon feature per proposed community.
pub fn proposal(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "description": "a proposal: a GeoJSON FeatureCollection with a `proposal` member; each feature is one proposed community (a part)",
        "required": ["type", "proposal", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "proposal": {
                "type": "object",
                "required": ["kind"],
                "properties": {
                    "kind": {"enum": ["split", "merge", "adjust", "new"]},
                    "title": {"type": "string"},
                    "parents": {"type": "array", "items": {"type": "string"}, "description": "community codes"},
                    "crs": {"type": "string", "description": "of the coordinates, e.g. \"gcj02\" or \"EPSG:4547\" (default WGS84)"},
                },
            },
            "features": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "properties", "geometry"],
                    "properties": {
                        "type": {"const": "Feature"},
                        "properties": {
                            "type": "object",
                            "required": ["name", "workers", "office_area_m2"],
                            "properties": {
                                "name": {"type": "string", "minLength": 1},
                                "kind": {"type": "string", "description": "community kind, e.g. community or village (default: the first parent's)"},
                                "workers": {"type": "integer", "minimum": 0},
                                "office_area_m2": {"type": "number", "minimum": 0},
                                "office": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2, "description": "[longitude, latitude] of the office"},
                                "justification": {"type": "string"},
                            },
                        },
                        "geometry": {
                            "type": "object",
                            "required": ["type", "coordinates"],
                            "properties": {
                                "type": {"enum": ["Polygon", "MultiPolygon"]},
                                "coordinates": {"type": "array"},
                            },
                        },
                    },
                },
            },
        },
    })
}

/// A GeoJSON FeatureCollection answer (towns, communities, grids, audit findings).
pub fn feature_collection(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": {"type": "object", "required": ["type", "properties"], "properties": {"type": {"const": "Feature"}}}},
        },
    })
}

/// A GeoJSON Feature answer (one town, community, grid or OGC item).
pub fn feature(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "required": ["type", "properties"],
        "properties": {
            "type": {"const": "Feature"},
            "geometry": {"type": ["object", "null"]},
            "properties": {"type": "object"},
        },
    })
}

/// A link of the OGC API (RFC 8288 in JSON).
fn link() -> Schema {
    json_schema!({
        "type": "object",
        "required": ["href", "rel"],
        "properties": {"href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"}},
    })
}

/// The OGC API landing page (`/ogc`): its links, among them `service-desc` and `conformance`.
pub fn ogc_landing(_: &mut SchemaGenerator) -> Schema {
    let link = link();
    json_schema!({
        "type": "object",
        "required": ["links"],
        "properties": {"title": {"type": "string"}, "description": {"type": "string"}, "links": {"type": "array", "items": link}},
    })
}

/// `/ogc/conformance`: the conformance classes claimed.
pub fn ogc_conformance(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "required": ["conformsTo"],
        "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
    })
}

/// One collection of the OGC API, with its CRS list (Part 2).
fn ogc_collection_schema() -> Schema {
    let link = link();
    json_schema!({
        "type": "object",
        "required": ["id", "links"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "links": {"type": "array", "items": link},
            "extent": {"type": "object"},
            "itemType": {"type": "string"},
            "crs": {"type": "array", "items": {"type": "string"}},
            "storageCrs": {"type": "string"},
        },
    })
}

/// `/ogc/collections/{collection}`.
pub fn ogc_collection(_: &mut SchemaGenerator) -> Schema {
    ogc_collection_schema()
}

/// `/ogc/collections`.
pub fn ogc_collections(_: &mut SchemaGenerator) -> Schema {
    let (collection, link) = (ogc_collection_schema(), link());
    json_schema!({
        "type": "object",
        "required": ["collections", "links"],
        "properties": {
            "collections": {"type": "array", "items": collection},
            "links": {"type": "array", "items": link},
            "crs": {"type": "array", "items": {"type": "string"}},
        },
    })
}

/// A TileJSON 3.0.0 document (`/tiles/{layers}.json`); the members its §3 requires, and those
/// shequ always writes.
pub fn tilejson(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "description": "TileJSON 3.0.0",
        "required": ["tilejson", "tiles", "vector_layers", "minzoom", "maxzoom", "bounds", "center"],
        "properties": {
            "tilejson": {"const": "3.0.0"},
            "tiles": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "vector_layers": {"type": "array", "items": {"type": "object", "required": ["id", "fields"], "properties": {"id": {"type": "string"}, "fields": {"type": "object"}}}},
            "minzoom": {"type": "integer", "minimum": 0, "maximum": 30},
            "maxzoom": {"type": "integer", "minimum": 0, "maximum": 30},
            "bounds": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
            "center": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
            "attribution": {"type": "string"},
            "version": {"type": "string"},
        },
    })
}

/// `/tiles/catalog`: each layer's and the composite's TileJSON and tile URL template.
pub fn tile_catalog(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "required": ["layers", "composite", "style"],
        "properties": {
            "layers": {"type": "array", "items": {"type": "object", "required": ["id", "tilejson", "tiles"]}},
            "composite": {"type": "object", "required": ["tilejson", "tiles"]},
            "style": {"type": "string"},
        },
    })
}

/// `/style.json`: a MapLibre style (style specification version 8).
pub fn style(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "description": "MapLibre style specification, version 8",
        "required": ["version", "sources", "layers"],
        "properties": {"version": {"const": 8}, "sources": {"type": "object"}, "layers": {"type": "array", "items": {"type": "object", "required": ["id", "type"]}}},
    })
}

/// `/basemap`: whether the 天地图 basemap is available (never its key).
pub fn basemap(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "required": ["available", "layers", "tiles", "attribution"],
        "properties": {
            "available": {"type": "boolean"},
            "reason": {"type": "string", "description": "why not, when not available"},
            "layers": {"type": "array", "items": {"type": "object", "required": ["name", "title"]}},
            "tiles": {"type": "string"},
            "attribution": {"type": "string"},
            "minzoom": {"type": "integer"},
            "maxzoom": {"type": "integer"},
        },
    })
}

/// An OpenAPI document (this API's own, 3.1 or 3.0).
pub fn openapi_document(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "required": ["openapi", "info", "paths"],
        "properties": {"openapi": {"type": "string"}, "info": {"type": "object"}, "paths": {"type": "object"}},
    })
}

/// `POST /api/v1/proposals/validate`: the report (`rules::validate::Report`) and its offences
/// as a FeatureCollection (`Report::to_json`).
pub fn validation_report(generator: &mut SchemaGenerator) -> Schema {
    let report = generator.subschema_for::<crate::rules::Report>();
    let offending = feature_collection(generator);
    json_schema!({
        "allOf": [report, {"type": "object", "required": ["offending"], "properties": {"offending": offending}}],
    })
}
