//! Which towns a proposal touches, from geometry: a part belongs to the town it lies in, never to
//! the town of a parent. The jurisdiction check (who may draft the proposal), the
//! `inside_one_town` rule and the approval (which town a new community is coded under) all ask
//! here, so they cannot disagree.

use std::collections::BTreeSet;

use geo::{BoundingRect, Intersects, MultiPolygon};

use super::proposal::Proposal;
use crate::geometry::measure::area_m2;
use crate::geometry::window::intersection_near;
use crate::registry::Registry;

/// The towns `area` lies in (indices into `registry.towns`), each with the area inside it in m²
/// when that is more than `tolerance`, the largest share first.
pub fn towns_of(
    area: &MultiPolygon<f64>,
    registry: &Registry,
    tolerance: f64,
) -> Vec<(usize, f64)> {
    let Some(bounds) = area.bounding_rect() else {
        return Vec::new();
    };
    let mut towns: Vec<(usize, f64)> = registry
        .towns
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let b = t.area.bounding_rect().filter(|b| b.intersects(&bounds))?;
            Some((i, area_m2(&intersection_near((area, bounds), (&t.area, b)))))
        })
        .filter(|(_, a)| *a > tolerance)
        .collect();
    towns.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    towns
}

/// The town a part is coded under: the one holding most of its area (`None` when it lies in no
/// town). Validation has already refused parts that straddle towns (`inside_one_town`).
pub fn home_town(area: &MultiPolygon<f64>, registry: &Registry) -> Option<usize> {
    towns_of(area, registry, 0.0).first().map(|&(i, _)| i)
}

/// Every town the proposal touches (9-digit codes, sorted): the towns of its parents and every
/// town any part reaches into by more than `tolerance` m². Whoever drafts the proposal must hold
/// all of them.
pub fn touched_towns(proposal: &Proposal, registry: &Registry, tolerance: f64) -> Vec<String> {
    let mut towns: BTreeSet<String> = proposal
        .parents
        .iter()
        .map(|&p| registry.towns[registry.communities[p].town].code.clone())
        .collect();
    for part in &proposal.parts {
        for (t, _) in towns_of(&part.area, registry, tolerance) {
            towns.insert(registry.towns[t].code.clone());
        }
    }
    towns.into_iter().collect()
}
