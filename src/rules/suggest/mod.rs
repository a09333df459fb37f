//! The split assistant: guideline-compliant splits of an oversized community, proposed rather
//! than drawn by trial and error.
//!
//! A community's grids form a graph (grids sharing a boundary of positive length are
//! neighbours, [`graph`]). Parts are unions of whole grids, connected in that graph. Plans are
//! found by ReCom over the graph, optimised by short bursts and finished by local boundary
//! moves ([`recom`]), scored on the graph alone ([`score`]), and only the best `count` distinct
//! plans are built into ordinary split proposals from whole grids ([`candidate`]) and checked by
//! the ordinary validation engine, whose report each candidate carries — in parallel, with the
//! registry's boxes built once and repeated parts validated once
//! ([`super::validate::RegistryBoxes`]).
//!
//! A community below the band gets merges with and grids from its neighbours instead
//! ([`merge`]), as ordinary `merge` and `adjust` proposals.
//!
//! Staffing and office space are not invented: each part states what the guidelines require
//! for it (workers from residents, office space from households), marked `"staffing":
//! "required"`, and the answer says how far that is from what the parent has.

mod candidate;
mod graph;
mod isolation;
mod merge;
mod recom;
mod score;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

pub use graph::GridGraph;
pub use recom::{Constraints, Rng, canonical, improve, recombine, repair, seed_plan};
pub use score::{Score, Weights, score};

use super::guidelines::{Guidelines, RuleId};
use super::validate::{RegistryBoxes, Report, Verdict};
use crate::registry::{Community, Registry};

/// The seed used when the request gives none.
pub const DEFAULT_SEED: u64 = 20_260_101;
/// Candidates returned when the request does not say.
pub const DEFAULT_COUNT: usize = 5;
/// Most candidates one request may ask for.
pub const MAX_COUNT: usize = 50;
/// Recombination steps per request, and per short burst.
const STEPS: usize = 1_500;
const BURST: usize = 10;
/// Seed-plan attempts before the band is declared out of reach.
const SEED_ATTEMPTS: usize = 20;
/// Rounds of local search repairing a plan into the band when no seed plan meets it.
const REPAIR_ROUNDS: usize = 3_000;
/// Rounds of (seed, else repair) before a band that nothing blocks is declared out of reach.
const START_ROUNDS: usize = 4;

/// How many parts to split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    /// The smallest number that can meet the household band.
    Auto,
    Exactly(usize),
}

/// What to propose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A split above the band's minimum, merges and adjustments below it.
    Auto,
    Split,
    /// Merges with a neighbour of the same town, or grids moved from one ([`merge`]).
    Merge,
}

/// What the official asks for.
#[derive(Debug, Clone)]
pub struct SuggestRequest {
    pub community: String,
    pub kind: Kind,
    pub parts: Parts,
    /// Grid code → part number (1-based): the grid stays in that part.
    pub locked: BTreeMap<String, usize>,
    pub weights: Weights,
    pub count: usize,
    pub seed: u64,
}

impl SuggestRequest {
    pub fn new(community: &str) -> Self {
        SuggestRequest {
            community: community.to_owned(),
            kind: Kind::Auto,
            parts: Parts::Auto,
            locked: BTreeMap::new(),
            weights: Weights::default(),
            count: DEFAULT_COUNT,
            seed: DEFAULT_SEED,
        }
    }
}

/// Why no suggestion can be computed at all (as opposed to an infeasible band, which is an
/// answer with `feasible: false`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuggestError {
    #[error("unknown community {0}")]
    UnknownCommunity(String),
    #[error("community {0} has no defined territory to split")]
    NoTerritory(String),
    #[error("community {0} has no grids to build parts from")]
    NoGrids(String),
    /// A request field is wrong: (field, message).
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
}

/// A grid or a constraint that keeps plans out of the band, and why.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Blocking {
    pub constraint: &'static str,
    pub grids: Vec<String>,
    pub reason: String,
}

