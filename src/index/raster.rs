//! A lattice of lon/lat cells over one level of the index, remembering for each cell that no
//! boundary touches which polygon holds all of it (or that none does).
//!
//! Most points fall in such a cell and are answered with one array read; only points in cells
//! that a boundary crosses take the R-tree and point-in-polygon path. Cells are marked
//! conservatively (every cell an edge's bounding box overlaps), and the same monotone formula
//! maps edges and points to cells, so a point lying on an edge always lands in a marked cell.

use geo::Rect;

use crate::geometry::Rings;

/// What a cell knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cell {
    /// A boundary may cross the cell: ask the tree.
    Mixed,
    /// No polygon of the level covers any of the cell.
    Empty,
    /// The polygon in this slot covers the whole cell (the smallest slot if several do).
    Inside(usize),
}

const MIXED: u32 = u32::MAX;
const EMPTY: u32 = u32::MAX - 1;

pub(super) struct Raster {
    bounds: Rect<f64>,
    /// Cells per degree.
    scale: f64,
    nx: usize,
    ny: usize,
    cells: Vec<u32>,
}

impl Raster {
    /// Builds a lattice of at most about `max_cells` cells over `bounds` (the union of the
    /// shapes' bounds).
    pub fn build(shapes: &[Option<Rings>], bounds: Rect<f64>, max_cells: usize) -> Self {
        let area = (bounds.width() * bounds.height()).max(f64::MIN_POSITIVE);
        let scale = (max_cells as f64 / area).sqrt().min(1e7);
        let nx = ((bounds.width() * scale) as usize + 1).max(1);
        let ny = ((bounds.height() * scale) as usize + 1).max(1);
        let mut raster = Raster {
            bounds,
            scale,
            nx,
            ny,
            cells: vec![EMPTY; nx * ny],
        };
        for shape in shapes.iter().flatten() {
            for (a, b) in shape.edges() {
                let (x0, x1) = (raster.column(a[0].min(b[0])), raster.column(a[0].max(b[0])));
                let (y0, y1) = (raster.row(a[1].min(b[1])), raster.row(a[1].max(b[1])));
                for y in y0..=y1 {
                    raster.cells[y * nx + x0..=y * nx + x1].fill(MIXED);
                }
            }
        }
        // Slots ascend, so the first polygon to claim a cell is the smallest slot holding it.
        for (slot, shape) in shapes.iter().enumerate() {
            let Some(shape) = shape else { continue };
            let b = shape.bounds();
            for y in raster.row(b.min().y)..=raster.row(b.max().y) {
                for x in raster.column(b.min().x)..=raster.column(b.max().x) {
                    let i = y * nx + x;
                    if raster.cells[i] != EMPTY {
                        continue;
                    }
                    let centre = [
                        bounds.min().x + (x as f64 + 0.5) / scale,
                        bounds.min().y + (y as f64 + 0.5) / scale,
                    ];
                    if raster.column(centre[0]) != x || raster.row(centre[1]) != y {
                        raster.cells[i] = MIXED;
                    } else if shape.contains(centre) {
                        raster.cells[i] = slot as u32;
                    }
                }
            }
        }
        raster
    }

    fn column(&self, x: f64) -> usize {
        (((x - self.bounds.min().x) * self.scale).max(0.0) as usize).min(self.nx - 1)
    }

    fn row(&self, y: f64) -> usize {
        (((y - self.bounds.min().y) * self.scale).max(0.0) as usize).min(self.ny - 1)
    }

    pub fn cell(&self, p: [f64; 2]) -> Cell {
        let (min, max) = (self.bounds.min(), self.bounds.max());
        if !(p[0] >= min.x && p[0] <= max.x && p[1] >= min.y && p[1] <= max.y) {
            return Cell::Empty;
        }
        match self.cells[self.row(p[1]) * self.nx + self.column(p[0])] {
            MIXED => Cell::Mixed,
            EMPTY => Cell::Empty,
            slot => Cell::Inside(slot as usize),
        }
    }
}
