//! Dissolving polygons that share edges vertex for vertex (grids of a community) into their
//! union, keeping the input vertices exactly.
//!
//! An overlay (BooleanOps) would snap coordinates to its own integer grid, so the new outline
//! would no longer match the neighbours' boundaries vertex for vertex, and shared-arc tiling and
//! the audit would see slivers. Here every ring edge is taken with its orientation (exteriors
//! counter-clockwise, holes clockwise); an edge shared by two polygons appears once in each
//! direction and cancels; what remains is stitched into rings.

use std::collections::HashMap;

use geo::{Area, Contains, Coord, LineString, MultiPolygon, Polygon, Winding, unary_union};

type Key = (u64, u64);
/// A directed edge: start and end.
type Edge = (Coord<f64>, Coord<f64>);
/// Edges not yet stitched, by start vertex.
type Outgoing = HashMap<Key, Vec<Edge>>;

fn key(c: Coord<f64>) -> Key {
    // +0.0 and −0.0 are the same point.
    ((c.x + 0.0).to_bits(), (c.y + 0.0).to_bits())
}

/// Why polygons could not be dissolved exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DissolveError {
    /// Edges that do not close into rings: the polygons touch along edges whose vertices differ
    /// (a T-junction) or overlap.
    #[error("the boundaries do not share vertices where they touch ({0} unmatched edges)")]
    Unmatched(usize),
}

/// The union of `polygons`, which must not overlap and must share vertices wherever they share
/// an edge. Outer rings come out counter-clockwise, holes clockwise, each closed.
pub fn dissolve<'a>(
    polygons: impl IntoIterator<Item = &'a Polygon<f64>>,
) -> Result<MultiPolygon<f64>, DissolveError> {
    let inputs: Vec<&Polygon<f64>> = polygons.into_iter().collect();
    let (mut outgoing, starts) = outgoing_edges(net_edges(&inputs));
    let rings = stitch(&mut outgoing, starts)?;
    let dissolved = MultiPolygon(nest(rings)?);
    check_against_overlay(&inputs, &dissolved)?;
    Ok(dissolved)
}

/// Directed edges of every ring (exteriors counter-clockwise, holes clockwise) with
/// multiplicity; an edge and its reverse cancel.
fn net_edges(inputs: &[&Polygon<f64>]) -> HashMap<(Key, Key), (Edge, i32)> {
    let mut edges: HashMap<(Key, Key), (Edge, i32)> = HashMap::new();
    let mut add = |ring: &LineString<f64>, ccw: bool| {
        let mut ring = ring.clone();
        if ccw {
            ring.make_ccw_winding();
        } else {
            ring.make_cw_winding();
        }
        for line in ring.lines() {
            let (a, b) = (line.start, line.end);
            if key(a) == key(b) {
                continue;
            }
            if let Some(e) = edges.get_mut(&(key(b), key(a))) {
                e.1 -= 1;
                if e.1 == 0 {
                    edges.remove(&(key(b), key(a)));
                }
            } else {
                edges.entry((key(a), key(b))).or_insert(((a, b), 0)).1 += 1;
            }
        }
    };
    for p in inputs {
        add(p.exterior(), true);
        for hole in p.interiors() {
            add(hole, false);
        }
    }
    edges
}

