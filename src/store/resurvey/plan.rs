//! What a re-survey changes, decided by comparing the registry version it was staged against
//! with the surveyed city, feature by feature and code by code (pure: no SQL). Unchanged
//! features — same code, same properties, same geometry within [`TOLERANCE_DEG`] — are left
//! alone, so the history holds only what the survey really changed. A grid under a new code
//! takes as predecessor the ended grid that covered most of its area, which is how the version
//! diff reports it as moved (with its households).

use std::collections::BTreeMap;

use geo::{Area, BoundingRect, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde_json::Value;

use crate::geometry::window;
use crate::registry::{Level, parse_area};
use crate::store::registry::{
    Diff, MovedGrid, by_code, community_changes, community_ref, group_moves,
};

/// How far (in degrees, ≈ 1 cm) a surveyed coordinate may lie from the stored one and still be
/// the same: a survey's projected coordinates brought back to WGS84 differ from the stored ones
/// in the last decimals, which is no re-drawing.
pub const TOLERANCE_DEG: f64 = 1e-7;

/// The rows an approval writes, and the diff it makes.
#[derive(Debug, Default)]
pub struct Plan {
    /// Codes whose current rows end, per level ([`Level::ALL`] order).
    pub end: [Vec<String>; 3],
    /// Rows to insert, per level.
    pub insert: [Vec<Value>; 3],
    /// For each inserted grid: the code it had before (a grid under a new code).
    pub predecessors: Vec<Option<String>>,
    /// Features left as they are, per level.
    pub unchanged: [usize; 3],
    /// Communities created, ended, re-drawn, changed; grids moved (`from`/`to` left 0 here).
    pub diff: Diff,
}

impl Plan {
    /// Whether approving would change nothing.
    pub fn is_empty(&self) -> bool {
        self.end.iter().all(Vec::is_empty) && self.insert.iter().all(Vec::is_empty)
    }

    /// Counts for messages and the log: per level, how many rows end, are inserted, unchanged.
    pub fn counts(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (i, level) in Level::ALL.into_iter().enumerate() {
            out.insert(
                level.collection().to_owned(),
                serde_json::json!({
                    "ended": self.end[i].len(),
                    "inserted": self.insert[i].len(),
                    "unchanged": self.unchanged[i],
                }),
            );
        }
        Value::Object(out)
    }
}

/// Compares the `old` layers (the current version) with the surveyed `new` ones.
pub fn plan(old: [Vec<Value>; 3], new: [Vec<Value>; 3]) -> Plan {
    let mut p = Plan::default();
    let mut kept: [BTreeMap<String, Value>; 3] = Default::default();
    let olds = old.map(by_code);
    for (i, (old, new)) in olds.iter().zip(new).enumerate() {
        for (code, f) in by_code(new) {
            match old.get(&code) {
                Some(o) if same_feature(o, &f) => {
                    p.unchanged[i] += 1;
                    kept[i].insert(code, o.clone());
                }
                Some(o) => {
                    p.end[i].push(code.clone());
                    let f = keep_geometry(o, f);
                    kept[i].insert(code, f.clone());
                    p.insert[i].push(f);
                }
                None => {
                    kept[i].insert(code, f.clone());
                    p.insert[i].push(f);
                }
            }
        }
        p.end[i].extend(old.keys().filter(|c| !kept[i].contains_key(*c)).cloned());
    }
    let [_, old_communities, old_grids] = &olds;
    let grid = Level::Grid.index();
    p.predecessors = predecessors(old_grids, &p.end[grid], &p.insert[grid]);
    community_changes(
        old_communities,
        &kept[Level::Community.index()],
        &mut p.diff,
    );
    let community_of = |g: &Value| {
        g.pointer("/properties/community_code")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    p.diff.moved = group_moves(p.insert[grid].iter().zip(&p.predecessors).filter_map(
        |(g, was)| {
            let was = old_grids.get(was.as_ref()?)?;
            let to = community_ref(g);
            let from = community_ref(was);
            Some((
                community_of(was),
                community_of(g),
                MovedGrid {
                    from: from.code,
                    to: to.code,
                    households: to.households,
                },
            ))
        },
    ));
    p
}

/// The surveyed feature `new`, with the stored geometry of `old` when the two agree within the
/// tolerance (only the properties changed): the row then differs only where the survey does.
fn keep_geometry(old: &Value, mut new: Value) -> Value {
    if let (Some(o), Some(n)) = (old.get("geometry"), new.get_mut("geometry"))
        && same_value(o, n)
    {
        *n = o.clone();
    }
    new
}

/// For each grid of `inserted` under a code `old` did not have: the grid among `ended` that
/// covered most of its area (none when it covers no ended grid: a grid on new land).
fn predecessors(
    old: &BTreeMap<String, Value>,
    ended: &[String],
    inserted: &[Value],
) -> Vec<Option<String>> {
    let areas: Vec<(&String, MultiPolygon<f64>)> = ended
        .iter()
        .filter_map(|c| {
            let g = old.get(c)?.get("geometry")?;
            Some((c, parse_area(g).ok()?))
        })
        .collect();
    let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = areas
        .iter()
        .enumerate()
        .filter_map(|(i, (_, a))| {
            let r = a.bounding_rect()?;
            Some(GeomWithData::new(
                Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                i,
            ))
        })
        .collect();
    let tree = RTree::bulk_load(boxes);
    inserted
        .iter()
        .map(|f| {
            let code = community_ref(f).code;
            if old.contains_key(&code) {
                return None;
            }
            let area = parse_area(f.get("geometry")?).ok()?;
            let r = area.bounding_rect()?;
            let envelope = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
            tree.locate_in_envelope_intersecting(&envelope)
                .map(|b| {
                    let (code, other) = &areas[b.data];
                    (window::intersection(&area, other).unsigned_area(), *code)
                })
                .filter(|(shared, _)| *shared > 0.0)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, code)| code.clone())
        })
        .collect()
}

