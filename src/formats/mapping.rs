//! Field mapping: which source field (a column of a Shapefile's `.dbf`, a GeoPackage table, a
//! GeoJSON property) holds which shequ field, and which source layer is which level.
//!
//! Surveying units name fields in Chinese pinyin initials (`SQDM` 社区代码, `SQMC` 社区名称,
//! `HS` 户数 …), so a mapping file says it once (`--map`, TOML):
//!
//! ```toml
//! [layers]            # source layer (file stem or GeoPackage table) → shequ layer
//! SQ = "communities"
//! [communities]       # source field → shequ field
//! SQDM = "code"
//! SQMC = "name"
//! BGX = "office_lon"  # the office position as two columns, in the file's CRS
//! BGY = "office_lat"
//! ```
//!
//! Without an entry a source field keeps its name when it is a shequ field, and the short
//! names of shequ's own Shapefile downloads ([`SHORT_NAMES`]) and GDAL's 10-character cuts of
//! the long names are understood, so a download imports back without a mapping file.

use std::collections::HashMap;

use serde::Deserialize;

use crate::registry::Level;

/// The names shequ's Shapefile downloads give the columns whose shequ names do not fit a
/// `.dbf` field name (at most 10 characters). Stable: a published download is read back by
/// these names (the defaults below), and users' own mappings may name them. Every other column
/// keeps its name; `office` ([x, y]) is always two columns, [`OFFICE_X`] and [`OFFICE_Y`].
pub const SHORT_NAMES: [(&str, &str); 4] = [
    ("office_area_m2", "office_m2"),
    ("service_households", "service_hh"),
    ("community_code", "comm_code"),
    ("communities", "n_comms"),
];

/// The `.dbf` name of a column: its [`SHORT_NAMES`] entry, or its own name (cut to 10
/// characters should a new long column appear before it has an entry).
pub fn short_name(name: &str) -> String {
    SHORT_NAMES
        .iter()
        .find(|(long, _)| *long == name)
        .map_or_else(
            || name.chars().take(10).collect(),
            |(_, short)| (*short).to_owned(),
        )
}

/// The office position's two columns (targets of a mapping like any field), in the file's CRS:
/// longitude and latitude, or easting and northing.
pub const OFFICE_X: &str = "office_lon";
pub const OFFICE_Y: &str = "office_lat";

/// Other names of the long fields: shequ's own short names ([`SHORT_NAMES`]) and what GDAL
/// makes of the long names when it writes a Shapefile (cut to 10 characters).
const ALIASES: [(&str, &str); 6] = [
    ("office_m2", "office_area_m2"),
    ("office_are", "office_area_m2"),
    ("service_hh", "service_households"),
    ("service_ho", "service_households"),
    ("comm_code", "community_code"),
    ("community_", "community_code"),
];

/// The shequ fields a layer's features carry (targets of a mapping).
pub fn fields(level: Level) -> &'static [&'static str] {
    match level {
        Level::Town => &["code", "name"],
        Level::Community => &[
            "code",
            "name",
            "town_code",
            "kind",
            "workers",
            "office_area_m2",
            OFFICE_X,
            OFFICE_Y,
            "households",
            "population",
            "service_households",
        ],
        Level::Grid => &[
            "code",
            "name",
            "community_code",
            "households",
            "population",
            "service_households",
        ],
    }
}

/// The fields every feature of a layer must have (the loader's required properties; a
/// community's counts are required only when it has no territory, so they are not here).
pub fn required(level: Level) -> &'static [&'static str] {
    match level {
        // Every field of a community but its office and counts; every field of the others.
        Level::Community => &fields(Level::Community)[..6],
        Level::Town | Level::Grid => fields(level),
    }
}

/// Why a mapping file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("not a valid mapping file: {0}")]
    Toml(String),
    #[error("[{section}] {key} = {value:?}: {why}")]
    Entry {
        section: String,
        key: String,
        value: String,
        why: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    layers: HashMap<String, String>,
    #[serde(default)]
    towns: HashMap<String, String>,
    #[serde(default)]
    communities: HashMap<String, String>,
    #[serde(default)]
    grids: HashMap<String, String>,
}

/// A checked mapping (the defaults when no file is given).
#[derive(Debug, Default, Clone)]
pub struct Mapping {
    /// Source layer name (lower case) → level.
    layers: HashMap<String, Level>,
    /// Per level (in [`Level::ALL`] order): source field (lower case) → shequ field.
    fields: [HashMap<String, &'static str>; 3],
}

impl Mapping {
    /// Parses and checks a mapping file's text: every target must be a field of its layer.
    pub fn parse(text: &str) -> Result<Mapping, MappingError> {
        let file: MappingFile =
            toml::from_str(text).map_err(|e| MappingError::Toml(e.to_string()))?;
        let mut mapping = Mapping::default();
        for (source, target) in file.layers {
            let level = target.parse::<Level>().map_err(|_| MappingError::Entry {
                section: "layers".into(),
                key: source.clone(),
                value: target.clone(),
                why: "expected towns, communities or grids".into(),
            })?;
            mapping.layers.insert(source.to_lowercase(), level);
        }
        for (level, entries) in
            Level::ALL
                .into_iter()
                .zip([file.towns, file.communities, file.grids])
        {
            for (source, target) in entries {
                let known = fields(level)
                    .iter()
                    .find(|f| **f == target)
                    .ok_or_else(|| MappingError::Entry {
                        section: level.collection().into(),
                        key: source.clone(),
                        value: target.clone(),
                        why: format!(
                            "not a field of {}: expected one of {}",
                            level.collection(),
                            fields(level).join(", ")
                        ),
                    })?;
                mapping.fields[level.index()].insert(source.to_lowercase(), known);
            }
        }
        Ok(mapping)
    }