/// The remaining edges by start vertex, each list sorted by end vertex, and the start vertices
/// in order: deterministic stitching starts rings from the smallest remaining vertex.
fn outgoing_edges(edges: HashMap<(Key, Key), (Edge, i32)>) -> (Outgoing, Vec<Key>) {
    let mut outgoing: Outgoing = HashMap::new();
    for (_, ((a, b), n)) in edges {
        for _ in 0..n.max(0) {
            outgoing.entry(key(a)).or_default().push((a, b));
        }
    }
    let mut starts: Vec<Key> = outgoing.keys().copied().collect();
    starts.sort_unstable_by(|a, b| {
        (f64::from_bits(a.0), f64::from_bits(a.1))
            .partial_cmp(&(f64::from_bits(b.0), f64::from_bits(b.1)))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for list in outgoing.values_mut() {
        list.sort_unstable_by(|p, q| {
            (p.1.x, p.1.y)
                .partial_cmp(&(q.1.x, q.1.y))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    (outgoing, starts)
}

/// Walks the edges into closed rings.
fn stitch(
    outgoing: &mut Outgoing,
    starts: Vec<Key>,
) -> Result<Vec<LineString<f64>>, DissolveError> {
    let mut rings = Vec::new();
    for start in starts {
        while let Some(first) = outgoing.get_mut(&start).and_then(Vec::pop) {
            let mut ring = vec![first.0, first.1];
            let mut at = key(first.1);
            while at != start {
                let [prev, here] = [ring[ring.len() - 2], ring[ring.len() - 1]];
                let Some(next) = take_rightmost(outgoing, at, prev, here) else {
                    let left: usize = outgoing.values().map(Vec::len).sum();
                    return Err(DissolveError::Unmatched(left + ring.len()));
                };
                ring.push(next);
                at = key(next);
            }
            let ring = LineString::from(ring);
            // A ring enclosing nothing is the trace of edges that met without sharing
            // vertices (a T-junction).
            if Polygon::new(ring.clone(), vec![]).unsigned_area() <= f64::EPSILON {
                return Err(DissolveError::Unmatched(ring.0.len() - 1));
            }
            rings.push(ring);
        }
    }
    Ok(rings)
}

/// Counter-clockwise rings are outlines, clockwise ones holes of the smallest outline holding
/// them.
fn nest(rings: Vec<LineString<f64>>) -> Result<Vec<Polygon<f64>>, DissolveError> {
    let (mut outers, holes): (Vec<_>, Vec<_>) = rings.into_iter().partition(|r| r.is_ccw());
    outers.sort_by(|a, b| {
        let area = |r: &LineString<f64>| Polygon::new(r.clone(), vec![]).unsigned_area();
        area(a)
            .partial_cmp(&area(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut polygons: Vec<Polygon<f64>> = outers
        .into_iter()
        .map(|r| Polygon::new(r, vec![]))
        .collect();
    for hole in holes {
        let probe = hole.0[0];
        let owner = polygons.iter_mut().find(|p| {
            Polygon::new(p.exterior().clone(), vec![]).contains(&geo::Point::from(probe))
                || p.exterior().0.contains(&probe)
        });
        match owner {
            Some(p) => p.interiors_push(hole),
            None => return Err(DissolveError::Unmatched(hole.0.len())),
        }
    }
    Ok(polygons)
}

/// Cross-checks the topology against an overlay union: shared edges whose vertices differ
/// (T-junctions) leave touching parts that the overlay merges.
fn check_against_overlay(
    inputs: &[&Polygon<f64>],
    dissolved: &MultiPolygon<f64>,
) -> Result<(), DissolveError> {
    let overlay = unary_union(inputs.iter().copied());
    let holes = |m: &MultiPolygon<f64>| m.0.iter().map(|p| p.interiors().len()).sum::<usize>();
    if overlay.0.len() != dissolved.0.len() || holes(&overlay) != holes(dissolved) {
        return Err(DissolveError::Unmatched(
            overlay.0.len().abs_diff(dissolved.0.len())
                + holes(&overlay).abs_diff(holes(dissolved)),
        ));
    }
    Ok(())
}

/// Takes, of the edges leaving `at`, the one turning furthest right coming from `prev`: at a
/// vertex where outlines touch, this closes the smaller ring first instead of a figure eight.
fn take_rightmost(
    outgoing: &mut Outgoing,
    at: Key,
    prev: Coord<f64>,
    here: Coord<f64>,
) -> Option<Coord<f64>> {
    let list = outgoing.get_mut(&at)?;
    let d_in = here - prev;
    let turn = |to: Coord<f64>| {
        let d = to - here;
        (d_in.x * d.y - d_in.y * d.x).atan2(d_in.x * d.x + d_in.y * d.y)
    };
    let best = (0..list.len()).min_by(|&i, &j| {
        turn(list[i].1)
            .partial_cmp(&turn(list[j].1))
            .unwrap_or(std::cmp::Ordering::Equal)
    })?;
    Some(list.swap_remove(best).1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(x: f64, y: f64) -> Polygon<f64> {
        polygon![(x: x, y: y), (x: x + 1.0, y: y), (x: x + 1.0, y: y + 1.0), (x: x, y: y + 1.0)]
    }

    #[test]
    fn two_squares_become_one_rectangle_with_their_vertices() {
        let u = dissolve(&[square(0.0, 0.0), square(1.0, 0.0)]).unwrap();
        assert_eq!(u.0.len(), 1);
        assert_eq!(u.unsigned_area(), 2.0);
        // The shared edge's end points stay (as collinear vertices): 6 distinct vertices.
        assert_eq!(u.0[0].exterior().0.len(), 7);
    }

    #[test]
    fn a_ring_of_squares_leaves_a_hole() {
        let mut cells = Vec::new();
        for x in 0..3 {
            for y in 0..3 {
                if (x, y) != (1, 1) {
                    cells.push(square(x as f64, y as f64));
                }
            }
        }
        let u = dissolve(&cells).unwrap();
        assert_eq!(u.0.len(), 1);
        assert_eq!(u.0[0].interiors().len(), 1);
        assert_eq!(u.unsigned_area(), 8.0);
    }

    #[test]
    fn apart_squares_stay_apart() {
        let u = dissolve(&[square(0.0, 0.0), square(5.0, 0.0)]).unwrap();
        assert_eq!(u.0.len(), 2);
    }

    #[test]
    fn a_t_junction_is_refused() {
        // The right square's left edge has a midpoint vertex the left square lacks.
        let left = square(0.0, 0.0);
        let right = polygon![(x: 1.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 1.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.5)];
        assert!(dissolve(&[left, right]).is_err());
    }
}
