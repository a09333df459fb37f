//! Smooth 2-D value noise.
//!
//! Used wherever the generator needs variation that is coherent in space rather than independent
//! per item: the travel-cost field that bends town and community borders, and the field that
//! decides where edges meander like rivers or run straight like roads. Lattice values come from
//! our hash, interpolation is a polynomial, so results are bit-reproducible everywhere.

use crate::rng::hash2;

#[derive(Clone, Copy, Debug)]
pub struct Noise {
    seed: u64,
    /// Feature size in kilometres.
    scale: f64,
}

impl Noise {
    pub fn new(seed: u64, scale: f64) -> Self {
        Noise { seed, scale }
    }

    fn lattice(&self, i: i64, j: i64, octave: u64) -> f64 {
        let h = hash2(hash2(self.seed, octave), hash2(i as u64, j as u64));
        (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn single(&self, x: f64, y: f64, octave: u64) -> f64 {
        let fx = x.floor();
        let fy = y.floor();
        let (i, j) = (fx as i64, fy as i64);
        let (tx, ty) = (smooth(x - fx), smooth(y - fy));
        let a = self.lattice(i, j, octave);
        let b = self.lattice(i + 1, j, octave);
        let c = self.lattice(i, j + 1, octave);
        let d = self.lattice(i + 1, j + 1, octave);
        let top = a + (b - a) * tx;
        let bottom = c + (d - c) * tx;
        top + (bottom - top) * ty
    }

    /// Fractal noise in [0, 1] at a point given in kilometres (three octaves).
    pub fn at(&self, p: [f64; 2]) -> f64 {
        let (mut x, mut y) = (p[0] / self.scale, p[1] / self.scale);
        let (mut sum, mut weight, mut total) = (0.0, 1.0, 0.0);
        for octave in 0..3 {
            sum += weight * self.single(x, y, octave);
            total += weight;
            weight *= 0.5;
            // Rotate-ish and scale so octaves do not line up on the same lattice.
            let nx = 1.6 * x + 1.2 * y + 17.3;
            let ny = -1.2 * x + 1.6 * y + 5.1;
            x = nx;
            y = ny;
        }
        sum / total
    }
}

/// Quintic smoothstep: continuous first and second derivative, so borders bend smoothly.
fn smooth(t: f64) -> f64 {
    t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_continuous() {
        let n = Noise::new(9, 3.0);
        let mut prev = n.at([0.0, 0.0]);
        for i in 1..2000 {
            let p = [f64::from(i) * 0.01, f64::from(i) * 0.007];
            let v = n.at(p);
            assert!((0.0..=1.0).contains(&v));
            assert!((v - prev).abs() < 0.05, "jump at {i}");
            prev = v;
        }
    }
}
