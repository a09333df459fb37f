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

    /// Buckets over world points (label positions), by position in `points` (`None`: no
    /// point, never found).
    pub fn of_points(points: impl Iterator<Item = Option<Coord<f64>>>) -> Self {
        let boxes = points
            .enumerate()
            .filter_map(|(i, p)| {
                let p = p?;
                Some((i as u32, ([p.x - PAD, p.y - PAD], [p.x + PAD, p.y + PAD])))
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

#[cfg(test)]
mod tests {
    use geo::{Coord, polygon};

    use super::*;
    use crate::tiles::tile_id::{BUFFER, TileId};

    #[test]
    fn every_area_whose_projected_vertices_meet_a_tile_is_near_it() {
        // Small quadrilaterals around 113.3°E 22.5°N; their bounds are computed here from each
        // projected vertex (what a simplified shape's bounds come from), not from the corners.
        let mut next = crate::geometry::edge_grid::uniform(7);
        let areas: Vec<MultiPolygon<f64>> = (0..300)
            .map(|_| {
                let (x, y) = (113.3 + next() * 0.05, 22.5 + next() * 0.05);
                let (w, h) = (next() * 0.004, next() * 0.004);
                polygon![(x: x, y: y), (x: x + w, y: y + 0.3 * h), (x: x + w, y: y + h), (x: x, y: y + h)]
                    .into()
            })
            .collect();
        let index = TileIndex::of_areas(areas.iter().map(Some));
        let mut checked = 0;
        for z in [11u8, 13, 14, 15, 16] {
            for _ in 0..40 {
                let c = Coord {
                    x: 113.3 + next() * 0.05,
                    y: 22.5 + next() * 0.05,
                };
                let tile = TileId::containing(c, z);
                let bounds = tile.world_bounds(f64::from(BUFFER));
                let Some(near) = index.near(bounds) else {
                    continue;
                };
                checked += 1;
                for (i, area) in areas.iter().enumerate() {
                    let world: Vec<Coord<f64>> = area.0[0]
                        .exterior()
                        .coords()
                        .map(|&c| lon_lat_to_world(c))
                        .collect();
                    let lo = world
                        .iter()
                        .fold([f64::MAX; 2], |m, c| [m[0].min(c.x), m[1].min(c.y)]);
                    let hi = world
                        .iter()
                        .fold([f64::MIN; 2], |m, c| [m[0].max(c.x), m[1].max(c.y)]);
                    let [min, max] = bounds;
                    if lo[0] <= max.x && min.x <= hi[0] && lo[1] <= max.y && min.y <= hi[1] {
                        assert!(near.contains(&i), "area {i} meets tile {tile:?}");
                    }
                }
            }
        }
        assert!(checked > 100, "{checked}");
    }
}
