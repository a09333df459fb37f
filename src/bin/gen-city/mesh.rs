//! Voronoi diagram of the seeds, as the dual of a Delaunay triangulation.
//!
//! Cells of "real" seeds are the finest pieces of the city (one cell = one grid). Every Voronoi
//! edge is stored once, with the two seeds on either side (`a`, `b`) and its two end vertices
//! (circumcentres of the Delaunay triangles `v0`, `v1`). Keeping the seeds is what later lets an
//! edge be wiggled safely: the quadrilateral seed–vertex–seed–vertex ("kite") of each edge tiles
//! the plane, so edges kept inside their own kites never cross.

use delaunator::{EMPTY, Point, next_halfedge, triangulate};

use crate::projection::P2;

/// A Voronoi edge between cells `a` < `b`, from vertex `v0` to vertex `v1` (`v0` < `v1`).
#[derive(Clone, Copy, Debug)]
pub struct Edge {
    pub a: u32,
    pub b: u32,
    pub v0: u32,
    pub v1: u32,
}

impl Edge {
    pub fn other(&self, cell: u32) -> u32 {
        if cell == self.a { self.b } else { self.a }
    }
}

pub struct Mesh {
    pub seeds: Vec<P2>,
    /// Whether each seed is land of the city (dummy seeds only bound the real cells).
    pub real: Vec<bool>,
    /// Voronoi vertices: circumcentre of each Delaunay triangle.
    pub vertices: Vec<P2>,
    /// Voronoi edges with at least one real side.
    pub edges: Vec<Edge>,
    /// Edges of each real cell (empty for dummies).
    pub cell_edges: Vec<Vec<u32>>,
    /// Delaunay neighbours of every seed (real or dummy).
    pub neighbours: Vec<Vec<u32>>,
}

impl Mesh {
    pub fn build(seeds: Vec<P2>, real: Vec<bool>) -> Result<Mesh, String> {
        let points: Vec<Point> = seeds.iter().map(|p| Point { x: p[0], y: p[1] }).collect();
        let tri = triangulate(&points);
        if tri.triangles.is_empty() {
            return Err("Delaunay triangulation is empty".into());
        }
        let vertices = (0..tri.len())
            .map(|t| {
                let [a, b, c] = [0, 1, 2].map(|k| seeds[tri.triangles[3 * t + k]]);
                circumcentre(a, b, c)
            })
            .collect();
        let mut edges = Vec::new();
        let mut cell_edges = vec![Vec::new(); seeds.len()];
        let mut neighbours = vec![Vec::new(); seeds.len()];
        for e in 0..tri.halfedges.len() {
            let a = tri.triangles[e];
            let b = tri.triangles[next_halfedge(e)];
            let twin = tri.halfedges[e];
            if twin == EMPTY || twin > e {
                neighbours[a].push(b as u32);
                neighbours[b].push(a as u32);
            }
            if !real[a] && !real[b] {
                continue;
            }
            if twin == EMPTY {
                return Err(format!("real seed {a} or {b} lies on the convex hull"));
            }
            if twin < e {
                continue;
            }
            let id = edges.len() as u32;
            let (t0, t1) = ((e / 3) as u32, (twin / 3) as u32);
            edges.push(Edge {
                a: a.min(b) as u32,
                b: a.max(b) as u32,
                v0: t0.min(t1),
                v1: t0.max(t1),
            });
            for s in [a, b] {
                if real[s] {
                    cell_edges[s].push(id);
                }
            }
        }
        for (s, list) in cell_edges.iter().enumerate() {
            if real[s] && list.len() < 3 {
                return Err(format!("seed {s} has a degenerate cell"));
            }
        }
        for list in &mut neighbours {
            list.sort_unstable();
            list.dedup();
        }
        Ok(Mesh {
            seeds,
            real,
            vertices,
            edges,
            cell_edges,
            neighbours,
        })
    }

    pub fn edge_len(&self, e: &Edge) -> f64 {
        crate::outline::dist(self.vertices[e.v0 as usize], self.vertices[e.v1 as usize])
    }

