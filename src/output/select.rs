//! Choosing the records of one level a client asked for: those whose geometry meets an area
//! (a bounding box, already converted to WGS84), under a town or community, in registry order
//! (so that offset paging is stable within a snapshot). Both `/api/v1/{level}` and OGC API
//! Features items use it.

use geo::{BoundingRect, Intersects, MultiPolygon, Polygon, Rect};

use crate::audit::Finding;
use crate::registry::{Level, Registry};

/// What to keep. `None` keeps everything on that account.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The area features must meet (WGS84); features without geometry never meet it.
    pub area: Option<Polygon<f64>>,
    /// Index of the town the records lie in (a town: itself).
    pub town: Option<usize>,
    /// Index of the community the records belong to (a community: itself; towns: never given).
    pub community: Option<usize>,
}

impl Filter {
    fn meets(&self, envelope: &Option<Rect<f64>>, geometry: Option<&MultiPolygon<f64>>) -> bool {
        let Some(area) = &self.area else {
            return true;
        };
        let (Some(geometry), Some(envelope)) = (geometry, envelope) else {
            return false;
        };
        // The envelope test first: a cheap refusal for the many features far from the area.
        area.bounding_rect().is_some_and(|r| r.intersects(envelope)) && area.intersects(geometry)
    }
}

/// Indices (into the level's vector) of the records `filter` keeps, in registry order.
pub fn records(registry: &Registry, level: Level, filter: &Filter) -> Vec<usize> {
    match level {
        Level::Town => (0..registry.towns.len())
            .filter(|&i| filter.town.is_none_or(|t| t == i) && filter.community.is_none())
            .filter(|&i| {
                let area = &registry.towns[i].area;
                filter.meets(&area.bounding_rect(), Some(area))
            })
            .collect(),
        Level::Community => (0..registry.communities.len())
            .filter(|&i| {
                let c = &registry.communities[i];
                filter.town.is_none_or(|t| t == c.town) && filter.community.is_none_or(|k| k == i)
            })
            .filter(|&i| {
                let area = registry.communities[i].territory.as_deref();
                filter.meets(&area.and_then(|a| a.bounding_rect()), area)
            })
            .collect(),
        Level::Grid => (0..registry.grids.len())
            .filter(|&i| {
                let g = &registry.grids[i];
                filter.community.is_none_or(|k| k == g.community)
                    && filter
                        .town
                        .is_none_or(|t| t == registry.communities[g.community].town)
            })
            .filter(|&i| {
                let area = &registry.grids[i].area;
                filter.meets(&area.bounding_rect(), Some(area))
            })
            .collect(),
    }
}

/// Indices of the audit findings `filter` keeps: by area, and by town or community code (a
/// finding is under a community when the community is among its codes).
pub fn findings(findings: &[Finding], filter: &Filter, registry: &Registry) -> Vec<usize> {
    let town_code = filter.town.map(|t| registry.towns[t].code.as_str());
    let community_code = filter
        .community
        .map(|c| registry.communities[c].code.as_str());
    (0..findings.len())
        .filter(|&i| {
            let f = &findings[i];
            town_code.is_none_or(|t| f.town_code.as_deref() == Some(t))
                && community_code.is_none_or(|c| f.codes.iter().any(|k| k == c))
                && filter.meets(
                    &f.geometry.as_ref().and_then(|g| g.bounding_rect()),
                    f.geometry.as_ref(),
                )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn areas_keep_what_they_meet() {
        let r =
            crate::registry::load_features(crate::registry::test_city::city(), &Default::default())
                .expect("the tiny city loads");
        let all = records(&r, Level::Grid, &Filter::default());
        assert_eq!(all.len(), r.grids.len());
        let far = Filter {
            area: Some(
                polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)],
            ),
            ..Filter::default()
        };
        assert!(records(&r, Level::Grid, &far).is_empty());
        assert!(records(&r, Level::Town, &far).is_empty());
        // The east half of C2's south grid (x 1–2, y 0–1, in 0.01° from 113°E 23°N).
        let near = Filter {
            area: Some(
                polygon![(x: 113.015, y: 23.001), (x: 113.016, y: 23.001), (x: 113.016, y: 23.002), (x: 113.015, y: 23.002)],
            ),
            ..Filter::default()
        };
        let hits: Vec<&str> = records(&r, Level::Grid, &near)
            .iter()
            .map(|&i| r.grids[i].code.as_str())
            .collect();
        assert_eq!(hits, ["440100001002001"]);
        // Communities without territory never meet an area.
        assert_eq!(records(&r, Level::Community, &near).len(), 1);
    }
}
