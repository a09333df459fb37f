//! Full coverage audit of the shipped sample city (`cargo bench --bench audit`), or of the city
//! in `SHEQU_BENCH_DATA` (see `common`): a large city's audit takes seconds, so it is timed
//! `SHEQU_BENCH_RUNS` times (default 3) and the median printed instead of criterion's ten
//! samples.

mod common;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let label = common::city_label();
    let snapshot = common::load();
    let audit = || snapshot.audit(&|_, _| {});
    if label != "sample city" {
        let runs = std::env::var("SHEQU_BENCH_RUNS")
            .ok()
            .and_then(|r| r.parse::<usize>().ok())
            .unwrap_or(3)
            .max(1);
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                black_box(audit());
                start.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "full audit, {label}: {runs} runs, median {:.2} s (each: {times:.2?})",
            times[runs / 2]
        );
        return;
    }
    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.bench_function("full audit, sample city", |b| b.iter(|| black_box(audit())));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
