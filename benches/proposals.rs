//! Proposal validation and the split helper on the 64-grid 城南社区 of the sample city, and the
//! approval of the compliant split of 太平社区 in-process on a temporary SQLite store
//! (`cargo bench --bench proposals`).
//!
//! The approval is run again and again in a transaction that is rolled back, so each run
//! approves the same submitted proposal against the same current version: validation, the
//! plan, the rows, the new snapshot and the approval gate's audit, not the commit and not the
//! publication. Besides criterion's figures the bench takes its own median of
//! `APPROVAL_RUNS` runs and exits with an error when it is above issue 19's goal (200 ms), so
//! that a regression fails `cargo bench --bench proposals -- approval`.

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
        .as_deref()
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

/// Issue 19's goal for an approval of a split in the sample city.
const APPROVAL_GOAL_MS: f64 = 200.0;
/// Runs of the bench's own median.
const APPROVAL_RUNS: usize = 15;

/// Marks the end of a run: the transaction rolls back.
#[derive(Debug)]
struct RolledBack;

impl From<shequ::store::DbError> for RolledBack {
    fn from(_: shequ::store::DbError) -> Self {
        RolledBack
    }
}

/// A seeded temporary store with the compliant split submitted, and what an approval needs.
struct Submitted {
    _dir: tempfile::TempDir,
    store: shequ::store::Store,
    snapshot: Snapshot,
    audit: shequ::audit::AuditReport,
    reviewer: shequ::accounts::Actor,
    id: i64,
}

fn submitted(root: &std::path::Path) -> Submitted {
    use shequ::accounts::{Actor, NewUser, Role};
    use shequ::store::{accounts, proposals, registry};
    use shequ::workflow::{Move, Status, Tally};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let data = dir.path().join("boundaries");
    std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("mkdir: {e}"));
    for f in [
        "towns.geojson",
        "communities.geojson",
        "grids.geojson",
        "guidelines.toml",
        "addresses.csv",
    ] {
        std::fs::copy(root.join("boundaries").join(f), data.join(f))
            .unwrap_or_else(|e| panic!("copy {f}: {e}"));
    }
    let store = shequ::store::Store::open(&dir.path().join("shequ.db"))
        .unwrap_or_else(|e| panic!("store: {e}"));
    let (snapshot, version, _) =
        registry::open_or_seed(&store, &data).unwrap_or_else(|e| panic!("seed: {e}"));
    assert_eq!(version.id, 1);
    let street = Actor {
        user: "street".into(),
        role: Role::Street,
        towns: vec!["442000001".into()],
    };
    let reviewer = Actor {
        user: "reviewer".into(),
        role: Role::Reviewer,
        towns: Vec::new(),
    };
    let audit = shequ::audit::audit(&snapshot.registry, &snapshot.guidelines, &|_, _| {});
    let text =
        std::fs::read_to_string(root.join("boundaries/examples/proposals/compliant-split.geojson"))
            .unwrap_or_else(|e| panic!("proposal: {e}"));
    let body: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("proposal: {e}"));
    let current = proposals::Current {
        snapshot: &snapshot,
        audit: &audit,
        version: 1,
    };
    let today = time::OffsetDateTime::now_utc().date();
    let to = |to: Status| Move {
        to,
        reason: None,
        effective: None,
    };
    let id = store
        .write(|tx| -> Result<i64, proposals::ProcedureError> {
            for a in [&street, &reviewer] {
                let user =
                    NewUser::new(&a.user, a.role, &a.towns).unwrap_or_else(|e| panic!("user: {e}"));
                accounts::add_user(tx, "bench", &user, None)
                    .unwrap_or_else(|e| panic!("user: {e}"));
            }
            let id = proposals::create(tx, &street, &body, &snapshot)?.id;
            for status in [Status::Consultation, Status::Vote] {
                proposals::transition(tx, &street, id, &to(status), current, today)?;
            }
            let tally = Tally {
                in_favour: 300,
                against: 20,
                abstain: 5,
                eligible: None,
            };
            proposals::vote(tx, &street, id, &tally, &snapshot.guidelines.vote)?;
            proposals::transition(tx, &street, id, &to(Status::Submitted), current, today)?;
            Ok(id)
        })
        .unwrap_or_else(|e| panic!("submit: {e}"));
    Submitted {
        _dir: dir,
        store,
        snapshot,
        audit,
        reviewer,
        id,
    }
}

