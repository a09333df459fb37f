//! Positions of a registry's records by code, without a second copy of every code.
//!
//! Registry codes are fixed-length digit strings (the loader checks them), so a code is kept as
//! its number with its length: 8 bytes, where a `String` key took 24 bytes and a heap copy of
//! the code. At ×100 (half a million grids) that is ≈ 30 MB less for every registry held, and
//! a version made by an approval builds its maps without allocating a string (issue 20). Any
//! other code (none a loaded registry holds) is kept as a string.

use std::collections::HashMap;

/// Digits of the longest code kept as a number: 10^18 < 2^60 leaves 4 bits for the length.
const MAX_DIGITS: usize = 15;

/// A code as a number with its length in the top bits (so `"007"` and `"7"` differ), or `None`
/// for one that is not 1–15 ASCII digits.
fn numeric(code: &str) -> Option<u64> {
    if code.is_empty() || code.len() > MAX_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = code.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    Some(value | ((code.len() as u64) << 60))
}

/// Position by code for one level of a registry.
#[derive(Debug, Clone, Default)]
pub struct CodeIndex {
    numeric: HashMap<u64, u32>,
    other: HashMap<String, u32>,
}

impl CodeIndex {
    /// The index of `codes` by position; a repeated code keeps its last position.
    pub fn new<'a>(codes: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let mut index = CodeIndex {
            numeric: HashMap::with_capacity(codes.len()),
            other: HashMap::new(),
        };
        for (position, code) in codes.enumerate() {
            let position = position as u32;
            match numeric(code) {
                Some(key) => index.numeric.insert(key, position),
                None => index.other.insert(code.to_owned(), position),
            };
        }
        index
    }

    pub fn get(&self, code: &str) -> Option<usize> {
        match numeric(code) {
            Some(key) => self.numeric.get(&key),
            None => self.other.get(code),
        }
        .map(|&p| p as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_by_their_exact_spelling() {
        let codes = [
            "442000001001001",
            "007",
            "7",
            "0",
            "x1",
            "",
            "4420000010010011",
        ];
        let index = CodeIndex::new(codes.iter().copied());
        for (i, code) in codes.iter().enumerate() {
            assert_eq!(index.get(code), Some(i), "{code:?}");
        }
        for absent in ["07", "442000001001002", "x", "44200000100100", "０07"] {
            assert_eq!(index.get(absent), None, "{absent:?}");
        }
    }
}
