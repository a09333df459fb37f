//! Writing RFC 7946 FeatureCollections, one feature per line.
//!
//! The JSON is assembled by hand rather than through a serializer so the byte layout is fixed by
//! this file alone: property order as documented, coordinates with exactly 7 decimals, one feature
//! per line so that a regenerated city diffs readably in git.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::projection::{Fixed, fmt_fixed};

/// Properties of one feature, in insertion order.
#[derive(Default)]
pub struct Props {
    body: String,
}

impl Props {
    fn key(&mut self, key: &str) {
        self.body.push(if self.body.is_empty() { '{' } else { ',' });
        self.body.push('"');
        self.body.push_str(key);
        self.body.push_str("\":");
    }

    pub fn str(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        let quoted = serde_json::to_string(value).expect("a str always serializes");
        self.body.push_str(&quoted);
        self
    }

    pub fn int(mut self, key: &str, value: u64) -> Self {
        self.key(key);
        self.body.push_str(&value.to_string());
        self
    }

    /// A number given in tenths, written with one decimal (e.g. 356.5).
    pub fn tenths(mut self, key: &str, value: u64) -> Self {
        self.key(key);
        self.body
            .push_str(&format!("{}.{}", value / 10, value % 10));
        self
    }

    /// A value already written as JSON.
    pub fn raw(mut self, key: &str, json: &str) -> Self {
        self.key(key);
        self.body.push_str(json);
        self
    }

    /// The properties object without its closing brace (as `feature` writes it).
    pub fn finish(self) -> String {
        self.body
    }

    /// A [lon, lat] position.
    pub fn position(mut self, key: &str, p: Fixed) -> Self {
        self.key(key);
        push_position(&mut self.body, p);
        self
    }
}

fn push_position(out: &mut String, p: Fixed) {
    out.push('[');
    fmt_fixed(p[0], out);
    out.push(',');
    fmt_fixed(p[1], out);
    out.push(']');
}

/// One feature as a single line of JSON; `ring` is the exterior ring of a Polygon, or `None`
/// for a null geometry.
pub fn feature(props: Props, ring: Option<&[Fixed]>) -> String {
    let mut s = String::with_capacity(64 + ring.map_or(0, |r| r.len() * 24));
    s.push_str("{\"type\":\"Feature\",\"properties\":");
    s.push_str(&props.body);
    s.push_str("},\"geometry\":");
    match ring {
        None => s.push_str("null"),
        Some(ring) => {
            s.push_str("{\"type\":\"Polygon\",\"coordinates\":[[");
            for (i, &p) in ring.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                push_position(&mut s, p);
            }
            s.push_str("]]}");
        }
    }
    s.push('}');
    s
}

/// Streams features into a FeatureCollection file.
pub struct CollectionWriter {
    out: BufWriter<File>,
    first: bool,
    path: String,
}

impl CollectionWriter {
    pub fn create(path: &Path) -> Result<Self, String> {
        let shown = path.display().to_string();
        let file = File::create(path).map_err(|e| format!("cannot create {shown}: {e}"))?;
        let mut w = CollectionWriter {
            out: BufWriter::new(file),
            first: true,
            path: shown,
        };
        w.write(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
        Ok(w)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.out
            .write_all(bytes)
            .map_err(|e| format!("cannot write {}: {e}", self.path))
    }

    pub fn feature(&mut self, line: &str) -> Result<(), String> {
        if !self.first {
            self.write(b",\n")?;
        }
        self.first = false;
        self.write(line.as_bytes())
    }

    pub fn finish(mut self) -> Result<(), String> {
        self.write(b"\n]}\n")?;
        self.out
            .flush()
            .map_err(|e| format!("cannot write {}: {e}", self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_layout() {
        let props = Props::default()
            .str("code", "442000005")
            .str("name", "南区街道")
            .int("n", 3)
            .tenths("a", 3565)
            .position("office", [1_133_800_000, 224_850_001]);
        let ring = [[0, 0], [10, 0], [0, 10], [0, 0]];
        let line = feature(props, Some(&ring));
        assert_eq!(
            line,
            "{\"type\":\"Feature\",\"properties\":{\"code\":\"442000005\",\"name\":\"南区街道\",\
             \"n\":3,\"a\":356.5,\"office\":[113.3800000,22.4850001]},\"geometry\":{\"type\":\
             \"Polygon\",\"coordinates\":[[[0.0000000,0.0000000],[0.0000010,0.0000000],\
             [0.0000000,0.0000010],[0.0000000,0.0000000]]]}}"
        );
        let null = feature(Props::default().str("code", "x"), None);
        assert!(null.ends_with("\"geometry\":null}"));
        let parsed: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(parsed["properties"]["a"], 356.5);
    }
}
