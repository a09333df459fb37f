//! Our own pseudo-random numbers.
//!
//! The shipped sample city is compared byte for byte with a fresh regeneration, so the random
//! stream must never change when a dependency is upgraded. SplitMix64 is a dozen lines, has no
//! state beyond one `u64` and is good enough for procedural geometry. Independent sub-streams are
//! derived by hashing a tag into the seed, so adding a draw in one part of the generator never
//! shifts the numbers used by another part (e.g. every edge wiggles from its own stream).

/// The SplitMix64 finaliser: a bijective 64-bit mixer.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes two words into one (order matters).
pub fn hash2(a: u64, b: u64) -> u64 {
    mix(mix(a).wrapping_add(b.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
}

/// A SplitMix64 generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for the sub-stream `tag` of `seed`.
    pub fn stream(seed: u64, tag: u64) -> Self {
        Rng {
            state: hash2(seed, tag),
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in [-1, 1).
    pub fn signed(&mut self) -> f64 {
        2.0 * self.unit() - 1.0
    }

    /// Uniform integer in [0, n); `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        // Multiply-high keeps the bias below 2^-32 for any n that fits in 32 bits.
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::stream(42, 7);
        let mut b = Rng::stream(42, 7);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn known_values_never_change() {
        // Pinned outputs (cross-checked with an independent Python SplitMix64): if these change,
        // every generated file changes too.
        assert_eq!(mix(0), 0);
        assert_eq!(mix(1), 0x5692_161D_100B_05E5);
        let mut r = Rng::stream(20_220_601, 5);
        assert_eq!(r.next_u64(), 0x2C2B_B8EE_C1CD_A581);
        assert_eq!(r.next_u64(), 0x21DD_F878_6B97_2324);
        assert_eq!(r.next_u64(), 0x26D7_567E_0267_8C39);
    }

    #[test]
    fn streams_differ_and_ranges_hold() {
        let mut a = Rng::stream(1, 1);
        let mut b = Rng::stream(1, 2);
        assert_ne!(a.next_u64(), b.next_u64());
        for _ in 0..10_000 {
            let u = a.unit();
            assert!((0.0..1.0).contains(&u));
            let s = a.signed();
            assert!((-1.0..1.0).contains(&s));
            assert!(a.below(7) < 7);
        }
    }
}
