//! Grid counts for the two communities whose figures come from the 2022 report.
//!
//! 城南社区 is split in the report into 环城社区 (13,200 households, 158 of the 225 civil-affairs
//! service households) and a smaller 城南社区 (10,400 households, 67). Here the split is a
//! north–south line through the middle of 城南's grids, and the grids on each side are given
//! exactly those totals, so a proposal that splits 城南 along the line reproduces the report.
//! 迎阳社区 gets fixed household and population totals over its 8 grids.

use crate::census::{Counts, apportion};
use crate::projection::Fixed;
use crate::rng::Rng;
use crate::towns::{CHENGNAN_EAST, CHENGNAN_WEST, YINGYANG_HOUSEHOLDS, YINGYANG_POPULATION};

/// Longitude (1e-7°) of the area centroid of a ring.
fn centroid_lon(ring: &[Fixed]) -> f64 {
    let (mut area, mut cx) = (0.0, 0.0);
    let o = ring[0];
    for w in ring.windows(2) {
        let (x0, y0) = ((w[0][0] - o[0]) as f64, (w[0][1] - o[1]) as f64);
        let (x1, y1) = ((w[1][0] - o[0]) as f64, (w[1][1] - o[1]) as f64);
        let cross = x0 * y1 - x1 * y0;
        area += cross;
        cx += (x0 + x1) * cross;
    }
    o[0] as f64 + cx / (3.0 * area)
}

/// The split line: among the splits leaving 50–65 % of the grids on the west side (which gets
/// 56 % of the households), the one with the widest gap between neighbouring grid centroids, at
/// a round 1e-4° if that still falls in the gap. The wide gap keeps the split unambiguous
/// whichever centroid formula a reader uses.
fn split_line(lons: &[f64]) -> i64 {
    let mut sorted = lons.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let (lo, hi) = ((n / 2).max(1), (n * 13 / 20).clamp(1, n - 1));
    let k = (lo..=hi.max(lo))
        .max_by(|&a, &b| {
            (sorted[a] - sorted[a - 1])
                .total_cmp(&(sorted[b] - sorted[b - 1]))
                .then(b.cmp(&a))
        })
        .expect("the range is not empty");
    let (west, east) = (sorted[k - 1], sorted[k]);
    let middle = ((west + east) / 2.0).round() as i64;
    let round = (middle as f64 / 1_000.0).round() as i64 * 1_000;
    if (round as f64) > west && (round as f64) < east {
        round
    } else {
        middle
    }
}

/// Counts for 城南's grids (given as rings) and the split line's longitude (1e-7°).
pub fn chengnan(rings: &[Vec<Fixed>], rng: &mut Rng) -> Result<(Vec<Counts>, i64), String> {
    if rings.len() < 2 {
        return Err("城南社区 needs at least two grids to be split".into());
    }
    let lons: Vec<f64> = rings.iter().map(|r| centroid_lon(r)).collect();
    let line = split_line(&lons);
    let west: Vec<usize> = (0..lons.len()).filter(|&g| lons[g] < line as f64).collect();
    let east: Vec<usize> = (0..lons.len())
        .filter(|&g| lons[g] >= line as f64)
        .collect();
    let mut counts = vec![Counts::default(); rings.len()];
    for (side, (households, service)) in [(west, CHENGNAN_WEST), (east, CHENGNAN_EAST)] {
        let weights: Vec<f64> = side.iter().map(|_| rng.range(0.7, 1.3)).collect();
        let hh = apportion(households, &weights);
        let service_weights: Vec<f64> =
            hh.iter().map(|&h| h as f64 * rng.range(0.5, 1.5)).collect();
        let sv = apportion(service, &service_weights);
        for (k, &g) in side.iter().enumerate() {
            let mut c = Counts::from_households(hh[k], rng);
            c.service = sv[k];
            counts[g] = c;
        }
    }
    Ok((counts, line))
}

/// Counts for 迎阳's `n` grids.
pub fn yingyang(n: usize, rng: &mut Rng) -> Vec<Counts> {
    let weights: Vec<f64> = (0..n).map(|_| rng.range(0.8, 1.2)).collect();
    let hh = apportion(YINGYANG_HOUSEHOLDS, &weights);
    let pop_weights: Vec<f64> = hh
        .iter()
        .map(|&h| h as f64 * rng.range(0.95, 1.05))
        .collect();
    let pop = apportion(YINGYANG_POPULATION, &pop_weights);
    hh.iter()
        .zip(pop)
        .map(|(&h, p)| {
            let mut c = Counts::from_households(h, rng);
            c.population = p;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: i64) -> Vec<Fixed> {
        vec![[x, 0], [x + 10, 0], [x + 10, 10], [x, 10], [x, 0]]
    }

    #[test]
    fn chengnan_sides_get_the_reported_totals() {
        let rings: Vec<Vec<Fixed>> = (0..9).map(|i| square(i * 20_000)).collect();
        let (counts, line) = chengnan(&rings, &mut Rng::stream(1, 1)).expect("split");
        let side = |west: bool| {
            rings
                .iter()
                .zip(&counts)
                .filter(|(r, _)| (centroid_lon(r) < line as f64) == west)
                .fold((0, 0), |acc, (_, c)| {
                    (acc.0 + c.households, acc.1 + c.service)
                })
        };
        assert_eq!(side(true), CHENGNAN_WEST);
        assert_eq!(side(false), CHENGNAN_EAST);
        assert_eq!(line % 1_000, 0, "a round longitude");
    }

    #[test]
    fn yingyang_totals() {
        let counts = yingyang(8, &mut Rng::stream(2, 2));
        assert_eq!(
            counts.iter().map(|c| c.households).sum::<u64>(),
            YINGYANG_HOUSEHOLDS
        );
        assert_eq!(
            counts.iter().map(|c| c.population).sum::<u64>(),
            YINGYANG_POPULATION
        );
    }
}
