//! A page of features: the records [`super::select`] kept, from an offset, at most a limit, as a
//! GeoJSON FeatureCollection that also says how many matched, how many it holds and where the
//! next page is (the `numberMatched`, `numberReturned` and `links` members of OGC API
//! Features; plain GeoJSON readers ignore them).

use serde::Serialize;

use super::geojson::{
    CommunityProps, Feature, GeometryJson, GridProps, Out, TownProps, community_feature,
    grid_feature, town_feature,
};
use crate::audit::Finding;
use crate::registry::{Level, Registry};

/// A link of a page or a resource (`href`, `rel`, media `type`, `title`), as OGC API writes them.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub href: String,
    pub rel: &'static str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Link {
    pub fn new(rel: &'static str, href: impl Into<String>, media_type: &'static str) -> Self {
        Link {
            href: href.into(),
            rel,
            media_type: Some(media_type),
            title: None,
        }
    }

    pub fn titled(self, title: impl Into<String>) -> Self {
        Link {
            title: Some(title.into()),
            ..self
        }
    }
}

/// A feature of any level, or an audit finding (whose id is its 1-based place in the report).
#[derive(Serialize)]
#[serde(untagged)]
pub enum AnyFeature<'a> {
    Town(Feature<'a, TownProps<'a>>),
    Community(Feature<'a, CommunityProps<'a>>),
    Grid(Feature<'a, GridProps<'a>>),
    Finding(FindingItem<'a>),
}

impl AnyFeature<'_> {
    /// The same feature with `geometry: null` (the `skipGeometry` answer of the collections).
    pub fn without_geometry(self) -> Self {
        match self {
            AnyFeature::Town(f) => AnyFeature::Town(f.without_geometry()),
            AnyFeature::Community(f) => AnyFeature::Community(f.without_geometry()),
            AnyFeature::Grid(f) => AnyFeature::Grid(f.without_geometry()),
            AnyFeature::Finding(f) => AnyFeature::Finding(FindingItem {
                geometry: GeometryJson(None, f.geometry.1),
                ..f
            }),
        }
    }
}

/// An audit finding as a feature with an id (`/items/{id}` needs one).
#[derive(Serialize)]
pub struct FindingItem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: usize,
    geometry: GeometryJson<'a>,
    properties: &'a Finding,
}

/// The feature of record `i` of `level`.
pub fn record<'a>(registry: &'a Registry, level: Level, i: usize, out: Out<'a>) -> AnyFeature<'a> {
    match level {
        Level::Town => AnyFeature::Town(town_feature(registry, &registry.towns[i], out)),
        Level::Community => {
            AnyFeature::Community(community_feature(registry, &registry.communities[i], out))
        }
        Level::Grid => AnyFeature::Grid(grid_feature(registry, &registry.grids[i], out)),
    }
}

/// Finding `i` (0-based) of `findings` as a feature; its id is `i + 1`.
pub fn finding<'a>(findings: &'a [Finding], i: usize, out: Out<'a>) -> AnyFeature<'a> {
    let f = &findings[i];
    AnyFeature::Finding(FindingItem {
        kind: "Feature",
        id: i + 1,
        geometry: GeometryJson(f.geometry.as_ref(), out),
        properties: f,
    })
}

/// A page of features.
#[derive(Serialize)]
pub struct Page<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<AnyFeature<'a>>,
    #[serde(rename = "numberMatched")]
    number_matched: usize,
    #[serde(rename = "numberReturned")]
    number_returned: usize,
    #[serde(rename = "timeStamp", skip_serializing_if = "Option::is_none")]
    time_stamp: Option<String>,
    links: Vec<Link>,
}

/// Where a page starts and how long it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: usize,
    pub limit: usize,
}

impl Window {
    /// The part of `matched` this window shows.
    pub fn of<'m>(&self, matched: &'m [usize]) -> &'m [usize] {
        let start = self.offset.min(matched.len());
        let end = start.saturating_add(self.limit).min(matched.len());
        &matched[start..end]
    }

    /// Whether records follow this window among `matched` ones.
    pub fn has_next(&self, matched: usize) -> bool {
        self.offset.saturating_add(self.limit) < matched
    }
}

/// A page of `features` out of `matched` records, with `links` (the caller adds `next` when
/// [`Window::has_next`]).
pub fn page<'a>(
    features: Vec<AnyFeature<'a>>,
    matched: usize,
    time_stamp: Option<String>,
    links: Vec<Link>,
) -> Page<'a> {
    Page {
        kind: "FeatureCollection",
        number_returned: features.len(),
        features,
        number_matched: matched,
        time_stamp,
        links,
    }
}
