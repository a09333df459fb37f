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

    pub fn len(&self) -> usize {
        self.nx * self.ny
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

    /// For each cell: `MIXED` if a boundary of `shapes` may cross it, else the smallest slot
    /// whose shape covers it, else `EMPTY`.
    pub fn classify(&self, shapes: &[Option<Rings>]) -> Vec<u32> {
        let nx = self.nx;
        let mut cells = vec![EMPTY; self.len()];
        // A centre that rounds into another cell cannot speak for its own: leave it to the tree.
        for x in (0..nx).filter(|&x| self.column(self.centre(x, 0)[0]) != x) {
            for y in 0..self.ny {
                cells[y * nx + x] = MIXED;
            }
        }
        for y in (0..self.ny).filter(|&y| self.row(self.centre(0, y)[1]) != y) {
            cells[y * nx..(y + 1) * nx].fill(MIXED);
        }
        for shape in shapes.iter().flatten() {
            for (a, b) in shape.edges() {
                let (x0, x1) = (self.column(a[0].min(b[0])), self.column(a[0].max(b[0])));
                for y in self.row(a[1].min(b[1]))..=self.row(a[1].max(b[1])) {
                    cells[y * nx + x0..=y * nx + x1].fill(MIXED);
                }
            }
        }
        // Scanlines through the cell centres; slots ascend, so the first shape to claim a cell
        // is the smallest slot covering it.
        for (slot, shape) in shapes.iter().enumerate() {
            let Some(shape) = shape else { continue };
            let b = shape.bounds();
            for y in self.row(b.min().y)..=self.row(b.max().y) {
                let crossings = shape.crossings(self.centre(0, y)[1]);
                for span in crossings.chunks_exact(2) {
                    for x in self.column(span[0])..=self.column(span[1]) {
                        let cx = self.centre(x, y)[0];
                        let cell = &mut cells[y * nx + x];
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
