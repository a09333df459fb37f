//! Merges and boundary adjustments for a community below the household band: the assistant's
//! answer when splitting is the wrong way round.
//!
//! For each community of the same town that shares a boundary of positive length with it (over
//! the grids' shared edges, as the split graph counts adjacency):
//!
//! * **Merge:** the two become one community (`"kind": "merge"`), offered when the sum is
//!   within the band. The part keeps the bigger parent's name, code and office.
//! * **Adjustment:** grids move from the neighbour to the community (`"kind": "adjust"`), one
//!   boundary grid at a time, greedily the move that scores best ([`super::score`]: compactness,
//!   balance, short new boundary, band penalties), never cutting the neighbour in two nor
//!   taking it below the band minimum, until the community reaches the minimum; from a
//!   neighbour above the maximum, moves continue while the neighbour is still above it and the
//!   community has room. Both parts keep their parent's name and code.
//! * **Larger merges:** when no single neighbour brings it into the band, groups of three and
//!   then four communities of the town, one connected territory within the band
//!   ([`larger_merges`]).
//!
//! Every option is built into an ordinary proposal from whole grids and validated like a split
//! candidate; options within the band come first, then by score. Nothing is random: the answer
//! is a function of the registry and the guidelines.

use geo::{BoundingRect, Intersects};
use rayon::prelude::*;

use super::graph::GridGraph;
use super::score::{Score, Weights, score};
use super::{
    Band, Blocking, Candidate, Method, SuggestError, SuggestRequest, Suggestion, band, candidate,
    isolation,
};
use crate::registry::{Community, Registry};
use crate::rules::guidelines::Guidelines;
use crate::rules::validate::RegistryBoxes;

/// Most communities one suggested merge joins (the community and up to three neighbours).
const MAX_MERGED: usize = 4;
/// Groups of communities tried per size when merges grow beyond two.
const MAX_GROUPS: usize = 200;

/// One merge or adjustment before it is built and validated.
struct Choice {
    kind: &'static str,
    /// Registry indices of the parents: the community, then the neighbours.
    parents: Vec<usize>,
    graph: GridGraph,
    plan: Vec<usize>,
    k: usize,
    keeps: Vec<Option<usize>>,
    in_band: bool,
    score: Score,
}

