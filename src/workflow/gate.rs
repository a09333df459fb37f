//! The approval gate: **an approval never makes the city worse.** Before an approval commits,
//! the coverage audit of the new version is compared with the audit of the current one; any
//! structural failing finding (overlap, unassigned land, outside town, no territory, grid
//! defects) that the current version does not have refuses the approval.
//!
//! Findings cannot be matched by their codes: an approval gives communities and grids new codes,
//! so a defect that only moved to new codes would look new. They are matched by kind and place:
//! a new finding is covered when the same kind of finding of the current version covers its
//! geometry up to the audit's tolerance. What is left over is new land the defect reaches, and
//! a defect that grew counts as new too. Findings without geometry (a community without
//! territory) are matched by kind and codes.
//!
//! Guideline findings (sizes, staffing, shape) are not part of the gate: the validation checks
//! every part against the guidelines, and a justified exception there is the guidelines' own way
//! to accept a size outside the range, while the audit counts every exception as failing.

use geo::{BooleanOps, BoundingRect, Intersects, MultiPolygon};

use crate::audit::{AuditReport, Finding, FindingKind};
use crate::geometry::measure::area_m2;

/// Whether `finding` is one the gate guards: failing and about the structure of the city (not a
/// guideline).
pub fn structural(finding: &Finding) -> bool {
    finding.is_failing() && finding.kind != FindingKind::Guideline
}

fn boxes_touch(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
    matches!((a.bounding_rect(), b.bounding_rect()), (Some(a), Some(b)) if a.intersects(&b))
}

/// The structural failing findings of `after` that `before` does not have, each with its
/// geometry (and `area_m2`) cut down to what is new when part of it was there before.
/// `tolerance_m2`: new land up to this size is noise (the audit's own gap/overlap tolerance).
pub fn new_failures(before: &AuditReport, after: &AuditReport, tolerance_m2: f64) -> Vec<Finding> {
    let old: Vec<&Finding> = before.findings.iter().filter(|f| structural(f)).collect();
    let mut fresh = Vec::new();
    for finding in after.findings.iter().filter(|f| structural(f)) {
        let same_kind = old.iter().filter(|o| o.kind == finding.kind);
        match &finding.geometry {
            None => {
                if !same_kind
                    .clone()
                    .any(|o| o.geometry.is_none() && o.codes == finding.codes)
                {
                    fresh.push(finding.clone());
                }
            }
            Some(geometry) => {
                let mut rest = geometry.clone();
                for o in same_kind {
                    if let Some(g) = o.geometry.as_ref().filter(|g| boxes_touch(&rest, g)) {
                        rest = rest.difference(g);
                    }
                }
                let area = area_m2(&rest);
                if area > tolerance_m2 {
                    let mut f = finding.clone();
                    if area + tolerance_m2 < finding.area_m2.unwrap_or(area) {
                        f.message = format!("{} ({area:.1} m² of it new)", f.message);
                    }
                    f.area_m2 = Some(area);
                    f.geometry = Some(rest);
                    fresh.push(f);
                }
            }
        }
    }
    fresh
}

/// The approval gate: refuses (409) when `after`, the audit of the new version, has a
/// structural failing finding that `before`, the audit of the current one, does not have.
pub fn refuse_worse(
    before: &AuditReport,
    after: &AuditReport,
    tolerance_m2: f64,
) -> Result<(), super::Refusal> {
    let fresh = new_failures(before, after, tolerance_m2);
    if fresh.is_empty() {
        return Ok(());
    }
    Err(super::Refusal::Conflict(
        crate::message::Message::new(
            "procedure.audit_worse",
            format!(
                "approving would make the city worse: the coverage audit of the new version has {} failing finding{} the current version does not have: {}",
                fresh.len(),
                if fresh.len() == 1 { "" } else { "s" },
                describe(&fresh)
            ),
        )
        .with("count", fresh.len()),
    ))
}

