//! The lookup answer's JSON, put together from pieces written once per snapshot.
//!
//! A single-point lookup is answered in well under a microsecond, and writing its answer through
//! serde (escaping each Chinese name byte by byte, growing the buffer twice) cost more than the
//! lookup itself (BENCHMARKS.md, issue 19). Each town's, community's and grid's object
//! (`{"code":…,"name":…}`) never changes within a snapshot, so it is written once, by serde, and
//! an answer is the point and three copies. The bytes are exactly those
//! [`super::PointPlace`] and [`super::Place`] serialise to (tested below).

use crate::index::Hit;
use crate::registry::Registry;

use super::place::{CommunityRef, GridRef, TownRef};

/// One level's objects, back to back in one buffer (one allocation, not one per record).
#[derive(Debug, Default)]
struct Objects {
    text: Vec<u8>,
    /// Where record `i`'s object ends in `text` (it starts where record `i - 1`'s ends).
    ends: Vec<usize>,
}

impl Objects {
    fn new<T: serde::Serialize>(records: impl Iterator<Item = T>) -> Self {
        let mut objects = Objects::default();
        for record in records {
            // Writing plain structs of strings into a Vec cannot fail; `null` keeps the answer
            // well-formed if it ever did.
            if serde_json::to_writer(&mut objects.text, &record).is_err() {
                objects.text.extend_from_slice(b"null");
            }
            objects.ends.push(objects.text.len());
        }
        objects
    }

    /// Record `i`'s object, or `null` for none (or an index this snapshot does not have).
    fn get(&self, i: Option<usize>) -> &[u8] {
        let Some(&end) = i.and_then(|i| self.ends.get(i)) else {
            return b"null";
        };
        let start = i.and_then(|i| i.checked_sub(1)).map_or(0, |p| self.ends[p]);
        &self.text[start..end]
    }
}

/// Every record's lookup object of one registry, ready to be copied into answers.
#[derive(Debug)]
pub struct PlaceJson {
    towns: Objects,
    communities: Objects,
    grids: Objects,
}

impl PlaceJson {
    pub fn new(registry: &Registry) -> Self {
        PlaceJson {
            towns: Objects::new(registry.towns.iter().map(|t| TownRef {
                code: &t.code,
                name: &t.name,
            })),
            communities: Objects::new(registry.communities.iter().map(|c| CommunityRef {
                code: &c.code,
                name: &c.name,
                kind: c.kind.as_str(),
            })),
            grids: Objects::new(registry.grids.iter().map(|g| GridRef {
                code: &g.code,
                name: &g.name,
            })),
        }
    }

    /// Appends `"town":…,"community":…,"grid":…` (without braces).
    pub fn write_fields(&self, out: &mut Vec<u8>, hit: Hit) {
        out.extend_from_slice(b"\"town\":");
        out.extend_from_slice(self.towns.get(hit.town));
        out.extend_from_slice(b",\"community\":");
        out.extend_from_slice(self.communities.get(hit.community));
        out.extend_from_slice(b",\"grid\":");
        out.extend_from_slice(self.grids.get(hit.grid));
    }

    /// Appends the batch entry of `hit`: [`super::Place`]'s JSON.
    pub fn write_place(&self, out: &mut Vec<u8>, hit: Hit) {
        out.push(b'{');
        self.write_fields(out, hit);
        out.push(b'}');
    }

    /// The single-point answer: [`super::PointPlace`]'s JSON.
    pub fn point_place(&self, point: [f64; 2], hit: Hit) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + self.towns.get(hit.town).len()
                + self.communities.get(hit.community).len()
                + self.grids.get(hit.grid).len(),
        );
        out.extend_from_slice(b"{\"point\":");
        write_point(&mut out, point);
        out.push(b',');
        self.write_fields(&mut out, hit);
        out.push(b'}');
        out
    }
}

/// `[x,y]` as serde_json writes it (its shortest round-trip form; a non-finite number, which
/// a lookup never echoes, as `null`).
fn write_point(out: &mut Vec<u8>, point: [f64; 2]) {
    if serde_json::to_writer(&mut *out, &point).is_err() {
        out.extend_from_slice(b"null");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Snapshot;
    use crate::output::{Place, PointPlace};

    /// Every town, community and grid of the mini city, alone and together, against what serde
    /// writes for the same answer.
    #[test]
    fn same_bytes_as_serde() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mini");
        let snapshot = Snapshot::load(&dir).unwrap();
        let registry = &snapshot.registry;
        let json = PlaceJson::new(registry);
        let mut hits = vec![Hit::default()];
        for t in 0..=registry.towns.len() {
            for c in 0..=registry.communities.len() {
                for g in [0, registry.grids.len() / 2, registry.grids.len()] {
                    // Index == len stands for "none" here.
                    let some = |i: usize, n: usize| (i < n).then_some(i);
                    hits.push(Hit {
                        town: some(t, registry.towns.len()),
                        community: some(c, registry.communities.len()),
                        grid: some(g, registry.grids.len()),
                    });
                }
            }
        }
        for (i, hit) in hits.into_iter().enumerate() {
            let point = [113.0 + i as f64 * 0.001_7, 22.5 - i as f64 / 3.0];
            let expected = serde_json::to_vec(&PointPlace::new(registry, point, hit)).unwrap();
            assert_eq!(
                String::from_utf8(json.point_place(point, hit)).unwrap(),
                String::from_utf8(expected).unwrap()
            );
            let mut place = Vec::new();
            json.write_place(&mut place, hit);
            assert_eq!(
                place,
                serde_json::to_vec(&Place::new(registry, hit)).unwrap()
            );
        }
    }

    #[test]
    fn names_that_need_escaping_are_escaped() {
        let objects = Objects::new(
            [TownRef {
                code: "1",
                name: "镇\"街\\\n",
            }]
            .into_iter(),
        );
        assert_eq!(
            objects.get(Some(0)),
            r#"{"code":"1","name":"镇\"街\\\n"}"#.as_bytes()
        );
        assert_eq!(objects.get(None), b"null");
        assert_eq!(objects.get(Some(1)), b"null");
    }
}
