//! The registry's data model. Codes nest: a 12-digit community code starts with its 9-digit town
//! code, a 15-digit grid code with its community code.

use std::ops::{Add, AddAssign};
use std::sync::Arc;

use geo::{MultiPolygon, Point};
use serde::Serialize;

use super::code_index::CodeIndex;
use super::level::Level;

/// Residents counted in a grid, or summed over a community's grids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub households: u64,
    pub population: u64,
    /// Households receiving civil-affairs services (the monthly caseload).
    pub service_households: u64,
}

impl Add for Counts {
    type Output = Counts;
    /// Saturating: loading bounds every count (`registry::load::MAX_COUNT`), so a real sum never
    /// comes near `u64::MAX`; saturating keeps a sum of absurd input from wrapping to a small,
    /// plausible-looking number.
    fn add(self, o: Counts) -> Counts {
        Counts {
            households: self.households.saturating_add(o.households),
            population: self.population.saturating_add(o.population),
            service_households: self.service_households.saturating_add(o.service_households),
        }
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        *self = *self + o;
    }
}

/// A feature's area, shared between registry versions: a version made by a change
/// ([`Registry::with_edit`]) copies the records it keeps but not their geometry (at ×100 the
/// copies held a second city of coordinates while an approval was applied; issue 20).
pub type Area = Arc<MultiPolygon<f64>>;

/// A town or street (镇街).
#[derive(Debug, Clone)]
pub struct Town {
    /// 9 digits: 6-digit city code + 3-digit town number.
    pub code: String,
    pub name: String,
    pub area: Area,
    /// Indices into `Registry::communities`, in code order.
    pub communities: Vec<usize>,
}

/// What a community is administratively; the guidelines may differ by kind.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CommunityKind {
    /// Urban residents' committee (社区居民委员会).
    Community,
    /// Village converted to a residents' committee (村改居), often still run like a village.
    VillageConverted,
    /// Villagers' committee (村民委员会).
    Village,
}

impl CommunityKind {
    pub const ALL: [CommunityKind; 3] = [
        CommunityKind::Community,
        CommunityKind::VillageConverted,
        CommunityKind::Village,
    ];

    /// The spelling used in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CommunityKind::Community => "community",
            CommunityKind::VillageConverted => "village_converted",
            CommunityKind::Village => "village",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A community (社区) or village; `territory` is `None` for communities with no defined territory.
#[derive(Debug, Clone)]
pub struct Community {
    /// 12 digits: town code + 3-digit community number.
    pub code: String,
    pub name: String,
    /// Index into `Registry::towns`.
    pub town: usize,
    pub kind: CommunityKind,
    pub workers: u32,
    pub office_area_m2: f64,
    /// The service centre, if known.
    pub office: Option<Point<f64>>,
    /// Sum over the grids, or as given for a community without territory.
    pub counts: Counts,
    pub territory: Option<Area>,
    /// Indices into `Registry::grids`, in code order.
    pub grids: Vec<usize>,
}

/// A grid (网格): the unit residents are counted in and work orders are routed to.
#[derive(Debug, Clone)]
pub struct Grid {
    /// 15 digits: community code + 3-digit grid number.
    pub code: String,
    pub name: String,
    /// Index into `Registry::communities`.
    pub community: usize,
    pub counts: Counts,
    pub area: Area,
}

/// A validated snapshot of the city. Towns, communities and grids are sorted by code, so
/// indices are stable for a given snapshot and ties can be broken by index.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub towns: Vec<Town>,
    pub communities: Vec<Community>,
    pub grids: Vec<Grid>,
    town_index: CodeIndex,
    community_index: CodeIndex,
    grid_index: CodeIndex,
}

impl Registry {
    /// Assembles a snapshot from records that are already sorted by code and cross-checked.
    pub(crate) fn from_parts(
        towns: Vec<Town>,
        communities: Vec<Community>,
        grids: Vec<Grid>,
    ) -> Self {
        Registry {
            town_index: CodeIndex::new(towns.iter().map(|t| t.code.as_str())),
            community_index: CodeIndex::new(communities.iter().map(|c| c.code.as_str())),
            grid_index: CodeIndex::new(grids.iter().map(|g| g.code.as_str())),
            towns,
            communities,
            grids,
        }
    }

    /// The town with a 9-digit town code, or with the national 12-digit statistical code that
    /// pads it with `000` ([`super::town_code`]): both name a town wherever one is asked for.
    pub fn town_by_code(&self, code: &str) -> Option<usize> {
        let code = super::town_code(code).unwrap_or(code);
        self.town_index.get(code)
    }

    pub fn community_by_code(&self, code: &str) -> Option<usize> {
        self.community_index.get(code)
    }

    pub fn grid_by_code(&self, code: &str) -> Option<usize> {
        self.grid_index.get(code)
    }

    /// The position of the record of `level` with `code`.
    pub fn by_code(&self, level: Level, code: &str) -> Option<usize> {
        match level {
            Level::Town => self.town_by_code(code),
            Level::Community => self.community_by_code(code),
            Level::Grid => self.grid_by_code(code),
        }
    }

    /// Counts summed over every community, with or without territory.
    pub fn total_counts(&self) -> Counts {
        self.communities
            .iter()
            .map(|c| c.counts)
            .fold(Counts::default(), Add::add)
    }
}
