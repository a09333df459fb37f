//! A registry together with its spatial index, guidelines and address register: the immutable
//! unit that the server and the CLI read. A new registry version means a new `Snapshot`, swapped
//! in whole.

use std::path::Path;

use crate::address::{self, AddressBook, AddressBookError, Register};
use crate::audit::{self, AuditReport};
use crate::index::{Hit, SpatialIndex};
use crate::registry::{LoadError, Noding, Plausible, Problem, Registry, load_dir};
use crate::rules::Guidelines;

mod change;

pub struct Snapshot {
    pub registry: Registry,
    pub index: SpatialIndex,
    /// The guidelines the registry is checked against (from the data directory, else shipped).
    pub guidelines: Guidelines,
    /// The address register (empty when the directory has none).
    pub addresses: AddressBook,
    /// The T-junctions resolved when the snapshot was built (`Registry::node`).
    pub noding: Noding,
}

impl Snapshot {
    pub fn new(registry: Registry, guidelines: Guidelines) -> Self {
        Self::with_addresses(registry, guidelines, Register::default())
    }

    /// Nodes `registry` (T-junctions within the guidelines' `node_tolerance_m`), indexes it and
    /// resolves every register entry through it. The register's search index needs only the
    /// towns' names, so it is built beside the noding and the spatial index (two cores; issue
    /// 20: at ×100 the three took ~20 s one after another).
    pub fn with_addresses(
        mut registry: Registry,
        guidelines: Guidelines,
        entries: Register,
    ) -> Self {
        let town_names: Vec<String> = registry.towns.iter().map(|t| t.name.clone()).collect();
        let tolerance_m = guidelines.audit.node_tolerance_m;
        let ((noding, index), prepared) = rayon::join(
            || {
                let noding = registry.node(tolerance_m);
                (noding, SpatialIndex::new(&registry))
            },
            || AddressBook::prepare(entries, town_names.iter().map(String::as_str)),
        );
        let addresses = prepared.locate(&index);
        Snapshot {
            registry,
            index,
            guidelines,
            addresses,
            noding,
        }
    }

    /// Loads and indexes a boundary directory, its `guidelines.toml` and its `addresses.csv`
    /// (each optional beyond the three boundary files); reports the problems of all together.
    pub fn load(dir: &Path) -> Result<Self, LoadError> {
        Self::load_with(dir, |plausible| load_dir(dir, plausible))
    }

    /// As [`Snapshot::load`], with the registry from `registry` (given the guidelines' maxima)
    /// instead of the directory's boundary files: e.g. an import checked in memory before its
    /// files are written.
    pub fn load_with(
        dir: &Path,
        registry: impl FnOnce(&Plausible) -> Result<Registry, LoadError> + Send,
    ) -> Result<Self, LoadError> {
        let guidelines = Guidelines::load_dir(dir).map_err(|e| Problem {
            file: "guidelines.toml".to_owned(),
            feature: None,
            code: None,
            field: None,
            message: e.message,
        });
        // Unreadable guidelines are reported; the boundaries are still checked, with the
        // default maxima.
        let plausible = guidelines
            .as_ref()
            .map_or_else(|_| Default::default(), |g| g.plausible);
        // The register is read while the boundaries load (two cores, issue 20).
        let (registry, entries) =
            rayon::join(|| registry(&plausible), || AddressBook::read_dir(dir));
        match (registry, guidelines, entries) {
            (Ok(registry), Ok(guidelines), Ok(entries)) => Ok(Self::with_addresses(
                registry,
                guidelines,
                entries.unwrap_or_default(),
            )),
            (registry, guidelines, entries) => {
                let mut problems = registry.err().map(|e| e.problems).unwrap_or_default();
                problems.extend(guidelines.err());
                problems.extend(entries.err().into_iter().flat_map(register_problems));
                Err(LoadError { problems })
            }
        }
    }

    pub fn lookup(&self, lon_lat: [f64; 2]) -> Hit {
        self.index.lookup(lon_lat)
    }

    /// The coverage audit of this snapshot ([`audit::audit`]), with the communities' rings its
    /// spatial index prepared. `progress` as there.
    pub fn audit(&self, progress: &(dyn Fn(usize, usize) + Sync)) -> AuditReport {
        audit::audit_prepared(
            &self.registry,
            &self.guidelines,
            self.index.community_rings(),
            progress,
        )
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
