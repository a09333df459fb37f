//! Where the cells are: seed density, sampling, Lloyd relaxation and degeneracy removal.
//!
//! Each town needs roughly as many cells as it will have grids, so seed density is set per town
//! (from a provisional town layout computed on a coarse jittered lattice), peaked around the town
//! centre. Weighted Lloyd relaxation then evens out the spacing without flattening that density.
//! Finally, seeds are nudged until no Voronoi edge is shorter than a couple of metres, so no two
//! vertices can collapse into one when rounded to 1e-7°.

use crate::mesh::{Mesh, fix_land};
use crate::outline::{Outline, dist};
use crate::partition::NONE;
use crate::projection::P2;
use crate::rng::Rng;

/// Voronoi edges must be at least this long (km).
pub const MIN_EDGE_KM: f64 = 0.002;

/// A jittered square lattice, used for the provisional town layout and for density look-ups.
pub struct Lattice {
    origin: P2,
    h: f64,
    nx: usize,
    ny: usize,
    pub points: Vec<P2>,
}

impl Lattice {
    /// Covers the box `lo`..`hi` with a margin of two spacings.
    pub fn new(lo: P2, hi: P2, h: f64, rng: &mut Rng) -> Self {
        let origin = [lo[0] - 2.0 * h, lo[1] - 2.0 * h];
        let nx = ((hi[0] - lo[0]) / h).ceil() as usize + 4;
        let ny = ((hi[1] - lo[1]) / h).ceil() as usize + 4;
        let mut points = Vec::with_capacity(nx * ny);
        for j in 0..ny {
            for i in 0..nx {
                points.push([
                    origin[0] + (i as f64 + 0.5 + 0.3 * rng.signed()) * h,
                    origin[1] + (j as f64 + 0.5 + 0.3 * rng.signed()) * h,
                ]);
            }
        }
        Lattice {
            origin,
            h,
            nx,
            ny,
            points,
        }
    }

    /// The nearest lattice point accepted by `accept`, searched in the surrounding 5×5 block.
    pub fn nearest(&self, p: P2, accept: impl Fn(usize) -> bool) -> Option<usize> {
        let ci = ((p[0] - self.origin[0]) / self.h).floor() as i64;
        let cj = ((p[1] - self.origin[1]) / self.h).floor() as i64;
        let mut best: Option<(f64, usize)> = None;
        for dj in -2..=2 {
            for di in -2..=2 {
                let (i, j) = (ci + di, cj + dj);
                if i < 0 || j < 0 || i >= self.nx as i64 || j >= self.ny as i64 {
                    continue;
                }
                let k = j as usize * self.nx + i as usize;
                if !accept(k) {
                    continue;
                }
                let d = dist(p, self.points[k]);
                if best.is_none_or(|(bd, bk)| d < bd || (d == bd && k < bk)) {
                    best = Some((d, k));
                }
            }
        }
        best.map(|(_, k)| k)
    }
}

/// Seed density of one town: `base · (1 + peak / (1 + (d/radius)²)) / norm` cells per km².
#[derive(Clone, Copy, Debug)]
pub struct TownDensity {
    pub centre: P2,
    pub base: f64,
    pub peak: f64,
    pub radius: f64,
    pub norm: f64,
}

impl TownDensity {
    fn shape(&self, p: P2) -> f64 {
        let d = dist(p, self.centre) / self.radius;
        1.0 + self.peak / (1.0 + d * d)
    }
}

/// Cells per km² anywhere, from the provisional town of the nearest lattice point.
pub struct Density<'a> {
    pub lattice: &'a Lattice,
    /// Provisional town of each lattice point (`NONE` outside the city).
    pub town_of: Vec<u32>,
    pub towns: Vec<TownDensity>,
}

