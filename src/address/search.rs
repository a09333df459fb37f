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
use std::hash::{Hash, Hasher};

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
/// Entries one task of the parallel build takes at a time.
const CHUNK: usize = 1 << 14;
/// Entries whose postings are gathered before they are written into the lists (bounds the
/// build's scratch memory).
const GROUP: usize = 1 << 18;
/// `towns` of an entry naming no town.
const NO_TOWN: u32 = u32::MAX;
/// `features` of a feature held by too many entries to be worth a list (see [`Held`]).
const COMMON: u32 = u32::MAX;

thread_local! {
    /// Scratch of [`SearchIndex::candidates`], kept by the thread between queries.
    static CANDIDATE_SCRATCH: std::cell::RefCell<CandidateScratch> =
        const { std::cell::RefCell::new(CandidateScratch { counts: Vec::new(), keys: Vec::new() }) };
}

/// The buffers of [`SearchIndex::candidates`], reused query after query rather than
/// allocated (and zeroed) each time.
struct CandidateScratch {
    /// Shared-feature counters, one per entry, all zero between queries.
    counts: Vec<u16>,
    /// The candidates' sort keys.
    keys: Vec<u64>,
}

/// A feature: a character (unigram) or two adjacent characters (bigram), packed.
type Feature = u64;

/// Calls `each` with every feature of `core` (a multiset, in text order).
fn each_feature(core: &str, mut each: impl FnMut(Feature)) {
    let mut previous = None;
    for c in core.chars() {
        each(u64::from(c as u32));
        if let Some(p) = previous {
            each((1 << 63) | (u64::from(p as u32) << 21) | u64::from(c as u32));
        }
        previous = Some(c);
    }
}

/// The features of `core`, sorted.
fn features(core: &str) -> Vec<Feature> {
    let mut f = Vec::with_capacity(2 * core.len());
    each_feature(core, |x| f.push(x));
    f.sort_unstable();
    f
}

/// The query's features as a small open-addressing table (each distinct feature with how
/// often the query holds it), so that a candidate's shared features cost a probe each instead
/// of a binary search of the sorted multiset (the scoring of a fuzzy query's candidates,
/// issue 19). The slot of each of the query's characters also holds where in the query the
/// character stands, as a bit mask: the pattern of the bit-parallel edit distance
/// ([`FeatureTable::compare`]), so one probe serves both halves of a candidate's score.
struct FeatureTable {
    /// Distinct features, [`EMPTY`] in the free slots; at least four times as many slots as
    /// the query has features, so that a probe nearly always ends at its first slot.
    keys: Vec<Feature>,
    /// How often the query holds the feature of each slot.
    counts: Vec<u32>,
    /// For a character's slot, bit `j` is set when the query's `j`-th character is it (only
    /// the first 64 characters: a longer query's distance is computed row by row).
    positions: Vec<u64>,
    /// The query's length in characters.
    chars: usize,
    /// `64 − log2(slots)`: the top bits of the hash pick the first slot.
    shift: u32,
    /// Scratch: the counts not yet matched by the core being compared.
    left: Vec<u32>,
}

/// No feature: a bigram has its top bit set but a character needs only 21 bits, so no feature
/// has all 64 bits set.
const EMPTY: Feature = u64::MAX;

/// What [`FeatureTable::compare`] finds of a core.
#[derive(Debug, PartialEq)]
struct Comparison {
    /// Features the core shares with the query (multiset intersection).
    shared: usize,
    /// The core's features.
    features: usize,
    /// The core's length in characters.
    chars: usize,
    /// The Levenshtein distance from the query, when the query has at most 64 characters.
    distance: Option<usize>,
}

impl FeatureTable {
    /// The table of the multiset `features` of the query `chars`.
    fn new(features: &[Feature], chars: &[char]) -> Self {
        let slots = (4 * features.len()).next_power_of_two().max(16);
        let mut table = FeatureTable {
            keys: vec![EMPTY; slots],
            counts: vec![0; slots],
            positions: vec![0; slots],
            chars: chars.len(),
            shift: 64 - slots.trailing_zeros(),
            left: vec![0; slots],
        };
        for &f in features {
            let i = table.slot(f);
            table.keys[i] = f;
            table.counts[i] += 1;
        }
        if chars.len() <= 64 {
            for (j, &c) in chars.iter().enumerate() {
                // Every character of the query is one of its features: the slot holds it.
                let i = table.slot(u64::from(c as u32));
                table.positions[i] |= 1 << j;
            }
        }
        table
    }

