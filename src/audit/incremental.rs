//! The audit of a registry after a local change (an approval), from the audit before it: the
//! findings of every check whose inputs the change did not touch are kept, the rest are found
//! again. The result is the report [`super::audit`] gives for the new registry (tests/
//! approval_incremental.rs compares the two as JSON).
//!
//! What each check reads, and so when its findings are kept:
//! - an overlap of two communities: their territories (and rings) only — kept unless one of the
//!   two was touched;
//! - a town's gaps and communities outside it: the town, its communities, and for a gap's
//!   suggestion every community whose box touches the gap (which lies inside the town's box) —
//!   kept unless the town was touched, holds a touched community, or its box meets the box of
//!   everything touched;
//! - a community's grid coverage: the community, its grids, and for a grid reaching beyond it
//!   the communities there — kept unless the community or one of its grids was touched or its
//!   box or one of its grids' boxes meets the box of everything touched (such a finding's first
//!   code is its community's or one of its grids', which start with the community's; a grid
//!   straddling into a touched community meets the touched box, since that box holds the
//!   touched community's whole area);
//! - a community's guideline checks: the community, its grids (their counts and codes) and the
//!   guidelines — kept unless the community or one of its grids was touched;
//! - communities without territory: cheap, found again for all.

use std::collections::HashSet;

use rayon::prelude::*;

use super::{AuditReport, Context, Finding, FindingKind, compliance, grids, report, territory};
use crate::geometry::Rings;
use crate::registry::{Registry, Touched};
use crate::rules::Guidelines;

/// The audit of `registry` (the registry `before` audited, changed as `touched` says), with its
/// communities' rings prepared (see [`super::audit_prepared`]).
pub fn audit_change(
    before: &AuditReport,
    registry: &Registry,
    guidelines: &Guidelines,
    community_rings: &[Option<Rings>],
    touched: &Touched,
) -> AuditReport {
    let cx = Context::new(registry, guidelines, community_rings);
    // Communities whose own checks run again: touched ones, and those with a touched grid.
    let community_digits = crate::registry::Level::Community.code_digits();
    let town_digits = crate::registry::Level::Town.code_digits();
    let dirty_codes: HashSet<&str> = touched
        .communities
        .iter()
        .map(String::as_str)
        .chain(
            touched
                .grids
                .iter()
                .filter_map(|g| g.get(..community_digits)),
        )
        .collect();
    let dirty: Vec<bool> = registry
        .communities
        .iter()
        .map(|c| dirty_codes.contains(c.code.as_str()))
        .collect();
    let meets = |area: &geo::MultiPolygon<f64>| {
        touched
            .bounds
            .zip(geo::BoundingRect::bounding_rect(area))
            .is_some_and(|(a, b)| {
                a.min().x <= b.max().x
                    && b.min().x <= a.max().x
                    && a.min().y <= b.max().y
                    && b.min().y <= a.max().y
            })
    };
    let recover: Vec<bool> = registry
        .communities
        .iter()
        .zip(&dirty)
        .map(|(c, &dirty)| {
            dirty
                || c.territory.as_deref().is_some_and(meets)
                || c.grids.iter().any(|&g| meets(&registry.grids[g].area))
        })
        .collect();
    let recover_codes: HashSet<&str> = registry
        .communities
        .iter()
        .zip(&recover)
        .filter(|(_, r)| **r)
        .map(|(c, _)| c.code.as_str())
        .chain(dirty_codes.iter().copied())
        .collect();
    let redo_towns: HashSet<&str> = registry
        .towns
        .iter()
        .filter(|t| {
            touched.towns.contains(&t.code)
                || dirty_codes
                    .iter()
                    .any(|c| c.get(..town_digits) == Some(&t.code))
                || meets(&t.area)
        })
        .map(|t| t.code.as_str())
        .collect();
    let names = |f: &Finding, set: &HashSet<&str>| {
        f.codes.iter().any(|code| {
            code.get(..community_digits)
                .is_some_and(|c| set.contains(c))
        })
    };
    let mut findings: Vec<Finding> = before
        .findings
        .iter()
        .filter(|f| match f.kind {
            FindingKind::CommunityOverlap => !names(f, &dirty_codes),
            FindingKind::UnassignedLand | FindingKind::Sliver | FindingKind::OutsideTown => !f
                .town_code
                .as_deref()
                .is_some_and(|t| redo_towns.contains(t)),
            FindingKind::NoTerritory => false,
            FindingKind::Guideline => !names(f, &dirty_codes),
            FindingKind::GridGap
            | FindingKind::GridOverlap
            | FindingKind::GridOutsideCommunity
            | FindingKind::GridStraddling => !f
                .codes
                .first()
                .and_then(|c| c.get(..community_digits))
                .is_some_and(|c| recover_codes.contains(c)),
        })
        .cloned()
        .collect();
    territory::overlaps(&cx, &|a, b| dirty[a] || dirty[b], &mut findings);
    let per_town: Vec<Vec<Finding>> = registry
        .towns
        .par_iter()
        .filter(|t| redo_towns.contains(t.code.as_str()))
        .map(|town| {
            let mut found = Vec::new();
            territory::town_gaps_and_outside(&cx, town, &mut found);
            found
        })
        .collect();
    findings.extend(per_town.into_iter().flatten());
    territory::without_territory(&cx, &mut findings);
    let per_community: Vec<Vec<Finding>> = (0..registry.communities.len())
        .into_par_iter()
        .filter(|&c| recover[c])
        .map(|c| {
            let mut found = Vec::new();
            grids::coverage(&cx, c, &mut found);
            found
        })
        .collect();
    findings.extend(per_community.into_iter().flatten());
    compliance::check(&cx, &|c| dirty[c], &mut findings);
    report(findings)
}
