//! Community-level coverage: overlaps between communities, unassigned land and slivers in each
//! town, communities outside their town, communities without territory.

use geo::{BooleanOps, BoundingRect, MultiPolygon, unary_union};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::finding::{Finding, FindingKind};
use super::{Context, bbox_of, border_eps};
use crate::geometry::measure::{area_m2, border_lengths, longest_border, width_m};
use crate::geometry::window;
use crate::registry::{Community, Town};
use crate::rules::Severity;

pub(super) fn overlaps(
    cx: &Context,
    pair: &(dyn Fn(usize, usize) -> bool + Sync),
    out: &mut Vec<Finding>,
) {
    let r = cx.registry;
    let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = r
        .communities
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some(GeomWithData::new(bbox_of(c.territory.as_deref()?)?, i)))
        .collect();
    let tree = RTree::bulk_load(boxes.clone());
    let per_community: Vec<Vec<Finding>> = boxes
        .par_iter()
        .map(|a_box| {
            let mut found = Vec::new();
            overlaps_of(cx, &tree, a_box, pair, &mut found);
            found
        })
        .collect();
    out.extend(per_community.into_iter().flatten());
}

/// Overlaps of the community in `a_box` with those after it (each pair once).
fn overlaps_of(
    cx: &Context,
    tree: &RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    a_box: &GeomWithData<Rectangle<[f64; 2]>, usize>,
    pair: &(dyn Fn(usize, usize) -> bool + Sync),
    out: &mut Vec<Finding>,
) {
    let r = cx.registry;
    let a = a_box.data;
    let envelope = AABB::from_corners(a_box.geom().lower(), a_box.geom().upper());
    for b_box in tree.locate_in_envelope_intersecting(&envelope) {
        let b = b_box.data;
        if b <= a || !pair(a, b) {
            continue;
        }
        let (Some(ta), Some(tb)) = (&r.communities[a].territory, &r.communities[b].territory)
        else {
            continue;
        };
        let overlap = window::intersection(ta, tb);
        let area = area_m2(&overlap);
        if area <= cx.tolerances.overlap_tolerance_m2 {
            continue;
        }
        // Edges of the overlap on A's boundary border B's remainder, and vice versa.
        let (ra, rb) = (&cx.community_rings[a], &cx.community_rings[b]);
        let (Some(ra), Some(rb)) = (ra, rb) else {
            continue;
        };
        let lengths = border_lengths(&overlap, &[ra, rb], border_eps());
        let (ca, cb) = (&r.communities[a], &r.communities[b]);
        let (owner, other) = if lengths[0] >= lengths[1] {
            (cb, ca)
        } else {
            (ca, cb)
        };
        out.push(Finding {
            kind: FindingKind::CommunityOverlap,
            severity: Severity::Fail,
            town_code: Some(r.towns[ca.town].code.clone()),
            codes: vec![ca.code.clone(), cb.code.clone()],
            area_m2: Some(area),
            rule: None,
            message: format!(
                "{} {} and {} {} overlap by {area:.1} m²",
                ca.code, ca.name, cb.code, cb.name
            ),
            suggestion: format!(
                "give the overlap to {} {} (it borders it longest) and cut it from {} {}",
                owner.code, owner.name, other.code, other.name
            ),
            geometry: Some(overlap),
        });
    }
}

pub(super) fn gaps_and_outside(cx: &Context, out: &mut Vec<Finding>) {
    let per_town: Vec<Vec<Finding>> = cx
        .registry
        .towns
        .par_iter()
        .map(|town| {
            let mut found = Vec::new();
            town_gaps_and_outside(cx, town, &mut found);
            found
        })
        .collect();
    out.extend(per_town.into_iter().flatten());
}

/// Land of `town` in none of its communities, and its communities' land outside it.
pub(super) fn town_gaps_and_outside(cx: &Context, town: &Town, out: &mut Vec<Finding>) {
    let r = cx.registry;
    let members: Vec<usize> = town
        .communities
        .iter()
        .copied()
        .filter(|&c| r.communities[c].territory.is_some())
        .collect();
    let union = unary_union(
        members
            .iter()
            .filter_map(|&c| r.communities[c].territory.as_deref())
            .flat_map(|m| m.0.iter()),
    );
    for polygon in town.area.difference(&union) {
        gap(cx, town, MultiPolygon(vec![polygon]), out);
    }
    for &c in &members {
        outside_town(cx, town, &r.communities[c], out);
    }
}

