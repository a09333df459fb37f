//! The address index: an exact map on normalised addresses, the addresses of each road by house
//! number, and an inverted index of character unigrams and bigrams for fuzzy search.
//!
//! Not every query is one address: people search a road (翠乐路), a residential compound or any
//! part of an address, or a range of numbers on a road (翠乐路1-20号, 翠乐路一至二十号), as in
//! any map product. A range gives the road's addresses in it, by number, with score 1 (each fully
//! matches what was asked); a part of an address gives every address containing it, ranked
//! above fuzzy matches ([`PREFIX_SCORE`] when the address starts with it, else [`PART_SCORE`]),
//! by road and number.
//!
//! Fuzzy search generates candidates from the selective features only (a feature held by more
//! than a tenth of the entries, such as 号 or a digit, says little and costs much), then rescores
//! the best candidates exactly: half the Dice coefficient of their feature multisets, half a
//! normalised edit similarity. Exact matches score 1; fuzzy ones stay below 1 and are dropped
//! under [`MIN_SCORE`], so a text that is no address gets no match rather than a wrong one.

use std::collections::HashMap;

use rayon::prelude::*;

use super::normalize::{Normalized, Normalizer, canonical};

/// Lowest fuzzy score reported.
pub const MIN_SCORE: f64 = 0.6;
/// Features held by at most this many entries are always selective (small registers).
const SELECTIVE_FLOOR: usize = 1000;
/// Candidates rescored exactly per query.
const CANDIDATES: usize = 64;
/// Posting entries a fuzzy query counts beyond its three rarest features.
const CANDIDATE_POSTINGS: usize = 2000;
/// Score factor when the query names a different town than the entry's.
const OTHER_TOWN: f64 = 0.85;
/// Score of an address that starts with the query (a road, a compound: 翠乐路 → 翠乐路12号).
pub const PREFIX_SCORE: f64 = 0.95;
/// Score of an address that contains the query elsewhere.
pub const PART_SCORE: f64 = 0.9;
/// Characters between the two numbers of a range (翠乐路1-20号, 1至20号).
const RANGE_SEPARATORS: &[char] = &['-', '－', '—', '–', '~', '～', '至', '到'];