/// Merges with and grids from the neighbours of `community` (registry index `ci`), best first.
pub(super) fn suggest_merges(
    registry: &Registry,
    guidelines: &Guidelines,
    request: &SuggestRequest,
    ci: usize,
) -> Result<Suggestion, SuggestError> {
    let c = &registry.communities[ci];
    let (lo, hi) = band(guidelines, c);
    let own = GridGraph::new(registry, &c.grids);
    let households: u64 = own.households.iter().sum();
    let mut options = Vec::new();
    let neighbours = neighbours(registry, ci);
    for &ni in &neighbours {
        let graph = GridGraph::new(
            registry,
            &[c.grids.clone(), registry.communities[ni].grids.clone()].concat(),
        );
        let n_own = c.grids.len();
        let shared = graph
            .edges
            .iter()
            .any(|&(a, b, _)| (a < n_own) != (b < n_own));
        if !shared {
            continue;
        }
        options.push(merge(
            registry,
            &graph,
            vec![ci, ni],
            (lo, hi),
            &request.weights,
        ));
        if let Some(adjust) = adjust(&graph, n_own, [ci, ni], (lo, hi), &request.weights) {
            options.push(adjust);
        }
    }
    let adjacent: Vec<usize> = options.iter().map(|o| o.parents[1]).collect();
    if !options.iter().any(|o| o.in_band) {
        options.extend(larger_merges(
            registry,
            ci,
            &adjacent,
            (lo, hi),
            &request.weights,
        ));
    }
    options.sort_by(|a, b| {
        b.in_band
            .cmp(&a.in_band)
            .then(b.score.total.total_cmp(&a.score.total))
            .then(a.parents.len().cmp(&b.parents.len()))
            .then(a.parents.cmp(&b.parents))
            .then(a.kind.cmp(b.kind))
    });
    options.truncate(request.count);
    let boxes = RegistryBoxes::new(registry).remembering_parts();
    let candidates: Vec<Candidate> = options
        .par_iter()
        .enumerate()
        .map(|(i, o)| {
            let context = candidate::Context {
                registry,
                guidelines,
                parents: o
                    .parents
                    .iter()
                    .map(|&p| &registry.communities[p])
                    .collect(),
                kind: o.kind,
                graph: &o.graph,
                k: o.k,
                boxes: &boxes,
                outlines: &candidate::Outlines::default(),
            };
            context.candidate(&o.plan, &o.keeps, i + 1, o.score)
        })
        .collect::<Result<_, _>>()?;
    let feasible = candidates.iter().any(|c| c.passes);
    let mut blocking = Vec::new();
    if !feasible {
        blocking.push(no_neighbour_fits(
            registry,
            c,
            households,
            (lo, hi),
            &adjacent,
        ));
    }
    Ok(Suggestion {
        mode: "merge",
        community: c.code.clone(),
        name: c.name.clone(),
        households,
        population: own.population.iter().sum(),
        grids: own.len(),
        band: Band {
            min: (lo > 0.0).then_some(lo),
            max: hi.is_finite().then_some(hi),
            kind: c.kind.as_str(),
        },
        parts: candidates.first().map_or(0, |c| c.parts.len()),
        auto: false,
        feasible,
        blocking,
        notes: vec![
            if (households as f64) < lo {
                format!("{} has {households} households, below the band minimum of {lo}: merges with a neighbour of the same town, or grids moved from one, are proposed instead of a split", c.name)
            } else {
                format!("{} has {households} households; merges with and grids from its neighbours of the same town were asked for", c.name)
            },
            "staffing: required — each part's workers and office_area_m2 are what the guidelines require for it, not staff or space that exists".to_owned(),
        ],
        method: Method {
            name: "merges with each neighbour of the same town, and greedy boundary-grid transfers from it, scored and validated",
            seed: request.seed,
            steps: 0,
            burst: 0,
            distinct_plans_seen: adjacent.len(),
            relaxed: false,
        },
        candidates,
    })
}

/// Communities of `ci`'s town, with territory and grids, whose boxes touch its territory's.
fn neighbours(registry: &Registry, ci: usize) -> Vec<usize> {
    let c = &registry.communities[ci];
    let Some(bounds) = c.territory.as_deref().and_then(BoundingRect::bounding_rect) else {
        return Vec::new();
    };
    registry.towns[c.town]
        .communities
        .iter()
        .copied()
        .filter(|&o| o != ci)
        .filter(|&o| {
            let other = &registry.communities[o];
            !other.grids.is_empty()
                && other
                    .territory
                    .as_deref()
                    .and_then(BoundingRect::bounding_rect)
                    .is_some_and(|b| b.intersects(&bounds))
        })
        .collect()
}

/// Merges of three and more communities (up to [`MAX_MERGED`]), for a community that no single
/// neighbour brings into the band: each group grows by a same-town community sharing a
/// boundary with one of its members, and is offered when it is one connected territory within
/// the band. Groups of one size are tried in a fixed order, at most [`MAX_GROUPS`] of them.
fn larger_merges(
    registry: &Registry,
    ci: usize,
    adjacent: &[usize],
    (lo, hi): (f64, f64),
    weights: &Weights,
) -> Vec<Choice> {
    let mut groups: Vec<Vec<usize>> = adjacent.iter().map(|&n| vec![ci, n]).collect();
    let mut out = Vec::new();
    for _ in 3..=MAX_MERGED {
        let mut next: std::collections::BTreeSet<Vec<usize>> = Default::default();
        for group in &groups {
            for &member in group {
                for n in neighbours(registry, member) {
                    if group.contains(&n) {
                        continue;
                    }
                    // The community first, the others in index order: one key per group.
                    let mut grown = group[1..].to_vec();
                    grown.push(n);
                    grown.sort_unstable();
                    grown.insert(0, ci);
                    next.insert(grown);
                }
            }
        }
        groups = next.into_iter().take(MAX_GROUPS).collect();
        for group in &groups {
            let h: u64 = group
                .iter()
                .map(|&c| registry.communities[c].counts.households)
                .sum();
            if (h as f64) < lo || (h as f64) > hi {
                continue;
            }
            let grids: Vec<usize> = group
                .iter()
                .flat_map(|&c| registry.communities[c].grids.iter().copied())
                .collect();
            let graph = GridGraph::new(registry, &grids);
            if graph.components(|_| true).len() == 1 {
                out.push(merge(registry, &graph, group.clone(), (lo, hi), weights));
            }
        }
        if !out.is_empty() {
            break;
        }
    }
    out
}