    /// The slot holding `f`, or the free slot where it would go.
    fn slot(&self, f: Feature) -> usize {
        let mask = self.keys.len() - 1;
        let mut i = (f.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize;
        while self.keys[i] != f && self.keys[i] != EMPTY {
            i = (i + 1) & mask;
        }
        i
    }

    /// The size of the intersection of the query's multiset with the features of `core`, the
    /// number of `core`'s features and characters, and the edit distance between the query
    /// and `core`, in one pass over `core`'s text (an entry's features are not stored: only
    /// the few candidates of a fuzzy query need them).
    ///
    /// The distance is Myers' bit-parallel algorithm (1999; Hyyrö's formulation for the
    /// distance between whole strings): a column of the edit-distance table is kept as bit
    /// vectors of its vertical differences, and each character of `core` advances it with a
    /// dozen word operations instead of a row of the table's cells.
    fn compare(&mut self, core: &str) -> Comparison {
        self.left.copy_from_slice(&self.counts);
        let (mut shared, mut features, mut chars) = (0, 0, 0);
        let mut take = |table: &mut Self, f: Feature| -> usize {
            features += 1;
            let i = table.slot(f);
            if table.left[i] > 0 {
                table.left[i] -= 1;
                shared += 1;
            }
            i
        };
        let m = self.chars;
        // Bit vectors for queries of 1 to 64 characters; the distance to an empty query is
        // the core's length, and a longer query's is left to the caller.
        let bits = (1..=64).contains(&m);
        let mask = if m >= 64 { u64::MAX } else { (1u64 << m) - 1 };
        let last = if bits { 1u64 << (m - 1) } else { 0 };
        // Vertical differences of the current column: +1 everywhere (D[i][0] = i).
        let (mut plus, mut minus) = (mask, 0u64);
        let mut distance = m;
        let mut previous: Option<char> = None;
        for c in core.chars() {
            chars += 1;
            let i = take(self, u64::from(c as u32));
            if let Some(p) = previous {
                take(
                    self,
                    (1 << 63) | (u64::from(p as u32) << 21) | u64::from(c as u32),
                );
            }
            previous = Some(c);
            if bits {
                let eq = if self.keys[i] == u64::from(c as u32) {
                    self.positions[i]
                } else {
                    0
                };
                let xv = eq | minus;
                let xh = ((eq & plus).wrapping_add(plus) ^ plus) | eq;
                let mut ph = minus | !(xh | plus);
                let mut mh = plus & xh;
                if ph & last != 0 {
                    distance += 1;
                } else if mh & last != 0 {
                    distance -= 1;
                }
                // The top row grows by one a character (D[0][j] = j): a +1 enters at bit 0.
                ph = (ph << 1) | 1;
                mh <<= 1;
                plus = (mh | !(xv | ph)) & mask;
                minus = ph & xv & mask;
            }
        }
        let distance = if m == 0 {
            Some(chars)
        } else {
            (m <= 64).then_some(distance)
        };
        Comparison {
            shared,
            features,
            chars,
            distance,
        }
    }
}

/// Levenshtein distance over characters, a row of the table at a time: the distance of a
/// query too long for [`FeatureTable::compare`]'s bit vectors.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Splits a canonical core `{road}{number}…` at its first number: the road or compound before
/// it, and the number (翠乐路12号 → 翠乐路, 12; 翠苑小区3栋 → 翠苑小区, 3).
fn road_and_number(core: &str) -> Option<(&str, u32)> {
    let start = core.find(|c: char| c.is_ascii_digit())?;
    let end = core[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(core.len(), |n| start + n);
    let number = core[start..end].parse().ok()?;
    (start > 0).then(|| (&core[..start], number))
}

/// The hash of a core that picks its exact-match list (fixed keys: the same in every process).
fn core_hash(core: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    core.hash(&mut h);
    h.finish()
}

/// A scored match: position of the entry and its score (1 = exact).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub entry: usize,
    pub score: f64,
}

/// A fuzzy pass: the index, the query, its features, how many matches are wanted and the
/// town factor of an entry ([`SearchIndex::fuzzy`]).
type Fuzzy = fn(&SearchIndex, &Normalized, &[Feature], usize, &dyn Fn(usize) -> f64) -> Vec<Scored>;

/// Lists of entry positions in one array (compressed sparse rows): list `k` is
/// `ids[offsets[k]..offsets[k + 1]]`. Two allocations in all, where a `Vec` a list cost a
/// header and up to half its length in spare capacity each.
#[derive(Default)]
struct Lists {
    offsets: Vec<usize>,
    ids: Vec<u32>,
}

impl Lists {
    /// Entry `i` goes to list `key(i)` (below `lists`), lists in entry order: a counting sort.
    fn group(lists: usize, keys: &[u32]) -> Self {
        let mut offsets = vec![0usize; lists + 1];
        for &k in keys {
            offsets[k as usize + 1] += 1;
        }
        for k in 0..lists {
            offsets[k + 1] += offsets[k];
        }
        let mut cursor = offsets[..lists].to_vec();
        let mut ids = vec![0u32; keys.len()];
        for (i, &k) in keys.iter().enumerate() {
            ids[cursor[k as usize]] = i as u32;
            cursor[k as usize] += 1;
        }
        Lists { offsets, ids }
    }

