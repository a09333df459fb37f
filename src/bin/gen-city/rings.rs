//! Polygon rings from shared arcs, and exact validity checks.
//!
//! A region's ring is the chain of the arcs between it and everything else, each walked with the
//! region on its left, so grids, communities and towns reuse literally the same points and
//! neighbours share borders vertex for vertex. Checks run in exact integer arithmetic on the
//! rounded coordinates that are written, so a ring that passes is valid in the file.

use std::collections::BTreeMap;

use crate::arcs::Arcs;
use crate::mesh::Mesh;
use crate::projection::Fixed;

/// The ring (closed, counter-clockwise) of the region made of `cells`, where `label(c)` gives the
/// region of any real cell. Fails unless the boundary is exactly one closed ring.
pub fn region_ring(
    mesh: &Mesh,
    arcs: &Arcs,
    cells: &[u32],
    label: impl Fn(u32) -> u32,
) -> Result<Vec<Fixed>, String> {
    let Some(&first) = cells.first() else {
        return Err("region without cells".into());
    };
    let own = label(first);
    // (edge, forward) for every boundary arc, keyed by its starting point.
    let mut by_start: BTreeMap<u32, (u32, bool)> = BTreeMap::new();
    for &c in cells {
        for &e in &mesh.cell_edges[c as usize] {
            let edge = &mesh.edges[e as usize];
            let other = edge.other(c);
            if mesh.real[other as usize] && label(other) == own {
                continue;
            }
            let forward = arcs.left[e as usize] == c;
            let arc = &arcs.arc[e as usize];
            let start = if forward { arc[0] } else { arc[arc.len() - 1] };
            if by_start.insert(start, (e, forward)).is_some() {
                return Err(format!(
                    "region {own}: two boundary arcs leave point {start}"
                ));
            }
        }
    }
    let total = by_start.len();
    let Some((&start, _)) = by_start.iter().next() else {
        return Err(format!("region {own} has no boundary"));
    };
    let mut ring = Vec::new();
    let mut at = start;
    let mut used = 0;
    loop {
        let Some(&(e, forward)) = by_start.get(&at) else {
            return Err(format!(
                "region {own}: boundary is not closed at point {at}"
            ));
        };
        let arc = &arcs.arc[e as usize];
        let ids: Vec<u32> = if forward {
            arc.clone()
        } else {
            arc.iter().rev().copied().collect()
        };
        let (&end, body) = ids.split_last().expect("arcs have two ends");
        ring.extend(body.iter().map(|&id| arcs.points[id as usize]));
        let last = end;
        used += 1;
        at = last;
        if at == start {
            break;
        }
        if used > total {
            return Err(format!("region {own}: boundary does not close"));
        }
    }
    if used != total {
        return Err(format!(
            "region {own}: boundary has {} rings (holes or several parts)",
            1 + total - used
        ));
    }
    ring.push(ring[0]);
    Ok(ring)
}

fn orient(a: Fixed, b: Fixed, c: Fixed) -> i128 {
    let (ax, ay) = (i128::from(a[0]), i128::from(a[1]));
    (i128::from(b[0]) - ax) * (i128::from(c[1]) - ay)
        - (i128::from(b[1]) - ay) * (i128::from(c[0]) - ax)
}

/// Twice the signed area (positive = counter-clockwise).
pub fn area2(ring: &[Fixed]) -> i128 {
    ring.windows(2)
        .map(|w| {
            i128::from(w[0][0]) * i128::from(w[1][1]) - i128::from(w[1][0]) * i128::from(w[0][1])
        })
        .sum()
}

fn on_segment(p: Fixed, a: Fixed, b: Fixed) -> bool {
    orient(a, b, p) == 0
        && p[0] >= a[0].min(b[0])
        && p[0] <= a[0].max(b[0])
        && p[1] >= a[1].min(b[1])
        && p[1] <= a[1].max(b[1])
}

/// Whether closed segments a–b and c–d share any point.
fn segments_meet(a: Fixed, b: Fixed, c: Fixed, d: Fixed) -> bool {
    let (o1, o2) = (orient(a, b, c), orient(a, b, d));
    let (o3, o4) = (orient(c, d, a), orient(c, d, b));
    if ((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0)) {
        return true;
    }
    on_segment(c, a, b) || on_segment(d, a, b) || on_segment(a, c, d) || on_segment(b, c, d)
}

