//! A snapshot after an approved change, built from the snapshot before it: only what the
//! change touches is parsed, noded, indexed and audited again (issue 19: an approval's time
//! went to rebuilding the whole city from the database).

use std::time::Instant;

use super::Snapshot;
use crate::audit::{self, AuditReport};
use crate::registry::{Edit, LoadError, Noding, Touched};

impl Snapshot {
    /// The snapshot `edit` makes of this one: the registry a full load of the new version gives
    /// ([`crate::registry::Registry::with_edit`] says why), its index updated where the change
    /// reached ([`crate::index::SpatialIndex::with_change`]), the same guidelines (the store
    /// keeps one guidelines document for every version) and address register, re-resolved.
    /// Also returns what was touched.
    pub fn with_edit(&self, edit: &Edit) -> Result<(Snapshot, Touched), LoadError> {
        let started = Instant::now();
        let tolerance_m = self.guidelines.audit.node_tolerance_m;
        let (registry, touched) =
            self.registry
                .with_edit(edit, &self.guidelines.plausible, tolerance_m)?;
        let noding = Noding {
            junctions: self.noding.junctions + touched.junctions,
            tolerance_m,
            millis: started.elapsed().as_secs_f64() * 1e3,
        };
        let index = self.index.with_change(&self.registry, &registry, &touched);
        let addresses = self
            .addresses
            .relocated(&self.registry, &registry, &touched, &index);
        let snapshot = Snapshot {
            registry,
            index,
            guidelines: self.guidelines.clone(),
            addresses,
            noding,
        };
        Ok((snapshot, touched))
    }

    /// The audit of this snapshot, which is `before`'s snapshot changed as `touched` says,
    /// from `before`'s audit: only the checks the change reached run again
    /// ([`audit::audit_change`]).
    pub fn audit_after(&self, before: &AuditReport, touched: &Touched) -> AuditReport {
        audit::audit_change(
            before,
            &self.registry,
            &self.guidelines,
            self.index.community_rings(),
            touched,
        )
    }
}