    fn list(&self, k: usize) -> &[u32] {
        match (self.offsets.get(k), self.offsets.get(k + 1)) {
            (Some(&a), Some(&b)) => &self.ids[a..b],
            _ => &[],
        }
    }

    fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}

/// What the index keeps of a feature: the entries holding it, or that it is too common for a
/// list (held by more than a tenth of the entries: 号, most digits). Fuzzy search never counts
/// such features; a containment query made only of them scans the cores instead.
enum Held<'a> {
    By(&'a [u32]),
    Common,
}

/// The search index over a list of addresses.
///
/// Laid out for size (issue 20: 4.9 M entries at ×100): the normalised cores in one text with
/// offsets, each entry's town in an array, the exact-match and posting lists as [`Lists`];
/// features are computed from the text when a query needs them, not stored per entry.
#[derive(Default)]
pub struct SearchIndex {
    normalizer: Normalizer,
    /// Every entry's normalised core, one after another.
    cores: String,
    /// Entry `i`'s core is `cores[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
    /// The town each entry names ([`NO_TOWN`] if none).
    towns: Vec<u32>,
    /// Entries by their core's hash, bucketed ([`SearchIndex::bucket`]); a query's bucket is
    /// checked against the cores, so a shared bucket or hash costs a comparison, not a wrong
    /// answer.
    exact: Lists,
    /// Each feature's posting list in `postings`, or [`COMMON`].
    features: HashMap<Feature, u32>,
    postings: Lists,
    /// Each road's (or compound's) entries in `road_entries`, which holds `(number, entry)`
    /// sorted by road, then number.
    roads: HashMap<Box<str>, (u32, u32)>,
    road_entries: Vec<(u32, u32)>,
}

impl SearchIndex {
    /// Indexes `count` addresses, `address(i)` being the `i`-th.
    pub fn new<'a>(
        normalizer: Normalizer,
        address: impl Fn(usize) -> &'a str + Sync,
        count: usize,
    ) -> Self {
        let mut index = SearchIndex {
            normalizer,
            ..SearchIndex::default()
        };
        index.normalize_all(&address, count);
        index.index_exact();
        index.index_features();
        index.index_roads();
        index
    }

    fn len(&self) -> usize {
        self.towns.len()
    }

    fn core(&self, e: usize) -> &str {
        &self.cores[self.starts[e]..self.starts[e + 1]]
    }

    fn town(&self, e: usize) -> Option<usize> {
        (self.towns[e] != NO_TOWN).then_some(self.towns[e] as usize)
    }

