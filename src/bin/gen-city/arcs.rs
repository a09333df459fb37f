//! One wiggled, rounded polyline ("arc") per Voronoi edge, shared by every polygon that uses it.
//!
//! Each edge is wiggled exactly once, from a random stream keyed by its two end vertices, and
//! every point is rounded to the output grid exactly once and stored in one table. Rings are later
//! built from point ids into that table, so a border between two grids, two communities or two
//! towns is literally the same sequence of coordinates on both sides.

use crate::mesh::Mesh;
use crate::noise::Noise;
use crate::projection::{Fixed, Frame};
use crate::rng::{Rng, hash2};
use crate::wiggle::{LANE, RIVER, ROAD, wiggle};

/// Target length of the pieces of a wiggled edge, km.
const PIECE_KM: f64 = 0.05;
/// Feature size of the field deciding where edges meander, km.
const RIVER_FIELD_KM: f64 = 9.0;

const TAG_RIVERS: u64 = 201;
const TAG_EDGES: u64 = 202;

/// Arcs for all edges of a mesh.
pub struct Arcs {
    /// Rounded points: Voronoi vertices and wiggle points.
    pub points: Vec<Fixed>,
    /// Per mesh edge: point ids from its vertex `v0` to its vertex `v1`.
    pub arc: Vec<Vec<u32>>,
    /// Per mesh edge: the cell on the left when walking from `v0` to `v1`.
    pub left: Vec<u32>,
}

impl Arcs {
    pub fn build(mesh: &Mesh, frame: &Frame, seed: u64) -> Arcs {
        let rivers = Noise::new(hash2(seed, TAG_RIVERS), RIVER_FIELD_KM);
        let edge_seed = hash2(seed, TAG_EDGES);
        let mut vertex_point = vec![u32::MAX; mesh.vertices.len()];
        let mut points: Vec<Fixed> = Vec::new();
        let mut point_of = |v: u32, points: &mut Vec<Fixed>| {
            let slot = &mut vertex_point[v as usize];
            if *slot == u32::MAX {
                *slot = points.len() as u32;
                points.push(frame.to_fixed(mesh.vertices[v as usize]));
            }
            *slot
        };
        let mut arc = Vec::with_capacity(mesh.edges.len());
        let mut left = Vec::with_capacity(mesh.edges.len());
        for e in &mesh.edges {
            let (v0, v1) = (mesh.vertices[e.v0 as usize], mesh.vertices[e.v1 as usize]);
            let (sa, sb) = (mesh.seeds[e.a as usize], mesh.seeds[e.b as usize]);
            let cross = (v1[0] - v0[0]) * (sa[1] - v0[1]) - (v1[1] - v0[1]) * (sa[0] - v0[0]);
            left.push(if cross > 0.0 { e.a } else { e.b });
            let mut rng = Rng::stream(edge_seed, hash2(u64::from(e.v0), u64::from(e.v1)));
            // Rivers cluster where the river field is high, straight roads where it is low.
            let field = rivers.at([(v0[0] + v1[0]) / 2.0, (v0[1] + v1[1]) / 2.0]);
            let p_river = ((field - 0.45) * 3.0).clamp(0.0, 0.8);
            let p_road = ((0.55 - field) * 3.0).clamp(0.0, 0.8);
            let u = rng.unit();
            let style = if u < p_river {
                RIVER
            } else if u < p_river + p_road {
                ROAD
            } else {
                LANE
            };
            let inner = wiggle(v0, v1, sa, sb, style, PIECE_KM, &rng);
            let first = point_of(e.v0, &mut points);
            let last = point_of(e.v1, &mut points);
            let mut line = Vec::with_capacity(inner.len() + 2);
            line.push(points[first as usize]);
            line.extend(inner.into_iter().map(|p| frame.to_fixed(p)));
            line.push(points[last as usize]);
            let line = no_shallow_slopes(&line);
            let mut ids = Vec::with_capacity(line.len());
            ids.push(first);
            for &p in &line[1..line.len() - 1] {
                ids.push(points.len() as u32);
                points.push(p);
            }
            ids.push(last);
            arc.push(ids);
        }
        Arcs { points, arc, left }
    }
}

/// Splits every segment whose slope is non-zero but at most 1e-3 (in any direction) into an
/// exactly horizontal piece and a piece of slope 2e-3, moving nothing by more than the segment's
/// rise (a few centimetres at most).
///
/// Why: the service gives a point exactly on a shared boundary to the polygon east of it (then
/// north), and tests check that rule against a point nudged 1e-9° east and 1e-12° north, which
/// is the same thing only if no boundary leaves a vertex at a slope strictly between 0 and 1e-3.
/// With ~100,000 segments on a 1e-7° grid a few dozen would otherwise fall in that band.
pub fn no_shallow_slopes(line: &[Fixed]) -> Vec<Fixed> {
    let mut out = Vec::with_capacity(line.len() + 1);
    out.push(line[0]);
    for w in line.windows(2) {
        let (p, q) = (w[0], w[1]);
        let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
        if dy != 0 && dy.abs().saturating_mul(1_000) <= dx.abs() {
            out.push([q[0] - dx.signum() * 500 * dy.abs(), p[1]]);
        }
        out.push(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shallow(p: Fixed, q: Fixed) -> bool {
        let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
        dy != 0 && dy.abs() * 1_000 <= dx.abs()
    }

    #[test]
    fn shallow_segments_become_flat_plus_steep() {
        let line = [[0, 0], [6_433, 2], [6_000, 900], [0, 899], [-5_000, 896]];
        let out = no_shallow_slopes(&line);
        assert_eq!(out.len(), line.len() + 3);
        assert_eq!((out[0], *out.last().expect("ends")), (line[0], line[4]));
        for w in out.windows(2) {
            assert!(!shallow(w[0], w[1]), "{:?}", w);
            assert_ne!(w[0], w[1]);
        }
        // The inserted point sits on the horizontal through the segment's start.
        assert_eq!(out[1], [6_433 - 1_000, 0]);
        // Steep or flat segments are left alone.
        let plain = [[0, 0], [10, 0], [10, 10], [0, 0]];
        assert_eq!(no_shallow_slopes(&plain), plain.to_vec());
    }
}
