//! A bucket grid of boxes for point queries: noding's index of edge boxes.
//!
//! Noding asks one question millions of times: which edge boxes contain this vertex? The edges
//! of a city are short and spread evenly, so a uniform grid of cells answers it with one cell
//! lookup, and building it is two counting passes and a fill (O(n)), where bulk-loading an
//! R-tree sorts the boxes recursively (and grew faster than linearly at ×10; BENCHMARKS.md,
//! issue 21). The cells are stored compressed (one offset per cell into one array of entries),
//! so the whole index is a few bytes per entry.

/// An axis-aligned box: `[min x, min y]`, `[max x, max y]`.
pub type Bounds = ([f64; 2], [f64; 2]);

/// A uniform grid over the boxes given to [`EdgeGrid::build`]; each cell lists the entries
/// whose box overlaps it.
pub struct EdgeGrid<T> {
    origin: [f64; 2],
    extent: [f64; 2],
    /// Cell side in degrees.
    side: f64,
    columns: usize,
    rows: usize,
    /// `offsets[c]..offsets[c + 1]`: the entries of cell `c` (row-major).
    offsets: Vec<u32>,
    entries: Vec<T>,
}

impl<T: Copy + Default> EdgeGrid<T> {
    /// Builds the grid from `boxes`, which is called three times (bounds, counts, fill) and must
    /// yield the same boxes each time. Cells are sized so that there are about as many cells as
    /// boxes.
    pub fn build<I>(boxes: impl Fn() -> I) -> Self
    where
        I: Iterator<Item = (T, Bounds)>,
    {
        Self::build_with_density(boxes, 1.0)
    }

    /// As [`EdgeGrid::build`], with about `cells_per_box` cells per box: the spatial index asks
    /// for 4, so that a cell holds about two of its polygons' boxes instead of four (each
    /// candidate is a point-in-polygon test), for a few bytes more per polygon. Within a cell,
    /// entries keep the order in which `boxes` yields them.
    pub fn build_with_density<I>(boxes: impl Fn() -> I, cells_per_box: f64) -> Self
    where
        I: Iterator<Item = (T, Bounds)>,
    {
        let mut lower = [f64::INFINITY; 2];
        let mut upper = [f64::NEG_INFINITY; 2];
        let mut n = 0usize;
        for (_, (lo, hi)) in boxes() {
            for k in 0..2 {
                lower[k] = lower[k].min(lo[k]);
                upper[k] = upper[k].max(hi[k]);
            }
            n += 1;
        }
        let extent = [upper[0] - lower[0], upper[1] - lower[1]];
        if n == 0 || extent.iter().any(|e| e.is_nan() || *e < 0.0) {
            return Self::empty();
        }
        let area = (extent[0] * extent[1]).max(f64::MIN_POSITIVE);
        let mut side = (area / (n as f64 * cells_per_box.max(f64::MIN_POSITIVE)))
            .sqrt()
            .max(extent[0].max(extent[1]) / 65_536.0);
        if side.is_nan() || side <= 0.0 || side.is_infinite() {
            side = 1.0;
        }
        loop {
            if let Some(grid) = Self::fill(&boxes, lower, extent, side) {
                return grid;
            }
            // More entries than the offsets can count: coarser cells hold fewer duplicates.
            side *= 2.0;
        }
    }

    fn empty() -> Self {
        EdgeGrid {
            origin: [0.0; 2],
            extent: [-1.0; 2],
            side: 1.0,
            columns: 0,
            rows: 0,
            offsets: vec![0],
            entries: Vec::new(),
        }
    }