/// Same properties (a missing property is a null one) and same geometry within the tolerance.
pub fn same_feature(a: &Value, b: &Value) -> bool {
    fn props(f: &Value) -> Option<&serde_json::Map<String, Value>> {
        f.get("properties").and_then(Value::as_object)
    }
    let empty = serde_json::Map::new();
    let (pa, pb) = (props(a).unwrap_or(&empty), props(b).unwrap_or(&empty));
    let keys_match = pa.iter().chain(pb.iter()).all(|(k, _)| {
        same_value(
            pa.get(k).unwrap_or(&Value::Null),
            pb.get(k).unwrap_or(&Value::Null),
        )
    });
    keys_match
        && same_value(
            a.get("geometry").unwrap_or(&Value::Null),
            b.get("geometry").unwrap_or(&Value::Null),
        )
}

/// Equal values, numbers within the tolerance, rings equal from any starting vertex.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= TOLERANCE_DEG,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) if is_ring(x) => same_ring(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

/// A closed ring of positions (at least four, the first a position of numbers).
fn is_ring(a: &[Value]) -> bool {
    a.len() >= 4
        && a.first()
            .and_then(Value::as_array)
            .is_some_and(|p| p.first().is_some_and(Value::is_number))
        && a.first() == a.last()
}

/// The same closed ring, whichever vertex it starts from (a GIS may rotate a ring when it
/// re-orients it).
fn same_ring(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() || !is_ring(b) {
        return false;
    }
    let n = a.len() - 1;
    (0..n).any(|k| (0..n).all(|i| same_value(&a[i], &b[(i + k) % n])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square(code: &str, community: &str, x: f64, households: u64) -> Value {
        json!({"type": "Feature",
               "properties": {"code": code, "community_code": community, "households": households},
               "geometry": {"type": "Polygon", "coordinates": [[[x, 0.0], [x + 1.0, 0.0], [x + 1.0, 1.0], [x, 1.0], [x, 0.0]]]}})
    }

    #[test]
    fn rounding_and_ring_rotation_are_no_change() {
        let a = square("1", "c", 0.0, 5);
        let mut b = a.clone();
        b["geometry"]["coordinates"] = json!([[
            [1.0, 0.0],
            [1.0, 1.0],
            [0.0, 1.00000004],
            [0.0, 0.0],
            [1.0, 0.0]
        ]]);
        assert!(same_feature(&a, &b));
        b["properties"]["households"] = json!(5.0);
        assert!(same_feature(&a, &b));
        b["properties"]["households"] = json!(6);
        assert!(!same_feature(&a, &b));
        let mut c = a.clone();
        c["geometry"]["coordinates"][0][2] = json!([1.0, 1.001]);
        assert!(!same_feature(&a, &c));
    }

    #[test]
    fn a_grid_under_a_new_code_follows_the_grid_it_covers_most() {
        let old = [
            vec![],
            vec![],
            vec![square("g1", "A", 0.0, 10), square("g2", "A", 1.0, 20)],
        ];
        let mut moved = square("g9", "B", 0.9, 20);
        moved["geometry"]["coordinates"] =
            json!([[[1.0, 0.0], [2.0, 0.0], [2.0, 1.0], [1.0, 1.0], [1.0, 0.0]]]);
        let new = [vec![], vec![], vec![square("g1", "A", 0.0, 10), moved]];
        let p = plan(old, new);
        assert_eq!(p.unchanged[2], 1);
        assert_eq!(p.end[2], vec!["g2".to_owned()]);
        assert_eq!(p.predecessors, vec![Some("g2".to_owned())]);
        assert_eq!(p.diff.moved.len(), 1);
        assert_eq!(
            (p.diff.moved[0].from.as_str(), p.diff.moved[0].to.as_str()),
            ("A", "B")
        );
        assert_eq!(p.diff.moved[0].households, 20);
    }
}