    /// Normalises every address on every core, a chunk at a time, into `cores`.
    fn normalize_all<'a>(&mut self, address: &(impl Fn(usize) -> &'a str + Sync), count: usize) {
        let normalizer = &self.normalizer;
        let chunks: Vec<(String, Vec<usize>, Vec<u32>)> = (0..count.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let (mut text, mut ends, mut towns) = (String::new(), Vec::new(), Vec::new());
                for i in c * CHUNK..count.min((c + 1) * CHUNK) {
                    let norm = normalizer.normalize(address(i));
                    text.push_str(&norm.core);
                    ends.push(text.len());
                    towns.push(norm.town.map_or(NO_TOWN, |t| t as u32));
                }
                (text, ends, towns)
            })
            .collect();
        let bytes = chunks.iter().map(|c| c.0.len()).sum();
        self.cores = String::with_capacity(bytes);
        self.starts = Vec::with_capacity(count + 1);
        self.starts.push(0);
        self.towns = Vec::with_capacity(count);
        for (text, ends, towns) in chunks {
            let base = self.cores.len();
            self.cores.push_str(&text);
            self.starts.extend(ends.iter().map(|&end| base + end));
            self.towns.extend(towns);
        }
    }

    /// The exact-match list of a core's hash: about one entry per list.
    fn bucket(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.exact.len() as u128) >> 64) as usize
    }

    fn index_exact(&mut self) {
        let lists = (self.len() / 2).next_power_of_two();
        // The bucket of a hash depends only on the number of lists.
        self.exact = Lists {
            offsets: vec![0; lists + 1],
            ids: Vec::new(),
        };
        let keys: Vec<u32> = (0..self.len())
            .into_par_iter()
            .map(|e| self.bucket(core_hash(self.core(e))) as u32)
            .collect();
        self.exact = Lists::group(lists, &keys);
    }

    /// Entry `e`'s distinct features, sorted, in `out`.
    fn distinct_features(&self, e: usize, out: &mut Vec<Feature>) {
        out.clear();
        each_feature(self.core(e), |f| out.push(f));
        out.sort_unstable();
        out.dedup();
    }

    /// The posting lists: how many entries hold each feature (on every core), which features
    /// are selective enough for a list, then the lists filled in entry order, a group of
    /// entries at a time.
    fn index_features(&mut self) {
        let n = self.len();
        let held: HashMap<Feature, u32> = (0..n)
            .into_par_iter()
            .fold(
                || (HashMap::new(), Vec::new()),
                |(mut held, mut scratch): (HashMap<Feature, u32>, Vec<Feature>), e| {
                    self.distinct_features(e, &mut scratch);
                    for &f in &scratch {
                        *held.entry(f).or_default() += 1;
                    }
                    (held, scratch)
                },
            )
            .map(|(held, _)| held)
            .reduce(HashMap::new, |a, b| {
                let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
                for (f, c) in small {
                    *big.entry(f).or_default() += c;
                }
                big
            });
        let selective = (n / 10).max(SELECTIVE_FLOOR);
        let mut kept: Vec<(Feature, u32)> = held
            .iter()
            .filter(|&(_, &c)| c as usize <= selective)
            .map(|(&f, &c)| (f, c))
            .collect();
        kept.sort_unstable();
        let mut offsets = Vec::with_capacity(kept.len() + 1);
        offsets.push(0usize);
        for &(_, c) in &kept {
            offsets.push(offsets[offsets.len() - 1] + c as usize);
        }
        self.features = held.into_keys().map(|f| (f, COMMON)).collect();
        for (k, &(f, _)) in kept.iter().enumerate() {
            self.features.insert(f, k as u32);
        }
        let mut cursor = offsets[..kept.len()].to_vec();
        let mut ids = vec![0u32; offsets[kept.len()]];
        for group in (0..n).step_by(GROUP) {
            let postings: Vec<Vec<(u32, u32)>> = (group..n.min(group + GROUP))
                .into_par_iter()
                .step_by(CHUNK)
                .map(|start| {
                    let mut scratch = Vec::new();
                    let mut out = Vec::new();
                    for e in start..n.min(group + GROUP).min(start + CHUNK) {
                        self.distinct_features(e, &mut scratch);
                        out.extend(scratch.iter().filter_map(|f| match self.features.get(f) {
                            Some(&k) if k != COMMON => Some((k, e as u32)),
                            _ => None,
                        }));
                    }
                    out
                })
                .collect();
            for (k, e) in postings.into_iter().flatten() {
                ids[cursor[k as usize]] = e;
                cursor[k as usize] += 1;
            }
        }
        self.postings = Lists { offsets, ids };
    }

    /// The road (or compound) index of range queries.
    fn index_roads(&mut self) {
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut rows: Vec<(u32, u32, u32)> = Vec::new();
        for e in 0..self.len() {
            if let Some((road, number)) = road_and_number(self.core(e)) {
                let next = ids.len() as u32;
                rows.push((*ids.entry(road).or_insert(next), number, e as u32));
            }
        }
        rows.par_sort_unstable();
        let mut names = vec![""; ids.len()];
        for (road, id) in ids {
            names[id as usize] = road;
        }
        let mut roads = HashMap::with_capacity(names.len());
        let mut start = 0;
        while start < rows.len() {
            let road = rows[start].0;
            let end = start + rows[start..].partition_point(|r| r.0 == road);
            roads.insert(Box::from(names[road as usize]), (start as u32, end as u32));
            start = end;
        }
        self.road_entries = rows.into_iter().map(|(_, n, e)| (n, e)).collect();
        self.roads = roads;
    }

    /// What the index keeps of feature `f`; `None` when no entry holds it.
    fn held(&self, f: Feature) -> Option<Held<'_>> {
        match *self.features.get(&f)? {
            COMMON => Some(Held::Common),
            k => Some(Held::By(self.postings.list(k as usize))),
        }
    }

    /// A range query `{road}{a}-{b}号` (or 至, 到, ～ …): the road as normalised, its town, and
    /// the numbers in order.
    fn range(&self, query: &str) -> Option<(Option<usize>, String, u32, u32)> {
        let (left, right) = query.split_once(RANGE_SEPARATORS)?;
        let left = left.trim_end().trim_end_matches('号');
        let from = self.normalizer.normalize(&format!("{left}号"));
        let (road, a) = road_and_number(&from.core)?;
        let road = road.to_owned();
        let right = canonical(right);
        let digits = right
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(right.len());
        let b: u32 = right[..digits].parse().ok()?;
        Some((from.town, road, a.min(b), a.max(b)))
    }

    /// The road's entries numbered `from..=to`, in number order.
    fn in_range(&self, road: &str, from: u32, to: u32) -> impl Iterator<Item = u32> + '_ {
        let list = self.roads.get(road).map_or(&[][..], |&(a, b)| {
            &self.road_entries[a as usize..b as usize]
        });
        let start = list.partition_point(|&(n, _)| n < from);
        list[start..]
            .iter()
            .take_while(move |&&(n, _)| n <= to)
            .map(|&(_, e)| e)
    }

    /// Entries whose core contains `core` (at least two characters, not only digits), scored
    /// [`PREFIX_SCORE`] or [`PART_SCORE`]. Candidates come from the rarest of the query's
    /// features, so a road costs a few hundred substring checks, not one per entry; a query
    /// made only of common features scans the cores.
    fn containing(&self, core: &str, qf: &[Feature]) -> Vec<Scored> {
        if core.chars().count() < 2 || core.chars().all(|c| c.is_ascii_digit()) {
            return Vec::new();
        }
        let mut wanted = qf.to_vec();
        wanted.dedup();
        let mut rarest: Option<&[u32]> = None;
        for &f in &wanted {
            match self.held(f) {
                // No entry holds it: none contains the query.
                None => return Vec::new(),
                Some(Held::By(list)) if rarest.is_none_or(|r| list.len() < r.len()) => {
                    rarest = Some(list)
                }
                Some(_) => {}
            }
        }
        let Some(rarest) = rarest else {
            return self.scan(core);
        };
        rarest
            .iter()
            .filter_map(|&e| {
                let entry = self.core(e as usize);
                let score = if entry.starts_with(core) {
                    PREFIX_SCORE
                } else if entry.contains(core) {
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

    /// Every entry whose core contains `core`, found by searching all the cores' text (its
    /// matches across two cores do not count).
    fn scan(&self, core: &str) -> Vec<Scored> {
        let step = core.chars().next().map_or(1, char::len_utf8);
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(found) = self.cores.get(from..).and_then(|rest| rest.find(core)) {
            let at = from + found;
            let e = self.starts.partition_point(|&s| s <= at) - 1;
            let end = self.starts[e + 1];
            if at + core.len() > end {
                // Runs into the next core: look again from the next character.
                from = at + step;
                continue;
            }
            out.push(Scored {
                entry: e,
                score: if at == self.starts[e] {
                    PREFIX_SCORE
                } else {
                    PART_SCORE
                },
            });
            from = end;
        }
        out
    }

    /// Sorts matches best first; equal scores by road and house number, then by position.
    fn sort_matches(&self, matches: &mut Vec<Scored>) {
        let mut keyed: Vec<(Scored, Option<(&str, u32)>)> = matches
            .iter()
            .map(|&s| (s, road_and_number(self.core(s.entry))))
            .collect();
        keyed.sort_by(|(a, ka), (b, kb)| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| ka.cmp(kb))
                .then(a.entry.cmp(&b.entry))
        });
        matches.clear();
        matches.extend(keyed.into_iter().map(|(s, _)| s));
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// The best `limit` entries for `query`, exact matches first, best score first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Scored> {
        self.search_by(query, limit, Self::fuzzy)
    }

    /// [`SearchIndex::search`] with the fuzzy pass given (the tests run the same search with
    /// the reference fuzzy pass).
    fn search_by(&self, query: &str, limit: usize, pass: Fuzzy) -> Vec<Scored> {
        let q = self.normalizer.normalize(query);
        if q.core.is_empty() || limit == 0 {
            return Vec::new();
        }
        let town_of = |town: Option<usize>| {
            move |e: usize| match (town, self.town(e)) {
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
                    score: factor(e as usize),
                })
                .collect();
            if !out.is_empty() {
                self.sort_matches(&mut out);
                out.truncate(limit);
                return out;
            }
        }
        let town_factor = town_of(q.town);
        let mut out: Vec<Scored> = self
            .exact
            .list(self.bucket(core_hash(&q.core)))
            .iter()
            .filter(|&&e| self.core(e as usize) == q.core)
            .map(|&e| Scored {
                entry: e as usize,
                score: town_factor(e as usize),
            })
            .collect();
        if !out.is_empty() {
            // An exact hit is the answer: no containment or fuzzy pass (they cost 30 to 60
            // times the lookup and would only add lesser matches below it).
            self.sort_matches(&mut out);
            out.truncate(limit);
            return out;
        }
        let qf = features(&q.core);
        out.extend(self.containing(&q.core, &qf).into_iter().map(|s| Scored {
            score: s.score * town_factor(s.entry),
            ..s
        }));
        if out.len() < limit {
            let known: std::collections::HashSet<usize> = out.iter().map(|s| s.entry).collect();
            let mut fuzzy: Vec<Scored> = pass(self, &q, &qf, limit + known.len(), &town_factor)
                .into_iter()
                .filter(|s| !known.contains(&s.entry) && s.score >= MIN_SCORE)
                .collect();
            fuzzy.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
            out.extend(fuzzy);
        }
        self.sort_matches(&mut out);
        out.truncate(limit);
        out
    }

    /// The best `want` fuzzy matches (scores below 1 by construction, times `factor`): every
    /// candidate scoring at least [`MIN_SCORE`] and at least the `want`-th best score (so ties
    /// with it are all kept, for [`SearchIndex::sort_matches`] to order).
    ///
    /// Candidates are the entries sharing the most selective features with the query (at least
    /// half as many as the best entry shares: fewer cannot rank among the best after
    /// rescoring), at most [`CANDIDATES`] of them, each scored exactly: half the Dice
    /// coefficient of the feature multisets, half the edit similarity. Both come from one pass
    /// over the candidate's text ([`FeatureTable::compare`]); with the bit-parallel distance
    /// that is cheaper than bounding the scores to skip distances (issue 19).
    fn fuzzy(
        &self,
        q: &Normalized,
        qf: &[Feature],
        want: usize,
        factor: &dyn Fn(usize) -> f64,
    ) -> Vec<Scored> {
        let q_chars: Vec<char> = q.core.chars().collect();
        // Where each candidate's core lies and its town's factor, gathered first: the loads
        // are independent, so their cache misses overlap instead of stalling the scoring one
        // candidate at a time.
        let gathered: Vec<(usize, usize, f64, u32)> = self
            .candidates(qf)
            .into_iter()
            .map(|e| {
                let (start, end) = (self.starts[e as usize], self.starts[e as usize + 1]);
                (start, end, factor(e as usize), e)
            })
            .collect();
        let mut table = FeatureTable::new(qf, &q_chars);
        let mut out: Vec<Scored> = gathered
            .into_iter()
            .filter_map(|(start, end, f, e)| {
                let core = &self.cores[start..end];
                let found = table.compare(core);
                let dice = 2.0 * found.shared as f64 / (qf.len() + found.features) as f64;
                let d = found
                    .distance
                    .unwrap_or_else(|| edit_distance(&q_chars, &core.chars().collect::<Vec<_>>()));
                let longest = q_chars.len().max(found.chars).max(1);
                let similar = 1.0 - d as f64 / longest as f64;
                // Never 1: that is reserved for exact matches.
                let score = f * (0.5 * dice + 0.5 * similar).min(0.999);
                (score >= MIN_SCORE).then_some(Scored {
                    entry: e as usize,
                    score,
                })
            })
            .collect();
        let k = want.max(1) - 1;
        if out.len() > k + 1 {
            out.select_nth_unstable_by(k, |a, b| b.score.total_cmp(&a.score));
            let kth = out[k].score;
            out.retain(|s| s.score >= kth);
        }
        out
    }

    /// Entries sharing the most selective features with `qf` (see [`SearchIndex::fuzzy`]). The
    /// per-entry counters live in a buffer of the thread's that is reset entry by entry, not
    /// allocated and zeroed per query.
    fn candidates(&self, qf: &[Feature]) -> Vec<u32> {
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
        let postings: usize = lists.iter().map(|list| list.len()).sum();
        CANDIDATE_SCRATCH.with_borrow_mut(|scratch| {
            if scratch.counts.len() < self.len() {
                scratch.counts.resize(self.len(), 0);
            }
            if scratch.keys.len() < postings {
                scratch.keys.resize(postings, 0);
            }
            // Slices: their pointers and lengths stay in registers through the loops.
            let counts = scratch.counts.as_mut_slice();
            let keys = &mut scratch.keys[..postings];
            let mut best = 0u16;
            for list in &lists {
                for &e in *list {
                    let c = &mut counts[e as usize];
                    *c = c.saturating_add(1);
                    best = best.max(*c);
                }
            }
            // Each entry once (its counter is taken, back to zero, at its first posting), as a
            // key that orders by count descending, then by position. Every key is written and
            // only the kept ones are counted: whether an entry is kept is a coin toss to the
            // branch predictor.
            let mut kept = 0;
            for list in &lists {
                for &e in *list {
                    let c = std::mem::take(&mut counts[e as usize]);
                    keys[kept] = (u64::from(u16::MAX - c) << 32) | u64::from(e);
                    kept += usize::from((c != 0) & (2 * u32::from(c) >= u32::from(best)));
                }
            }
            let keys = &mut keys[..kept];
            if keys.len() > CANDIDATES {
                keys.select_nth_unstable(CANDIDATES);
            }
            keys.iter().take(CANDIDATES).map(|&k| k as u32).collect()
        })
    }
}

