//! Reading a GeoJSON FeatureCollection feature by feature.
//!
//! Parsing a whole boundary file into one `serde_json::Value` tree costs several times the
//! file's size in memory (every position is an array of two boxed numbers), all of it alive
//! until the last feature is checked; at ×100 that is gigabytes (issue 20). Here serde's
//! deserializer walks the document and hands each element of `features` to the caller as soon
//! as it is parsed, so only one feature is in memory at a time, as whatever type the caller
//! asks for (the loader's typed `Feature`, or a `Value`). The parser and its numbers are the
//! same as a whole-document parse, and a syntax error anywhere is reported with the same line
//! and column.

use std::fmt;

use std::marker::PhantomData;

use serde::de::{self, Deserialize, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// What the document turned out to be, once read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// A FeatureCollection whose `features` array was streamed.
    Collection,
    /// Not an object whose `type` is `"FeatureCollection"`.
    NotACollection,
    /// A FeatureCollection without a `features` array (missing, another type, or given twice).
    NoFeatureArray,
}

/// Parses `bytes` as one JSON document, passing each element of the root's `features` array
/// (with its position) to `sink` as soon as it is parsed. Elements are passed even when the
/// root turns out not to be a FeatureCollection (its `type` may come last); callers drop what
/// they gathered unless the answer is [`Document::Collection`].
pub fn read_collection<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    sink: &mut dyn FnMut(usize, T),
) -> Result<Document, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let collection = Root { sink }.deserialize(&mut de)?;
    de.end()?;
    Ok(collection)
}

/// The root object: its `type` checked, its `features` streamed, the rest skipped.
struct Root<'s, T> {
    sink: &'s mut dyn FnMut(usize, T),
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Root<'_, T> {
    type Value = Document;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Document, D::Error> {
        d.deserialize_any(self)
    }
}

/// Scalars are neither a FeatureCollection nor a `features` array: they are answered as
/// such ([`Other`]) rather than refused as a syntax error would be.
macro_rules! scalars_are_other {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(<Self::Value as Other>::default_other())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(<Self::Value as Other>::default_other())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(<Self::Value as Other>::default_other())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(<Self::Value as Other>::default_other())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(<Self::Value as Other>::default_other())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(<Self::Value as Other>::default_other())
        }
    };
}

/// The answer for a JSON value of the wrong kind, per visitor.
trait Other {
    fn default_other() -> Self;
}

impl Other for Document {
    fn default_other() -> Self {
        Document::NotACollection
    }
}

/// Whether `features` was an array (streamed) or something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Features {
    Streamed,
    NotAnArray,
}

impl Other for Features {
    fn default_other() -> Self {
        Features::NotAnArray
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Root<'_, T> {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection")
    }

    scalars_are_other!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Document, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Document::NotACollection)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        // As a `Value` map would: the last `type` counts.
        let mut is_collection = false;
        let mut features = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    is_collection = matches!(
                        map.next_value::<Value>()?,
                        Value::String(t) if t == "FeatureCollection"
                    );
                }
                "features" => {
                    let streamed = map.next_value_seed(FeatureArray {
                        sink: &mut *self.sink,
                        element: PhantomData,
                    })?;
                    // A second `features` member would mix two arrays' features: refused.
                    features = match features {
                        None => Some(streamed),
                        Some(_) => Some(Features::NotAnArray),
                    };
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match (is_collection, features) {
            (false, _) => Document::NotACollection,
            (true, Some(Features::Streamed)) => Document::Collection,
            (true, _) => Document::NoFeatureArray,
        })
    }
}

/// The `features` member: each element parsed as a `T` and handed on.
struct FeatureArray<'s, T> {
    sink: &'s mut dyn FnMut(usize, T),
    element: PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for FeatureArray<'_, T> {
    type Value = Features;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Features, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for FeatureArray<'_, T> {
    type Value = Features;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of features")
    }

    scalars_are_other!();

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Features, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Features::NotAnArray)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Features, A::Error> {
        let mut index = 0;
        while let Some(feature) = seq.next_element::<T>()? {
            (self.sink)(index, feature);
            index += 1;
        }
        Ok(Features::Streamed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Result<Document, String>, Vec<(usize, Value)>) {
        let mut seen = Vec::new();
        let result = read_collection(text.as_bytes(), &mut |i, v| seen.push((i, v)))
            .map_err(|e| e.to_string());
        (result, seen)
    }

    #[test]
    fn features_arrive_in_order_with_their_positions_whatever_the_member_order() {
        let (result, seen) = read(
            r#"{"features": [{"a": 1}, [2, 3]], "name": {"x": [1]}, "type": "FeatureCollection"}"#,
        );
        assert_eq!(result, Ok(Document::Collection));
        assert_eq!(
            seen,
            vec![
                (0, serde_json::json!({"a": 1})),
                (1, serde_json::json!([2, 3]))
            ]
        );
    }

    #[test]
    fn other_documents_are_classified_as_a_value_tree_would_be() {
        for text in [
            "[1, 2]",
            "null",
            "7",
            "\"x\"",
            "true",
            r#"{"features": []}"#,
        ] {
            assert_eq!(read(text).0, Ok(Document::NotACollection), "{text}");
        }
        for text in [
            r#"{"type": "FeatureCollection"}"#,
            r#"{"type": "FeatureCollection", "features": {"a": []}}"#,
            r#"{"type": "FeatureCollection", "features": null}"#,
            r#"{"type": "FeatureCollection", "features": [], "features": []}"#,
        ] {
            assert_eq!(read(text).0, Ok(Document::NoFeatureArray), "{text}");
        }
        // The last `type` counts, as in a `Value` map.
        let (result, _) =
            read(r#"{"type": "Feature", "features": [], "type": "FeatureCollection"}"#);
        assert_eq!(result, Ok(Document::Collection));
    }

    #[test]
    fn syntax_errors_are_reported_as_the_whole_document_parse_reports_them() {
        for text in [
            "{\"type\": \"FeatureCollection\", \"features\": [{\"a\": 1},\n {\"b\": }]}",
            "{\"type\": \"FeatureCollection\", \"features\": []} trailing",
            "{\"type\": \"FeatureCollection\", \"features\": [",
        ] {
            let whole = serde_json::from_str::<Value>(text).expect_err("invalid JSON");
            assert_eq!(read(text).0, Err(whole.to_string()), "{text}");
        }
    }
}