thread_local! {
    /// Shared-feature counters of [`SearchIndex::fuzzy`], one per entry, all zero between
    /// queries.
    static COUNTS: std::cell::RefCell<Vec<u16>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The edit distance's row ([`edit_distance_within`]).
    static ROW: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A feature: a character (unigram) or two adjacent characters (bigram), packed.
type Feature = u64;

fn features(core: &str) -> Vec<Feature> {
    let chars: Vec<char> = core.chars().collect();
    let mut f: Vec<Feature> = chars.iter().map(|&c| u64::from(c as u32)).collect();
    f.extend(
        chars
            .windows(2)
            .map(|w| (1 << 63) | (u64::from(w[0] as u32) << 21) | u64::from(w[1] as u32)),
    );
    f.sort_unstable();
    f
}

/// Size of the intersection of two sorted multisets.
fn common(a: &[Feature], b: &[Feature]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Levenshtein distance over characters, or `None` once it must exceed `most` (every entry of
/// a row above it: later rows only grow). The row lives in a buffer of the thread's.
fn edit_distance_within(a: &[char], b: &[char], most: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > most {
        return None;
    }
    ROW.with_borrow_mut(|row| {
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

/// One indexed entry.
struct Indexed {
    norm: Normalized,
    chars: Vec<char>,
    features: Vec<Feature>,
    /// Road (or compound) and number, when the core is `{road}{number}…` (号, 栋 …).
    numbered: Option<(String, u32)>,
}

/// Splits a canonical core `{road}{number}…` at its first number: the road or compound before
/// it, and the number (翠乐路12号 → 翠乐路, 12; 翠苑小区3栋 → 翠苑小区, 3).
fn road_and_number(core: &str) -> Option<(String, u32)> {
    let start = core.find(|c: char| c.is_ascii_digit())?;
    let end = core[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(core.len(), |n| start + n);
    let number = core[start..end].parse().ok()?;
    (start > 0).then(|| (core[..start].to_owned(), number))
}

/// A scored match: position of the entry and its score (1 = exact).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub entry: usize,
    pub score: f64,
}

/// The search index over a list of addresses.
#[derive(Default)]
pub struct SearchIndex {
    normalizer: Normalizer,
    entries: Vec<Indexed>,
    exact: HashMap<String, Vec<u32>>,
    postings: HashMap<Feature, Vec<u32>>,
    /// Entries of each road, by house number.
    roads: HashMap<String, Vec<(u32, u32)>>,
}

impl SearchIndex {
    pub fn new<'a>(normalizer: Normalizer, addresses: impl Iterator<Item = &'a str>) -> Self {
        let mut index = SearchIndex {
            normalizer,
            ..SearchIndex::default()
        };
        // Each entry on its own (normalising, features) on every core; then the maps, in
        // entry order, on one (4.9 M entries at ×100, issue 20).
        let texts: Vec<&str> = addresses.collect();
        let normalizer = &index.normalizer;
        index.entries = texts
            .par_iter()
            .map(|text| {
                let norm = normalizer.normalize(text);
                Indexed {
                    chars: norm.core.chars().collect(),
                    features: features(&norm.core),
                    numbered: road_and_number(&norm.core),
                    norm,
                }
            })
            .collect();
        for (i, entry) in index.entries.iter().enumerate() {
            let mut previous = None;
            for &f in &entry.features {
                // Sorted: each distinct feature once.
                if previous != Some(f) {
                    index.postings.entry(f).or_default().push(i as u32);
                    previous = Some(f);
                }
            }
            index
                .exact
                .entry(entry.norm.core.clone())
                .or_default()
                .push(i as u32);
            if let Some((road, number)) = &entry.numbered {
                index
                    .roads
                    .entry(road.clone())
                    .or_default()
                    .push((*number, i as u32));
            }
        }
        for list in index.roads.values_mut() {
            list.sort_unstable();
        }
        index
    }

    /// A range query `{road}{a}-{b}号` (or 至, 到, ～ …): the road as normalised, its town, and
    /// the numbers in order.
    fn range(&self, query: &str) -> Option<(Option<usize>, String, u32, u32)> {
        let (left, right) = query.split_once(RANGE_SEPARATORS)?;
        let left = left.trim_end().trim_end_matches('号');
        let from = self.normalizer.normalize(&format!("{left}号"));
        let (road, a) = road_and_number(&from.core)?;
        let right = canonical(right);
        let digits = right
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(right.len());
        let b: u32 = right[..digits].parse().ok()?;
        Some((from.town, road, a.min(b), a.max(b)))
    }

    /// The road's entries numbered `from..=to`, in number order.
    fn in_range(&self, road: &str, from: u32, to: u32) -> impl Iterator<Item = u32> + '_ {
        let list = self.roads.get(road).map_or(&[][..], Vec::as_slice);
        let start = list.partition_point(|&(n, _)| n < from);
        list[start..]
            .iter()
            .take_while(move |&&(n, _)| n <= to)
            .map(|&(_, e)| e)
    }

    /// Entries whose core contains `core` (at least two characters, not only digits), scored
    /// [`PREFIX_SCORE`] or [`PART_SCORE`]. Candidates come from the rarest of the query's
    /// features, so a road costs a few hundred substring checks, not one per entry.
    fn containing(&self, core: &str, qf: &[Feature]) -> Vec<Scored> {
        if core.chars().count() < 2 || core.chars().all(|c| c.is_ascii_digit()) {
            return Vec::new();
        }
        let mut wanted = qf.to_vec();
        wanted.dedup();
        let Some(rarest) = wanted
            .iter()
            .map(|f| self.postings.get(f).map_or(&[][..], Vec::as_slice))
            .min_by_key(|list| list.len())
        else {
            return Vec::new();
        };
        rarest
            .iter()
            .filter_map(|&e| {
                let entry = &self.entries[e as usize];
                let score = if entry.norm.core.starts_with(core) {
                    PREFIX_SCORE
                } else if entry.norm.core.contains(core) {
                    PART_SCORE
                } else {
                    return None;
                };
                Some(Scored {
                    entry: e as usize,
                    score,
                })
            })
            .collect()
    }

    /// Order of equally scored matches: by road and house number, then by position.
    fn address_order(&self, a: &Scored, b: &Scored) -> std::cmp::Ordering {
        let key = |s: &Scored| self.entries[s.entry].numbered.as_ref();
        b.score
            .total_cmp(&a.score)
            .then_with(|| key(a).cmp(&key(b)))
            .then(a.entry.cmp(&b.entry))
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// The best `limit` entries for `query`, exact matches first, best score first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Scored> {
        let q = self.normalizer.normalize(query);
        if q.core.is_empty() || limit == 0 {
            return Vec::new();
        }
        let town_of = |town: Option<usize>| {
            move |e: &Indexed| match (town, e.norm.town) {
                (Some(a), Some(b)) if a != b => OTHER_TOWN,
                _ => 1.0,
            }
        };
        if let Some((town, road, from, to)) = self.range(query) {
            let factor = town_of(town);
            let mut out: Vec<Scored> = self
                .in_range(&road, from, to)
                .map(|e| Scored {
                    entry: e as usize,
                    score: factor(&self.entries[e as usize]),
                })
                .collect();
            if !out.is_empty() {
                out.sort_by(|a, b| self.address_order(a, b));
                out.truncate(limit);
                return out;
            }
        }
        let town_factor = town_of(q.town);
        let mut out: Vec<Scored> = self
            .exact
            .get(&q.core)
            .into_iter()
            .flatten()
            .map(|&i| Scored {
                entry: i as usize,
                score: town_factor(&self.entries[i as usize]),
            })
            .collect();
        if !out.is_empty() {
            // An exact hit is the answer: no containment or fuzzy pass (they cost 30 to 60
            // times the lookup and would only add lesser matches below it).
            out.sort_by(|a, b| self.address_order(a, b));
            out.truncate(limit);
            return out;
        }
        let qf = features(&q.core);
        out.extend(self.containing(&q.core, &qf).into_iter().map(|s| Scored {
            score: s.score * town_factor(&self.entries[s.entry]),
            ..s
        }));
        if out.len() < limit {
            let known: std::collections::HashSet<usize> = out.iter().map(|s| s.entry).collect();
            let mut fuzzy: Vec<Scored> = self
                .fuzzy(&q, &qf, limit + known.len(), &town_factor)
                .into_iter()
                .filter(|s| !known.contains(&s.entry) && s.score >= MIN_SCORE)
                .collect();
            fuzzy.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
            out.extend(fuzzy);
        }
        out.sort_by(|a, b| self.address_order(a, b));
        out.truncate(limit);
        out
    }

    /// The best `want` fuzzy matches (scores below 1 by construction, times `factor`), and
    /// perhaps a few more.
    ///
    /// Candidates are the entries sharing the most selective features with the query (at least
    /// half as many as the best entry shares: fewer cannot rank among the best after
    /// rescoring), at most [`CANDIDATES`] of them. Their Dice coefficients bound their scores
    /// from above (the edit similarity is at most 1), so the edit distance, the costly half, is
    /// computed in order of that bound only until no remaining candidate can reach the
    /// `want`-th best score or [`MIN_SCORE`]: the same answer as rescoring all of them.
    fn fuzzy(
        &self,
        q: &Normalized,
        qf: &[Feature],
        want: usize,
        factor: &dyn Fn(&Indexed) -> f64,
    ) -> Vec<Scored> {
        let q_chars: Vec<char> = q.core.chars().collect();
        // The bound of a score: the Dice part as it is, the edit part at its best, 1 minus
        // the length difference over the longer length (at least that many edits are needed).
        let mut bounded: Vec<(f64, f64, u32)> = self
            .candidates(qf)
            .into_iter()
            .map(|e| {
                let entry = &self.entries[e as usize];
                let dice = 2.0 * common(qf, &entry.features) as f64
                    / (qf.len() + entry.features.len()) as f64;
                let longest = q_chars.len().max(entry.chars.len()).max(1) as f64;
                let similar = 1.0 - q_chars.len().abs_diff(entry.chars.len()) as f64 / longest;
                let f = factor(entry);
                (f * (0.5 * dice + 0.5 * similar).min(0.999), dice, e)
            })
            .collect();
        bounded.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
        let mut out: Vec<Scored> = Vec::new();
        let mut best: Vec<f64> = Vec::new(); // the `want` best scores so far, descending
        for (bound, dice, e) in bounded {
            let floor = if best.len() >= want.max(1) {
                best[best.len() - 1].max(MIN_SCORE)
            } else {
                MIN_SCORE
            };
            if bound < floor {
                break;
            }
            let entry = &self.entries[e as usize];
            let f = factor(entry);
            let longest = q_chars.len().max(entry.chars.len()).max(1);
            // The most edits that can still reach `floor`: a score of at least `floor` needs
            // `similar ≥ 2·floor/f − dice`, i.e. `d ≤ longest · (1 − that)` (with a margin
            // for rounding; the score is computed exactly below).
            let needed = 2.0 * floor / f - dice;
            let most = ((1.0 - needed) * longest as f64 + 1e-9).floor().max(0.0) as usize;
            let Some(d) = edit_distance_within(&q_chars, &entry.chars, most) else {
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
    fn candidates(&self, qf: &[Feature]) -> Vec<u32> {
        let mut unique = qf.to_vec();
        unique.dedup();
        let selective = (self.entries.len() / 10).max(SELECTIVE_FLOOR);
        let mut lists: Vec<&[u32]> = unique
            .iter()
            .filter_map(|f| Some(self.postings.get(f)?.as_slice()))
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
        COUNTS.with_borrow_mut(|counts| {
            if counts.len() < self.entries.len() {
                counts.resize(self.entries.len(), 0);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SearchIndex {
        SearchIndex::new(
            Normalizer::new(["石岐街道", "东区街道"]),
            [
                "石岐街道兴华路12号",
                "石岐街道兴华路14号",
                "石岐街道翠乐路12号",
                "东区街道康平街7号",
            ]
            .into_iter(),
        )
    }

    #[test]
    fn an_exact_hit_is_the_answer() {
        let found = index().search("兴华路十二号", 3);
        assert_eq!(
            found,
            [Scored {
                entry: 0,
                score: 1.0
            }]
        );
        // Without the exact hit, the neighbours are found fuzzily, below 1.
        let found = index().search("兴华路13号", 3);
        assert!(
            !found.is_empty() && found.iter().all(|s| s.score < 1.0),
            "{found:?}"
        );
    }

    #[test]
    fn typos_and_non_addresses() {
        let ix = index();
        assert_eq!(ix.search("石岐街道兴化路12号", 3)[0].entry, 0);
        assert_eq!(ix.search("东区康平街7好", 3)[0].entry, 3);
        assert!(ix.search("今天天气很好", 3).is_empty());
        assert!(ix.search("", 3).is_empty());
    }

    #[test]
    fn compounds_roads_and_ranges() {
        let ix = SearchIndex::new(
            Normalizer::new(["石岐街道"]),
            [
                "石岐街道翠苑小区3栋",
                "石岐街道翠苑小区1栋",
                "石岐街道兴华路14号",
                "石岐街道兴华路2号",
                "石岐街道兴华路9号",
                "石岐街道新翠苑小区1栋",
            ]
            .into_iter(),
        );
        let found = |q: &str| -> Vec<(usize, f64)> {
            ix.search(q, 10)
                .iter()
                .map(|s| (s.entry, s.score))
                .collect()
        };
        // A compound: the addresses starting with it, then those containing it.
        assert_eq!(
            found("翠苑小区"),
            [(1, PREFIX_SCORE), (0, PREFIX_SCORE), (5, PART_SCORE)]
        );
        // A road, by number.
        assert_eq!(
            found("兴华路"),
            [(3, PREFIX_SCORE), (4, PREFIX_SCORE), (2, PREFIX_SCORE)]
        );
        // A range, in Arabic or Chinese numerals, either way round.
        assert_eq!(found("兴华路2-9号"), [(3, 1.0), (4, 1.0)]);
        assert_eq!(found("石岐兴华路九至十四号"), [(4, 1.0), (2, 1.0)]);
        // A range with nothing in it falls back to the usual search.
        assert!(found("兴华路20-30号").iter().all(|&(_, s)| s < 1.0));
    }

    #[test]
    fn edit_distance_counts_edits() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        let d = |a: &str, b: &str, most| edit_distance_within(&c(a), &c(b), most);
        assert_eq!(d("兴华路", "兴化路", 9), Some(1));
        assert_eq!(d("abc", "", 9), Some(3));
        assert_eq!(d("kitten", "sitting", 9), Some(3));
        // Beyond `most`: none, whether the lengths already say so or the rows do.
        assert_eq!(d("kitten", "sitting", 3), Some(3));
        assert_eq!(d("kitten", "sitting", 2), None);
        assert_eq!(d("abc", "", 2), None);
        assert_eq!(d("abcd", "wxyz", 3), None);
        assert_eq!(d("", "", 0), Some(0));
    }
}