/// The communities as one; the biggest keeps its name and code.
fn merge(
    registry: &Registry,
    graph: &GridGraph,
    parents: Vec<usize>,
    (lo, hi): (f64, f64),
    weights: &Weights,
) -> Choice {
    let plan = vec![0; graph.len()];
    let h: u64 = graph.households.iter().sum();
    let size = |i: usize| registry.communities[parents[i]].counts.households;
    // The first of the biggest.
    let keeper = (0..parents.len())
        .max_by_key(|&i| (size(i), std::cmp::Reverse(i)))
        .unwrap_or(0);
    Choice {
        kind: "merge",
        parents,
        score: score(graph, &plan, 1, (lo, hi), weights),
        graph: graph.clone(),
        plan,
        k: 1,
        keeps: vec![Some(keeper)],
        in_band: (h as f64) >= lo && (h as f64) <= hi,
    }
}

/// Grids moved one at a time from the neighbour (nodes `n_own..`) to the community (nodes
/// `..n_own`); `None` when no move is possible.
fn adjust(
    graph: &GridGraph,
    n_own: usize,
    parents: [usize; 2],
    (lo, hi): (f64, f64),
    weights: &Weights,
) -> Option<Choice> {
    let mut plan: Vec<usize> = (0..graph.len()).map(|v| usize::from(v >= n_own)).collect();
    let mut h = [0u64; 2];
    for (v, &p) in plan.iter().enumerate() {
        h[p] += graph.households[v];
    }
    let wants_more = |h: &[u64; 2]| (h[0] as f64) < lo || (h[1] as f64) > hi;
    let mut moved = 0;
    while wants_more(&h) {
        let mut best: Option<(f64, usize)> = None;
        for v in n_own..graph.len() {
            let gv = graph.households[v];
            let borders = graph.adjacency[v].iter().any(|&(m, _)| plan[m] == 0);
            let room = (h[0] as f64) < lo || ((h[0] + gv) as f64) <= hi;
            if plan[v] != 1 || !borders || h[1] == gv || ((h[1] - gv) as f64) < lo || !room {
                continue;
            }
            plan[v] = 0;
            if graph.is_connected(&plan, 1) {
                let s = score(graph, &plan, 2, (lo, hi), weights).total;
                if best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, v));
                }
            }
            plan[v] = 1;
        }
        let Some((_, v)) = best else { break };
        plan[v] = 0;
        h[0] += graph.households[v];
        h[1] -= graph.households[v];
        moved += 1;
    }
    if moved == 0 {
        return None;
    }
    let in_band = |x: u64| (x as f64) >= lo && (x as f64) <= hi;
    Some(Choice {
        kind: "adjust",
        parents: parents.to_vec(),
        score: score(graph, &plan, 2, (lo, hi), weights),
        graph: graph.clone(),
        plan,
        k: 2,
        keeps: vec![Some(0), Some(1)],
        in_band: in_band(h[0]) && in_band(h[1]),
    })
}

