//! The standard address register (标准地址) and free-text address search.
//!
//! [`register`] reads `addresses.csv`; [`normalize`] brings the many ways of writing an address
//! to one form; [`search`] finds entries exactly or fuzzily. An [`AddressBook`] ties them to the
//! spatial index, so every entry is resolved once, at load time, to its town, community and grid.

pub mod normalize;
mod numerals;
pub mod register;
pub mod search;

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

pub use register::{
    Entry, ReadError, Register, RegisterError, RegisterProblem, parse as parse_register,
};
pub use search::{MIN_SCORE, Scored};

use crate::index::{Hit, SpatialIndex};
use crate::registry::{Registry, Touched};
use normalize::Normalizer;
use search::SearchIndex;

/// File name of the register in a data directory.
pub const FILE: &str = "addresses.csv";

/// A search result: the entry, where it is, and how well it matched.
#[derive(Debug, Clone, Copy)]
pub struct AddressMatch<'a> {
    pub entry: Entry<'a>,
    pub hit: Hit,
    pub score: f64,
}

/// The loaded register with its search index and resolved places.
#[derive(Default)]
pub struct AddressBook {
    /// Shared with the books of later snapshots ([`AddressBook::relocated`]): the register and
    /// its search index do not change with the boundaries.
    entries: Arc<Register>,
    /// Each entry's place, packed ([`pack`]): 12 bytes where a [`Hit`] takes 48 (4.9 M
    /// entries at ×100).
    hits: Vec<[u32; 3]>,
    index: Arc<SearchIndex>,
}

/// No town, community or grid in a packed [`Hit`].
const NOWHERE: u32 = u32::MAX;

/// A [`Hit`] as three `u32` (registry positions are far below `u32::MAX`).
fn pack(hit: Hit) -> [u32; 3] {
    [hit.town, hit.community, hit.grid].map(|i| i.map_or(NOWHERE, |i| i as u32))
}

fn unpack(packed: [u32; 3]) -> Hit {
    let [town, community, grid] = packed.map(|i| (i != NOWHERE).then_some(i as usize));
    Hit {
        town,
        community,
        grid,
    }
}

/// A register and its search index, its entries not yet located in any registry
/// ([`AddressBook::prepare`]).
pub struct Prepared {
    entries: Register,
    index: SearchIndex,
}

impl Prepared {
    /// The book of these entries, each resolved through `spatial`.
    pub fn locate(self, spatial: &SpatialIndex) -> AddressBook {
        let hits = self
            .entries
            .points()
            .par_iter()
            .map(|&p| pack(spatial.lookup(p)))
            .collect();
        AddressBook {
            entries: Arc::new(self.entries),
            hits,
            index: Arc::new(self.index),
        }
    }
}

/// Why the register of a directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AddressBookError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Register(#[from] RegisterError),
}

impl AddressBookError {
    fn reading(path: &Path, e: ReadError) -> Self {
        match e {
            ReadError::Io(source) => AddressBookError::Io {
                path: path.display().to_string(),
                source,
            },
            ReadError::Register(e) => AddressBookError::Register(e),
        }
    }
}