/// One line per finding, for the refusal: kind, town, codes, new area.
pub fn describe(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} in town {} ({}{}): {}",
                f.kind.as_str(),
                f.town_code.as_deref().unwrap_or("?"),
                f.codes.join(", "),
                f.area_m2
                    .map_or(String::new(), |a| format!(", {a:.1} m² new")),
                f.message
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Summary;
    use crate::rules::Severity;
    use geo::{Rect, coord};

    fn square(x: f64, y: f64, side: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![
            Rect::new(coord! {x: x, y: y}, coord! {x: x + side, y: y + side}).to_polygon(),
        ])
    }

    fn finding(
        kind: FindingKind,
        severity: Severity,
        codes: &[&str],
        geometry: Option<MultiPolygon<f64>>,
    ) -> Finding {
        Finding {
            kind,
            severity,
            town_code: Some("442000001".into()),
            codes: codes.iter().map(|c| c.to_string()).collect(),
            area_m2: geometry.as_ref().map(area_m2),
            rule: None,
            message: "m".into(),
            suggestion: String::new(),
            geometry,
        }
    }

    fn report(findings: Vec<Finding>) -> AuditReport {
        AuditReport {
            summary: Summary::default(),
            findings,
        }
    }

    #[test]
    fn a_defect_that_only_changed_codes_is_not_new_but_new_land_is() {
        // About 110 m a side: 0.001°.
        let gap = square(113.0, 22.0, 0.001);
        let before = report(vec![finding(
            FindingKind::UnassignedLand,
            Severity::Fail,
            &["442000001"],
            Some(gap.clone()),
        )]);
        let moved = report(vec![finding(
            FindingKind::UnassignedLand,
            Severity::Fail,
            &["442000001", "442000001009"],
            Some(gap.clone()),
        )]);
        assert!(new_failures(&before, &moved, 1.0).is_empty());
        // The same place, another kind: new.
        let outside = report(vec![finding(
            FindingKind::OutsideTown,
            Severity::Fail,
            &["442000005009"],
            Some(gap.clone()),
        )]);
        assert_eq!(new_failures(&before, &outside, 1.0).len(), 1);
        // The gap grew by half: only the new half is reported.
        let grown = report(vec![finding(
            FindingKind::UnassignedLand,
            Severity::Fail,
            &["442000001"],
            Some(gap.union(&square(113.001, 22.0, 0.001))),
        )]);
        let fresh = new_failures(&before, &grown, 1.0);
        assert_eq!(fresh.len(), 1);
        let expected = area_m2(&square(113.001, 22.0, 0.001));
        let got = fresh[0].area_m2.unwrap_or(0.0);
        assert!((got - expected).abs() < 1.0, "{got} vs {expected}");
        // A smaller defect is not new.
        let shrunk = report(vec![finding(
            FindingKind::UnassignedLand,
            Severity::Fail,
            &["442000001"],
            Some(square(113.0, 22.0, 0.0005)),
        )]);
        assert!(new_failures(&before, &shrunk, 1.0).is_empty());
    }

    #[test]
    fn warnings_and_guidelines_are_not_gated_and_codeless_findings_match_by_codes() {
        let none = report(vec![]);
        let after = report(vec![
            finding(
                FindingKind::Sliver,
                Severity::Warn,
                &["442000001"],
                Some(square(113.0, 22.0, 0.001)),
            ),
            finding(
                FindingKind::Guideline,
                Severity::Fail,
                &["442000001002"],
                None,
            ),
        ]);
        assert!(new_failures(&none, &after, 1.0).is_empty());
        let lost = finding(
            FindingKind::NoTerritory,
            Severity::Fail,
            &["442000001003"],
            None,
        );
        let before = report(vec![lost.clone()]);
        assert!(new_failures(&before, &report(vec![lost.clone()]), 1.0).is_empty());
        let other = finding(
            FindingKind::NoTerritory,
            Severity::Fail,
            &["442000001004"],
            None,
        );
        let fresh = new_failures(&before, &report(vec![lost, other]), 1.0);
        assert_eq!(fresh.len(), 1);
        assert!(describe(&fresh).contains("no_territory in town 442000001 (442000001004)"));
    }
}