    fn fill<I>(
        boxes: &impl Fn() -> I,
        origin: [f64; 2],
        extent: [f64; 2],
        side: f64,
    ) -> Option<Self>
    where
        I: Iterator<Item = (T, Bounds)>,
    {
        let columns = (extent[0] / side) as usize + 1;
        let rows = (extent[1] / side) as usize + 1;
        let mut grid = EdgeGrid {
            origin,
            extent,
            side,
            columns,
            rows,
            offsets: vec![0; columns.checked_mul(rows)?.checked_add(1)?],
            entries: Vec::new(),
        };
        // Counts per cell (shifted by one), then their running sums: each cell's start.
        let mut total = 0u64;
        for (_, bounds) in boxes() {
            let (cx, cy) = grid.cell_range(bounds);
            for y in cy.0..=cy.1 {
                for x in cx.0..=cx.1 {
                    let count = grid.offsets.get_mut(y * columns + x + 1)?;
                    *count = count.checked_add(1)?;
                    total += 1;
                }
            }
        }
        if total > u64::from(u32::MAX) {
            return None;
        }
        for c in 1..grid.offsets.len() {
            grid.offsets[c] += grid.offsets[c - 1];
        }
        let mut next: Vec<u32> = grid.offsets[..grid.offsets.len() - 1].to_vec();
        let mut entries = vec![T::default(); total as usize];
        for (item, bounds) in boxes() {
            let (cx, cy) = grid.cell_range(bounds);
            for y in cy.0..=cy.1 {
                for x in cx.0..=cx.1 {
                    // Same boxes as counted, so every slot exists; a closure that changed its
                    // boxes would lose entries here rather than panic.
                    if let Some(slot) = next.get_mut(y * columns + x) {
                        if let Some(entry) = entries.get_mut(*slot as usize) {
                            *entry = item;
                        }
                        *slot += 1;
                    }
                }
            }
        }
        grid.entries = entries;
        Some(grid)
    }

    /// The column or row of coordinate `v` along axis `k`, clamped to the grid.
    fn cell_of(&self, v: f64, k: usize) -> usize {
        let last = if k == 0 { self.columns } else { self.rows }.saturating_sub(1);
        // `as` saturates: below the origin (and NaN) is cell 0.
        (((v - self.origin[k]) / self.side) as usize).min(last)
    }

    /// The columns and rows a box overlaps (inclusive).
    fn cell_range(&self, (lo, hi): Bounds) -> ((usize, usize), (usize, usize)) {
        (
            (self.cell_of(lo[0], 0), self.cell_of(hi[0], 0)),
            (self.cell_of(lo[1], 1), self.cell_of(hi[1], 1)),
        )
    }

    /// Every entry whose box may contain `p` (a superset of those that do: the caller tests
    /// the box itself). Empty outside the boxes' common bounds.
    pub fn candidates(&self, p: [f64; 2]) -> &[T] {
        let inside = (0..2).all(|k| {
            let d = p[k] - self.origin[k];
            (0.0..=self.extent[k]).contains(&d)
        });
        if !inside {
            return &[];
        }
        let c = self.cell_of(p[1], 1) * self.columns + self.cell_of(p[0], 0);
        match (self.offsets.get(c), self.offsets.get(c + 1)) {
            (Some(&start), Some(&end)) => self
                .entries
                .get(start as usize..end as usize)
                .unwrap_or(&[]),
            _ => &[],
        }
    }
}

impl<T: Copy + Default + Ord> EdgeGrid<T> {
    /// Every entry whose box may overlap the box `lo`–`hi` (a superset; the caller tests the
    /// boxes themselves), ascending and each once; `None` when the box spans more than
    /// `max_cells` cells, where looking at every entry is as quick (a whole city's tile).
    pub fn candidates_in(&self, lo: [f64; 2], hi: [f64; 2], max_cells: usize) -> Option<Vec<T>> {
        let outside =
            (0..2).any(|k| !(hi[k] >= self.origin[k] && lo[k] <= self.origin[k] + self.extent[k]));
        if outside || self.columns == 0 {
            return Some(Vec::new());
        }
        let (cx, cy) = self.cell_range((lo, hi));
        if (cx.1 - cx.0 + 1).saturating_mul(cy.1 - cy.0 + 1) > max_cells {
            return None;
        }
        let mut found = Vec::new();
        for y in cy.0..=cy.1 {
            let (start, end) = (y * self.columns + cx.0, y * self.columns + cx.1 + 1);
            if let (Some(&a), Some(&b)) = (self.offsets.get(start), self.offsets.get(end)) {
                found.extend_from_slice(self.entries.get(a as usize..b as usize).unwrap_or(&[]));
            }
        }
        found.sort_unstable();
        found.dedup();
        Some(found)
    }
}