impl Density<'_> {
    pub fn town_at(&self, p: P2) -> Option<u32> {
        self.lattice
            .nearest(p, |k| self.town_of[k] != NONE)
            .map(|k| self.town_of[k])
    }

    pub fn at(&self, p: P2) -> f64 {
        match self.town_at(p) {
            Some(t) => {
                let td = &self.towns[t as usize];
                td.base * td.shape(p) / td.norm
            }
            None => 1.0,
        }
    }

    /// Typical distance between neighbouring seeds, km.
    pub fn spacing(&self, p: P2) -> f64 {
        1.0 / self.at(p).sqrt()
    }

    /// Sets `base` and `norm` so town `t` gets about `cells` seeds over its provisional area.
    pub fn calibrate(&mut self, cells: &[usize]) {
        let area_per_point = self.lattice.h * self.lattice.h;
        for (t, td) in self.towns.iter_mut().enumerate() {
            let mut n = 0usize;
            let mut shape_sum = 0.0;
            for (k, &owner) in self.town_of.iter().enumerate() {
                if owner == t as u32 {
                    n += 1;
                    shape_sum += td.shape(self.lattice.points[k]);
                }
            }
            let area = (n.max(1) as f64) * area_per_point;
            td.base = cells[t] as f64 / area;
            td.norm = if n > 0 { shape_sum / n as f64 } else { 1.0 };
        }
    }

    /// Exactly `cells[t]` random seeds inside each town's provisional territory, following the
    /// town's density shape (rejection sampling).
    pub fn sample(
        &self,
        outline: &Outline,
        cells: &[usize],
        rng: &mut Rng,
    ) -> Result<Vec<P2>, String> {
        let mut out = Vec::new();
        for (t, td) in self.towns.iter().enumerate() {
            let own: Vec<usize> = (0..self.town_of.len())
                .filter(|&k| self.town_of[k] == t as u32)
                .collect();
            if own.is_empty() {
                return Err(format!("town {t} has no provisional territory"));
            }
            let mut taken = 0;
            let mut attempts = 0usize;
            while taken < cells[t] {
                attempts += 1;
                if attempts > 1_000 * cells[t] + 10_000 {
                    return Err(format!("cannot place seeds in town {t}"));
                }
                let k = own[rng.below(own.len())];
                let base = self.lattice.points[k];
                let h = self.lattice.h;
                let p = [
                    base[0] + 0.5 * h * rng.signed(),
                    base[1] + 0.5 * h * rng.signed(),
                ];
                let keep = rng.unit() * (1.0 + td.peak) <= td.shape(p);
                if keep && outline.contains(p) && self.town_at(p) == Some(t as u32) {
                    out.push(p);
                    taken += 1;
                }
            }
        }
        Ok(out)
    }
}

/// One step of density-weighted Lloyd relaxation: each real seed moves to the weighted centroid
/// of its cell (unless that falls outside the outline). Dummy seeds stay put.
pub fn lloyd_step(
    seeds: &mut [P2],
    real: &[bool],
    density: &Density,
    outline: &Outline,
) -> Result<(), String> {
    let mesh = Mesh::build(seeds.to_vec(), real.to_vec())?;
    for c in mesh.real_cells() {
        let s = mesh.seeds[c as usize];
        let (mut wx, mut wy, mut w) = (0.0, 0.0, 0.0);
        for &e in &mesh.cell_edges[c as usize] {
            let e = &mesh.edges[e as usize];
            let (p, q) = (mesh.vertices[e.v0 as usize], mesh.vertices[e.v1 as usize]);
            let area = 0.5 * ((p[0] - s[0]) * (q[1] - s[1]) - (p[1] - s[1]) * (q[0] - s[0])).abs();
            let cen = [(s[0] + p[0] + q[0]) / 3.0, (s[1] + p[1] + q[1]) / 3.0];
            let weight = area * density.at(cen);
            wx += weight * cen[0];
            wy += weight * cen[1];
            w += weight;
        }
        if w > 0.0 {
            let next = [wx / w, wy / w];
            if outline.contains(next) {
                seeds[c as usize] = next;
            }
        }
    }
    Ok(())
}

/// Builds the final mesh: settles which seeds are land (see `fix_land`) and nudges seeds until
/// every Voronoi edge of a real cell is at least `MIN_EDGE_KM` long.
pub fn finalize(
    mut seeds: Vec<P2>,
    mut real: Vec<bool>,
    far: &[u32],
    rng: &mut Rng,
) -> Result<Mesh, String> {
    for _round in 0..100 {
        let mesh = Mesh::build(seeds.clone(), real.clone())?;
        if fix_land(&mesh, far, &mut real) {
            continue;
        }
        let mut nudged = false;
        for e in &mesh.edges {
            if mesh.edge_len(e) >= MIN_EDGE_KM {
                continue;
            }
            let s = if mesh.real[e.a as usize] { e.a } else { e.b } as usize;
            let dir = loop {
                let d = [rng.signed(), rng.signed()];
                let l = (d[0] * d[0] + d[1] * d[1]).sqrt();
                if l > 0.1 && l <= 1.0 {
                    break [d[0] / l, d[1] / l];
                }
            };
            seeds[s] = [seeds[s][0] + 0.01 * dir[0], seeds[s][1] + 0.01 * dir[1]];
            nudged = true;
        }
        if !nudged {
            return Ok(mesh);
        }
    }
    Err("could not remove degenerate Voronoi edges".into())
}

/// Eight far-away dummy seeds around the box, so every real seed is inside the convex hull and
/// every real cell is bounded.
pub fn far_ring(lo: P2, hi: P2) -> Vec<P2> {
    let c = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
    let r = 3.0 * dist(lo, hi);
    [
        (-1.0, -1.0),
        (0.0, -1.4),
        (1.0, -1.0),
        (1.4, 0.0),
        (1.0, 1.0),
        (0.0, 1.4),
        (-1.0, 1.0),
        (-1.4, 0.0),
    ]
    .iter()
    .map(|&(dx, dy)| [c[0] + r * dx, c[1] + r * dy])
    .collect()
}
