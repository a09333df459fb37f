//! One plan as a candidate: its parts built from whole grids into an ordinary proposal (a split,
//! a merge or an adjustment), with names, the parents' codes and offices on the parts that keep
//! them, and required staffing and space; parsed and checked by the ordinary validation engine.
//!
//! The proposal is written here rather than by [`crate::rules::split_by_groups`]: that helper
//! shares the parent's workers and office space out by households, estimated by intersecting
//! every grid with every part (8 parts × 64 grids of geodesic areas for 城南, a third of a
//! candidate's time), and the assistant overwrites those figures with what each part requires
//! anyway. Part outlines are the same union of the grids' polygons as that helper makes.

use std::collections::HashMap;
use std::sync::Mutex;

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
    /// The proposal's parents: the community to split, or the communities merged or adjusted.
    pub parents: Vec<&'a Community>,
    /// `split`, `merge` or `adjust`.
    pub kind: &'static str,
    pub graph: &'a GridGraph,
    pub k: usize,
    /// The registry's boxes and grid areas, built once for all candidates.
    pub boxes: &'a RegistryBoxes,
    /// Part outlines already built for `graph`.
    pub outlines: &'a Outlines,
}

/// Part outlines (the union of the part's grids) by the part's graph nodes, for one graph.
/// Candidates of one request share most of their parts (the 20 for 城南 have about 43 distinct
/// parts among 160), and the union is the costliest step of writing a part.
#[derive(Default)]
pub(super) struct Outlines(Mutex<HashMap<Vec<usize>, MultiPolygon<f64>>>);

impl Outlines {
    /// The union of the grids of `nodes` (graph nodes, in order).
    fn of(&self, registry: &Registry, graph: &GridGraph, nodes: &[usize]) -> MultiPolygon<f64> {
        if let Some(known) = self.0.lock().ok().and_then(|m| m.get(nodes).cloned()) {
            return known;
        }
        let area = unary_union(
            nodes
                .iter()
                .flat_map(|&v| registry.grids[graph.grids[v]].area.0.iter()),
        );
        if let Ok(mut m) = self.0.lock() {
            m.insert(nodes.to_vec(), area.clone());
        }
        area
    }
}

impl Context<'_> {
    /// Plan `plan` (part per graph node, parts `0..k`) as the candidate of rank `rank`; part `p`
    /// keeps parent `keeps[p]` (its name, code and office), if any.
    pub fn candidate(
        &self,
        plan: &[usize],
        keeps: &[Option<usize>],
        rank: usize,
        score: Score,
    ) -> Result<Candidate, SuggestError> {
        let (registry, graph) = (self.registry, self.graph);
        let nodes: Vec<Vec<usize>> = (0..self.k)
            .map(|p| (0..graph.len()).filter(|&v| plan[v] == p).collect())
            .collect();
        let sums = score::PartSums::of(graph, plan, self.k);
        let (mut summaries, mut features) = (Vec::new(), Vec::new());
        let mut new_number = 0;
        for (p, group) in nodes.iter().enumerate() {
            let keeps = keeps.get(p).copied().flatten();
            if keeps.is_none() {
                new_number += 1;
            }
            let codes = super::node_codes(registry, graph, group);
            let summary = self.summary(&sums, p, keeps, new_number, codes);
            let area = self.outlines.of(registry, graph, group);
            features.push(self.feature(&area, &summary, keeps));
            summaries.push(summary);
        }
        let first = self.parents.first().map_or("", |c| c.name.as_str());
        let title = match self.kind {
            "merge" => format!("{first}合并"),
            "adjust" => format!("{first}边界调整"),
            _ => format!("{first}拆分"),
        };
        let parents: Vec<&str> = self.parents.iter().map(|c| c.code.as_str()).collect();
        let proposal = json!({"type": "FeatureCollection",
               "proposal": {"kind": self.kind, "title": title, "parents": parents},
               "features": features});
        let parsed = parse(&proposal, registry, &self.guidelines.plausible)
            .map_err(|e| SuggestError::Invalid("community", e.to_string()))?;
        let report = validate_with(&parsed, registry, self.guidelines, self.boxes);
        let problems = required_problems(&report);
        Ok(Candidate {
            rank,
            kind: self.kind,
            score,
            passes: problems.is_empty(),
            verdict: report.verdict,
            problems,
            parts: summaries,
            proposal,
            report: report.to_json(),
        })
    }

    /// The community whose kind and rules a part takes: the parent it keeps, else the first.
    fn parent(&self, keeps: Option<usize>) -> Option<&Community> {
        keeps
            .and_then(|i| self.parents.get(i))
            .or(self.parents.first())
            .copied()
    }

    /// Part `p` (the `new_number`-th new part, unless it keeps a parent) with its grids.
    fn summary(
        &self,
        sums: &score::PartSums,
        p: usize,
        keeps: Option<usize>,
        new_number: usize,
        grids: Vec<String>,
    ) -> PartSummary {
        let kept = keeps.and_then(|i| self.parents.get(i));
        let base = self.parent(keeps);
        let name = match (kept, base) {
            (Some(c), _) => c.name.clone(),
            (None, Some(c)) => format!("{}（新{new_number}）", c.name),
            (None, None) => format!("新{new_number}"),
        };
        let (h, population) = (sums.households[p], sums.population[p]);
        let pp = if sums.perimeter_m[p] > 0.0 {
            4.0 * std::f64::consts::PI * sums.area_m2[p] / sums.perimeter_m[p].powi(2)
        } else {
            0.0
        };
        let (lo, hi) = base.map_or((0.0, f64::INFINITY), |c| band(self.guidelines, c));
        PartSummary {
            name,
            code: kept.map(|c| c.code.clone()),
            keeps_parent: kept.is_some(),
            grids,
            households: h,
            population,
            needs: base.map_or(
                super::Needs {
                    workers: 0,
                    office_area_m2: 0.0,
                },
                |c| needs(self.guidelines, c, h, population),
            ),
            polsby_popper: pp,
            in_band: (h as f64) >= lo && (h as f64) <= hi,
        }
    }

    /// Part `part` as a proposal feature over `area`: its name, the staffing and space it
    /// requires, and on a part that keeps a parent, the parent's code and its office when the
    /// office lies in the part (other parts get an office point inside them, to move).
    fn feature(&self, area: &MultiPolygon<f64>, part: &PartSummary, keeps: Option<usize>) -> Value {
        let base = self.parent(keeps);
        let kept_office = keeps
            .and_then(|i| self.parents.get(i))
            .and_then(|c| c.office)
            .filter(|o| area.contains(o));
        let office = match kept_office {
            Some(o) => Some(json!([o.x(), o.y()])),
            None => area.interior_point().map(|p| json!([p.x(), p.y()])),
        };
        let kind = base.map_or("community", |c| c.kind.as_str());
        let mut properties = json!({"name": part.name, "kind": kind,
                                    "workers": part.needs.workers,
                                    "office_area_m2": part.needs.office_area_m2,
                                    "office": office, "staffing": "required"});
        if let (Some(code), Some(props)) = (&part.code, properties.as_object_mut()) {
            props.insert("code".into(), json!(code));
        }
        json!({"type": "Feature", "properties": properties,
               "geometry": area_to_geojson(area, None)})
    }
}

/// The part of a split whose grids hold the parent's office keeps the parent; else the biggest
/// part.
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
