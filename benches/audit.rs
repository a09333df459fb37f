//! Full coverage audit of the shipped sample city (`cargo bench --bench audit`).

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
    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.bench_function("full audit, sample city", |b| {
        b.iter(|| {
            black_box(shequ::audit::audit(
                &snapshot.registry,
                &snapshot.guidelines,
                &|_, _| {},
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
