//! One boundary feature as the loader reads it: typed, with positions parsed straight into
//! `geo` coordinates.
//!
//! A feature parsed into a `serde_json::Value` costs one heap array per position (two boxed
//! numbers); at ×100 that allocator traffic was the largest single cost of loading (issue 20).
//! [`Feature`] keeps only what the loader's checks look at: whether `type` is `"Feature"`, the
//! `properties` object (a handful of scalars, still a `Value` map so every property check and
//! message is unchanged), and the geometry's `type` and `coordinates`. Coordinates are kept as
//! [`Coords`]: an array of positions is one `Vec<Coord>`, anything else keeps enough of its
//! shape for the loader to say exactly what a `Value` tree would have let it say. Any JSON
//! value deserialises (a feature that is not an object simply has no members), so a document is
//! accepted or refused as a `Value` would be.

use std::fmt;

use geo::Coord;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A member that may be absent, JSON `null`, or present.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Member<T> {
    #[default]
    Missing,
    Null,
    Present(T),
}

/// What the loader reads of one GeoJSON Feature.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feature {
    /// The (last) `type` member is the string `"Feature"`.
    pub is_feature: bool,
    /// `properties`, when it is an object.
    pub properties: Option<Map<String, Value>>,
    pub geometry: Member<Geometry>,
}

/// A geometry object's `type` (when a string) and `coordinates`; both `None` when the
/// geometry is not an object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Geometry {
    pub kind: Option<String>,
    pub coordinates: Option<Coords>,
}

/// A JSON value where coordinates are expected, keeping what the geometry checks ask of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Coords {
    /// A number.
    Number(f64),
    /// `null`, a boolean, a string or an object: never a position or an array of them.
    Other,
    /// `[longitude, latitude]`, exactly two numbers.
    Position(Coord<f64>),
    /// A non-empty array whose elements are all positions (`[lon, lat]` or `[lon, lat, any]`;
    /// the third element is dropped, as the loader ignores altitude).
    Positions(Vec<Coord<f64>>),
    /// Any other array.
    Array(Vec<Coords>),
}

impl Coords {
    /// The position this value reads as (`[lon, lat]` or `[lon, lat, any]`), as the loader's
    /// `lon_lat` reads a `Value`.
    pub fn position(&self) -> Option<Coord<f64>> {
        match self {
            Coords::Position(c) => Some(*c),
            Coords::Array(items) => match items.as_slice() {
                [Coords::Number(x), Coords::Number(y), _] => Some(Coord { x: *x, y: *y }),
                _ => None,
            },
            _ => None,
        }
    }

    /// The elements of an array, each as its own `Coords` (`None` for a non-array). Only used
    /// on the unusual shapes: the positions of a ring come from [`Coords::into_positions`].
    pub fn into_elements(self) -> Option<Vec<Coords>> {
        match self {
            Coords::Number(_) | Coords::Other => None,
            Coords::Position(c) => Some(vec![Coords::Number(c.x), Coords::Number(c.y)]),
            Coords::Positions(ps) => Some(ps.into_iter().map(Coords::Position).collect()),
            Coords::Array(items) => Some(items),
        }
    }

    /// The positions of an array, or the index of its first element that is not a position
    /// (`Err(None)` for a non-array).
    pub fn into_positions(self) -> Result<Vec<Coord<f64>>, Option<usize>> {
        match self {
            Coords::Positions(ps) => Ok(ps),
            Coords::Number(_) | Coords::Other => Err(None),
            other => {
                let items = other.into_elements().unwrap_or_default();
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| item.position().ok_or(Some(i)))
                    .collect()
            }
        }
    }
}

impl Feature {
    /// The feature a `Value` holds, read as the loader reads a file's features (e.g. a feature
    /// kept in the store or built by an import).
    pub fn from_value(value: &Value) -> Feature {
        // A `Value` always deserialises: every shape is accepted.
        Feature::deserialize(value).unwrap_or_default()
    }
}

impl Geometry {
    /// The geometry a `Value` holds, as [`Feature::from_value`] reads it.
    pub fn from_value(value: &Value) -> Geometry {
        Geometry::deserialize(value).unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for Feature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FeatureVisitor)
    }
}

impl<'de> Deserialize<'de> for Geometry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(GeometryVisitor)
    }
}

impl<'de> Deserialize<'de> for Member<Geometry> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(GeometryMemberVisitor)
    }
}

impl<'de> Deserialize<'de> for Coords {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CoordsVisitor)
    }
}

/// Visitor methods for values that are not objects: `$value` for every one of them (arrays
/// are skipped).
macro_rules! not_an_object {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($value)
        }
    };
}

struct FeatureVisitor;

impl<'de> Visitor<'de> for FeatureVisitor {
    type Value = Feature;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON Feature")
    }

    not_an_object!(Feature::default());

    fn visit_unit<E: de::Error>(self) -> Result<Feature, E> {
        Ok(Feature::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Feature, A::Error> {
        // As a `Value` map would: the last of a repeated member counts.
        let mut feature = Feature::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    feature.is_feature =
                        matches!(map.next_value::<Value>()?, Value::String(t) if t == "Feature");
                }
                "properties" => {
                    feature.properties = match map.next_value::<Value>()? {
                        Value::Object(props) => Some(props),
                        _ => None,
                    };
                }
                "geometry" => feature.geometry = map.next_value::<Member<Geometry>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(feature)
    }
}

struct GeometryMemberVisitor;

impl<'de> Visitor<'de> for GeometryMemberVisitor {
    type Value = Member<Geometry>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON geometry")
    }

    not_an_object!(Member::Present(Geometry::default()));

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Member::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        GeometryVisitor.visit_map(map).map(Member::Present)
    }
}

