//! Protobuf encoding of prepared features with the `mvt` crate.
//!
//! Geometry arrives already clipped, snapped and valid (see [`super::clip`]); here it is written
//! ring by ring without the closing point, which MVT's ClosePath implies.

use mvt::{GeomEncoder, GeomType, Tile};

use super::TileError;
use super::clip::TilePolygon;
use super::tile_id::EXTENT;

/// A property value.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Str(&'a str),
    UInt(u64),
}

/// A feature's geometry in tile units.
#[derive(Debug, Clone)]
pub enum Geometry {
    Polygons(Vec<TilePolygon>),
    Point([i32; 2]),
}

/// One feature ready to encode.
#[derive(Debug, Clone)]
pub struct TileFeature<'a> {
    pub id: u64,
    pub properties: Vec<(&'static str, Value<'a>)>,
    pub geometry: Geometry,
}

fn encode_error(e: mvt::Error) -> TileError {
    TileError::Encode(e.to_string())
}

/// Encodes the non-empty layers; `None` when every layer is empty (an empty tile).
pub fn encode(layers: &[(&str, Vec<TileFeature<'_>>)]) -> Result<Option<Vec<u8>>, TileError> {
    if layers.iter().all(|(_, f)| f.is_empty()) {
        return Ok(None);
    }
    let mut tile = Tile::new(EXTENT);
    for (name, features) in layers.iter().filter(|(_, f)| !f.is_empty()) {
        let mut layer = tile.create_layer(name);
        for f in features {
            let mut feature = layer.into_feature(geometry(&f.geometry)?);
            feature.set_id(f.id);
            for &(key, value) in &f.properties {
                match value {
                    Value::Str(s) => feature.add_tag_string(key, s),
                    Value::UInt(n) => feature.add_tag_uint(key, n),
                }
            }
            layer = feature.into_layer();
        }
        tile.add_layer(layer).map_err(encode_error)?;
    }
    tile.to_bytes().map(Some).map_err(encode_error)
}

fn geometry(g: &Geometry) -> Result<mvt::GeomData, TileError> {
    match g {
        Geometry::Point([x, y]) => GeomEncoder::new(GeomType::Point)
            .point(f64::from(*x), f64::from(*y))
            .and_then(GeomEncoder::encode)
            .map_err(encode_error),
        Geometry::Polygons(polygons) => {
            let mut enc = GeomEncoder::<f64>::new(GeomType::Polygon);
            let mut last: Option<[i32; 2]> = None;
            for ring in polygons.iter().flatten() {
                // The encoder merges a ring's first point into the previous ring's last one when
                // they coincide, which would lose the MoveTo; start such a ring one vertex later.
                let start = usize::from(last == ring.first().copied());
                for k in 0..ring.len() {
                    let [x, y] = ring[(start + k) % ring.len()];
                    enc.add_point(f64::from(x), f64::from(y))
                        .map_err(encode_error)?;
                }
                last = ring.get((start + ring.len() - 1) % ring.len()).copied();
                enc.complete_geom().map_err(encode_error)?;
            }
            enc.encode().map_err(encode_error)
        }
    }
}
