//! One plan as a candidate: its parts built from whole grids into an ordinary split proposal
//! (names, the parent's code and office on the part holding the office, required staffing and
//! space), parsed and checked by the ordinary validation engine.
//!
//! The proposal is written here rather than by [`crate::rules::split_by_groups`]: that helper
//! shares the parent's workers and office space out by households, estimated by intersecting
//! every grid with every part (8 parts × 64 grids of geodesic areas for 城南, a third of a
//! candidate's time), and the assistant overwrites those figures with what each part requires
//! anyway. Part outlines are the same union of the grids' polygons as that helper makes.

use geo::{Contains, InteriorPoint, MultiPolygon, unary_union};
use serde_json::{Value, json};

use super::graph::GridGraph;
use super::score::{self, Score};
use super::{Candidate, PartSummary, SuggestError, band, needs, required_problems};
use crate::geometry::geojson::area_to_geojson;
use crate::registry::{Community, Registry};
use crate::rules::guidelines::Guidelines;
use crate::rules::proposal::parse;
use crate::rules::validate::{RegistryBoxes, validate_with};

/// What every candidate of one request shares.
pub(super) struct Context<'a> {
    pub registry: &'a Registry,
    pub guidelines: &'a Guidelines,
    pub community: &'a Community,
    pub graph: &'a GridGraph,
    pub k: usize,
    /// The registry's boxes and grid areas, built once for all candidates.
    pub boxes: &'a RegistryBoxes,
}

impl Context<'_> {
    /// Plan `plan` (part per graph node, parts `0..k`) as the candidate of rank `rank`.
    pub fn candidate(
        &self,
        plan: &[usize],
        rank: usize,
        score: Score,
    ) -> Result<Candidate, SuggestError> {
        let (registry, graph, community) = (self.registry, self.graph, self.community);
        let nodes: Vec<Vec<usize>> = (0..self.k)
            .map(|p| (0..graph.len()).filter(|&v| plan[v] == p).collect())
            .collect();
        let sums = score::PartSums::of(graph, plan, self.k);
        let parts = PlanParts {
            guidelines: self.guidelines,
            community,
            office_part: office_part(registry, community, graph, plan, &sums),
            band: band(self.guidelines, community),
            sums,
        };
        let (mut summaries, mut features) = (Vec::new(), Vec::new());
        let mut new_number = 0;
        for (p, group) in nodes.iter().enumerate() {
            if p != parts.office_part {
                new_number += 1;
            }
            let codes = super::node_codes(registry, graph, group);
            let summary = parts.summary(p, new_number, &codes);
            let area = unary_union(
                group
                    .iter()
                    .flat_map(|&v| registry.grids[graph.grids[v]].area.0.iter()),
            );
            features.push(parts.feature(&area, &summary));
            summaries.push(summary);
        }
        let proposal = json!({"type": "FeatureCollection",
               "proposal": {"kind": "split", "title": format!("{}拆分", community.name),
                            "parents": [community.code]},
               "features": features});
        let parsed = parse(&proposal, registry, &self.guidelines.plausible)
            .map_err(|e| SuggestError::Invalid("community", e.to_string()))?;
        let report = validate_with(&parsed, registry, self.guidelines, self.boxes);
        let problems = required_problems(&report);
        Ok(Candidate {
            rank,
            score,
            passes: problems.is_empty(),
            verdict: report.verdict,
            problems,
            parts: summaries,
            proposal,
            report: report.to_json(),
        })
    }
}

/// The part whose grids hold the parent's office keeps the parent; else the biggest part.
pub(super) fn office_part(
    registry: &Registry,
    community: &Community,
    graph: &GridGraph,
    plan: &[usize],
    sums: &score::PartSums,
) -> usize {
    community
        .office
        .and_then(|o| (0..graph.len()).find(|&v| registry.grids[graph.grids[v]].area.contains(&o)))
        .map(|v| plan[v])
        .unwrap_or_else(|| {
            (0..sums.households.len())
                .max_by_key(|&p| (sums.households[p], std::cmp::Reverse(p)))
                .unwrap_or(0)
        })
}

/// The parts of one plan: their sums and which keeps the parent.
struct PlanParts<'a> {
    guidelines: &'a Guidelines,
    community: &'a Community,
    office_part: usize,
    band: (f64, f64),
    sums: score::PartSums,
}

impl PlanParts<'_> {
    /// Part `p` (the `new_number`-th new part, unless it keeps the parent) with its grids.
    fn summary(&self, p: usize, new_number: usize, grids: &[String]) -> PartSummary {
        let c = self.community;
        let keeps = p == self.office_part;
        let name = if keeps {
            c.name.clone()
        } else {
            format!("{}（新{new_number}）", c.name)
        };
        let (h, population) = (self.sums.households[p], self.sums.population[p]);
        let pp = if self.sums.perimeter_m[p] > 0.0 {
            4.0 * std::f64::consts::PI * self.sums.area_m2[p] / self.sums.perimeter_m[p].powi(2)
        } else {
            0.0
        };
        let (lo, hi) = self.band;
        PartSummary {
            name,
            code: keeps.then(|| c.code.clone()),
            keeps_parent: keeps,
            grids: grids.to_vec(),
            households: h,
            population,
            needs: needs(self.guidelines, c, h, population),
            polsby_popper: pp,
            in_band: (h as f64) >= lo && (h as f64) <= hi,
        }
    }

    /// Part `part` as a proposal feature over `area`: its name, the staffing and space it
    /// requires, and on the part that keeps the parent, the parent's code and office (other
    /// parts get an office point inside them, to move).
    fn feature(&self, area: &MultiPolygon<f64>, part: &PartSummary) -> Value {
        let c = self.community;
        let office = match (part.keeps_parent, c.office) {
            (true, Some(o)) => Some(json!([o.x(), o.y()])),
            _ => area.interior_point().map(|p| json!([p.x(), p.y()])),
        };
        let mut properties = json!({"name": part.name, "kind": c.kind.as_str(),
                                    "workers": part.needs.workers,
                                    "office_area_m2": part.needs.office_area_m2,
                                    "office": office, "staffing": "required"});
        if part.keeps_parent
            && let Some(props) = properties.as_object_mut()
        {
            props.insert("code".into(), json!(c.code));
        }
        json!({"type": "Feature", "properties": properties,
               "geometry": area_to_geojson(area, None)})
    }
}