/// What the guidelines require a part to have (not what it has).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Needs {
    pub workers: u32,
    pub office_area_m2: f64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PartSummary {
    pub name: String,
    /// The parent's code, on the part that keeps the parent's office.
    pub code: Option<String>,
    pub keeps_parent: bool,
    pub grids: Vec<String>,
    pub households: u64,
    pub population: u64,
    pub needs: Needs,
    pub polsby_popper: f64,
    pub in_band: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Candidate {
    pub rank: usize,
    /// The proposal's kind: `split`, `merge` or `adjust`.
    pub kind: &'static str,
    pub score: Score,
    /// Every households, territory, staffing and office check of the validation report passes
    /// (warnings such as compactness or grid sizes aside).
    pub passes: bool,
    pub verdict: Verdict,
    /// Checks of the report that did not pass, as `rule: message` (with the part's name).
    pub problems: Vec<String>,
    pub parts: Vec<PartSummary>,
    /// A complete split proposal, ready to store, edit and validate.
    pub proposal: Value,
    /// The ordinary validation report of `proposal`.
    pub report: Value,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Band {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Method {
    pub name: &'static str,
    pub seed: u64,
    pub steps: usize,
    pub burst: usize,
    pub distinct_plans_seen: usize,
    /// Whether the chain ran with the band relaxed because no plan within it was found.
    pub relaxed: bool,
}

/// The assistant's answer for one community.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Suggestion {
    pub mode: &'static str,
    pub community: String,
    pub name: String,
    pub households: u64,
    pub population: u64,
    pub grids: usize,
    pub band: Band,
    pub parts: usize,
    pub auto: bool,
    /// At least one candidate passes every size, territory, staffing and office check.
    pub feasible: bool,
    pub blocking: Vec<Blocking>,
    pub notes: Vec<String>,
    pub method: Method,
    pub candidates: Vec<Candidate>,
}

/// The households band of `c`'s kind.
fn band(guidelines: &Guidelines, c: &Community) -> (f64, f64) {
    guidelines
        .rule(c.kind, RuleId::Households)
        .map_or((0.0, f64::INFINITY), |r| {
            (r.min.unwrap_or(0.0), r.max.unwrap_or(f64::INFINITY))
        })
}

/// What a part of `households` and `population` needs under the rules for `c`'s kind.
fn needs(guidelines: &Guidelines, c: &Community, households: u64, population: u64) -> Needs {
    let min = |id| guidelines.rule(c.kind, id).and_then(|r| r.min);
    let workers = min(RuleId::WorkersPer10kResidents)
        .map_or(0.0, |m| (population as f64 * m / 10_000.0).ceil());
    let by_households = min(RuleId::OfficeM2Per100Households)
        .map_or(0.0, |m| (households as f64 * m / 100.0).ceil());
    let total = min(RuleId::OfficeM2Total).map_or(0.0, f64::ceil);
    Needs {
        workers: workers as u32,
        office_area_m2: by_households.max(total),
    }
}

/// Rules a suggested plan must pass (warnings on compactness and grid sizes aside).
const REQUIRED: [&str; 11] = [
    "households",
    "contiguous",
    "inside_one_town",
    "no_overlap_with_other_communities",
    "grids_not_cut",
    "workers_per_10k_residents",
    "office_m2_per_100_households",
    "office_m2_total",
    "parts_do_not_overlap",
    "parts_cover_parents",
    "parts_within_parents",
];

/// The checks of `report` among [`REQUIRED`] that do not pass.
pub fn required_problems(report: &Report) -> Vec<String> {
    let parts = report
        .parts
        .iter()
        .flat_map(|p| p.checks.iter().map(move |c| (Some(&p.name), c)));
    parts
        .chain(report.checks.iter().map(|c| (None, c)))
        .filter(|(_, c)| REQUIRED.contains(&c.rule.as_str()) && c.verdict != Verdict::Pass)
        .map(|(part, c)| match part {
            Some(name) => format!("{name}: {}: {}", c.rule, c.message),
            None => format!("{}: {}", c.rule, c.message),
        })
        .collect()
}

/// Parts per connected component: the fewest that can hold its households, and the most that
/// can each reach the band minimum.
fn component_bounds(h: u64, n: usize, lo: f64, hi: f64) -> (usize, usize) {
    let least = if hi.is_finite() {
        ((h as f64 / hi).ceil() as usize).max(1)
    } else {
        1
    };
    let most = if lo > 0.0 {
        ((h as f64 / lo).floor() as usize).min(n)
    } else {
        n
    };
    (least, most)
}

/// Suggests splits of `request.community`.
pub fn suggest(
    registry: &Registry,
    guidelines: &Guidelines,
    request: &SuggestRequest,
) -> Result<Suggestion, SuggestError> {
    let (ci, community) = requested_community(registry, request)?;
    let (lo, hi) = band(guidelines, community);
    let below = (community
        .grids
        .iter()
        .map(|&g| registry.grids[g].counts.households)
        .sum::<u64>() as f64)
        < lo;
    if request.kind == Kind::Merge || (request.kind == Kind::Auto && below) {
        return merge::suggest_merges(registry, guidelines, request, ci);
    }
    let graph = GridGraph::new(registry, &community.grids);
    let components = graph.components(|_| true);
    let mut blocking: Vec<Blocking> = oversized_grids(registry, &graph, hi).into_iter().collect();
    let sizes = Sizes::of((registry, ci), &graph, &components, (lo, hi), &mut blocking);
    let (k, auto) = part_count(request, &sizes, components.len(), blocking.is_empty())?;
    blocking.extend(too_few_parts(k, &sizes));
    let (locks, label_parts) = locks(registry, &graph, request, k)?;
    let per = parts_per_component(&sizes.bounds, &components, k);
    let k = per.iter().sum::<usize>();
    if k < 2 {
        return Err(SuggestError::Invalid(
            "parts",
            "a split needs at least 2 parts".to_owned(),
        ));
    }
    let strict = Constraints {
        lo,
        hi,
        locks,
        labels: label_parts.len(),
    };
    let mut rng = Rng::new(request.seed);
    let (start, constraints) = starting_plan(
        &graph,
        &components,
        &per,
        strict,
        &mut rng,
        blocking.is_empty(),
    );
    let relaxed = constraints.hi.is_infinite() && hi.is_finite();
    let mut answer = Suggestion {
        parts: k,
        auto,
        blocking,
        method: method(request.seed, 0, relaxed),
        ..Suggestion::empty(community, &graph, &sizes)
    };
    let Some(start) = start else {
        let locked: Vec<String> = request.locked.keys().cloned().collect();
        answer.blocking.push(Blocking {
            constraint: "locked",
            grids: locked,
            reason: "no contiguous plan keeps the locked grids in their parts".to_owned(),
        });
        return Ok(answer);
    };
    if relaxed && answer.blocking.is_empty() {
        answer.blocking.push(out_of_balance(k, lo, hi));
    }
    let score_of = |a: &[usize]| score(&graph, a, k, (lo, hi), &request.weights);
    let search = Search {
        graph: &graph,
        constraints: &constraints,
        k,
        score_of: &score_of,
    };
    let (ranked, seen) = search.run(start, &mut rng, request.count);
    answer.method = method(request.seed, seen, relaxed);
    let plans: Vec<Vec<usize>> = ranked
        .into_iter()
        .take(request.count)
        .map(|plan| relabel(&plan, k, &constraints.locks, &label_parts))
        .collect();
    // Building and validating a candidate is most of a request's time and candidates are
    // independent: they run on rayon's pool, collected in rank order (same answer).
    let boxes = RegistryBoxes::new(registry).remembering_parts();
    let context = candidate::Context {
        registry,
        guidelines,
        parents: vec![community],
        kind: "split",
        graph: &graph,
        k,
        boxes: &boxes,
        outlines: &candidate::Outlines::default(),
    };
    answer.candidates = plans
        .par_iter()
        .enumerate()
        .map(|(i, plan)| {
            let sums = score::PartSums::of(&graph, plan, k);
            let office = candidate::office_part(registry, community, &graph, plan, &sums);
            let keeps: Vec<Option<usize>> = (0..k).map(|p| (p == office).then_some(0)).collect();
            context.candidate(plan, &keeps, i + 1, score_of(plan))
        })
        .collect::<Result<_, _>>()?;
    conclude(&mut answer, community);
    Ok(answer)
}

impl Suggestion {
    /// The answer for `community` before parts are chosen and plans searched.
    fn empty(community: &Community, graph: &GridGraph, sizes: &Sizes) -> Suggestion {
        let (lo, hi) = (sizes.lo, sizes.hi);
        Suggestion {
            mode: "split",
            community: community.code.clone(),
            name: community.name.clone(),
            households: sizes.total,
            population: graph.population.iter().sum(),
            grids: graph.len(),
            band: Band {
                min: lo.is_finite().then_some(lo).filter(|v| *v > 0.0),
                max: hi.is_finite().then_some(hi),
                kind: community.kind.as_str(),
            },
            parts: 0,
            auto: false,
            feasible: false,
            blocking: Vec::new(),
            notes: Vec::new(),
            method: method(0, 0, false),
            candidates: Vec::new(),
        }
    }
}

/// `k` parts are too few to hold the households within the band maximum.
fn too_few_parts(k: usize, sizes: &Sizes) -> Option<Blocking> {
    (k < sizes.least).then(|| Blocking {
        constraint: "parts",
        grids: Vec::new(),
        reason: format!(
            "{k} parts of at most {} households cannot hold {} households: at least {} are needed",
            sizes.hi, sizes.total, sizes.least
        ),
    })
}

/// No plan within the band was found; the candidates are the closest.
fn out_of_balance(k: usize, lo: f64, hi: f64) -> Blocking {
    Blocking {
        constraint: "balance",
        grids: Vec::new(),
        reason: format!(
            "no contiguous plan of {k} parts within {lo}–{hi} households was found (spanning-tree seeds, then {REPAIR_ROUNDS} rounds of repair by recombination); the plans below are the closest found"
        ),
    }
}

/// The requested community (its registry index and record), if it exists, has territory and
/// grids, and the request's weights and count are valid.
fn requested_community<'r>(
    registry: &'r Registry,
    request: &SuggestRequest,
) -> Result<(usize, &'r Community), SuggestError> {
    let code = &request.community;
    let ci = registry
        .community_by_code(code)
        .ok_or_else(|| SuggestError::UnknownCommunity(code.clone()))?;
    let community = &registry.communities[ci];
    if community.territory.is_none() {
        return Err(SuggestError::NoTerritory(code.clone()));
    }
    if community.grids.is_empty() {
        return Err(SuggestError::NoGrids(code.clone()));
    }
    if let Some(problem) = request.weights.problem() {
        return Err(SuggestError::Invalid("weights", problem));
    }
    if request.count == 0 || request.count > MAX_COUNT {
        return Err(SuggestError::Invalid(
            "count",
            format!("must be between 1 and {MAX_COUNT}"),
        ));
    }
    Ok((ci, community))
}

/// The codes of graph nodes.
fn node_codes(registry: &Registry, graph: &GridGraph, nodes: &[usize]) -> Vec<String> {
    nodes
        .iter()
        .map(|&v| registry.grids[graph.grids[v]].code.clone())
        .collect()
}

/// Grids above the band maximum: any part holding one is too big.
fn oversized_grids(registry: &Registry, graph: &GridGraph, hi: f64) -> Option<Blocking> {
    let big: Vec<usize> = (0..graph.len())
        .filter(|&v| graph.households[v] as f64 > hi)
        .collect();
    if big.is_empty() {
        return None;
    }
    let list: Vec<String> = big
        .iter()
        .map(|&v| {
            format!(
                "{} ({} households)",
                registry.grids[graph.grids[v]].code, graph.households[v]
            )
        })
        .collect();
    Some(Blocking {
        constraint: "households",
        grids: node_codes(registry, graph, &big),
        reason: format!(
            "a grid above the band maximum of {hi} households makes any part holding it too big: {}",
            list.join(", ")
        ),
    })
}

/// The community's households against the band, and what the band allows per connected piece.
struct Sizes {
    lo: f64,
    hi: f64,
    total: u64,
    grids: usize,
    /// Per connected piece: the fewest and the most parts it can make, and its households.
    bounds: Vec<(usize, usize, u64)>,
    /// The fewest and the most parts of the whole community.
    least: usize,
    most: usize,
}

impl Sizes {
    /// Reports pieces that share no boundary with the rest and cannot make parts in the band,
    /// with what cuts them off ([`isolation::cut_off`]).
    fn of(
        (registry, community): (&Registry, usize),
        graph: &GridGraph,
        components: &[Vec<usize>],
        (lo, hi): (f64, f64),
        blocking: &mut Vec<Blocking>,
    ) -> Sizes {
        let mut bounds = Vec::new();
        for component in components {
            let h: u64 = component.iter().map(|&v| graph.households[v]).sum();
            let (least, most) = component_bounds(h, component.len(), lo, hi);
            if least > most && components.len() > 1 {
                let piece: Vec<usize> = component.iter().map(|&v| graph.grids[v]).collect();
                blocking.push(isolation::cut_off(
                    registry,
                    community,
                    &piece,
                    &format!("{h} households cannot make parts of {lo}–{hi}"),
                ));
            }
            bounds.push((least, most.max(1), h));
        }
        Sizes {
            lo,
            hi,
            total: graph.households.iter().sum(),
            grids: graph.len(),
            least: bounds.iter().map(|b| b.0).sum(),
            most: bounds.iter().map(|b| b.1).sum(),
            bounds,
        }
    }
}

/// How many parts to make, and whether that was chosen automatically.
fn part_count(
    request: &SuggestRequest,
    sizes: &Sizes,
    pieces: usize,
    unblocked: bool,
) -> Result<(usize, bool), SuggestError> {
    let Sizes {
        lo,
        hi,
        total,
        grids: n,
        least,
        most,
        ..
    } = *sizes;
    let code = &request.community;
    let invalid = |message: String| Err(SuggestError::Invalid("parts", message));
    match request.parts {
        Parts::Auto => {
            if (total as f64) < lo {
                return invalid(format!(
                    "{code} has {total} households, below the band minimum of {lo}: it needs a merge or grids from a neighbour, not a split"
                ));
            }
            if total as f64 <= hi && pieces == 1 {
                return invalid(format!(
                    "{code} has {total} households, within the band {lo}–{hi}: give a number of parts to split it anyway"
                ));
            }
            Ok((least.max(2), true))
        }
        Parts::Exactly(k) => {
            if k < 2 {
                return invalid("a split needs at least 2 parts".to_owned());
            }
            if k > n {
                return invalid(format!("{k} parts, but {code} has only {n} grids"));
            }
            if k > most && unblocked {
                return invalid(format!(
                    "{k} parts are too many: {total} households make at most {most} parts of at least {lo}"
                ));
            }
            Ok((k, false))
        }
    }
}

/// Locks: per graph node the label it is locked to, and the part number of each label, in
/// order.
fn locks(
    registry: &Registry,
    graph: &GridGraph,
    request: &SuggestRequest,
    k: usize,
) -> Result<(Vec<Option<usize>>, Vec<usize>), SuggestError> {
    let code = &request.community;
    let mut locks = vec![None; graph.len()];
    let mut label_parts: Vec<usize> = request.locked.values().copied().collect();
    label_parts.sort_unstable();
    label_parts.dedup();
    for (grid, &part) in &request.locked {
        let node = registry
            .grid_by_code(grid)
            .and_then(|g| graph.grids.iter().position(|&o| o == g))
            .ok_or_else(|| {
                SuggestError::Invalid("locked", format!("{grid} is not a grid of {code}"))
            })?;
        if part == 0 || part > k {
            return Err(SuggestError::Invalid(
                "locked",
                format!("{grid}: part {part} is not between 1 and {k}"),
            ));
        }
        locks[node] = label_parts.iter().position(|&p| p == part);
    }
    Ok((locks, label_parts))
}

/// Parts per connected piece: the fewest each needs, then one more at a time where the mean
/// part is largest (or one fewer where there are most), until they add up to `k` if they can.
fn parts_per_component(
    bounds: &[(usize, usize, u64)],
    components: &[Vec<usize>],
    k: usize,
) -> Vec<usize> {
    let mut per: Vec<usize> = bounds.iter().map(|b| b.0.min(b.1)).collect();
    while per.iter().sum::<usize>() < k {
        let next = (0..per.len())
            .filter(|&i| per[i] < components[i].len())
            .max_by(|&a, &b| {
                let mean = |i: usize| bounds[i].2 as f64 / per[i] as f64;
                mean(a).total_cmp(&mean(b)).then(b.cmp(&a))
            });
        match next {
            Some(i) => per[i] += 1,
            None => break,
        }
    }
    while per.iter().sum::<usize>() > k {
        match (0..per.len())
            .filter(|&i| per[i] > 1)
            .max_by_key(|&i| per[i])
        {
            Some(i) => per[i] -= 1,
            None => break,
        }
    }
    per
}

/// A first plan within `strict` (when nothing blocks), else one repaired towards it from a seed
/// with the band relaxed, and the constraints the search then runs under.
///
/// Up to [`START_ROUNDS`] rounds of (balanced seed, else repair) when nothing blocks, each
/// drawing on the same seeded stream: a band with little slack can defeat one round's trees,
/// and a feasible community should get plans whatever the seed. When something blocks, one
/// round gives the closest plan.
fn starting_plan(
    graph: &GridGraph,
    components: &[Vec<usize>],
    per: &[usize],
    strict: Constraints,
    rng: &mut Rng,
    unblocked: bool,
) -> (Option<Vec<usize>>, Constraints) {
    // Repair: a seed near balance with the band relaxed, then recombination that moves the
    // excess households around until the plan is inside the band ([`repair`]).
    let relaxed = Constraints {
        lo: 0.0,
        hi: f64::INFINITY,
        ..strict.clone()
    };
    let k = per.iter().sum();
    let mut closest = None;
    for _ in 0..if unblocked { START_ROUNDS } else { 1 } {
        if unblocked
            && let Some(plan) =
                seed_plan(graph, components, per, &strict, rng, SEED_ATTEMPTS, false)
        {
            return (Some(plan), strict);
        }
        let Some(mut plan) = seed_plan(graph, components, per, &relaxed, rng, SEED_ATTEMPTS, true)
        else {
            break;
        };
        let inside = repair(graph, &mut plan, k, &strict, rng, REPAIR_ROUNDS);
        if unblocked && inside {
            return (Some(plan), strict);
        }
        closest.get_or_insert(plan);
    }
    (closest, relaxed)
}

fn method(seed: u64, seen: usize, relaxed: bool) -> Method {
    Method {
        name: "ReCom (spanning-tree recombination) optimised by short bursts, then boundary-grid hill climbing",
        seed,
        steps: STEPS,
        burst: BURST,
        distinct_plans_seen: seen,
        relaxed,
    }
}

/// Distinct plans by canonical form, with their scores.
type Pool = BTreeMap<Vec<u8>, (f64, Vec<usize>)>;

/// The search for good plans: short bursts of recombination, then local improvement.
struct Search<'a> {
    graph: &'a GridGraph,
    constraints: &'a Constraints,
    k: usize,
    score_of: &'a dyn Fn(&[usize]) -> Score,
}

