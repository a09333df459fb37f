//! The shipped sample city tiles exactly: communities tile each town, grids tile each community,
//! and towns do not overlap — computed with polygon clipping (geo's BooleanOps) and geodesic
//! areas, independently of the generator and of shequ's own geometry code.

mod common;

use geo::{BooleanOps, GeodesicArea, MultiPolygon, unary_union};

/// Tolerance of the issue: no gap and no overlap above 1 m².
const TOLERANCE_M2: f64 = 1.0;

fn area(m: &MultiPolygon<f64>) -> f64 {
    m.geodesic_area_unsigned()
}

/// (gap, overlap, spill) in m² of `children` against `parent`: the part of the parent no child
/// covers, the area covered more than once, and the part of the children outside the parent.
fn tiling_errors(parent: &MultiPolygon<f64>, children: &[&MultiPolygon<f64>]) -> (f64, f64, f64) {
    let union = unary_union(children.iter().flat_map(|c| c.0.iter()));
    let sum: f64 = children.iter().map(|c| area(c)).sum();
    (
        area(&parent.difference(&union)),
        sum - area(&union),
        area(&union.difference(parent)),
    )
}

#[test]
fn communities_tile_each_town() {
    let r = &common::sample().registry;
    let mut failures = Vec::new();
    for town in &r.towns {
        let children: Vec<_> = town
            .communities
            .iter()
            .filter_map(|&c| r.communities[c].territory.as_deref())
            .collect();
        assert!(
            !children.is_empty(),
            "town {} has no community with territory",
            town.code
        );
        let (gap, overlap, spill) = tiling_errors(&town.area, &children);
        if gap > TOLERANCE_M2 || overlap > TOLERANCE_M2 || spill > TOLERANCE_M2 {
            failures.push(format!(
                "{} {}: gap {gap:.3} m², overlap {overlap:.3} m², outside {spill:.3} m²",
                town.code, town.name
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn grids_tile_each_community() {
    let r = &common::sample().registry;
    let mut failures = Vec::new();
    for c in &r.communities {
        let Some(territory) = &c.territory else {
            assert!(c.grids.is_empty());
            continue;
        };
        let children: Vec<_> = c.grids.iter().map(|&g| &*r.grids[g].area).collect();
        assert!(
            !children.is_empty(),
            "community {} has territory but no grids",
            c.code
        );
        let (gap, overlap, spill) = tiling_errors(territory, &children);
        if gap > TOLERANCE_M2 || overlap > TOLERANCE_M2 || spill > TOLERANCE_M2 {
            failures.push(format!(
                "{} {}: gap {gap:.3} m², overlap {overlap:.3} m², outside {spill:.3} m²",
                c.code, c.name
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn towns_do_not_overlap() {
    let r = &common::sample().registry;
    let areas: Vec<_> = r.towns.iter().map(|t| &t.area).collect();
    let union = unary_union(areas.iter().flat_map(|a| a.0.iter()));
    let overlap = areas.iter().map(|a| area(a)).sum::<f64>() - area(&union);
    assert!(overlap <= TOLERANCE_M2, "towns overlap by {overlap} m²");
    // The city is one piece of land of plausible size (Zhongshan: about 1,780 km²).
    assert_eq!(
        union.0.len(),
        1,
        "the towns form {} separate pieces",
        union.0.len()
    );
    let km2 = area(&union) / 1e6;
    assert!((1000.0..3000.0).contains(&km2), "city area {km2} km²");
}

/// Approvals rebuild a community's outline by dissolving its grids: on the shipped city this
/// gives back every community's territory exactly, vertex for vertex (so neighbours still share
/// their boundaries after a change).
#[test]
fn dissolving_a_communitys_grids_gives_back_its_territory_exactly() {
    use std::collections::BTreeSet;
    let r = &common::sample().registry;
    let vertices = |m: &MultiPolygon<f64>| -> BTreeSet<(u64, u64)> {
        m.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|ring| ring.coords())
            .map(|c| (c.x.to_bits(), c.y.to_bits()))
            .collect()
    };
    let mut failures = Vec::new();
    for c in &r.communities {
        let Some(territory) = &c.territory else {
            continue;
        };
        let grids = c.grids.iter().flat_map(|&g| r.grids[g].area.0.iter());
        match shequ::geometry::dissolve::dissolve(grids) {
            Ok(d) if d.0.len() == territory.0.len() && vertices(&d) == vertices(territory) => {}
            Ok(d) => failures.push(format!(
                "{}: {} parts / {} vertices, territory {} / {}",
                c.code,
                d.0.len(),
                vertices(&d).len(),
                territory.0.len(),
                vertices(territory).len()
            )),
            Err(e) => failures.push(format!("{}: {e}", c.code)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} communities: {failures:#?}",
        failures.len()
    );
}
