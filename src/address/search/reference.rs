//! The fuzzy pass as it was before issue 19's mistyped batches (main at d09bb62), kept as the
//! oracle of the faster one: the same search with either pass must give the same answer,
//! entries and scores to the bit, on thousands of mistyped addresses of the sample register.

use super::*;
use crate::address::register;

thread_local! {
    static COUNTS_REFERENCE: std::cell::RefCell<Vec<u16>> = const { std::cell::RefCell::new(Vec::new()) };
    static ROW_REFERENCE: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The size of the intersection of the sorted multiset `query` with the features of `core`,
/// and the number of `core`'s features. Computed from the text (an entry's features are not
/// stored: only the few candidates of a fuzzy query need them); `taken` is scratch.
fn common_with(query: &[Feature], core: &str, taken: &mut Vec<bool>) -> (usize, usize) {
    taken.clear();
    taken.resize(query.len(), false);
    let (mut shared, mut count) = (0, 0);
    each_feature(core, |f| {
        count += 1;
        let mut i = query.partition_point(|&q| q < f);
        while i < query.len() && query[i] == f {
            if !taken[i] {
                taken[i] = true;
                shared += 1;
                return;
            }
            i += 1;
        }
    });
    (shared, count)
}

/// Levenshtein distance over characters, or `None` once it must exceed `most` (every entry of
/// a row above it: later rows only grow). The row lives in a buffer of the thread's.
fn edit_distance_reference(a: &[char], b: &[char], most: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > most {
        return None;
    }
    ROW_REFERENCE.with_borrow_mut(|row| {
        row.clear();
        row.extend(0..=b.len());
        for (i, ca) in a.iter().enumerate() {
            let mut diagonal = row[0];
            row[0] = i + 1;
            let mut lowest = row[0];
            for (j, cb) in b.iter().enumerate() {
                let next = (diagonal + usize::from(ca != cb))
                    .min(row[j] + 1)
                    .min(row[j + 1] + 1);
                diagonal = row[j + 1];
                row[j + 1] = next;
                lowest = lowest.min(next);
            }
            if lowest > most {
                return None;
            }
        }
        let d = row[b.len()];
        (d <= most).then_some(d)
    })
}

impl SearchIndex {
    /// The best `want` fuzzy matches (scores below 1 by construction, times `factor`), and
    /// perhaps a few more.
    ///
    /// Candidates are the entries sharing the most selective features with the query (at least
    /// half as many as the best entry shares: fewer cannot rank among the best after
    /// rescoring), at most [`CANDIDATES`] of them. Their Dice coefficients bound their scores
    /// from above (the edit similarity is at most 1), so the edit distance, the costly half, is
    /// computed in order of that bound only until no remaining candidate can reach the
    /// `want`-th best score or [`MIN_SCORE`]: the same answer as rescoring all of them.
    pub(super) fn fuzzy_reference(
        &self,
        q: &Normalized,
        qf: &[Feature],
        want: usize,
        factor: &dyn Fn(usize) -> f64,
    ) -> Vec<Scored> {
        let q_chars: Vec<char> = q.core.chars().collect();
        let mut taken = Vec::new();
        // The bound of a score: the Dice part as it is, the edit part at its best, 1 minus
        // the length difference over the longer length (at least that many edits are needed).
        let mut bounded: Vec<(f64, f64, u32)> = self
            .candidates_reference(qf)
            .into_iter()
            .map(|e| {
                let core = self.core(e as usize);
                let (shared, count) = common_with(qf, core, &mut taken);
                let dice = 2.0 * shared as f64 / (qf.len() + count) as f64;
                let chars = core.chars().count();
                let longest = q_chars.len().max(chars).max(1) as f64;
                let similar = 1.0 - q_chars.len().abs_diff(chars) as f64 / longest;
                let f = factor(e as usize);
                (f * (0.5 * dice + 0.5 * similar).min(0.999), dice, e)
            })
            .collect();
        bounded.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
        let mut out: Vec<Scored> = Vec::new();
        let mut best: Vec<f64> = Vec::new(); // the `want` best scores so far, descending
        let mut chars: Vec<char> = Vec::new();
        for (bound, dice, e) in bounded {
            let floor = if best.len() >= want.max(1) {
                best[best.len() - 1].max(MIN_SCORE)
            } else {
                MIN_SCORE
            };
            if bound < floor {
                break;
            }
            chars.clear();
            chars.extend(self.core(e as usize).chars());
            let f = factor(e as usize);
            let longest = q_chars.len().max(chars.len()).max(1);
            // The most edits that can still reach `floor`: a score of at least `floor` needs
            // `similar ≥ 2·floor/f − dice`, i.e. `d ≤ longest · (1 − that)` (with a margin
            // for rounding; the score is computed exactly below).
            let needed = 2.0 * floor / f - dice;
            let most = ((1.0 - needed) * longest as f64 + 1e-9).floor().max(0.0) as usize;
            let Some(d) = edit_distance_reference(&q_chars, &chars, most) else {
                continue;
            };
            let similar = 1.0 - d as f64 / longest as f64;
            // Never 1: that is reserved for exact matches.
            let score = f * (0.5 * dice + 0.5 * similar).min(0.999);
            let at = best.partition_point(|&b| b >= score);
            best.insert(at, score);
            best.truncate(want.max(1));
            out.push(Scored {
                entry: e as usize,
                score,
            });
        }
        out
    }

    /// Entries sharing the most selective features with `qf` (see [`SearchIndex::fuzzy`]). The
    /// per-entry counters live in a buffer of the thread's that is reset entry by entry, not
    /// allocated and zeroed per query.
    fn candidates_reference(&self, qf: &[Feature]) -> Vec<u32> {
        let mut unique = qf.to_vec();
        unique.dedup();
        let selective = (self.len() / 10).max(SELECTIVE_FLOOR);
        let mut lists: Vec<&[u32]> = unique
            .iter()
            .filter_map(|&f| match self.held(f)? {
                Held::By(list) => Some(list),
                Held::Common => None,
            })
            .filter(|list| list.len() <= selective)
            .collect();
        // The rarest features first, and only as many entries as the budget allows beyond the
        // first three lists: a typo leaves most of the rare features intact, and the common ones
        // (digits of the house number, 路) would only add entries that share little else.
        lists.sort_unstable_by_key(|list| list.len());
        let mut budget = CANDIDATE_POSTINGS;
        let taken = lists
            .iter()
            .enumerate()
            .take_while(|&(i, list)| {
                let fits = i < 3 || list.len() <= budget;
                budget = budget.saturating_sub(list.len());
                fits
            })
            .count();
        lists.truncate(taken);
        COUNTS_REFERENCE.with_borrow_mut(|counts| {
            if counts.len() < self.len() {
                counts.resize(self.len(), 0);
            }
            let mut touched = Vec::new();
            let mut best = 0u16;
            for list in &lists {
                for &e in *list {
                    let c = &mut counts[e as usize];
                    if *c == 0 {
                        touched.push(e);
                    }
                    *c = c.saturating_add(1);
                    best = best.max(*c);
                }
            }
            let mut kept: Vec<(u16, u32)> = touched
                .iter()
                .filter_map(|&e| {
                    let c = std::mem::take(&mut counts[e as usize]);
                    (2 * c >= best).then_some((c, e))
                })
                .collect();
            if kept.len() > CANDIDATES {
                kept.select_nth_unstable_by(CANDIDATES, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                kept.truncate(CANDIDATES);
            }
            kept.into_iter().map(|(_, e)| e).collect()
        })
    }
}

/// The sample register's index, its town names read from `towns.geojson` in file order (as
/// the registry gives them).
fn sample() -> (SearchIndex, Vec<String>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("boundaries");
    let towns: serde_json::Value = match std::fs::read_to_string(dir.join("towns.geojson")) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_default(),
        Err(e) => panic!("towns.geojson: {e}"),
    };
    let names: Vec<&str> = towns["features"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|t| t["properties"]["name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(names.len() > 10, "the sample city's towns");
    let register = match std::fs::read_to_string(dir.join("addresses.csv")) {
        Ok(text) => register::parse(&text).unwrap_or_default(),
        Err(e) => panic!("addresses.csv: {e}"),
    };
    assert!(register.len() > 40_000, "the sample register");
    let index = SearchIndex::new(
        Normalizer::new(names.iter().copied()),
        |i| register.get(i).address,
        register.len(),
    );
    let addresses = register.iter().map(|e| e.address.to_owned()).collect();
    (index, addresses)
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    /// A number below `n` (> 0).
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Mistyped addresses of every kind: the batch's (the road's first character replaced by 之,
/// `bench/address_batch.sh`), another character replaced by one of the register's, one
/// deleted, one inserted, two swapped, two replaced, a town or house number left out; and some
/// exact, partial and senseless ones.
fn queries(addresses: &[String]) -> Vec<String> {
    let mut rng = Rng(0x5eed);
    let mut out = Vec::new();
    for (k, a) in addresses.iter().enumerate().step_by(37) {
        let c: Vec<char> = a.chars().collect();
        let n = c.len();
        let digits = c.iter().position(char::is_ascii_digit).unwrap_or(0);
        let mut edit = |f: &mut dyn FnMut(&mut Vec<char>)| {
            let mut t = c.clone();
            f(&mut t);
            out.push(t.into_iter().collect::<String>());
        };
        if digits >= 3 {
            edit(&mut |t| t[digits - 3] = '之');
        }
        let other: Vec<char> = addresses[rng.below(addresses.len())].chars().collect();
        let (i, j) = (rng.below(n), rng.below(n));
        let r = other[rng.below(other.len())];
        edit(&mut |t| t[i] = r);
        edit(&mut |t| {
            t.remove(i);
        });
        edit(&mut |t| t.insert(i, r));
        edit(&mut |t| t.swap(i, j));
        edit(&mut |t| {
            t[i] = '兴';
            t[j] = r;
        });
        edit(&mut |t| t.truncate(digits.max(1)));
        if k % 5 == 0 {
            out.push(format!("广东省中山市 {a}"));
            out.push(c[n / 3..].iter().collect());
        }
    }
    out.extend(["今天天气很好", "", "号", "1", "之之之", "路1号", "1-20号"].map(String::from));
    out
}

#[test]
fn the_fuzzy_pass_answers_as_the_reference() {
    let (index, addresses) = sample();
    let queries = queries(&addresses);
    assert!(queries.len() > 8_000, "{}", queries.len());
    let mut fuzzy = 0;
    for limit in [1, 5, 20] {
        for q in &queries {
            let got = index.search(q, limit);
            let want = index.search_by(q, limit, SearchIndex::fuzzy_reference);
            let bits = |s: &[Scored]| -> Vec<(usize, u64)> {
                s.iter().map(|s| (s.entry, s.score.to_bits())).collect()
            };
            assert_eq!(bits(&got), bits(&want), "{q:?}, limit {limit}");
            let exact_or_part = [1.0, PREFIX_SCORE, PART_SCORE].map(|s| [s, s * OTHER_TOWN]);
            fuzzy += usize::from(
                want.iter()
                    .any(|s| !exact_or_part.as_flattened().contains(&s.score)),
            );
        }
    }
    // Most answers hold matches of the fuzzy pass (not only exact hits or containment).
    assert!(fuzzy > queries.len(), "{fuzzy} of {}", 3 * queries.len());
}