/// Validates an output ring: closed, at least 4 positions, no repeated consecutive positions,
/// counter-clockwise, and simple (no two non-adjacent segments meet; adjacent ones only at their
/// shared vertex).
pub fn validate_ring(ring: &[Fixed]) -> Result<(), String> {
    let n = ring.len();
    if n < 4 {
        return Err(format!("ring has {n} positions (< 4)"));
    }
    if ring[0] != ring[n - 1] {
        return Err("ring is not closed".into());
    }
    if let Some(w) = ring.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("repeated consecutive position {:?}", w[0]));
    }
    if area2(ring) <= 0 {
        return Err("ring is not counter-clockwise".into());
    }
    let segs = n - 1;
    // Adjacent segments must not fold back onto each other.
    for i in 0..segs {
        let (a, b, c) = (ring[i], ring[i + 1], ring[(i + 2) % segs]);
        let dot = i128::from(b[0] - a[0]) * i128::from(c[0] - b[0])
            + i128::from(b[1] - a[1]) * i128::from(c[1] - b[1]);
        if orient(a, b, c) == 0 && dot < 0 {
            return Err(format!("ring doubles back at {b:?}"));
        }
    }
    // Sweep over x: only segments whose x-ranges overlap are compared.
    let mut order: Vec<usize> = (0..segs).collect();
    let xmin = |i: usize| ring[i][0].min(ring[i + 1][0]);
    let xmax = |i: usize| ring[i][0].max(ring[i + 1][0]);
    order.sort_by_key(|&i| (xmin(i), i));
    for (k, &i) in order.iter().enumerate() {
        let (ylo, yhi) = (
            ring[i][1].min(ring[i + 1][1]),
            ring[i][1].max(ring[i + 1][1]),
        );
        for &j in &order[k + 1..] {
            if xmin(j) > xmax(i) {
                break;
            }
            let adjacent = i.abs_diff(j) == 1 || i.abs_diff(j) == segs - 1;
            if adjacent {
                continue;
            }
            if ring[j][1].max(ring[j + 1][1]) < ylo || ring[j][1].min(ring[j + 1][1]) > yhi {
                continue;
            }
            if segments_meet(ring[i], ring[i + 1], ring[j], ring[j + 1]) {
                return Err(format!("ring touches itself near {:?}", ring[i]));
            }
        }
    }
    Ok(())
}

/// Whether `p` is strictly inside the ring (not on its boundary).
pub fn strictly_inside(ring: &[Fixed], p: Fixed) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if on_segment(p, a, b) {
            return false;
        }
        if (a[1] > p[1]) != (b[1] > p[1]) {
            // Does the edge cross the ray going east from p?
            let o = orient(a, b, p);
            if (b[1] > a[1]) == (o > 0) {
                inside = !inside;
            }
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sq() -> Vec<Fixed> {
        vec![[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    }

    #[test]
    fn accepts_a_simple_ccw_ring() {
        assert_eq!(validate_ring(&sq()), Ok(()));
        assert!(strictly_inside(&sq(), [5, 5]));
        assert!(!strictly_inside(&sq(), [10, 5]));
        assert!(!strictly_inside(&sq(), [11, 5]));
        assert!(!strictly_inside(&sq(), [0, 0]));
    }

    #[test]
    fn rejects_bad_rings() {
        let mut cw = sq();
        cw.reverse();
        assert!(
            validate_ring(&cw)
                .unwrap_err()
                .contains("counter-clockwise")
        );
        let open = vec![[0, 0], [10, 0], [10, 10], [0, 10]];
        assert!(validate_ring(&open).is_err());
        let dup = vec![[0, 0], [10, 0], [10, 0], [10, 10], [0, 0]];
        assert!(validate_ring(&dup).unwrap_err().contains("repeated"));
        assert!(validate_ring(&[[0, 0], [1, 0], [0, 0]]).is_err());
        // Bow tie: crosses itself.
        let bow = vec![[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]];
        assert!(validate_ring(&bow).is_err());
        // Touches itself at a vertex (figure eight sharing [10, 10]).
        let eight = vec![
            [0, 0],
            [10, 0],
            [10, 10],
            [20, 10],
            [20, 20],
            [10, 20],
            [10, 10],
            [0, 10],
            [0, 0],
        ];
        assert!(validate_ring(&eight).unwrap_err().contains("touches"));
        // A spike that doubles back.
        let spike = vec![[0, 0], [10, 0], [20, 0], [10, 0], [10, 10], [0, 0]];
        assert!(validate_ring(&spike).is_err());
        // Vertex touching a non-adjacent edge.
        let touch = vec![[0, 0], [10, 0], [10, 10], [5, 0], [0, 10], [0, 0]];
        assert!(validate_ring(&touch).is_err());
    }
}
