//! `--t-junctions`: a small city drawn the way surveyed data is, not with shared arcs.
//!
//! The sample city gives neighbours identical vertices wherever they meet. Real grids are drawn
//! inside a community after it exists, so a grid's corner lies *on* a community edge that has no
//! vertex there (a T-junction), and every surveyed point carries a few millimetres of noise. This
//! city has three towns of four quadrilateral communities each (about 4 km a side, one vertex per
//! corner) cut into twelve grids apiece (3 × 4 or 4 × 3, alternating, so grids never line up
//! across a community border). Grid corners on a community edge are placed on the straight
//! lon/lat segment between its corners (RFC 7946: edges are straight in lon/lat), then every
//! point is moved by its own survey jitter of at most `--jitter-mm` (the same point always moves
//! the same way, so vertices shared by neighbours stay shared). Coordinates are written with
//! 9 decimals (0.1 mm), so the only offsets from the segment are the jitter's.

use crate::geojson_out::{CollectionWriter, Props};
use crate::projection::det_cos;
use crate::rng::{Rng, hash2};

/// Lattice of community corners: columns × rows of communities.
const COLUMNS: usize = 6;
const ROWS: usize = 2;
/// Communities per town: two columns of the lattice.
const TOWN_COLUMNS: usize = 2;
/// South-west corner and spacing of the lattice, degrees (about 4.1 km × 4.0 km).
const LON0: f64 = 113.30;
const LAT0: f64 = 22.40;
const STEP_LON: f64 = 0.04;
const STEP_LAT: f64 = 0.036;
/// How far a lattice corner may move from its place, as a share of the spacing.
const CORNER_SHIFT: f64 = 0.2;
/// City prefix of the codes.
const PREFIX: u32 = 442_000;
const TAG_CORNERS: u64 = 21;
const TAG_JITTER: u64 = 22;
const TAG_COUNTS: u64 = 23;

type P = [f64; 2];

/// Settings of the T-junction city.
pub struct Options {
    pub seed: u64,
    /// Largest survey jitter of a point, millimetres.
    pub jitter_mm: f64,
}

/// Writes towns, communities and grids of the T-junction city; returns (towns, communities, grids).
pub fn write(
    options: &Options,
    towns: &mut CollectionWriter,
    communities: &mut CollectionWriter,
    grids: &mut CollectionWriter,
) -> Result<(usize, usize, usize), String> {
    let corners = lattice(options.seed);
    let node = |i: usize, j: usize| corners[j * (COLUMNS + 1) + i];
    let jitter = Jitter {
        seed: options.seed,
        mm: options.jitter_mm,
    };
    let mut counts_rng = Rng::stream(options.seed, TAG_COUNTS);
    let mut written = (0, 0, 0);
    for t in 0..COLUMNS / TOWN_COLUMNS {
        let town_code = format!("{PREFIX}{:03}", t + 1);
        let i0 = t * TOWN_COLUMNS;
        // Counter-clockwise around the town's block of communities, through every lattice corner.
        let mut ring: Vec<P> = Vec::new();
        ring.extend((i0..=i0 + TOWN_COLUMNS).map(|i| node(i, 0)));
        ring.extend((1..=ROWS).map(|j| node(i0 + TOWN_COLUMNS, j)));
        ring.extend((i0..i0 + TOWN_COLUMNS).rev().map(|i| node(i, ROWS)));
        ring.extend((1..ROWS).rev().map(|j| node(i0, j)));
        let props = Props::default()
            .str("code", &town_code)
            .str("name", &format!("丁字{}镇", t + 1));
        towns.feature(&feature(props, &jitter.ring(&ring)))?;
        written.0 += 1;
        let mut number = 0;
        for j in 0..ROWS {
            for i in i0..i0 + TOWN_COLUMNS {
                number += 1;
                let code = format!("{town_code}{number:03}");
                let quad = [
                    node(i, j),
                    node(i + 1, j),
                    node(i + 1, j + 1),
                    node(i, j + 1),
                ];
                let (nu, nv) = if (i + j) % 2 == 0 { (3, 4) } else { (4, 3) };
                let mut sums = [0u64; 3];
                let mut grid_lines = Vec::new();
                for b in 0..nv {
                    for a in 0..nu {
                        let households = 150 + counts_rng.below(101) as u64;
                        for (sum, value) in sums.iter_mut().zip([
                            households,
                            population(households),
                            households / 20,
                        ]) {
                            *sum += value;
                        }
                        let at = |a: usize, b: usize| {
                            bilinear(quad, a as f64 / nu as f64, b as f64 / nv as f64)
                        };
                        let cell = [at(a, b), at(a + 1, b), at(a + 1, b + 1), at(a, b + 1)];
                        let grid_code = format!("{code}{:03}", b * nu + a + 1);
                        let props = Props::default()
                            .str("code", &grid_code)
                            .str(
                                "name",
                                &format!("丁字{}镇{number}社区第{}网格", t + 1, b * nu + a + 1),
                            )
                            .str("community_code", &code)
                            .int("households", households)
                            .int("population", population(households))
                            .int("service_households", households / 20);
                        grid_lines.push(feature(props, &jitter.ring(&cell)));
                    }
                }
                let centre = jitter.point(bilinear(quad, 0.5, 0.5));
                let props = Props::default()
                    .str("code", &code)
                    .str("name", &format!("丁字{}镇{number}社区", t + 1))
                    .str("town_code", &town_code)
                    .str("kind", "community")
                    .int("workers", 15)
                    .tenths("office_area_m2", 8_000)
                    .raw("office", &position(centre))
                    .int("households", sums[0])
                    .int("population", sums[1])
                    .int("service_households", sums[2]);
                communities.feature(&feature(props, &jitter.ring(&quad)))?;
                written.1 += 1;
                for line in &grid_lines {
                    grids.feature(line)?;
                    written.2 += 1;
                }
            }
        }
    }
    Ok(written)
}

