//! City-wide coverage audit: "where is the boundary data wrong, and what should be done?"
//!
//! Pure domain code over a registry snapshot and the guidelines: community overlaps, unassigned
//! land and slivers, communities outside their town or without territory, grids that do not tile
//! their community, and guideline compliance. Every finding has a kind, a severity, the codes
//! involved, a geodesic area and geometry where it has one, and a suggested fix.

mod compliance;
mod finding;
mod grids;
mod incremental;
mod territory;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use geo::{BoundingRect, MultiPolygon};
use rayon::prelude::*;
use rstar::primitives::Rectangle;
use serde::Serialize;

pub use finding::{Finding, FindingKind, RuleCheck};
pub use incremental::audit_change;

use crate::geometry::Rings;
use crate::registry::Registry;
use crate::rules::{AuditTolerances, Guidelines};

/// The audit of one registry snapshot.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AuditReport {
    pub summary: Summary,
    pub findings: Vec<Finding>,
}

/// Counts of findings, for a dashboard and the CLI's exit code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub findings: usize,
    pub failing: usize,
    pub by_kind: BTreeMap<&'static str, usize>,
    pub by_severity: BTreeMap<&'static str, usize>,
    /// Total unassigned land (gaps and slivers) and overlap between communities, in m².
    pub unassigned_m2: f64,
    pub overlap_m2: f64,
}

impl AuditReport {
    /// Whether any finding should fail a data check.
    pub fn has_failures(&self) -> bool {
        self.summary.failing > 0
    }
}

/// What the checks share.
struct Context<'a> {
    registry: &'a Registry,
    guidelines: &'a Guidelines,
    tolerances: AuditTolerances,
    /// Prepared community rings by community index (for border lengths).
    community_rings: &'a [Option<Rings>],
}

impl<'a> Context<'a> {
    fn new(
        registry: &'a Registry,
        guidelines: &'a Guidelines,
        community_rings: &'a [Option<Rings>],
    ) -> Self {
        Context {
            registry,
            guidelines,
            tolerances: guidelines.audit,
            community_rings,
        }
    }
}

/// Every community's territory prepared as [`Rings`] (`None` without territory), as the audit
/// reads them; a snapshot's spatial index holds the same ([`crate::index::SpatialIndex::community_rings`]).
pub fn community_rings(registry: &Registry) -> Vec<Option<Rings>> {
    registry
        .communities
        .par_iter()
        .map(|c| c.territory.as_deref().and_then(Rings::new))
        .collect()
}

/// Boundaries within this many degrees (~1 cm) count as the same line.
fn border_eps() -> f64 {
    1e-7
}

fn bbox_of(area: &MultiPolygon<f64>) -> Option<Rectangle<[f64; 2]>> {
    let b = area.bounding_rect()?;
    Some(Rectangle::from_corners(
        [b.min().x, b.min().y],
        [b.max().x, b.max().y],
    ))
}

fn boxes_touch(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
    match (a.bounding_rect(), b.bounding_rect()) {
        (Some(a), Some(b)) => {
            a.min().x <= b.max().x
                && b.min().x <= a.max().x
                && a.min().y <= b.max().y
                && b.min().y <= a.max().y
        }
        _ => false,
    }
}

/// Audits `registry`. `progress(done, total)` is called as communities are checked (the slow
/// part), so a terminal can show a progress bar.
///
/// Towns and communities are checked on rayon's threads (each on its own, in any order); the
/// findings are put together in registry order and then sorted, so the report is the same
/// whatever the threads did.
pub fn audit(
    registry: &Registry,
    guidelines: &Guidelines,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> AuditReport {
    audit_prepared(registry, guidelines, &community_rings(registry), progress)
}

/// [`audit`] with the communities' rings prepared already (`community_rings`, by community
/// index, as [`community_rings`] makes them): a snapshot passes its spatial index's, so the
/// audit neither prepares them again nor holds a second copy (at ×100, ≈ 0.2 GB while an
/// approval is audited; issue 20).
pub fn audit_prepared(
    registry: &Registry,
    guidelines: &Guidelines,
    community_rings: &[Option<Rings>],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> AuditReport {
    let cx = Context::new(registry, guidelines, community_rings);
    let mut findings = Vec::new();
    territory::overlaps(&cx, &|_, _| true, &mut findings);
    territory::gaps_and_outside(&cx, &mut findings);
    territory::without_territory(&cx, &mut findings);
    let total = registry.communities.len();
    let done = AtomicUsize::new(0);
    let per_community: Vec<Vec<Finding>> = (0..total)
        .into_par_iter()
        .map(|c| {
            let mut found = Vec::new();
            grids::coverage(&cx, c, &mut found);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            found
        })
        .collect();
    findings.extend(per_community.into_iter().flatten());
    compliance::check(&cx, &|_| true, &mut findings);
    report(findings)
}

/// The report of `findings` (in the order the checks produced them): sorted, with its summary.
/// The sort is stable, so findings alike in town, kind, codes and severity keep their order.
fn report(mut findings: Vec<Finding>) -> AuditReport {
    findings.sort_by(|a, b| {
        (&a.town_code, a.kind, &a.codes, b.severity).cmp(&(
            &b.town_code,
            b.kind,
            &b.codes,
            a.severity,
        ))
    });
    let mut summary = Summary {
        findings: findings.len(),
        failing: findings.iter().filter(|f| f.is_failing()).count(),
        ..Summary::default()
    };
    for f in &findings {
        *summary.by_kind.entry(f.kind.as_str()).or_default() += 1;
        *summary.by_severity.entry(f.severity.as_str()).or_default() += 1;
        match f.kind {
            FindingKind::UnassignedLand | FindingKind::Sliver => {
                summary.unassigned_m2 += f.area_m2.unwrap_or(0.0)
            }
            FindingKind::CommunityOverlap => summary.overlap_m2 += f.area_m2.unwrap_or(0.0),
            _ => {}
        }
    }
    AuditReport { summary, findings }
}