/// Land of `town` in none of its communities: unassigned land, or a sliver to snap away.
fn gap(cx: &Context, town: &Town, part: MultiPolygon<f64>, out: &mut Vec<Finding>) {
    let (r, t) = (cx.registry, cx.tolerances);
    let area = area_m2(&part);
    if area <= t.gap_tolerance_m2 {
        return;
    }
    let width = part.0.first().map_or(0.0, width_m);
    let sliver = area < t.sliver_max_area_m2 || width < t.sliver_max_width_m;
    // The neighbour bordering the gap longest should take it.
    let near: Vec<usize> = nearby_communities(cx, &part);
    let rings: Vec<_> = near
        .iter()
        .filter_map(|&c| cx.community_rings[c].as_ref())
        .collect();
    let lengths = border_lengths(&part, &rings, border_eps());
    let owner = longest_border(&lengths).map(|i| &r.communities[near[i]]);
    let suggestion = match (owner, sliver) {
        (Some(o), true) => format!(
            "snap the neighbouring boundaries together (assign it to {} {})",
            o.code, o.name
        ),
        (Some(o), false) => format!(
            "assign it to {} {}, which borders it longest",
            o.code, o.name
        ),
        (None, _) => "draw a community over it".to_owned(),
    };
    out.push(Finding {
        kind: if sliver {
            FindingKind::Sliver
        } else {
            FindingKind::UnassignedLand
        },
        severity: if sliver {
            Severity::Warn
        } else {
            Severity::Fail
        },
        town_code: Some(town.code.clone()),
        codes: std::iter::once(town.code.clone())
            .chain(owner.map(|o| o.code.clone()))
            .collect(),
        area_m2: Some(area),
        rule: None,
        message: format!(
            "{area:.1} m² of {} {} (about {width:.1} m wide) is in no community",
            town.code, town.name
        ),
        suggestion,
        geometry: Some(part),
    });
}

/// Land of `community` outside its `town`.
fn outside_town(cx: &Context, town: &Town, community: &Community, out: &mut Vec<Finding>) {
    let Some(territory) = &community.territory else {
        return;
    };
    let outside = window::difference(territory, &town.area);
    let area = area_m2(&outside);
    if area > cx.tolerances.gap_tolerance_m2 {
        out.push(Finding {
            kind: FindingKind::OutsideTown,
            severity: Severity::Fail,
            town_code: Some(town.code.clone()),
            codes: vec![community.code.clone(), town.code.clone()],
            area_m2: Some(area),
            rule: None,
            message: format!(
                "{area:.1} m² of {} {} lies outside its town {} {}",
                community.code, community.name, town.code, town.name
            ),
            suggestion: "cut the community back to its town's boundary, or move the town boundary"
                .to_owned(),
            geometry: Some(outside),
        });
    }
}

/// Communities whose bounding box touches `area`'s.
fn nearby_communities(cx: &Context, area: &MultiPolygon<f64>) -> Vec<usize> {
    let Some(b) = area.bounding_rect() else {
        return Vec::new();
    };
    cx.community_rings
        .iter()
        .enumerate()
        .filter_map(|(i, rings)| {
            let rb = rings.as_ref()?.bounds();
            let touches = rb.min().x <= b.max().x
                && b.min().x <= rb.max().x
                && rb.min().y <= b.max().y
                && b.min().y <= rb.max().y;
            touches.then_some(i)
        })
        .collect()
}

pub(super) fn without_territory(cx: &Context, out: &mut Vec<Finding>) {
    let r = cx.registry;
    for c in r.communities.iter().filter(|c| c.territory.is_none()) {
        let town = &r.towns[c.town];
        out.push(Finding {
            kind: FindingKind::NoTerritory,
            severity: Severity::Fail,
            town_code: Some(town.code.clone()),
            codes: vec![c.code.clone()],
            area_m2: None,
            rule: None,
            message: format!(
                "{} {} in {} has no defined territory ({} households, {} residents, {} workers)",
                c.code, c.name, town.name, c.counts.households, c.counts.population, c.workers
            ),
            suggestion:
                "define its territory: draw it, or assemble it from grids of its neighbours"
                    .to_owned(),
            geometry: None,
        });
    }
}