    /// The level a source layer holds: the mapping's `[layers]` entry, or its own name
    /// (`towns`, `communities`, `grids`).
    pub fn level_of(&self, layer: &str) -> Option<Level> {
        let lower = layer.to_lowercase();
        self.layers
            .get(&lower)
            .copied()
            .or_else(|| lower.parse().ok())
    }

    /// The shequ field a source field of `level` maps to, if any.
    pub fn target(&self, level: Level, source: &str) -> Option<&'static str> {
        let lower = source.to_lowercase();
        if let Some(t) = self.fields[level.index()].get(&lower) {
            return Some(t);
        }
        // A field the mapping sends elsewhere is not also taken by its own name.
        let own = fields(level);
        let by_name = own.iter().find(|f| **f == lower).copied().or_else(|| {
            ALIASES
                .iter()
                .find(|(alias, _)| *alias == lower)
                .and_then(|(_, long)| own.iter().find(|f| **f == *long).copied())
        })?;
        let mapped_elsewhere = self.fields[level.index()].values().any(|t| *t == by_name);
        (!mapped_elsewhere).then_some(by_name)
    }

    /// The required fields of `level` that none of `source_fields` maps to.
    pub fn unmapped(&self, level: Level, source_fields: &[String]) -> Vec<&'static str> {
        let covered: Vec<&str> = source_fields
            .iter()
            .filter_map(|f| self.target(level, f))
            .collect();
        required(level)
            .iter()
            .filter(|r| !covered.contains(r))
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn every_short_name_fits_a_dbf_and_reads_back() {
        let m = Mapping::default();
        for level in Level::ALL {
            for field in fields(level) {
                let short = short_name(field);
                assert!(short.len() <= 10, "{short}");
                assert_eq!(m.target(level, &short), Some(*field), "{level:?} {short}");
            }
        }
    }

    #[test]
    fn defaults_take_shequ_short_and_gdal_cut_names() {
        let m = Mapping::default();
        assert_eq!(
            m.target(Level::Community, "office_m2"),
            Some("office_area_m2")
        );
        assert_eq!(
            m.target(Level::Community, "office_are"),
            Some("office_area_m2")
        );
        assert_eq!(
            m.target(Level::Grid, "SERVICE_HO"),
            Some("service_households")
        );
        assert_eq!(m.target(Level::Grid, "comm_code"), Some("community_code"));
        assert_eq!(m.target(Level::Community, "office_lon"), Some(OFFICE_X));
        assert_eq!(m.target(Level::Town, "NAME"), Some("name"));
        assert_eq!(m.target(Level::Town, "workers"), None);
        assert_eq!(m.level_of("Grids"), Some(Level::Grid));
        assert_eq!(m.level_of("WG"), None);
    }

    #[test]
    fn a_mapping_file_renames_and_names_layers() {
        let m = Mapping::parse(
            "[layers]\nWG = \"grids\"\n[grids]\nWGDM = \"code\"\nWGMC = \"name\"\nHS = \"households\"\n",
        )
        .expect("valid");
        assert_eq!(m.level_of("wg"), Some(Level::Grid));
        assert_eq!(m.target(Level::Grid, "WGDM"), Some("code"));
        assert_eq!(m.target(Level::Grid, "hs"), Some("households"));
        // `code` is mapped from WGDM, so a column called `code` is not taken too.
        assert_eq!(m.target(Level::Grid, "code"), None);
        let missing = m.unmapped(Level::Grid, &names(&["WGDM", "WGMC", "HS", "RK"]));
        assert_eq!(
            missing,
            ["community_code", "population", "service_households"]
        );
    }

    #[test]
    fn bad_mapping_files_are_refused_with_the_entry() {
        let e = Mapping::parse("[grids]\nHS = \"homes\"\n").expect_err("unknown target");
        assert!(e.to_string().contains("[grids] HS = \"homes\""), "{e}");
        let e = Mapping::parse("[layers]\nSQ = \"villages\"\n").expect_err("unknown layer");
        assert!(
            e.to_string()
                .contains("expected towns, communities or grids"),
            "{e}"
        );
        let e = Mapping::parse("[parcels]\nA = \"code\"\n").expect_err("unknown section");
        assert!(e.to_string().contains("not a valid mapping file"), "{e}");
        assert!(Mapping::parse("not = [toml").is_err());
    }
}
