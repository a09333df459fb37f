//! Noding the registry at load: one topology for every level (see `geometry::noding`).

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::Registry;
use crate::geometry::noding::node;

/// What noding did when a snapshot was built, for the loader's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Noding {
    /// T-junctions resolved: distinct (vertex, edge) pairs where a vertex of one feature was
    /// inserted into another feature's edge.
    pub junctions: usize,
    /// The tolerance it used, metres (`[audit] node_tolerance_m` of the guidelines).
    pub tolerance_m: f64,
    /// How long it took, milliseconds (the cost of noding at load; see BENCHMARKS.md).
    pub millis: f64,
}

impl Registry {
    /// Inserts every vertex of a town, community or grid lying within `tolerance_m` of another
    /// feature's edge into that edge (all levels together), so that shared-arc detection, tile
    /// simplification, dissolve, cut-grid detection and the audit all see the same vertices.
    /// The input files are not touched; only this snapshot's geometry gains vertices.
    pub fn node(&mut self, tolerance_m: f64) -> Noding {
        let started = Instant::now();
        let mut areas: Vec<&mut geo::MultiPolygon<f64>> = self
            .towns
            .iter_mut()
            .map(|t| Arc::make_mut(&mut t.area))
            .chain(
                self.communities
                    .iter_mut()
                    .filter_map(|c| c.territory.as_mut().map(Arc::make_mut)),
            )
            .chain(self.grids.iter_mut().map(|g| Arc::make_mut(&mut g.area)))
            .collect();
        let junctions = node(&mut areas, tolerance_m);
        Noding {
            junctions,
            tolerance_m,
            millis: started.elapsed().as_secs_f64() * 1e3,
        }
    }
}