/// A deterministic source of numbers in [0, 1) for tests (an LCG), from `seed`.
#[cfg(test)]
pub(crate) fn uniform(mut state: u64) -> impl FnMut() -> f64 {
    move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: the boxes containing `p`.
    fn containing(boxes: &[(usize, Bounds)], p: [f64; 2]) -> Vec<usize> {
        boxes
            .iter()
            .filter(|(_, (lo, hi))| (0..2).all(|k| lo[k] <= p[k] && p[k] <= hi[k]))
            .map(|&(i, _)| i)
            .collect()
    }

    #[test]
    fn candidates_include_every_box_containing_the_point() {
        // Boxes of varied sizes on a pseudo-random walk, points on their corners and between.
        let mut boxes = Vec::new();
        let mut next = uniform(12_345u64);
        for i in 0..500 {
            let (x, y) = (113.0 + next() * 0.1, 22.0 + next() * 0.1);
            let (w, h) = (next() * 0.01, next() * 0.002);
            boxes.push((i, ([x, y], [x + w, y + h])));
        }
        let grid = EdgeGrid::build(|| boxes.iter().copied());
        let mut points: Vec<[f64; 2]> = boxes
            .iter()
            .flat_map(|(_, (lo, hi))| [*lo, *hi, [lo[0], hi[1]], [hi[0], lo[1]]])
            .collect();
        for _ in 0..2_000 {
            points.push([113.0 + next() * 0.11, 22.0 + next() * 0.11]);
        }
        for p in points {
            let found = grid.candidates(p);
            for i in containing(&boxes, p) {
                assert!(found.contains(&i), "box {i} holds {p:?}");
            }
        }
    }

    #[test]
    fn a_box_query_finds_every_overlapping_box_once_in_order() {
        let mut boxes = Vec::new();
        let mut next = uniform(99u64);
        for i in 0..400u32 {
            let (x, y) = (next(), next());
            let (w, h) = (next() * 0.05, next() * 0.05);
            boxes.push((i, ([x, y], [x + w, y + h])));
        }
        let grid = EdgeGrid::build_with_density(|| boxes.iter().copied(), 4.0);
        for _ in 0..300 {
            let (x, y, w, h) = (
                next() * 1.2 - 0.1,
                next() * 1.2 - 0.1,
                next() * 0.1,
                next() * 0.1,
            );
            let (lo, hi) = ([x, y], [x + w, y + h]);
            let Some(found) = grid.candidates_in(lo, hi, usize::MAX) else {
                panic!("no cell limit was set");
            };
            assert!(
                found.windows(2).all(|w| w[0] < w[1]),
                "ascending, once: {found:?}"
            );
            for (i, (blo, bhi)) in &boxes {
                if (0..2).all(|k| blo[k] <= hi[k] && lo[k] <= bhi[k]) {
                    assert!(found.contains(i), "box {i} meets {lo:?}–{hi:?}");
                }
            }
        }
        // A box over everything asks for every cell: refused under a small limit.
        assert_eq!(grid.candidates_in([-1.0, -1.0], [2.0, 2.0], 4), None);
    }

    #[test]
    fn outside_the_bounds_or_without_boxes_nothing_is_a_candidate() {
        let grid = EdgeGrid::build(|| [(0, ([0.0, 0.0], [1.0, 1.0]))].into_iter());
        assert_eq!(grid.candidates([0.5, 0.5]), &[0]);
        assert!(grid.candidates([1.5, 0.5]).is_empty());
        assert!(grid.candidates([f64::NAN, 0.5]).is_empty());
        let none: EdgeGrid<u32> = EdgeGrid::build(std::iter::empty);
        assert!(none.candidates([0.0, 0.0]).is_empty());
        // A single point-like box (zero extent) is still found.
        let dot = EdgeGrid::build(|| [(7, ([2.0, 3.0], [2.0, 3.0]))].into_iter());
        assert_eq!(dot.candidates([2.0, 3.0]), &[7]);
    }
}
