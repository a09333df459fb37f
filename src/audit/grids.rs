//! Grid-level coverage: grids must tile their community — no gaps, no overlaps, nothing outside
//! it (and if outside, which other community they reach into, with the share on each side).

use geo::{BooleanOps, MultiPolygon, unary_union};

use super::finding::{Finding, FindingKind};
use super::{Context, border_eps, boxes_touch};
use crate::geometry::Rings;
use crate::geometry::measure::{area_m2, border_lengths, longest_border};
use crate::rules::Severity;

/// The grids of one community, each with its area.
type Grids<'a> = [(usize, &'a MultiPolygon<f64>)];

pub(super) fn coverage(cx: &Context, community: usize, out: &mut Vec<Finding>) {
    let r = cx.registry;
    let c = &r.communities[community];
    let Some(territory) = c.territory.as_deref() else {
        return;
    };
    let grids: Vec<(usize, &MultiPolygon<f64>)> =
        c.grids.iter().map(|&g| (g, &*r.grids[g].area)).collect();
    let union = unary_union(grids.iter().flat_map(|(_, a)| a.0.iter()));
    let uncovered = territory.difference(&union);
    gaps(cx, community, &grids, &uncovered, out);
    let (summed, union_area): (f64, f64) =
        (grids.iter().map(|(_, a)| area_m2(a)).sum(), area_m2(&union));
    if summed - union_area > cx.tolerances.overlap_tolerance_m2 {
        overlaps(cx, community, &grids, out);
    }
    // The grids' land outside the territory, by areas rather than a second overlay:
    // |U − T| = |U| − |U ∩ T| = |U| − (|T| − |T − U|).
    let beyond = union_area - (area_m2(territory) - area_m2(&uncovered));
    if beyond > cx.tolerances.gap_tolerance_m2 {
        for &(g, area) in &grids {
            outside(cx, community, g, area, out);
        }
    }
}

/// Land of the community none of its grids covers.
fn gaps(
    cx: &Context,
    community: usize,
    grids: &Grids,
    uncovered: &MultiPolygon<f64>,
    out: &mut Vec<Finding>,
) {
    let r = cx.registry;
    let c = &r.communities[community];
    for polygon in uncovered.iter().cloned() {
        let part = MultiPolygon(vec![polygon]);
        let area = area_m2(&part);
        if area <= cx.tolerances.gap_tolerance_m2 {
            continue;
        }
        let rings: Vec<Option<Rings>> = grids.iter().map(|(_, a)| Rings::new(a)).collect();
        let present: Vec<(usize, &Rings)> = grids
            .iter()
            .zip(&rings)
            .filter_map(|((g, _), rings)| Some((*g, rings.as_ref()?)))
            .collect();
        let lengths = border_lengths(
            &part,
            &present.iter().map(|(_, r)| *r).collect::<Vec<_>>(),
            border_eps(),
        );
        let owner = longest_border(&lengths).map(|i| &r.grids[present[i].0]);
        out.push(Finding {
            kind: FindingKind::GridGap,
            severity: Severity::Fail,
            town_code: Some(r.towns[c.town].code.clone()),
            codes: std::iter::once(c.code.clone())
                .chain(owner.map(|g| g.code.clone()))
                .collect(),
            area_m2: Some(area),
            rule: None,
            message: format!(
                "{area:.1} m² of {} {} is in none of its grids",
                c.code, c.name
            ),
            suggestion: owner.map_or("draw a grid over it".to_owned(), |g| {
                format!(
                    "add it to grid {} {}, which borders it longest",
                    g.code, g.name
                )
            }),
            geometry: Some(part),
        });
    }
}