impl AddressBook {
    /// Indexes `entries`, resolving each through `spatial`; `town_names` are the registry's towns
    /// (in its order) so that town prefixes are recognised.
    pub fn new<'a>(
        entries: Register,
        town_names: impl IntoIterator<Item = &'a str>,
        spatial: &SpatialIndex,
    ) -> Self {
        Self::prepare(entries, town_names).locate(spatial)
    }

    /// The search index of `entries`, which needs the towns' names but not their boundaries:
    /// a snapshot builds it while it nodes and indexes the boundaries (issue 20), then
    /// [`Prepared::locate`]s the entries.
    pub fn prepare<'a>(
        entries: Register,
        town_names: impl IntoIterator<Item = &'a str>,
    ) -> Prepared {
        let index = SearchIndex::new(
            Normalizer::new(town_names),
            |i| entries.get(i).address,
            entries.len(),
        );
        Prepared { entries, index }
    }

    /// The same register resolved in `new`, which is `old` (this book's registry) changed as
    /// `touched` says, indexed by `spatial`. The entries and search index are shared; an entry
    /// outside the box of what changed keeps its place, renumbered to `new`'s positions by code,
    /// and only the entries inside it are looked up again (at ×100, 4.9 M lookups took ≈ 2 s of
    /// an approval).
    ///
    /// Why a kept place is the lookup's answer: every feature the change ended, created or
    /// re-noded lies inside `touched.bounds` (old and new geometry), so outside it the same
    /// features, by code, contain a point, and slots follow code order in both registries; towns
    /// are never added or removed by a change.
    pub fn relocated(
        &self,
        old: &Registry,
        new: &Registry,
        touched: &Touched,
        spatial: &SpatialIndex,
    ) -> Self {
        let slot = |i: Option<usize>| i.map_or(NOWHERE, |i| i as u32);
        let grids: Vec<u32> = old
            .grids
            .iter()
            .map(|g| slot(new.grid_by_code(&g.code)))
            .collect();
        let communities: Vec<u32> = old
            .communities
            .iter()
            .map(|c| slot(new.community_by_code(&c.code)))
            .collect();
        let renumber = |i: u32, to: &[u32]| match i {
            NOWHERE => Some(NOWHERE),
            i => to.get(i as usize).copied().filter(|&n| n != NOWHERE),
        };
        let outside = |p: [f64; 2]| {
            touched.bounds.is_none_or(|b| {
                p[0] < b.min().x || p[0] > b.max().x || p[1] < b.min().y || p[1] > b.max().y
            })
        };
        let hits = self
            .entries
            .points()
            .par_iter()
            .zip(&self.hits)
            .map(|(&p, &[town, community, grid])| {
                let kept = outside(p)
                    .then(|| {
                        Some([
                            town,
                            renumber(community, &communities)?,
                            renumber(grid, &grids)?,
                        ])
                    })
                    .flatten();
                kept.unwrap_or_else(|| pack(spatial.lookup(p)))
            })
            .collect();
        AddressBook {
            entries: Arc::clone(&self.entries),
            hits,
            index: Arc::clone(&self.index),
        }
    }

    /// Reads `dir/addresses.csv` if present (`Ok(None)` if not), line by line.
    pub fn read_dir(dir: &Path) -> Result<Option<Register>, AddressBookError> {
        let path = dir.join(FILE);
        match std::fs::File::open(&path) {
            Ok(file) => register::parse_reader(std::io::BufReader::with_capacity(1 << 16, file))
                .map(Some)
                .map_err(|e| AddressBookError::reading(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(AddressBookError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &Register {
        &self.entries
    }

    /// The best `limit` matches for `query`: exact ones (score 1) first, then fuzzy ones with a
    /// score in [`MIN_SCORE`], 1). Empty when nothing resembles the query.
    pub fn search(&self, query: &str, limit: usize) -> Vec<AddressMatch<'_>> {
        self.index
            .search(query, limit)
            .into_iter()
            .map(|s| AddressMatch {
                entry: self.entries.get(s.entry),
                hit: unpack(self.hits[s.entry]),
                score: s.score,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::registry::test_city::{self, C1, C2, T1, at, community, grid, rect};
    use crate::registry::{Edit, Plausible, load_features};

    /// An entry at every quarter step over the city and around it: vertices, edges, interiors.
    fn register() -> Register {
        let mut csv = String::from("code,address,lon,lat\n");
        for i in -4..=20 {
            for j in -4..=12 {
                let p = at(f64::from(i) / 4.0, f64::from(j) / 4.0);
                let k = csv.lines().count();
                csv += &format!("{},测试路{k}号,{},{}\n", 1000 + k, p[0], p[1]);
            }
        }
        parse_register(&csv).expect("the register parses")
    }

    /// Relocating the book through a change gives every entry the place a book built anew on the
    /// changed registry gives it.
    fn relocates_as_a_new_book(ended: [&[&str]; 2], communities: &[Value], grids: &[Value]) {
        let mut old = load_features(test_city::city(), &Plausible::default()).expect("loads");
        old.node(0.5);
        let names = |r: &Registry| r.towns.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        let book = AddressBook::new(
            register(),
            names(&old).iter().map(String::as_str),
            &SpatialIndex::new(&old),
        );
        let owned = ended.map(|codes| codes.iter().map(|c| c.to_string()).collect::<Vec<_>>());
        let edit = Edit {
            end_communities: &owned[0],
            end_grids: &owned[1],
            communities,
            grids,
        };
        let (new, touched) = old
            .with_edit(&edit, &Plausible::default(), 0.5)
            .expect("applies");
        let index = SpatialIndex::new(&new);
        let relocated = book.relocated(&old, &new, &touched, &index);
        let built = AddressBook::new(register(), names(&new).iter().map(String::as_str), &index);
        assert_eq!(relocated.hits, built.hits);
        // Some entries kept their place through a renumbering, some were looked up again.
        assert_ne!(book.hits, built.hits);
    }

    #[test]
    fn a_split_relocates_as_a_new_book() {
        let (c4, c5) = ("440100001004", "440100001005");
        relocates_as_a_new_book(
            [&[C2], &["440100001002001", "440100001002002"]],
            &[
                community(c4, T1, rect(1.0, 0.0, 2.0, 1.0)),
                community(c5, T1, rect(1.0, 1.0, 2.0, 2.0)),
            ],
            &[
                grid("440100001004001", c4, 30, rect(1.0, 0.0, 2.0, 1.0)),
                grid("440100001005001", c5, 20, rect(1.0, 1.0, 2.0, 2.0)),
            ],
        );
    }

    #[test]
    fn a_recoded_community_renumbers_the_places_of_its_untouched_neighbours() {
        // C1 becomes C4, which sorts after C2 and C3: C2 and its grids move down a slot.
        let c4 = "440100001004";
        relocates_as_a_new_book(
            [&[C1], &["440100001001001"]],
            &[community(c4, T1, rect(0.0, 0.0, 1.0, 2.0))],
            &[grid("440100001004001", c4, 30, rect(0.0, 0.0, 1.0, 1.0))],
        );
    }
}
