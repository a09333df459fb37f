//! The split assistant on 城南社区 (64 grids, 23,600 households): a whole request, and the
//! speed of the recombination step alone (`cargo bench --bench suggest`).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shequ::Snapshot;
use shequ::rules::suggest::{
    Constraints, GridGraph, Parts, Rng, SuggestRequest, recombine, suggest,
};

fn bench(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let snapshot = match Snapshot::load(&root.join("boundaries")) {
        Ok(s) => s,
        Err(e) => panic!("sample city: {e}"),
    };
    let (r, g) = (&snapshot.registry, &snapshot.guidelines);
    let request = SuggestRequest {
        parts: Parts::Auto,
        count: 20,
        ..SuggestRequest::new("442000005003")
    };
    let mut group = c.benchmark_group("suggest (城南, 64 grids)");
    group.sample_size(10);
    group.bench_function("auto, 20 candidates with validation reports", |b| {
        b.iter(|| black_box(suggest(r, g, black_box(&request)).ok()))
    });

    // The chain alone: steps from the best plan, within the band (8 parts of 1,000–3,000).
    let Ok(answer) = suggest(
        r,
        g,
        &SuggestRequest {
            count: 1,
            ..request.clone()
        },
    ) else {
        panic!("城南 must have a plan")
    };
    let Some(cn) = r.community_by_code("442000005003") else {
        panic!("城南 missing")
    };
    let graph = GridGraph::new(r, &r.communities[cn].grids);
    let mut plan = vec![0; graph.len()];
    for (p, part) in answer.candidates[0].parts.iter().enumerate() {
        for code in &part.grids {
            if let Some(v) = graph.grids.iter().position(|&x| r.grids[x].code == *code) {
                plan[v] = p;
            }
        }
    }
    let constraints = Constraints {
        lo: 1000.0,
        hi: 3000.0,
        locks: vec![None; graph.len()],
        labels: 0,
    };
    const STEPS: u64 = 1000;
    group.throughput(Throughput::Elements(STEPS));
    group.bench_function("1,000 ReCom steps (plans per second)", |b| {
        let mut rng = Rng::new(1);
        let mut scratch = Vec::new();
        b.iter(|| {
            let mut p = plan.clone();
            for _ in 0..STEPS {
                recombine(&graph, &mut p, &constraints, &mut rng, &mut scratch, false);
            }
            black_box(p)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