/// Residents of a grid of `households` households (2.8 a household, as a census would round).
fn population(households: u64) -> u64 {
    households * 28 / 10
}

/// The lattice corners, row by row from the south, each shifted at random from its place.
fn lattice(seed: u64) -> Vec<P> {
    let mut rng = Rng::stream(seed, TAG_CORNERS);
    let mut nodes = Vec::with_capacity((COLUMNS + 1) * (ROWS + 1));
    for j in 0..=ROWS {
        for i in 0..=COLUMNS {
            let (dx, dy) = (rng.signed(), rng.signed());
            nodes.push([
                LON0 + (i as f64 + CORNER_SHIFT * dx) * STEP_LON,
                LAT0 + (j as f64 + CORNER_SHIFT * dy) * STEP_LAT,
            ]);
        }
    }
    nodes
}

/// The point at (u, v) of the quadrilateral `q` (south-west, south-east, north-east,
/// north-west), interpolated in lon/lat: on an edge (u or v 0 or 1) it lies on the straight
/// lon/lat segment between the two corners.
fn bilinear(q: [P; 4], u: f64, v: f64) -> P {
    let w = [(1.0 - u) * (1.0 - v), u * (1.0 - v), u * v, (1.0 - u) * v];
    let mut p = [0.0, 0.0];
    for (k, corner) in q.iter().enumerate() {
        p[0] += w[k] * corner[0];
        p[1] += w[k] * corner[1];
    }
    p
}

/// Survey noise: each point moves by up to `mm` millimetres in a direction drawn from its own
/// coordinates, so the same point always lands in the same place.
struct Jitter {
    seed: u64,
    mm: f64,
}

impl Jitter {
    fn point(&self, p: P) -> P {
        if self.mm <= 0.0 {
            return p;
        }
        let mut rng = Rng::stream(
            hash2(self.seed, p[0].to_bits()),
            hash2(TAG_JITTER, p[1].to_bits()),
        );
        // A uniform point of the unit disc by rejection (no platform trigonometry).
        let (dx, dy) = loop {
            let (x, y) = (rng.signed(), rng.signed());
            if x * x + y * y <= 1.0 {
                break (x, y);
            }
        };
        let metres = self.mm / 1000.0;
        let to_rad = std::f64::consts::PI / 180.0;
        let per_deg_lat = 110_574.0;
        let per_deg_lon = 111_320.0 * det_cos(p[1] * to_rad);
        [
            p[0] + dx * metres / per_deg_lon,
            p[1] + dy * metres / per_deg_lat,
        ]
    }

    /// The closed ring through `points` (counter-clockwise as given), jittered.
    fn ring(&self, points: &[P]) -> Vec<P> {
        let mut ring: Vec<P> = points.iter().map(|&p| self.point(p)).collect();
        if let Some(&first) = ring.first() {
            ring.push(first);
        }
        ring
    }
}

/// `[lon,lat]` with 9 decimals (0.1 mm).
fn position(p: P) -> String {
    let fmt = |v: f64| {
        let n = (v * 1e9).round() as i64;
        let sign = if n < 0 { "-" } else { "" };
        let a = n.unsigned_abs();
        format!("{sign}{}.{:09}", a / 1_000_000_000, a % 1_000_000_000)
    };
    format!("[{},{}]", fmt(p[0]), fmt(p[1]))
}

/// One feature line with a Polygon of one closed ring.
fn feature(props: Props, ring: &[P]) -> String {
    let coordinates: Vec<String> = ring.iter().map(|&p| position(p)).collect();
    format!(
        "{{\"type\":\"Feature\",\"properties\":{}}},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[{}]]}}}}",
        props.finish(),
        coordinates.join(",")
    )
}
