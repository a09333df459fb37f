//! Which vertices of each arc a zoom draws: one byte per arc vertex, the first simplified zoom
//! whose Douglas–Peucker tolerance keeps it ([`keep_levels`]), in one flat array.
//!
//! This replaces 17 zooms of simplified shapes (whole `MultiPolygon` copies, 3.5 GB at ×100,
//! issue 20): a tile assembles the shapes it shows from the topology's arcs, reading only the
//! vertices its zoom keeps, which are the very coordinates the simplified arcs had (exact, no
//! rounding), so the tiles are the same bytes.

use std::sync::Arc;

use geo::Coord;
use rayon::prelude::*;

use super::simplify::keep_levels;

/// Per arc of a topology (by number), per vertex, the first simplified zoom that keeps it.
pub(super) struct KeptVertices {
    /// Where each arc's bytes start in `levels`; one more entry than arcs.
    start: Vec<usize>,
    levels: Vec<u8>,
}

impl KeptVertices {
    /// The levels of every arc, `tol2` being each simplified zoom's squared tolerance.
    pub fn of(arcs: &[Arc<[Coord<f64>]>], tol2: &[f64]) -> Self {
        Self::build(arcs, tol2, |_| None)
    }

    /// The levels of `arcs`, a topology derived from `old_arcs` (whose levels are `old`): an
    /// arc in the same slot that is the very same arc (shared, not equal) keeps its levels;
    /// the others (new, or a freed slot re-used) are simplified.
    pub fn carried(
        old: &KeptVertices,
        old_arcs: &[Arc<[Coord<f64>]>],
        arcs: &[Arc<[Coord<f64>]>],
        tol2: &[f64],
    ) -> Self {
        Self::build(arcs, tol2, |a| {
            let same = old_arcs.get(a).is_some_and(|o| Arc::ptr_eq(o, &arcs[a]));
            same.then(|| old.of_arc(a as u32))
        })
    }

    /// The levels of `arcs`, copied from `known(arc)` when it has them, else computed (on
    /// rayon's threads, each arc writing its own part of the one array).
    fn build<'o>(
        arcs: &[Arc<[Coord<f64>]>],
        tol2: &[f64],
        known: impl Fn(usize) -> Option<&'o [u8]> + Sync,
    ) -> Self {
        let mut start = Vec::with_capacity(arcs.len() + 1);
        let mut total = 0;
        start.push(0);
        for a in arcs {
            total += a.len();
            start.push(total);
        }
        let mut levels = vec![0u8; total];
        let mut parts: Vec<&mut [u8]> = Vec::with_capacity(arcs.len());
        let mut rest = &mut levels[..];
        for a in arcs {
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(a.len());
            parts.push(part);
            rest = tail;
        }
        parts
            .into_par_iter()
            .zip(arcs.par_iter())
            .enumerate()
            .for_each(|(a, (out, arc))| match known(a) {
                Some(old) if old.len() == out.len() => out.copy_from_slice(old),
                _ => keep_levels(arc, tol2, out),
            });
        KeptVertices { start, levels }
    }

    /// The levels of arc `arc`'s vertices (empty for an unknown arc).
    pub fn of_arc(&self, arc: u32) -> &[u8] {
        let a = arc as usize;
        match (self.start.get(a), self.start.get(a + 1)) {
            (Some(&from), Some(&to)) => self.levels.get(from..to).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Bytes held (for logs).
    pub fn bytes(&self) -> usize {
        self.levels.len() + self.start.len() * std::mem::size_of::<usize>()
    }
}
