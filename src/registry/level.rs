//! The three levels of the registry — town/street, community, grid — and every way they are
//! spelled: in URLs and the database (`towns`), in boundary file names (`towns.geojson`), in
//! messages (`town`) and in Chinese (镇街). Everything else names a level through [`Level`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A level of the registry, from the largest unit to the smallest. Codes nest: a community's
/// code starts with its town's, a grid's with its community's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// A town or street (镇街).
    Town,
    /// A community (社区) or village.
    Community,
    /// A grid (网格).
    Grid,
}

impl Level {
    /// Every level, largest first: the order of the boundary files, the database layers and
    /// the tile topology.
    pub const ALL: [Level; 3] = [Level::Town, Level::Community, Level::Grid];

    /// The plural collection name used in URLs (`/api/v1/towns`), the database
    /// (`features.layer`), tile layers and the CLI: `towns`, `communities`, `grids`.
    pub const fn collection(self) -> &'static str {
        match self {
            Level::Town => "towns",
            Level::Community => "communities",
            Level::Grid => "grids",
        }
    }

    /// The singular name used in messages and the `level` attribute of label tiles: `town`,
    /// `community`, `grid`.
    pub const fn name(self) -> &'static str {
        match self {
            Level::Town => "town",
            Level::Community => "community",
            Level::Grid => "grid",
        }
    }

    /// The boundary file of the level within a data directory: `towns.geojson`, ….
    pub const fn file(self) -> &'static str {
        match self {
            Level::Town => "towns.geojson",
            Level::Community => "communities.geojson",
            Level::Grid => "grids.geojson",
        }
    }

    /// The Chinese name: 镇街, 社区, 网格.
    pub const fn chinese(self) -> &'static str {
        match self {
            Level::Town => "镇街",
            Level::Community => "社区",
            Level::Grid => "网格",
        }
    }

    /// Digits of a code at this level: 9 (6-digit city code + town number), 12, 15.
    pub const fn code_digits(self) -> usize {
        match self {
            Level::Town => 9,
            Level::Community => 12,
            Level::Grid => 15,
        }
    }

    /// The level a record of this one belongs to (`None` for towns).
    pub const fn parent(self) -> Option<Level> {
        match self {
            Level::Town => None,
            Level::Community => Some(Level::Town),
            Level::Grid => Some(Level::Community),
        }
    }

    /// Position in [`Level::ALL`], for arrays with one entry per level.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Level {
    /// The collection name, as [`FromStr`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.collection())
    }
}

/// A name that is not a level's collection name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown level {0:?}; levels are towns, communities, grids")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;

    /// Reads a collection name (`towns`, `communities`, `grids`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| l.collection() == s)
            .ok_or_else(|| UnknownLevel(s.to_owned()))
    }
}

impl Serialize for Level {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.collection())
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The 9-digit town code within a town's national 12-digit statistical code (统计用区划代码):
/// `442000001000` → `442000001`. The statistical code pads a town with `000` where a community
/// number goes, so bureau data and other systems often carry it; shequ accepts it wherever a
/// town code is asked for. `None` when `code` is not 12 digits ending in `000`.
pub fn town_code(code: &str) -> Option<&str> {
    let digits = Level::Community.code_digits();
    (code.len() == digits && code.bytes().all(|b| b.is_ascii_digit()) && code.ends_with("000"))
        .then(|| &code[..Level::Town.code_digits()])
}

#[cfg(test)]
mod tests {

    #[test]
    fn statistical_town_codes_name_their_town() {
        assert_eq!(super::town_code("442000001000"), Some("442000001"));
        assert_eq!(super::town_code("442000001001"), None);
        assert_eq!(super::town_code("442000001"), None);
        assert_eq!(super::town_code("44200000a000"), None);
    }

    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        for (i, level) in Level::ALL.into_iter().enumerate() {
            assert_eq!(level.index(), i);
            assert_eq!(level.to_string().parse::<Level>(), Ok(level));
            assert_eq!(level.file(), format!("{}.geojson", level.collection()));
            assert_eq!(
                serde_json::to_value(level).ok(),
                Some(level.collection().into())
            );
            assert_eq!(
                serde_json::from_value::<Level>(level.collection().into()).ok(),
                Some(level)
            );
        }
        assert_eq!(
            "town".parse::<Level>(),
            Err(UnknownLevel("town".to_owned()))
        );
        assert!(serde_json::from_value::<Level>("streets".into()).is_err());
    }

    #[test]
    fn codes_nest_with_the_parents() {
        assert_eq!(Level::Town.parent(), None);
        for level in [Level::Community, Level::Grid] {
            let parent = level.parent().map(Level::code_digits);
            assert_eq!(parent.map(|d| d + 3), Some(level.code_digits()));
        }
    }

    #[test]
    fn the_error_lists_every_level() {
        let message = UnknownLevel("x".into()).to_string();
        for level in Level::ALL {
            assert!(message.contains(level.collection()), "{message}");
        }
    }
}
