//! A lattice of lon/lat cells over the whole index. A cell that no boundary of any level
//! touches has one answer for every point in it, computed once; most points fall in such a cell
//! and are answered with one array read. Only points in cells that a boundary crosses take the
//! R-tree and point-in-polygon path.
//!
//! Cells are marked conservatively (every cell an edge's bounding box overlaps), and the same
//! monotone formula maps edges and points to cells, so a point lying on an edge always lands in
//! a marked cell and gets the exact half-open rule.

use geo::Rect;

use crate::geometry::Rings;

/// A cell of a level's classification: a slot, or one of these.
pub(super) const MIXED: u32 = u32::MAX;
pub(super) const EMPTY: u32 = u32::MAX - 1;

/// The lattice's geometry: `nx × ny` square cells of `1 / scale` degrees from `bounds.min`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Lattice {
    bounds: Rect<f64>,
    /// Cells per degree.
    scale: f64,
    nx: usize,
    ny: usize,
}

impl Lattice {
    /// A lattice of at most about `max_cells` cells over `bounds`.
    pub fn new(bounds: Rect<f64>, max_cells: usize) -> Self {
        let area = (bounds.width() * bounds.height()).max(f64::MIN_POSITIVE);
        let scale = (max_cells as f64 / area).sqrt().min(1e7);
        Lattice {
            bounds,
            scale,
            nx: (bounds.width() * scale) as usize + 1,
            ny: (bounds.height() * scale) as usize + 1,
        }
    }

    fn column(&self, x: f64) -> usize {
        (((x - self.bounds.min().x) * self.scale).max(0.0) as usize).min(self.nx - 1)
    }

    fn row(&self, y: f64) -> usize {
        (((y - self.bounds.min().y) * self.scale).max(0.0) as usize).min(self.ny - 1)
    }

    fn centre(&self, x: usize, y: usize) -> [f64; 2] {
        [
            self.bounds.min().x + (x as f64 + 0.5) / self.scale,
            self.bounds.min().y + (y as f64 + 0.5) / self.scale,
        ]
    }

    /// The cell of `p`, or `None` when `p` is outside the lattice (and so outside every shape).
    pub fn cell(&self, p: [f64; 2]) -> Option<usize> {
        let (min, max) = (self.bounds.min(), self.bounds.max());
        (p[0] >= min.x && p[0] <= max.x && p[1] >= min.y && p[1] <= max.y)
            .then(|| self.row(p[1]) * self.nx + self.column(p[0]))
    }

    /// Every cell.
    pub fn whole(&self) -> Window {
        Window {
            x: (0, self.nx - 1),
            y: (0, self.ny - 1),
        }
    }

    /// The cells `b` overlaps (clamped to the lattice), the same cells an edge or a shape
    /// inside `b` would mark.
    pub fn window(&self, b: Rect<f64>) -> Window {
        Window {
            x: (self.column(b.min().x), self.column(b.max().x)),
            y: (self.row(b.min().y), self.row(b.max().y)),
        }
    }

    /// Index of the cell at (`x`, `y`) in the whole lattice's answer (row-major).
    pub fn at(&self, x: usize, y: usize) -> usize {
        y * self.nx + x
    }

    /// For each cell of `w` (row by row within `w`): `MIXED` if a boundary of `shapes` may
    /// cross it, else the smallest slot whose shape covers it, else `EMPTY`. Each cell's
    /// answer depends only on the shapes whose edges or spans reach it, so a window's answer is
    /// exactly the whole lattice's cells there: the build classifies bands of rows in parallel,
    /// and an update after a local change re-classifies only the cells the change reaches.
    pub fn classify_window(&self, shapes: &[Option<Rings>], w: Window) -> Vec<u32> {
        let (wx, wy) = (w.x.1 - w.x.0 + 1, w.y.1 - w.y.0 + 1);
        let at = |x: usize, y: usize| (y - w.y.0) * wx + (x - w.x.0);
        let mut cells = vec![EMPTY; wx * wy];
        // A centre that rounds into another cell cannot speak for its own: leave it to the tree.
        for x in (w.x.0..=w.x.1).filter(|&x| self.column(self.centre(x, 0)[0]) != x) {
            for y in w.y.0..=w.y.1 {
                cells[at(x, y)] = MIXED;
            }
        }
        for y in (w.y.0..=w.y.1).filter(|&y| self.row(self.centre(0, y)[1]) != y) {
            cells[at(w.x.0, y)..=at(w.x.1, y)].fill(MIXED);
        }
        let reaches = |b: Rect<f64>| {
            self.column(b.min().x) <= w.x.1
                && self.column(b.max().x) >= w.x.0
                && self.row(b.min().y) <= w.y.1
                && self.row(b.max().y) >= w.y.0
        };
        for shape in shapes.iter().flatten().filter(|s| reaches(s.bounds())) {
            for (a, b) in shape.edges() {
                let (x0, x1) = (self.column(a[0].min(b[0])), self.column(a[0].max(b[0])));
                let (y0, y1) = (self.row(a[1].min(b[1])), self.row(a[1].max(b[1])));
                let (x0, x1) = (x0.max(w.x.0), x1.min(w.x.1));
                if x0 > x1 {
                    continue;
                }
                for y in y0.max(w.y.0)..=y1.min(w.y.1) {
                    cells[at(x0, y)..=at(x1, y)].fill(MIXED);
                }
            }
        }
        // Scanlines through the cell centres; slots ascend, so the first shape to claim a cell
        // is the smallest slot covering it.
        for (slot, shape) in shapes.iter().enumerate() {
            let Some(shape) = shape.as_ref().filter(|s| reaches(s.bounds())) else {
                continue;
            };
            let b = shape.bounds();
            for y in self.row(b.min().y).max(w.y.0)..=self.row(b.max().y).min(w.y.1) {
                let crossings = shape.crossings(self.centre(0, y)[1]);
                for span in crossings.chunks_exact(2) {
                    let (x0, x1) = (
                        self.column(span[0]).max(w.x.0),
                        self.column(span[1]).min(w.x.1),
                    );
                    for x in x0..=x1 {
                        let cx = self.centre(x, y)[0];
                        let cell = &mut cells[at(x, y)];
                        if *cell == EMPTY && span[0] < cx && cx < span[1] {
                            *cell = slot as u32;
                        }
                    }
                }
            }
        }
        cells
    }
}

/// A rectangle of cells, inclusive column and row ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub x: (usize, usize),
    pub y: (usize, usize),
}
