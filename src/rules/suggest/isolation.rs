//! Why a piece of a community's grids cannot join the rest: what lies between them.
//!
//! A split makes parts of whole grids connected over shared edges, so a piece of the community
//! that shares no edge with the rest must make parts on its own. When it is too small for that,
//! the official needs to know what to change: if the piece borders only grids of **other
//! towns**, a town boundary cuts it off and nothing inside the town can fix it (the town
//! boundary must change, or the piece go to a community across it); if it borders another
//! community of the **same town**, moving that community's grids in between (an adjustment)
//! would join it; if it borders no grid at all, it is an island.

use std::collections::BTreeSet;

use geo::{BoundingRect, Intersects};

use super::Blocking;
use super::graph::GridGraph;
use crate::registry::Registry;

/// What separates `piece` (registry grid indices of community `community`) from the rest of
/// its community, as a blocking constraint naming the piece's grids. `households` explains why
/// the piece cannot make parts alone (the band's words, e.g. `cannot make parts of 1000–3000`).
pub(super) fn cut_off(
    registry: &Registry,
    community: usize,
    piece: &[usize],
    households: &str,
) -> Blocking {
    let c = &registry.communities[community];
    let codes: Vec<String> = piece
        .iter()
        .map(|&g| registry.grids[g].code.clone())
        .collect();
    let neighbours = neighbours(registry, piece);
    let community_names = |grids: &[usize]| communities_of(registry, grids);
    let (same_town, other_towns) = by_town(registry, &neighbours, c.town);
    let lead = format!(
        "these {} grids of {} share no boundary with the rest of it; their {households}",
        piece.len(),
        c.name
    );
    if neighbours.is_empty() {
        return Blocking {
            constraint: "contiguity",
            grids: codes,
            reason: format!("{lead}: they border no other grid (an island)"),
        };
    }
    if same_town.is_empty() {
        return Blocking {
            constraint: "town",
            grids: codes,
            reason: format!(
                "{lead}: a town boundary isolates them — they border only grids of {} ({}), outside {}; no part made of whole grids inside one town can join them to the rest, so the town boundary must change or they must go to a community across it",
                towns_of(registry, &other_towns),
                community_names(&other_towns),
                registry.towns[c.town].name
            ),
        };
    }
    Blocking {
        constraint: "contiguity",
        grids: codes,
        reason: format!(
            "{lead}: grids of {} (same town) lie between them and the rest; moving those grids to {} (an adjustment) would join them",
            community_names(&same_town),
            c.name
        ),
    }
}

/// `grids` split into those of town `town`'s communities and those of other towns.
pub(super) fn by_town(
    registry: &Registry,
    grids: &[usize],
    town: usize,
) -> (Vec<usize>, Vec<usize>) {
    grids
        .iter()
        .partition(|&&g| registry.communities[registry.grids[g].community].town == town)
}