/// Grids of the community that overlap each other.
fn overlaps(cx: &Context, community: usize, grids: &Grids, out: &mut Vec<Finding>) {
    let r = cx.registry;
    let town_code = &r.towns[r.communities[community].town].code;
    for (i, &(ga, a)) in grids.iter().enumerate() {
        for &(gb, b) in &grids[i + 1..] {
            if !boxes_touch(a, b) {
                continue;
            }
            let overlap = a.intersection(b);
            let area = area_m2(&overlap);
            if area > cx.tolerances.overlap_tolerance_m2 {
                let (ga, gb) = (&r.grids[ga], &r.grids[gb]);
                out.push(Finding {
                    kind: FindingKind::GridOverlap,
                    severity: Severity::Fail,
                    town_code: Some(town_code.clone()),
                    codes: vec![ga.code.clone(), gb.code.clone()],
                    area_m2: Some(area),
                    rule: None,
                    message: format!("grids {} and {} overlap by {area:.1} m²", ga.code, gb.code),
                    suggestion: "cut the overlap from one of the two grids".to_owned(),
                    geometry: Some(overlap),
                });
            }
        }
    }
}

/// Grid `g` (of area `area`) reaching beyond its community: into which other communities, and
/// what lies in none.
fn outside(
    cx: &Context,
    community: usize,
    g: usize,
    area: &MultiPolygon<f64>,
    out: &mut Vec<Finding>,
) {
    let r = cx.registry;
    let c = &r.communities[community];
    let Some(territory) = c.territory.as_deref() else {
        return;
    };
    let outside = area.difference(territory);
    if area_m2(&outside) <= cx.tolerances.gap_tolerance_m2 {
        return;
    }
    let elsewhere = straddling(cx, community, g, &outside, out);
    let nowhere = area_m2(&elsewhere);
    if nowhere > cx.tolerances.gap_tolerance_m2 {
        let grid = &r.grids[g];
        out.push(Finding {
            kind: FindingKind::GridOutsideCommunity,
            severity: Severity::Fail,
            town_code: Some(r.towns[c.town].code.clone()),
            codes: vec![grid.code.clone(), c.code.clone()],
            area_m2: Some(nowhere),
            rule: None,
            message: format!(
                "{nowhere:.1} m² of grid {} {} lies outside its community {} {}",
                grid.code, grid.name, c.code, c.name
            ),
            suggestion: "cut the grid back to its community's boundary".to_owned(),
            geometry: Some(elsewhere),
        });
    }
}

/// The part `outside` of grid `g` that lies in other communities, one finding each; returns
/// what lies in none.
fn straddling(
    cx: &Context,
    community: usize,
    g: usize,
    outside: &MultiPolygon<f64>,
    out: &mut Vec<Finding>,
) -> MultiPolygon<f64> {
    let r = cx.registry;
    let (c, grid) = (&r.communities[community], &r.grids[g]);
    let total = area_m2(&grid.area);
    let outside_area = area_m2(outside);
    let mut elsewhere = outside.clone();
    for (k, other) in r.communities.iter().enumerate() {
        let Some(other_area) = other
            .territory
            .as_deref()
            .filter(|o| k != community && boxes_touch(o, outside))
        else {
            continue;
        };
        let shared = outside.intersection(other_area);
        let shared_area = area_m2(&shared);
        if shared_area <= cx.tolerances.overlap_tolerance_m2 {
            continue;
        }
        elsewhere = elsewhere.difference(other_area);
        let share = shared_area / total;
        out.push(Finding {
            kind: FindingKind::GridStraddling,
            severity: Severity::Fail,
            town_code: Some(r.towns[c.town].code.clone()),
            codes: vec![grid.code.clone(), c.code.clone(), other.code.clone()],
            area_m2: Some(shared_area),
            rule: None,
            message: format!(
                "grid {} {} straddles {} {} ({:.1}%) and {} {} ({:.1}%, {shared_area:.1} m²)",
                grid.code,
                grid.name,
                c.code,
                c.name,
                100.0 * (1.0 - outside_area / total),
                other.code,
                other.name,
                100.0 * share
            ),
            suggestion: if share < 0.5 {
                format!("cut the part in {} from the grid", other.code)
            } else {
                format!(
                    "move the grid to {} or split it along the community boundary",
                    other.code
                )
            },
            geometry: Some(shared),
        });
    }
    elsewhere
}
