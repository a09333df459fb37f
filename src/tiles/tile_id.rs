//! Tile addresses (z/x/y in the XYZ scheme) and the spherical (web) Mercator projection that maps
//! lon/lat onto the unit square the tile pyramid divides.

use std::f64::consts::PI;

use geo::Coord;

use super::TileError;

/// Deepest zoom served; MapLibre overzooms beyond it.
pub const MAX_ZOOM: u8 = 22;

/// Tile coordinate units per tile side (MVT `extent`).
pub const EXTENT: u32 = 4096;

/// Units beyond each tile edge that clipped geometry keeps, so strokes do not end at the seam.
pub const BUFFER: u32 = 64;

/// Web Mercator's latitude limit: the square world ends here.
const MAX_LAT: f64 = 85.051_128_779_806_59;

/// One tile of the pyramid, checked to exist at its zoom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileId {
    /// Checks that `z ≤ 22` and that `x`, `y` lie in `0..2^z`.
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, TileError> {
        if z > u32::from(MAX_ZOOM) {
            return Err(TileError::ZoomOutOfRange { z });
        }
        let n = 1u32 << z;
        if x >= n || y >= n {
            return Err(TileError::TileOutOfRange { z, x, y, n });
        }
        Ok(TileId {
            // z ≤ 22 was checked above.
            z: z as u8,
            x,
            y,
        })
    }

    /// Tiles per side at this zoom, as a float for projection arithmetic.
    pub fn scale(self) -> f64 {
        f64::from(1u32 << self.z)
    }

    /// Maps a world (unit-square Mercator) coordinate into this tile's units: (0, 0) is the
    /// tile's top-left corner and (4096, 4096) its bottom-right; y grows downward as in MVT.
    pub fn to_tile(self, world: Coord<f64>) -> Coord<f64> {
        let s = self.scale();
        let e = f64::from(EXTENT);
        Coord {
            x: (world.x * s - f64::from(self.x)) * e,
            y: (world.y * s - f64::from(self.y)) * e,
        }
    }

    /// The tile's world bounds widened by `margin` tile units on each side: `[min, max]`.
    pub fn world_bounds(self, margin: f64) -> [Coord<f64>; 2] {
        let s = self.scale();
        let m = margin / f64::from(EXTENT);
        [
            Coord {
                x: (f64::from(self.x) - m) / s,
                y: (f64::from(self.y) - m) / s,
            },
            Coord {
                x: (f64::from(self.x) + 1.0 + m) / s,
                y: (f64::from(self.y) + 1.0 + m) / s,
            },
        ]
    }

    /// The tile's bounds in lon/lat: `[west, south, east, north]`.
    pub fn lon_lat_bounds(self) -> [f64; 4] {
        let [min, max] = self.world_bounds(0.0);
        let sw = world_to_lon_lat(Coord { x: min.x, y: max.y });
        let ne = world_to_lon_lat(Coord { x: max.x, y: min.y });
        [sw.x, sw.y, ne.x, ne.y]
    }

    /// The tile at zoom `z` that contains a lon/lat point (clamped to the Mercator square).
    pub fn containing(lon_lat: Coord<f64>, z: u8) -> TileId {
        let w = lon_lat_to_world(lon_lat);
        let n = 1u32 << z.min(MAX_ZOOM);
        let cell = |v: f64| ((v * f64::from(n)).floor().max(0.0) as u32).min(n - 1);
        TileId {
            z: z.min(MAX_ZOOM),
            x: cell(w.x),
            y: cell(w.y),
        }
    }
}

/// Projects lon/lat degrees onto the unit square: x east from −180°, y south from 85.05°N.
pub fn lon_lat_to_world(c: Coord<f64>) -> Coord<f64> {
    let lat = c.y.clamp(-MAX_LAT, MAX_LAT).to_radians();
    Coord {
        x: (c.x + 180.0) / 360.0,
        y: (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0,
    }
}

/// Inverse of [`lon_lat_to_world`].
pub fn world_to_lon_lat(w: Coord<f64>) -> Coord<f64> {
    let lat = (PI * (1.0 - 2.0 * w.y)).sinh().atan().to_degrees();
    Coord {
        x: w.x * 360.0 - 180.0,
        y: lat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked() {
        assert!(TileId::new(0, 0, 0).is_ok());
        assert!(TileId::new(23, 0, 0).is_err());
        assert!(TileId::new(3, 8, 0).is_err());
        assert!(TileId::new(3, 7, 8).is_err());
        assert!(TileId::new(22, (1 << 22) - 1, 0).is_ok());
    }

    #[test]
    fn projection_round_trips_and_corners() {
        let p = Coord {
            x: 113.39,
            y: 22.52,
        };
        let back = world_to_lon_lat(lon_lat_to_world(p));
        assert!((back.x - p.x).abs() < 1e-12 && (back.y - p.y).abs() < 1e-12);
        let o = lon_lat_to_world(Coord { x: 0.0, y: 0.0 });
        assert!((o.x - 0.5).abs() < 1e-15 && (o.y - 0.5).abs() < 1e-15);
        let t = TileId::new(1, 1, 0).map(|t| t.lon_lat_bounds());
        let [w, s, e, n] = t.unwrap_or_default();
        assert_eq!([w, s, e], [0.0, 0.0, 180.0]);
        assert!((n - MAX_LAT).abs() < 1e-9);
    }
}