/// The communities of `grids` as `name code`, once each, in code order.
pub(super) fn communities_of(registry: &Registry, grids: &[usize]) -> String {
    let names: BTreeSet<(&str, &str)> = grids
        .iter()
        .map(|&g| {
            let n = &registry.communities[registry.grids[g].community];
            (n.code.as_str(), n.name.as_str())
        })
        .collect();
    names
        .iter()
        .map(|(code, name)| format!("{name} {code}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The towns of `grids`' communities by name, once each, in name order.
pub(super) fn towns_of(registry: &Registry, grids: &[usize]) -> String {
    let towns: BTreeSet<&str> = grids
        .iter()
        .map(|&g| {
            let town = registry.communities[registry.grids[g].community].town;
            registry.towns[town].name.as_str()
        })
        .collect();
    towns.into_iter().collect::<Vec<_>>().join(", ")
}

/// Registry grids outside `piece` that share a boundary of positive length with it, sorted.
pub(super) fn neighbours(registry: &Registry, piece: &[usize]) -> Vec<usize> {
    let boxes: Vec<_> = piece
        .iter()
        .filter_map(|&g| registry.grids[g].area.bounding_rect())
        .collect();
    let Some(bounds) = crate::geometry::union_bounds(boxes) else {
        return Vec::new();
    };
    let around: Vec<usize> = (0..registry.grids.len())
        .filter(|g| !piece.contains(g))
        .filter(|&g| {
            registry.grids[g]
                .area
                .bounding_rect()
                .is_some_and(|b| b.intersects(&bounds))
        })
        .collect();
    let nodes = [piece, &around].concat();
    let graph = GridGraph::new(registry, &nodes);
    let mut out: Vec<usize> = graph
        .edges
        .iter()
        .filter_map(|&(a, b, _)| match (a < piece.len(), b < piece.len()) {
            (true, false) => Some(nodes[b]),
            (false, true) => Some(nodes[a]),
            _ => None,
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::load_features;
    use crate::registry::test_city::{community, grid, rect, town};
    use serde_json::{Value, json};

    const T1: &str = "440100001";
    const T2: &str = "440100002";
    const C1: &str = "440100001001";
    const C2: &str = "440100001002";
    const C9: &str = "440100002001";

    fn two(a: Value, b: Value) -> Value {
        json!({"type": "MultiPolygon", "coordinates": [a["coordinates"], b["coordinates"]]})
    }

    /// What lies between C1's two grids (x 0–1 and x 2–3 of town T1) at x 1–2.
    #[derive(Clone, Copy)]
    enum Middle {
        /// Town T2's community C9.
        OtherTown,
        /// T1's community C2.
        SameTown,
        /// No town at all.
        Nothing,
    }

    fn city(middle: Middle) -> Registry {
        let left = rect(0.0, 0.0, 1.0, 1.0);
        let mid = rect(1.0, 0.0, 2.0, 1.0);
        let right = rect(2.0, 0.0, 3.0, 1.0);
        let apart = two(left.clone(), right.clone());
        let mut towns = vec![];
        let mut communities = vec![community(C1, T1, apart.clone())];
        let mut grids = vec![
            grid("440100001001001", C1, 500, left),
            grid("440100001001002", C1, 3000, right),
        ];
        match middle {
            Middle::OtherTown => {
                towns.extend([town(T1, apart), town(T2, mid.clone())]);
                communities.push(community(C9, T2, mid.clone()));
                grids.push(grid(&format!("{C9}001"), C9, 900, mid));
            }
            Middle::SameTown => {
                towns.push(town(T1, rect(0.0, 0.0, 3.0, 1.0)));
                communities.push(community(C2, T1, mid.clone()));
                grids.push(grid(&format!("{C2}001"), C2, 900, mid));
            }
            Middle::Nothing => towns.push(town(T1, apart)),
        }
        let by_code = |f: &Value| f["properties"]["code"].as_str().map(str::to_owned);
        communities.sort_by_key(by_code);
        grids.sort_by_key(by_code);
        load_features([towns, communities, grids], &Default::default()).expect("the city loads")
    }

    fn left_piece(r: &Registry) -> (usize, Vec<usize>) {
        let c = r.community_by_code(C1).expect("C1");
        (
            c,
            vec![r.grid_by_code("440100001001001").expect("left grid")],
        )
    }

    const TOO_SMALL: &str = "500 households cannot make parts of 1000–3000";

    #[test]
    fn a_town_boundary_between_is_named() {
        let r = city(Middle::OtherTown);
        let (c, piece) = left_piece(&r);
        let b = cut_off(&r, c, &piece, TOO_SMALL);
        assert_eq!(b.constraint, "town");
        assert_eq!(b.grids, vec!["440100001001001".to_owned()]);
        assert!(
            b.reason.contains("a town boundary isolates them"),
            "{}",
            b.reason
        );
        assert!(b.reason.contains(&format!("town {T2}")), "{}", b.reason);
        assert!(b.reason.contains(C9), "{}", b.reason);
    }

    #[test]
    fn a_community_of_the_same_town_between_is_an_adjustment() {
        let r = city(Middle::SameTown);
        let (c, piece) = left_piece(&r);
        let b = cut_off(&r, c, &piece, TOO_SMALL);
        assert_eq!(b.constraint, "contiguity");
        assert!(
            b.reason.contains(C2) && b.reason.contains("adjustment"),
            "{}",
            b.reason
        );
    }

    #[test]
    fn an_island_says_so() {
        let r = city(Middle::Nothing);
        let (c, piece) = left_piece(&r);
        let b = cut_off(&r, c, &piece, TOO_SMALL);
        assert_eq!(b.constraint, "contiguity");
        assert!(b.reason.contains("island"), "{}", b.reason);
    }

    /// Through the assistant: the split of C1 is blocked by the town boundary, and C9 (below
    /// the band, bordered only by T1) gets no merge, each saying why.
    #[test]
    fn suggestions_explain_the_town_boundary() {
        let r = city(Middle::OtherTown);
        let g = crate::rules::Guidelines::default();
        let split = super::super::suggest(&r, &g, &super::super::SuggestRequest::new(C1))
            .expect("an answer");
        assert!(!split.feasible);
        assert!(
            split
                .blocking
                .iter()
                .any(|b| b.constraint == "town" && b.grids == ["440100001001001"]),
            "{:?}",
            split.blocking
        );
        let merge = super::super::suggest(&r, &g, &super::super::SuggestRequest::new(C9))
            .expect("an answer");
        assert_eq!(merge.mode, "merge");
        assert!(!merge.feasible);
        let b = &merge.blocking[0];
        assert_eq!(b.constraint, "town");
        assert!(
            b.reason.contains("a town boundary isolates it") && b.reason.contains(C1),
            "{}",
            b.reason
        );
    }
}