/// Why no merge or adjustment fits the band.
fn no_neighbour_fits(
    registry: &Registry,
    c: &Community,
    households: u64,
    (lo, hi): (f64, f64),
    adjacent: &[usize],
) -> Blocking {
    let mut codes: Vec<String> = adjacent
        .iter()
        .map(|&n| registry.communities[n].code.clone())
        .collect();
    codes.dedup();
    if codes.is_empty() {
        let around = isolation::neighbours(registry, &c.grids);
        let (_, across) = isolation::by_town(registry, &around, c.town);
        let beyond = if across.is_empty() {
            "it borders no community of any town".to_owned()
        } else {
            format!(
                "a town boundary isolates it: it borders only {} of {}",
                isolation::communities_of(registry, &across),
                isolation::towns_of(registry, &across)
            )
        };
        return Blocking {
            constraint: "town",
            grids: c
                .grids
                .iter()
                .map(|&g| registry.grids[g].code.clone())
                .collect(),
            reason: format!(
                "no community of town {} shares a boundary with {}: {beyond}; a merge or adjustment across it needs the town boundary changed first",
                registry.towns[c.town].name, c.name
            ),
        };
    }
    Blocking {
        constraint: "households",
        grids: Vec::new(),
        reason: format!(
            "{} ({households} households) merged with, or given grids by, any of its neighbours {} does not make parts of {lo}–{hi} households; the options below are the closest",
            c.name,
            codes.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SuggestRequest, suggest};
    use crate::registry::load_features;
    use crate::registry::test_city::{community, grid, rect, town};
    use crate::rules::Guidelines;

    const T1: &str = "440100001";

    /// A row of `households.len()` one-grid communities of town T1, left to right.
    fn row(households: &[u64]) -> crate::registry::Registry {
        let n = households.len() as f64;
        let mut communities = Vec::new();
        let mut grids = Vec::new();
        for (i, &h) in households.iter().enumerate() {
            let code = format!("{T1}{:03}", i + 1);
            let x = i as f64;
            communities.push(community(&code, T1, rect(x, 0.0, x + 1.0, 1.0)));
            grids.push(grid(
                &format!("{code}001"),
                &code,
                h,
                rect(x, 0.0, x + 1.0, 1.0),
            ));
        }
        load_features(
            [vec![town(T1, rect(0.0, 0.0, n, 1.0))], communities, grids],
            &Default::default(),
        )
        .expect("the row loads")
    }

    fn parents(c: &super::super::Candidate) -> Vec<String> {
        c.proposal["proposal"]["parents"]
            .as_array()
            .expect("parents")
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect()
    }

    /// Three communities of 400 households (band 1,000–3,000): no pair reaches the band, the
    /// three together do, and that merge passes validation.
    #[test]
    fn three_small_neighbours_merge_when_no_pair_reaches_the_band() {
        let r = row(&[400, 400, 400]);
        let g = Guidelines::default();
        let answer = suggest(&r, &g, &SuggestRequest::new("440100001001")).expect("an answer");
        assert_eq!(answer.mode, "merge");
        assert!(answer.feasible, "{:?}", answer.blocking);
        let first = &answer.candidates[0];
        assert_eq!(first.kind, "merge");
        assert!(first.passes, "{:?}", first.problems);
        assert_eq!(
            parents(first),
            ["440100001001", "440100001002", "440100001003"]
        );
        // From the middle community the same group, found through either neighbour, once.
        let middle = suggest(&r, &g, &SuggestRequest::new("440100001002")).expect("an answer");
        let threes = middle
            .candidates
            .iter()
            .filter(|c| parents(c).len() == 3)
            .count();
        assert_eq!(threes, 1);
    }

    /// Pairs are preferred: with a neighbour of 700 a pair reaches the band, and no group of
    /// three is offered.
    #[test]
    fn a_pair_in_the_band_is_enough() {
        let r = row(&[400, 700, 400]);
        let answer = suggest(
            &r,
            &Guidelines::default(),
            &SuggestRequest::new("440100001001"),
        )
        .expect("an answer");
        assert!(answer.feasible);
        assert!(answer.candidates.iter().all(|c| parents(c).len() == 2));
    }

    /// Four in a row of 300: only all four reach the band.
    #[test]
    fn merges_grow_to_four() {
        let r = row(&[300, 300, 300, 300]);
        let answer = suggest(
            &r,
            &Guidelines::default(),
            &SuggestRequest::new("440100001001"),
        )
        .expect("an answer");
        assert!(answer.feasible, "{:?}", answer.blocking);
        assert_eq!(parents(&answer.candidates[0]).len(), 4);
    }
}
