//! Synthetic households, population, service caseload, staff and office space.
//!
//! Grids are the unit of counts: each grid draws its households from a range typical of its
//! community's kind (urban grids are denser than village grids), population and civil-affairs
//! service households follow from households. Communities are the sums of their grids. Where
//! the 2022 report gives a figure (城南, 迎阳), totals are split over grids exactly with a
//! largest-remainder apportionment, so the sums come out to the stated numbers.

use crate::rng::Rng;

/// Community kinds as written in the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Community,
    VillageConverted,
    Village,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Community => "community",
            Kind::VillageConverted => "village_converted",
            Kind::Village => "village",
        }
    }

    /// Households of one grid of this kind.
    pub fn grid_households(self, rng: &mut Rng) -> u64 {
        let (lo, hi) = match self {
            Kind::Community => (150.0, 400.0),
            Kind::VillageConverted => (120.0, 360.0),
            Kind::Village => (40.0, 260.0),
        };
        rng.range(lo, hi).round() as u64
    }
}

/// Households, residents and civil-affairs service households.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub households: u64,
    pub population: u64,
    pub service: u64,
}

impl Counts {
    /// Population (2.5–3.3 per household) and service caseload (1–3 %) for `households`.
    pub fn from_households(households: u64, rng: &mut Rng) -> Self {
        let h = households as f64;
        Counts {
            households,
            population: (h * rng.range(2.5, 3.3)).round() as u64,
            service: (h * rng.range(0.01, 0.03)).round() as u64,
        }
    }

    pub fn add(&mut self, other: Counts) {
        self.households += other.households;
        self.population += other.population;
        self.service += other.service;
    }
}

/// Splits `total` into integers proportional to `weights` (largest remainder; ties to the
/// earlier index), so the parts always sum to `total`.
pub fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() {
        return Vec::new();
    }
    let shares: Vec<f64> = weights
        .iter()
        .map(|w| {
            if sum > 0.0 {
                total as f64 * w / sum
            } else {
                total as f64 / weights.len() as f64
            }
        })
        .collect();
    let mut parts: Vec<u64> = shares.iter().map(|s| s.floor() as u64).collect();
    let given: u64 = parts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = shares[a] - shares[a].floor();
        let fb = shares[b] - shares[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    let missing = total.saturating_sub(given) as usize;
    for &i in order.iter().cycle().take(missing) {
        parts[i] += 1;
    }
    parts
}

/// Community staff: 8–40, spread so that some communities meet the guideline of 18 workers per
/// 10,000 residents and many do not (as the report says).
pub fn workers(population: u64, rng: &mut Rng) -> u32 {
    let per_10k = rng.range(7.0, 22.0);
    ((population as f64 / 10_000.0 * per_10k).round() as u32).clamp(8, 40)
}

/// Office and service space in tenths of m²: 150–1,500 m², loosely tied to size.
pub fn office_area_tenths(households: u64, rng: &mut Rng) -> u64 {
    let m2 = (households as f64 / 100.0 * rng.range(5.0, 40.0)).clamp(150.0, 1_500.0);
    (m2 * 10.0).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_sums_exactly() {
        let mut rng = Rng::stream(3, 3);
        for n in 1..40 {
            let w: Vec<f64> = (0..n).map(|_| rng.range(0.1, 2.0)).collect();
            for total in [0, 1, 7, 158, 13_200] {
                let parts = apportion(total, &w);
                assert_eq!(parts.iter().sum::<u64>(), total);
            }
        }
        assert_eq!(apportion(10, &[1.0, 1.0, 2.0]), vec![3, 2, 5]);
    }

    #[test]
    fn counts_are_in_range() {
        let mut rng = Rng::stream(4, 4);
        for _ in 0..1000 {
            let h = Kind::Community.grid_households(&mut rng);
            assert!((150..=400).contains(&h));
            let c = Counts::from_households(h, &mut rng);
            assert!(c.population >= h * 2 && c.population <= h * 4);
            assert!((8..=40).contains(&workers(c.population, &mut rng)));
            assert!((1500..=15_000).contains(&office_area_tenths(h, &mut rng)));
        }
    }
}
