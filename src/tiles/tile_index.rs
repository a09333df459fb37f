//! Which shapes and label points may meet a tile: bucket grids (`geometry::edge_grid`) over
//! their world bounds, so that a high-zoom tile looks at the few dozen records near it instead
//! of every record of the city (half a million grids at ×100, issue 20). A candidate list is
//! a superset: the renderer still tests each candidate's own (simplified) bounds, exactly as it
//! did when it looked at every record, so the tiles are the same.

use geo::{BoundingRect, Coord, MultiPolygon};

use super::tile_id::lon_lat_to_world;
use crate::geometry::edge_grid::{Bounds, EdgeGrid};

/// Bucket cells per record: about two records' boxes a cell.
const CELLS_PER_BOX: f64 = 4.0;
/// A query spanning more cells than this is answered with "look at every record": a low-zoom
/// tile covers much of the city, and reading every cell would cost more than the scan.
const MAX_QUERY_CELLS: usize = 4_096;
/// Widens each box (world units, ~4 cm): simplified shapes keep a subset of their vertices, so
/// their bounds lie inside the unsimplified shape's, up to the rounding of the projection.
const PAD: f64 = 1e-9;

/// The buckets of one kind of record, by position in its list.
pub(super) struct TileIndex {
    buckets: EdgeGrid<u32>,
}

impl TileIndex {
    /// Buckets over the world bounds of `areas` (lon/lat; `None`: no territory, never found).
    pub fn of_areas<'a>(areas: impl Iterator<Item = Option<&'a MultiPolygon<f64>>>) -> Self {
        let boxes: Vec<(u32, Bounds)> = areas
            .enumerate()
            .filter_map(|(i, area)| {
                let b = area?.bounding_rect()?;
                // Mercator y grows southwards: the box's corners swap in y.
                let (sw, ne) = (lon_lat_to_world(b.min()), lon_lat_to_world(b.max()));
                let (lo, hi) = (
                    [sw.x.min(ne.x) - PAD, sw.y.min(ne.y) - PAD],
                    [sw.x.max(ne.x) + PAD, sw.y.max(ne.y) + PAD],
                );
                Some((i as u32, (lo, hi)))
            })
            .collect();
        Self::of_boxes(boxes)
    }

    /// Buckets over world points (label positions), by position in `points`.
    pub fn of_points(points: impl Iterator<Item = Coord<f64>>) -> Self {
        let boxes = points
            .enumerate()
            .map(|(i, p)| {
                (
                    i as u32,
                    ([p.x - PAD, p.y - PAD], [p.x + PAD, p.y + PAD]),
                )
            })
            .collect();
        Self::of_boxes(boxes)
    }

    fn of_boxes(boxes: Vec<(u32, Bounds)>) -> Self {
        TileIndex {
            buckets: EdgeGrid::build_with_density(|| boxes.iter().copied(), CELLS_PER_BOX),
        }
    }

    /// The records whose box meets the world box `[min, max]`, ascending; `None` when the box
    /// is large enough that every record should be looked at.
    pub fn near(&self, [min, max]: [Coord<f64>; 2]) -> Option<Vec<usize>> {
        let found = self
            .buckets
            .candidates_in([min.x, min.y], [max.x, max.y], MAX_QUERY_CELLS)?;
        Some(found.into_iter().map(|i| i as usize).collect())
    }
}
