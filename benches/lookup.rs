//! In-process lookup and start-up cost on the shipped sample city, or on the city in
//! `SHEQU_BENCH_DATA` (see `common`).
//!
//! `cargo bench --bench lookup`; figures go to BENCHMARKS.md.

mod common;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use geo::BoundingRect;
use shequ::Snapshot;

/// Deterministic points uniformly over the city's bounding box (splitmix64).
fn points(snapshot: &Snapshot, n: usize) -> Vec<[f64; 2]> {
    let Some(b) = shequ::geometry::union_bounds(
        snapshot
            .registry
            .towns
            .iter()
            .filter_map(|t| t.area.bounding_rect()),
    ) else {
        return Vec::new();
    };
    let mut state = 42u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            [
                b.min().x + next() * b.width(),
                b.min().y + next() * b.height(),
            ]
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let label = common::city_label();
    let start = Instant::now();
    let snapshot = common::load();
    println!(
        "load + index {label}: {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let points = points(&snapshot, 100_000);
    let mut i = 0;
    c.bench_function(&format!("lookup one point ({label})"), |b| {
        b.iter(|| {
            i = (i + 1) % points.len();
            black_box(snapshot.lookup(black_box(points[i])))
        })
    });
    // Ten loads of a large city would take minutes; its one load is printed above.
    if label != "sample city" {
        return;
    }
    let dir = common::data_dir();
    let mut group = c.benchmark_group("start-up");
    group.sample_size(10);
    group.bench_function("load + index sample city", |b| {
        b.iter(|| black_box(Snapshot::load(&dir).map(|s| s.registry.grids.len()).ok()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