#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;

    fn build(towns: &[&str], addresses: &[&str]) -> SearchIndex {
        SearchIndex::new(
            Normalizer::new(towns.iter().copied()),
            |i| addresses[i],
            addresses.len(),
        )
    }

    fn index() -> SearchIndex {
        build(
            &["石岐街道", "东区街道"],
            &[
                "石岐街道兴华路12号",
                "石岐街道兴华路14号",
                "石岐街道翠乐路12号",
                "东区街道康平街7号",
            ],
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
        let ix = build(
            &["石岐街道"],
            &[
                "石岐街道翠苑小区3栋",
                "石岐街道翠苑小区1栋",
                "石岐街道兴华路14号",
                "石岐街道兴华路2号",
                "石岐街道兴华路9号",
                "石岐街道新翠苑小区1栋",
            ],
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
    fn the_same_core_in_two_towns() {
        // One exact list holds both; the town named in the query ranks its entry first.
        let ix = build(
            &["石岐街道", "东区街道"],
            &[
                "东区街道兴华路12号",
                "石岐街道兴华路12号",
                "石岐街道兴华路1号",
            ],
        );
        let found = |q: &str| -> Vec<(usize, f64)> {
            ix.search(q, 5).iter().map(|s| (s.entry, s.score)).collect()
        };
        assert_eq!(found("兴华路12号"), [(0, 1.0), (1, 1.0)]);
        assert_eq!(found("石岐兴华路12号"), [(1, 1.0), (0, OTHER_TOWN)]);
    }

    #[test]
    fn common_features_are_scanned() {
        // 2,400 entries: 号, the digits, 兴华路 and 号1 are each held by more than a tenth of
        // them and get no posting list. Every other core starts with a digit, so 号1 also
        // stands across two cores in the text, which must not count.
        let addresses: Vec<String> = (0..1200)
            .flat_map(|i| [format!("兴华路{i}号1栋"), format!("{i}栋")])
            .collect();
        let ix = SearchIndex::new(Normalizer::default(), |i| &addresses[i], addresses.len());
        for f in ["号", "1", "号1"] {
            assert!(matches!(
                ix.held(features(f)[features(f).len() - 1]),
                Some(Held::Common)
            ));
        }
        for q in ["号1", "兴华路", "华路1", "1栋"] {
            let mut want: Vec<(usize, f64)> = addresses
                .iter()
                .enumerate()
                .filter(|(_, a)| a.contains(q))
                .map(|(i, a)| {
                    (
                        i,
                        if a.starts_with(q) {
                            PREFIX_SCORE
                        } else {
                            PART_SCORE
                        },
                    )
                })
                .collect();
            want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut got: Vec<(usize, f64)> = ix
                .containing(q, &features(q))
                .iter()
                .map(|s| (s.entry, s.score))
                .collect();
            got.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            assert_eq!(got, want, "{q}");
        }
        // A feature no entry holds: nothing, without a scan.
        assert!(ix.containing("号2栋兴", &features("号2栋兴")).is_empty());
    }

    #[test]
    fn lists_group_by_key_in_entry_order() {
        let lists = Lists::group(4, &[2, 0, 2, 3, 0, 2]);
        let got: Vec<&[u32]> = (0..4).map(|k| lists.list(k)).collect();
        assert_eq!(got, [&[1, 4][..], &[], &[0, 2, 5], &[3]]);
        assert_eq!(lists.list(4), &[] as &[u32]);
    }

    #[test]
    fn shared_features_from_the_text() {
        // As the intersection of the two sorted multisets, merged; one table for several
        // cores, as in a query's scoring.
        let texts = [
            "兴华路44号",
            "兴华路4号",
            "aaab",
            "aab",
            "",
            "ab",
            "号号1号号",
            "1号号",
        ];
        for a in texts {
            let fa = features(a);
            let ca: Vec<char> = a.chars().collect();
            let mut table = FeatureTable::new(&fa, &ca);
            for b in texts {
                let fb = features(b);
                let mut want = 0;
                let (mut i, mut j) = (0, 0);
                while i < fa.len() && j < fb.len() {
                    match fa[i].cmp(&fb[j]) {
                        std::cmp::Ordering::Less => i += 1,
                        std::cmp::Ordering::Greater => j += 1,
                        std::cmp::Ordering::Equal => (want, i, j) = (want + 1, i + 1, j + 1),
                    }
                }
                let found = table.compare(b);
                assert_eq!((found.shared, found.features), (want, fb.len()), "{a} {b}");
            }
        }
    }

    #[test]
    fn edit_distance_counts_edits() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        let d = |a: &str, b: &str| edit_distance(&c(a), &c(b));
        assert_eq!(d("兴华路", "兴化路"), 1);
        assert_eq!(d("abc", ""), 3);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("abcd", "wxyz"), 4);
        assert_eq!(d("", ""), 0);
    }

    #[test]
    fn the_bit_parallel_distance_is_the_tables() {
        // Against the row-by-row table on random strings over small alphabets (many equal
        // characters, the hard case for the carries), at every query length up to 64 and
        // beyond, where the table answers instead.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let alphabets: [&[char]; 3] = [
            &['a', 'b'],
            &['兴', '华', '路', '1'],
            &['a', 'b', 'c', 'd', 'e'],
        ];
        for round in 0..3000 {
            let alphabet = alphabets[round % 3];
            let text = |n: u64, next: &mut dyn FnMut(u64) -> u64| -> Vec<char> {
                (0..n)
                    .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                    .collect()
            };
            let m = if round < 2900 {
                round as u64 % 66
            } else {
                60 + round as u64 % 20
            };
            let query = text(m, &mut next);
            let n = next(80);
            let core = text(n, &mut next);
            let (qs, cs): (String, String) = (query.iter().collect(), core.iter().collect());
            let found = FeatureTable::new(&features(&qs), &query).compare(&cs);
            let want = edit_distance(&query, &core);
            assert_eq!(found.chars, core.len());
            if query.len() <= 64 {
                assert_eq!(found.distance, Some(want), "{qs} {cs}");
            } else {
                assert_eq!(found.distance, None, "{qs}");
            }
        }
    }
}
