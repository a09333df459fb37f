//! The lookup answer: which town, community and grid a point is in.

use serde::Serialize;

use crate::index::Hit;
use crate::registry::Registry;

#[derive(Serialize, schemars::JsonSchema)]
pub struct TownRef<'a> {
    pub code: &'a str,
    pub name: &'a str,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct CommunityRef<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'static str,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct GridRef<'a> {
    pub code: &'a str,
    pub name: &'a str,
}

/// A lookup answer as the API and the CLI print it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Place<'a> {
    pub town: Option<TownRef<'a>>,
    pub community: Option<CommunityRef<'a>>,
    pub grid: Option<GridRef<'a>>,
}

impl<'a> Place<'a> {
    pub fn new(registry: &'a Registry, hit: Hit) -> Self {
        Place {
            town: hit.town.map(|i| {
                let t = &registry.towns[i];
                TownRef {
                    code: &t.code,
                    name: &t.name,
                }
            }),
            community: hit.community.map(|i| {
                let c = &registry.communities[i];
                CommunityRef {
                    code: &c.code,
                    name: &c.name,
                    kind: c.kind.as_str(),
                }
            }),
            grid: hit.grid.map(|i| {
                let g = &registry.grids[i];
                GridRef {
                    code: &g.code,
                    name: &g.name,
                }
            }),
        }
    }
}

/// The single-point answer: the point echoed in WGS84, then where it is.
#[derive(Serialize, schemars::JsonSchema)]
pub struct PointPlace<'a> {
    pub point: [f64; 2],
    pub town: Option<TownRef<'a>>,
    pub community: Option<CommunityRef<'a>>,
    pub grid: Option<GridRef<'a>>,
}

impl<'a> PointPlace<'a> {
    pub fn new(registry: &'a Registry, point: [f64; 2], hit: Hit) -> Self {
        let Place {
            town,
            community,
            grid,
        } = Place::new(registry, hit);
        PointPlace {
            point,
            town,
            community,
            grid,
        }
    }
}