impl Search<'_> {
    /// Adds `plan` to the pool (once per canonical form) and returns its score.
    fn remember(&self, plan: &[usize], pool: &mut Pool) -> f64 {
        let s = (self.score_of)(plan).total;
        pool.entry(canonical(plan, self.k))
            .or_insert_with(|| (s, plan.to_vec()));
        s
    }

    /// The pool's plans, best first.
    fn ranked(pool: &Pool) -> Vec<Vec<usize>> {
        let mut all: Vec<_> = pool.iter().collect();
        all.sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then(a.0.cmp(b.0)));
        all.into_iter().map(|(_, (_, a))| a.clone()).collect()
    }

    /// Every plan found from `start`, best first, and how many distinct plans the bursts saw.
    fn run(&self, start: Vec<usize>, rng: &mut Rng, count: usize) -> (Vec<Vec<usize>>, usize) {
        let mut pool = Pool::new();
        // Short bursts: each burst starts from the best plan seen so far.
        let mut best_score = self.remember(&start, &mut pool);
        let mut best = start;
        let mut scratch = Vec::new();
        for _ in 0..STEPS / BURST {
            let mut plan = best.clone();
            for _ in 0..BURST {
                if recombine(
                    self.graph,
                    &mut plan,
                    self.constraints,
                    rng,
                    &mut scratch,
                    false,
                ) {
                    let s = self.remember(&plan, &mut pool);
                    if s > best_score {
                        best_score = s;
                        best.clone_from(&plan);
                    }
                }
            }
        }
        let seen = pool.len();
        // Local improvement of the best plans; improved plans join the pool.
        let total = |a: &[usize]| (self.score_of)(a).total;
        for mut plan in Self::ranked(&pool).into_iter().take(count * 2) {
            let moves = 4 * self.graph.len();
            improve(
                self.graph,
                &mut plan,
                self.k,
                self.constraints,
                &total,
                moves,
            );
            self.remember(&plan, &mut pool);
        }
        (Self::ranked(&pool), seen)
    }
}

