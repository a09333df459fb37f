//! Proposal validation and the split helper on the 64-grid 城南社区 of the sample city
//! (`cargo bench --bench proposals`).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use geo::InteriorPoint;
use shequ::Snapshot;
use shequ::rules::{parse, split_by_groups, split_by_line, validate};

fn bench(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let snapshot = match Snapshot::load(&root.join("boundaries")) {
        Ok(s) => s,
        Err(e) => panic!("sample city: {e}"),
    };
    let r = &snapshot.registry;
    let text =
        std::fs::read_to_string(root.join("boundaries/examples/proposals/chengnan-split.geojson"))
            .unwrap_or_default();
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        panic!("example proposal missing")
    };
    let Some(cn) = r.community_by_code("442000005003") else {
        panic!("城南 missing")
    };
    let Some(centre) = r.communities[cn]
        .territory
        .as_ref()
        .and_then(|t| t.interior_point())
    else {
        panic!("城南 has no territory")
    };
    let grids: Vec<String> = r.communities[cn]
        .grids
        .iter()
        .map(|&g| r.grids[g].code.clone())
        .collect();
    let groups = vec![
        grids[..grids.len() / 2].to_vec(),
        grids[grids.len() / 2..].to_vec(),
    ];
    let line = [
        [centre.x(), centre.y() - 0.05],
        [centre.x() + 0.0003, centre.y() + 0.05],
    ];

    let mut group = c.benchmark_group("proposals (城南, 64 grids)");
    group.sample_size(20);
    group.bench_function("parse + validate the 2-part split", |b| {
        b.iter(|| {
            let p = parse(black_box(&value), r, &snapshot.guidelines.plausible).ok();
            black_box(p.map(|p| validate(&p, r, &snapshot.guidelines)))
        })
    });
    group.bench_function("split helper: by line", |b| {
        b.iter(|| black_box(split_by_line(r, "442000005003", black_box(&line)).ok()))
    });
    group.bench_function("split helper: by groups", |b| {
        b.iter(|| black_box(split_by_groups(r, "442000005003", black_box(&groups)).ok()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