struct GeometryVisitor;

impl<'de> Visitor<'de> for GeometryVisitor {
    type Value = Geometry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON geometry")
    }

    not_an_object!(Geometry::default());

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Geometry::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut geometry = Geometry::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    geometry.kind = match map.next_value::<Value>()? {
                        Value::String(t) => Some(t),
                        _ => None,
                    };
                }
                "coordinates" => geometry.coordinates = Some(map.next_value::<Coords>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(geometry)
    }
}

struct CoordsVisitor;

impl<'de> Visitor<'de> for CoordsVisitor {
    type Value = Coords;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("GeoJSON coordinates")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Coords, E> {
        Ok(Coords::Other)
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Coords, E> {
        Ok(Coords::Number(n as f64))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Coords, E> {
        Ok(Coords::Number(n as f64))
    }
    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Coords, E> {
        Ok(Coords::Number(x))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Coords, E> {
        Ok(Coords::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Coords, E> {
        Ok(Coords::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Coords, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Coords::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Coords, A::Error> {
        let Some(first) = seq.next_element::<Coords>()? else {
            return Ok(Coords::Array(Vec::new()));
        };
        // `[x, y]` without an allocation: the common case, one per position.
        if let Coords::Number(x) = first {
            let Some(second) = seq.next_element::<Coords>()? else {
                return Ok(Coords::Array(vec![first]));
            };
            let Coords::Number(y) = second else {
                return rest(seq, vec![first, second]);
            };
            return match seq.next_element::<Coords>()? {
                None => Ok(Coords::Position(Coord { x, y })),
                Some(third) => rest(seq, vec![first, second, third]),
            };
        }
        // An array of positions (a ring) goes straight into one `Vec<Coord>`.
        let Some(c) = first.position() else {
            return rest(seq, vec![first]);
        };
        // Gathered in this thread's scratch list, then copied once into a list of exactly
        // their number: growing each ring's own list by doubling left it up to half empty
        // (on average about a quarter of the registry's coordinates at ×100; issue 20).
        let mut positions = SCRATCH.take();
        positions.clear();
        positions.push(c);
        while let Some(next) = seq.next_element::<Coords>()? {
            match next.position() {
                Some(c) => positions.push(c),
                None => {
                    // Not all positions after all: kept as a general array, the positions
                    // before it as `[x, y]` (which read the same: only their two numbers count).
                    let mut items: Vec<Coords> =
                        positions.drain(..).map(Coords::Position).collect();
                    items.push(next);
                    SCRATCH.set(positions);
                    return rest(seq, items);
                }
            }
        }
        let exact = positions.as_slice().to_vec();
        SCRATCH.set(positions);
        Ok(Coords::Positions(exact))
    }
}

thread_local! {
    /// The positions of the ring being read ([`CoordsVisitor`]); taken while in use, so a
    /// nested array finds it empty rather than shared.
    static SCRATCH: std::cell::Cell<Vec<Coord<f64>>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The remaining elements of an array that is not a position nor a list of positions.
fn rest<'de, A: SeqAccess<'de>>(mut seq: A, mut items: Vec<Coords>) -> Result<Coords, A::Error> {
    while let Some(item) = seq.next_element::<Coords>()? {
        items.push(item);
    }
    Ok(Coords::Array(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn coords(v: Value) -> Coords {
        Coords::deserialize(&v).expect("any value")
    }

    #[test]
    fn positions_and_rings_are_read_without_value_trees() {
        assert_eq!(
            coords(json!([1.5, 2])),
            Coords::Position(Coord { x: 1.5, y: 2.0 })
        );
        assert_eq!(
            coords(json!([[0, 0], [1, 0, 9], [1, 1]])),
            Coords::Positions(vec![
                Coord { x: 0.0, y: 0.0 },
                Coord { x: 1.0, y: 0.0 },
                Coord { x: 1.0, y: 1.0 }
            ])
        );
        // A three-number array alone stays an array (its third element is an element).
        assert_eq!(
            coords(json!([1, 2, 3])),
            Coords::Array(vec![
                Coords::Number(1.0),
                Coords::Number(2.0),
                Coords::Number(3.0)
            ])
        );
    }

    #[test]
    fn the_first_element_that_is_not_a_position_is_found() {
        assert_eq!(
            coords(json!([[0, 0], [1], [2, 2]])).into_positions(),
            Err(Some(1))
        );
        assert_eq!(coords(json!([[0, 0], "x"])).into_positions(), Err(Some(1)));
        assert_eq!(coords(json!([1, 2])).into_positions(), Err(Some(0)));
        assert_eq!(coords(json!("x")).into_positions(), Err(None));
        assert_eq!(coords(json!([])).into_positions(), Ok(Vec::new()));
    }

    #[test]
    fn members_are_read_as_a_value_map_reads_them() {
        let f = Feature::from_value(&json!({
            "type": "Feature", "properties": {"code": "1"}, "geometry": null, "type": "x"}));
        assert!(!f.is_feature);
        assert_eq!(f.geometry, Member::Null);
        assert_eq!(f.properties.map(|p| p.len()), Some(1));
        let f = Feature::from_value(&json!([1, {"type": "Feature"}]));
        assert_eq!(f, Feature::default());
        let f = Feature::from_value(&json!({"type": "Feature", "geometry": [1], "properties": 3}));
        assert!(f.is_feature && f.properties.is_none());
        assert_eq!(f.geometry, Member::Present(Geometry::default()));
        let g = Geometry::from_value(&json!({"type": 7, "coordinates": null}));
        assert_eq!(g.kind, None);
        assert_eq!(g.coordinates, Some(Coords::Other));
    }
}
