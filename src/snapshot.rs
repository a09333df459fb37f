//! A registry together with its spatial index and address register: the immutable unit that the
//! server and the CLI read. A new registry version means a new `Snapshot`, swapped in whole.

use std::path::Path;

use crate::address::{self, AddressBook, AddressBookError, Entry};
use crate::index::{Hit, SpatialIndex};
use crate::registry::{LoadError, Problem, Registry, load_dir};

pub struct Snapshot {
    pub registry: Registry,
    pub index: SpatialIndex,
    /// The address register (empty when the directory has none).
    pub addresses: AddressBook,
}

impl Snapshot {
    pub fn new(registry: Registry) -> Self {
        Self::with_addresses(registry, Vec::new())
    }

    /// Indexes `registry` and resolves every register entry through it.
    pub fn with_addresses(registry: Registry, entries: Vec<Entry>) -> Self {
        let index = SpatialIndex::new(&registry);
        let addresses = AddressBook::new(
            entries,
            registry.towns.iter().map(|t| t.name.as_str()),
            &index,
        );
        Snapshot {
            registry,
            index,
            addresses,
        }
    }

    /// Loads and indexes a boundary directory, with its `addresses.csv` if there is one.
    pub fn load(dir: &Path) -> Result<Self, LoadError> {
        let registry = load_dir(dir);
        let entries = AddressBook::read_dir(dir);
        match (registry, entries) {
            (Ok(registry), Ok(entries)) => {
                Ok(Self::with_addresses(registry, entries.unwrap_or_default()))
            }
            (registry, entries) => {
                let mut problems = registry.err().map(|e| e.problems).unwrap_or_default();
                problems.extend(entries.err().into_iter().flat_map(register_problems));
                Err(LoadError { problems })
            }
        }
    }

    pub fn lookup(&self, lon_lat: [f64; 2]) -> Hit {
        self.index.lookup(lon_lat)
    }
}

/// Register problems in the loader's terms (file, line as the position, field).
fn register_problems(e: AddressBookError) -> Vec<Problem> {
    let problem = |field: Option<&str>, message: String| Problem {
        file: address::FILE.to_owned(),
        feature: None,
        code: None,
        field: field.map(str::to_owned),
        message,
    };
    match e {
        AddressBookError::Io { source, .. } => vec![problem(None, source.to_string())],
        AddressBookError::Register(r) => r
            .problems
            .into_iter()
            .map(|p| problem(p.field, format!("line {}: {}", p.line, p.message)))
            .collect(),
    }
}
