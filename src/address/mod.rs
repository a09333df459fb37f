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

    /// The same register resolved through `spatial` (the index of a changed registry with the
    /// same towns): the entries and search index are shared, only the places are looked up
    /// again (a lookup is a fraction of a microsecond; building the search index is not).
    pub fn relocated(&self, spatial: &SpatialIndex) -> Self {
        AddressBook {
            entries: Arc::clone(&self.entries),
            hits: self
                .entries
                .points()
                .par_iter()
                .map(|&p| pack(spatial.lookup(p)))
                .collect(),
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
