//! The score of a plan, from the grid graph alone (no polygon clipping), so that the chain can
//! score thousands of plans in the time one validation takes.
//!
//! A part's area is the sum of its grids' areas and its perimeter the sum of theirs less twice
//! the boundary its grids share; for grids that tile the community this is the dissolved part's
//! Polsby-Popper measure (4πA/P²) exactly as validation measures it.

use serde::Serialize;

use super::graph::GridGraph;

/// How much each term counts; all non-negative, not all zero.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    /// Mean Polsby-Popper of the parts.
    pub compactness: f64,
    /// Households spread evenly over the parts.
    pub balance: f64,
    /// Short new boundaries between the parts.
    pub boundary: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            compactness: 1.0,
            balance: 1.0,
            boundary: 1.0,
        }
    }
}

impl Weights {
    /// The name of the first bad weight, if any.
    pub fn problem(&self) -> Option<String> {
        for (name, w) in [
            ("compactness", self.compactness),
            ("balance", self.balance),
            ("boundary", self.boundary),
        ] {
            if !(w.is_finite() && w >= 0.0) {
                return Some(format!("weights.{name}: must be a non-negative number"));
            }
        }
        (self.compactness + self.balance + self.boundary <= 0.0)
            .then(|| "weights: at least one weight must be above 0".to_owned())
    }
}

/// A plan's score: each term in [0, 1] (higher is better), their weighted mean, less a penalty
/// of 1 per part outside the household band plus its relative excess.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Score {
    pub total: f64,
    pub compactness: f64,
    pub min_polsby_popper: f64,
    pub balance: f64,
    pub boundary: f64,
    /// Metres of new boundary between parts.
    pub new_boundary_m: f64,
    /// Parts outside the household band.
    pub band_violations: usize,
    pub penalty: f64,
}

/// Per part sums of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PartSums {
    pub households: Vec<u64>,
    pub population: Vec<u64>,
    pub area_m2: Vec<f64>,
    pub perimeter_m: Vec<f64>,
}

impl PartSums {
    pub fn of(graph: &GridGraph, assignment: &[usize], k: usize) -> Self {
        let mut s = PartSums {
            households: vec![0; k],
            population: vec![0; k],
            area_m2: vec![0.0; k],
            perimeter_m: vec![0.0; k],
        };
        for (n, &p) in assignment.iter().enumerate() {
            s.households[p] += graph.households[n];
            s.population[p] += graph.population[n];
            s.area_m2[p] += graph.area_m2[n];
            s.perimeter_m[p] += graph.perimeter_m[n];
        }
        for &(a, b, len) in &graph.edges {
            if assignment[a] == assignment[b] {
                s.perimeter_m[assignment[a]] -= 2.0 * len;
            }
        }
        s
    }
}

/// Scores `assignment` (part per node, parts `0..k`) against the band `[lo, hi]`.
pub fn score(
    graph: &GridGraph,
    assignment: &[usize],
    k: usize,
    band: (f64, f64),
    weights: &Weights,
) -> Score {
    let sums = PartSums::of(graph, assignment, k);
    let pp: Vec<f64> = sums
        .area_m2
        .iter()
        .zip(&sums.perimeter_m)
        .map(|(a, p)| {
            if *p > 0.0 {
                (4.0 * std::f64::consts::PI * a / (p * p)).min(1.0)
            } else {
                0.0
            }
        })
        .collect();
    let compactness = pp.iter().sum::<f64>() / k.max(1) as f64;
    let min_pp = pp.iter().copied().fold(f64::INFINITY, f64::min);
    let total_h: u64 = sums.households.iter().sum();
    let mean = total_h as f64 / k.max(1) as f64;
    let worst = sums
        .households
        .iter()
        .map(|&h| (h as f64 - mean).abs())
        .fold(0.0, f64::max);
    let balance = if mean > 0.0 {
        (1.0 - worst / mean).max(0.0)
    } else {
        1.0
    };
    let new_boundary: f64 = graph
        .edges
        .iter()
        .filter(|&&(a, b, _)| assignment[a] != assignment[b])
        .map(|e| e.2)
        .sum::<f64>()
        // An empty sum is −0.0: a plan with no new boundary has 0 m of it.
        + 0.0;
    let all_perimeter: f64 = sums.perimeter_m.iter().sum();
    let outline = all_perimeter - 2.0 * new_boundary;
    let boundary = if all_perimeter > 0.0 {
        outline / all_perimeter
    } else {
        1.0
    };
    let (lo, hi) = band;
    let mut violations = 0;
    let mut penalty = 0.0;
    for &h in &sums.households {
        let h = h as f64;
        let excess = if h > hi {
            (h - hi) / hi.max(1.0)
        } else if h < lo {
            (lo - h) / lo.max(1.0)
        } else {
            continue;
        };
        violations += 1;
        penalty += 1.0 + excess;
    }
    let weight_sum = weights.compactness + weights.balance + weights.boundary;
    let mean_term = (weights.compactness * compactness
        + weights.balance * balance
        + weights.boundary * boundary)
        / weight_sum.max(f64::MIN_POSITIVE);
    Score {
        total: mean_term - penalty,
        compactness,
        min_polsby_popper: if min_pp.is_finite() { min_pp } else { 0.0 },
        balance,
        boundary,
        new_boundary_m: new_boundary,
        band_violations: violations,
        penalty,
    }
}