/// Whether a candidate passes, why not, and the notes on staffing and names.
fn conclude(answer: &mut Suggestion, community: &Community) {
    answer.feasible = answer.blocking.is_empty() && answer.candidates.iter().any(|c| c.passes);
    if answer.blocking.is_empty()
        && !answer.feasible
        && let Some(first) = answer.candidates.first()
    {
        answer.blocking.push(Blocking {
            constraint: "validation",
            grids: Vec::new(),
            reason: format!(
                "the plans within the band fail validation: {}",
                first.problems.join("; ")
            ),
        });
    }
    let (workers, office) = answer.candidates.first().map_or((0, 0.0), |c| {
        (
            c.parts.iter().map(|p| p.needs.workers).sum::<u32>(),
            c.parts.iter().map(|p| p.needs.office_area_m2).sum::<f64>(),
        )
    });
    answer.notes.push(format!(
        "staffing: required — each part's workers and office_area_m2 are what the guidelines require for it (workers from residents, office space from households), not staff or space that exists; {} has {} workers and {:.0} m², the first plan needs {workers} workers and {office:.0} m² in all",
        community.name, community.workers, community.office_area_m2
    ));
    answer.notes.push(
        "the part holding the parent's office keeps the parent's name and code; other parts have placeholder names to edit".to_owned(),
    );
}

/// The plan with locked labels on their part numbers and the other parts in order of their
/// first grid.
fn relabel(plan: &[usize], k: usize, locks: &[Option<usize>], label_parts: &[usize]) -> Vec<usize> {
    let mut map = vec![usize::MAX; k];
    let mut used = vec![false; k];
    for (n, lock) in locks.iter().enumerate() {
        if let Some(l) = lock {
            let target = label_parts[*l] - 1;
            map[plan[n]] = target;
            used[target] = true;
        }
    }
    let mut free = (0..k).filter(|&i| !used[i]);
    for &p in plan {
        if map[p] == usize::MAX {
            map[p] = free.next().unwrap_or(0);
        }
    }
    plan.iter().map(|&p| map[p]).collect()
}