impl Submitted {
    /// Approves the proposal in a transaction, runs `after` in it, and rolls it back; how long
    /// the approval took and what `after` measured.
    fn rolled_back(
        &self,
        after: impl FnOnce(
            &dyn shequ::store::Conn,
            &shequ::store::proposals::Approval,
        ) -> std::time::Duration
        + Send,
    ) -> (std::time::Duration, std::time::Duration) {
        use shequ::store::proposals;
        let current = proposals::Current {
            snapshot: &self.snapshot,
            audit: &self.audit,
            version: 1,
        };
        let approve = shequ::workflow::Move {
            to: shequ::workflow::Status::Approved,
            reason: None,
            effective: None,
        };
        let today = time::OffsetDateTime::now_utc().date();
        let mut took = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        let _ = self.store.write(|tx| -> Result<(), RolledBack> {
            let started = std::time::Instant::now();
            let approval =
                proposals::transition(tx, &self.reviewer, self.id, &approve, current, today);
            took.0 = started.elapsed();
            match approval {
                Ok((_, Some(a))) => {
                    took.1 = after(tx, &a);
                    drop(black_box(a));
                }
                Ok(_) => panic!("no approval"),
                Err(e) => panic!("approval refused: {e}"),
            }
            Err(RolledBack)
        });
        took
    }

    /// One approval, rolled back; how long it took.
    fn approve(&self) -> std::time::Duration {
        self.rolled_back(|_, _| std::time::Duration::ZERO).0
    }

    /// What an approval did before issue 19 on top of the rows: read the new version back
    /// whole, build it like boundary files and audit the whole city (timed after an approval,
    /// rolled back).
    fn rebuild_whole(&self) -> std::time::Duration {
        use shequ::store::registry::StoredSnapshot;
        self.rolled_back(|tx, _| {
            let started = std::time::Instant::now();
            let read = StoredSnapshot::read(tx, 2).unwrap_or_else(|e| panic!("read: {e}"));
            let built = read.build().unwrap_or_else(|e| panic!("build: {e}"));
            let audit = shequ::audit::audit(&built.registry, &built.guidelines, &|_, _| {});
            let took = started.elapsed();
            black_box((built, audit));
            took
        })
        .1
    }

    /// The new snapshot's tile source after an approval (rolled back), every zoom prepared:
    /// derived from `tiles` (the current snapshot's, prepared) as the server does now, or
    /// (`whole`) built whole as the warm-up thread did before; how long that took.
    fn tiles_after(&self, tiles: &shequ::tiles::TileSource, whole: bool) -> std::time::Duration {
        use shequ::tiles::TileSource;
        self.rolled_back(|_, a| {
            let started = std::time::Instant::now();
            let new = if whole {
                let new = TileSource::new(&a.snapshot.registry);
                new.prepare_all_zooms();
                new
            } else {
                TileSource::with_change(
                    tiles,
                    &self.snapshot.registry,
                    &a.snapshot.registry,
                    a.touched.as_ref(),
                )
            };
            let took = started.elapsed();
            black_box(new);
            took
        })
        .1
    }
}

fn median_ms(mut runs: Vec<std::time::Duration>) -> f64 {
    runs.sort();
    runs[runs.len() / 2].as_secs_f64() * 1e3
}

fn approval(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let s = submitted(&root);
    let mut group = c.benchmark_group("approval (太平 split, sample city, SQLite, rolled back)");
    group.sample_size(10);
    group.bench_function("approve", |b| {
        b.iter_custom(|n| (0..n).map(|_| s.approve()).sum())
    });
    group.bench_function(
        "before issue 19: read the version back, build and audit it whole",
        |b| b.iter_custom(|n| (0..n).map(|_| s.rebuild_whole()).sum()),
    );
    group.finish();
    // The goal, alternating the two so that both see the same load.
    let (mut now, mut whole) = (Vec::new(), Vec::new());
    for _ in 0..APPROVAL_RUNS {
        now.push(s.approve());
        whole.push(s.rebuild_whole());
    }
    let (now, whole) = (median_ms(now), median_ms(whole));
    println!(
        "approval: median {now:.1} ms of {APPROVAL_RUNS} (goal {APPROVAL_GOAL_MS} ms); the whole rebuild it replaced: {whole:.1} ms"
    );
    // The new snapshot's tile source (issue 19: the first tile after an approval waited for
    // it), derived from the current one against built whole, alternating.
    let tiles = shequ::tiles::TileSource::new(&s.snapshot.registry);
    tiles.prepare_all_zooms();
    let (mut derived, mut built) = (Vec::new(), Vec::new());
    for _ in 0..APPROVAL_RUNS {
        derived.push(s.tiles_after(&tiles, false));
        built.push(s.tiles_after(&tiles, true));
    }
    let (derived, built) = (median_ms(derived), median_ms(built));
    println!(
        "tile source after the approval: derived from the current one {derived:.1} ms, built whole {built:.1} ms (median of {APPROVAL_RUNS}, every zoom prepared)"
    );
    if now > APPROVAL_GOAL_MS {
        eprintln!("approval: {now:.1} ms is above the goal of {APPROVAL_GOAL_MS} ms");
        std::process::exit(1);
    }
}

criterion_group!(benches, bench, approval);
criterion_main!(benches);