    /// Real neighbours of a real cell, with the shared edge.
    pub fn real_neighbours(&self, cell: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.cell_edges[cell as usize].iter().filter_map(move |&e| {
            let other = self.edges[e as usize].other(cell);
            self.real[other as usize].then_some((other, e))
        })
    }

    /// Whether a real cell borders the outside of the city.
    pub fn on_coast(&self, cell: u32) -> bool {
        self.cell_edges[cell as usize]
            .iter()
            .any(|&e| !self.real[self.edges[e as usize].other(cell) as usize])
    }

    /// Real cells as indices.
    pub fn real_cells(&self) -> Vec<u32> {
        (0..self.seeds.len() as u32)
            .filter(|&s| self.real[s as usize])
            .collect()
    }
}

/// Makes the set of real seeds one piece without holes: dummy seeds that cannot reach the far
/// ring through other dummies become real (lakes are land here), and real seeds not connected to
/// the largest real component become dummies. Returns whether anything changed.
pub fn fix_land(mesh: &Mesh, far: &[u32], real: &mut [bool]) -> bool {
    let n = real.len();
    let mut changed = false;
    // Dummies reachable from the far ring.
    let mut seen = vec![false; n];
    let mut stack: Vec<u32> = far.to_vec();
    for &f in far {
        seen[f as usize] = true;
    }
    while let Some(s) = stack.pop() {
        for &t in &mesh.neighbours[s as usize] {
            if !real[t as usize] && !seen[t as usize] {
                seen[t as usize] = true;
                stack.push(t);
            }
        }
    }
    for s in 0..n {
        if !real[s] && !seen[s] {
            real[s] = true;
            changed = true;
        }
    }
    // Largest component of real seeds.
    let mut comp = vec![u32::MAX; n];
    let mut sizes = Vec::new();
    for s in 0..n {
        if !real[s] || comp[s] != u32::MAX {
            continue;
        }
        let id = sizes.len() as u32;
        let mut size = 0usize;
        comp[s] = id;
        let mut stack = vec![s as u32];
        while let Some(c) = stack.pop() {
            size += 1;
            for &t in &mesh.neighbours[c as usize] {
                if real[t as usize] && comp[t as usize] == u32::MAX {
                    comp[t as usize] = id;
                    stack.push(t);
                }
            }
        }
        sizes.push(size);
    }
    let largest = (0..sizes.len()).max_by_key(|&i| (sizes[i], usize::MAX - i));
    if let Some(keep) = largest {
        for s in 0..n {
            if real[s] && comp[s] != keep as u32 {
                real[s] = false;
                changed = true;
            }
        }
    }
    changed
}

pub fn circumcentre(a: P2, b: P2, c: P2) -> P2 {
    let (bx, by) = (b[0] - a[0], b[1] - a[1]);
    let (cx, cy) = (c[0] - a[0], c[1] - a[1]);
    let bl = bx * bx + by * by;
    let cl = cx * cx + cy * cy;
    let d = 0.5 / (bx * cy - by * cx);
    [
        a[0] + (cy * bl - by * cl) * d,
        a[1] + (bx * cl - cx * bl) * d,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_of_seeds_gives_bounded_cells() {
        let mut seeds = Vec::new();
        let mut real = Vec::new();
        for i in 0..10 {
            for j in 0..10 {
                let jitter = f64::from((i * 7 + j * 13) % 5) * 0.05;
                seeds.push([f64::from(i) + jitter, f64::from(j) - jitter]);
                real.push((1..9).contains(&i) && (1..9).contains(&j));
            }
        }
        let mesh = Mesh::build(seeds, real).expect("mesh");
        for c in mesh.real_cells() {
            assert!(mesh.cell_edges[c as usize].len() >= 3);
        }
        let cc = circumcentre([0.0, 0.0], [2.0, 0.0], [0.0, 2.0]);
        assert!((cc[0] - 1.0).abs() < 1e-12 && (cc[1] - 1.0).abs() < 1e-12);
    }
}
