//! In-process address search on the shipped register (48,995 entries).
//!
//! `cargo bench --bench address`; figures go to BENCHMARKS.md.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use shequ::Snapshot;

fn bench(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("boundaries");
    let snapshot = match Snapshot::load(&dir) {
        Ok(s) => s,
        Err(e) => panic!("sample city: {e}"),
    };
    let entries = snapshot.addresses.entries();
    // Exact queries with a province/city prefix and spaces; fuzzy ones with one road
    // character replaced (the typo case, which takes the n-gram path).
    let exact: Vec<String> = entries
        .iter()
        .step_by(7)
        .map(|e| format!("广东省中山市 {}", e.address))
        .collect();
    let typos: Vec<String> = entries
        .iter()
        .step_by(7)
        .map(|e| {
            let mut chars: Vec<char> = e.address.chars().collect();
            let digits = chars.iter().position(char::is_ascii_digit).unwrap_or(0);
            if digits >= 3 {
                chars[digits - 3] = '之';
            }
            chars.into_iter().collect()
        })
        .collect();
    // Roads alone and number ranges on them (the containment and range paths).
    let roads: Vec<String> = entries
        .iter()
        .step_by(97)
        .filter_map(|e| {
            let digits = e.address.find(|c: char| c.is_ascii_digit())?;
            // Roads are two characters and 路 or 街 (boundaries/README.md).
            let head: Vec<char> = e.address[..digits].chars().collect();
            Some(head[head.len().saturating_sub(3)..].iter().collect())
        })
        .collect();
    let ranges: Vec<String> = entries
        .iter()
        .step_by(97)
        .filter_map(|e| {
            let digits = e.address.find(|c: char| c.is_ascii_digit())?;
            let n: u32 = e.address[digits..].trim_end_matches('号').parse().ok()?;
            Some(format!("{}{n}-{}号", &e.address[..digits], n + 20))
        })
        .collect();
    let mut i = 0;
    c.bench_function("address search, exact (normalised)", |b| {
        b.iter(|| {
            i = (i + 1) % exact.len();
            black_box(snapshot.addresses.search(black_box(&exact[i]), 5).len())
        })
    });
    c.bench_function("address search, a road (翠乐路)", |b| {
        b.iter(|| {
            i = (i + 1) % roads.len();
            black_box(snapshot.addresses.search(black_box(&roads[i]), 5).len())
        })
    });
    c.bench_function("address search, a number range (…路1-21号)", |b| {
        b.iter(|| {
            i = (i + 1) % ranges.len();
            black_box(snapshot.addresses.search(black_box(&ranges[i]), 5).len())
        })
    });
    c.bench_function("address search, one typo (fuzzy)", |b| {
        b.iter(|| {
            i = (i + 1) % typos.len();
            black_box(snapshot.addresses.search(black_box(&typos[i]), 5).len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
