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
