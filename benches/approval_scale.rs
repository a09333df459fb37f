//! An approval's in-memory work at any scale, phase by phase, with the process's memory
//! (`cargo bench --bench approval_scale`; issue 20). Not criterion: at ×100 one approval takes
//! seconds and loading the city half a minute, so the bench loads once and times a few runs.
//!
//! What a server does when a split is approved, without the store: the new snapshot from the
//! current one (`Snapshot::with_edit`), the approval gate's audit from the current audit
//! (`Snapshot::audit_after`) and the tile source from the current one
//! (`TileSource::with_change`), while the current snapshot, audit and tiles are still held (they
//! are served until the new ones are published). Prints each phase's time, the median over
//! `SHEQU_BENCH_RUNS` runs (default 5), and the resident memory before the first run and its
//! peak across the runs (Linux `VmHWM`, reset after loading through `/proc/self/clear_refs`).
//!
//! `SHEQU_BENCH_DATA`: the boundary directory (default: the sample city);
//! `SHEQU_BENCH_PROPOSAL`: the proposal (default: the sample city's compliant split). At ×100:
//! a proposal from `shequ suggest --all --town 442000001 --data DIR --json` (a candidate's
//! `proposal`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use shequ::Snapshot;
use shequ::registry::Edit;
use shequ::tiles::source::TileSource;

/// `VmRSS` and `VmHWM` of this process, in kB (0 where /proc is not there).
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that is not this bench's name skips it.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with("--") && !"approval".contains(a.as_str()))
    {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir =
        std::env::var_os("SHEQU_BENCH_DATA").map_or_else(|| root.join("boundaries"), PathBuf::from);
    let proposal = std::env::var_os("SHEQU_BENCH_PROPOSAL").map_or_else(
        || root.join("boundaries/examples/proposals/compliant-split.geojson"),
        PathBuf::from,
    );
    let runs: usize = std::env::var("SHEQU_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    let started = Instant::now();
    let snapshot = Snapshot::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let loaded = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let tiles = TileSource::new(&snapshot.registry);
    tiles.prepare_all_zooms();
    let audit = snapshot.audit(&|_, _| {});
    println!(
        "{}: {} grids; loaded in {loaded:.1} s, tiles and audit in {:.1} s",
        dir.display(),
        snapshot.registry.grids.len(),
        started.elapsed().as_secs_f64()
    );
    let text = std::fs::read_to_string(&proposal)
        .unwrap_or_else(|e| panic!("{}: {e}", proposal.display()));
    let value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", proposal.display()));
    let r = &snapshot.registry;
    let parsed = shequ::rules::parse(&value, r, &snapshot.guidelines.plausible)
        .unwrap_or_else(|e| panic!("{}: {e}", proposal.display()));
    let used: HashSet<String> = r
        .communities
        .iter()
        .map(|c| c.code.clone())
        .chain(r.grids.iter().map(|g| g.code.clone()))
        .collect();
    let change = shequ::rules::plan(&parsed, r, &used).unwrap_or_else(|e| panic!("plan: {e}"));
    let grids: Vec<serde_json::Value> = change.grids.iter().map(|(f, _)| f.clone()).collect();
    let edit = Edit {
        end_communities: &change.end_communities,
        end_grids: &change.end_grids,
        communities: &change.communities,
        grids: &grids,
    };
    // Resets VmHWM to the current RSS, so that the peak below is the approvals'.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = memory_kb().0;
    let mut phases: [Vec<f64>; 4] = Default::default();
    // Per phase of the first run: resident memory held after it, over `before` (kB).
    let mut held = Vec::new();
    for run in 0..runs {
        let mut hold = |what: &str| {
            if run == 0 {
                held.push(format!("{what} +{}", memory_kb().0.saturating_sub(before)));
            }
        };
        let started = Instant::now();
        let (after, touched) = snapshot
            .with_edit(&edit)
            .unwrap_or_else(|e| panic!("the edit: {e}"));
        let built = started.elapsed().as_secs_f64();
        hold("new snapshot");
        let audited = Instant::now();
        let new_audit = after.audit_after(&audit, &touched);
        let audited = audited.elapsed().as_secs_f64();
        hold("audit");
        let carried = Instant::now();
        let new_tiles = TileSource::with_change(&tiles, r, &after.registry, Some(&touched));
        let carried = carried.elapsed().as_secs_f64();
        hold("tiles");
        let total = started.elapsed().as_secs_f64();
        std::hint::black_box((&new_audit, &new_tiles));
        for (list, s) in phases.iter_mut().zip([built, audited, carried, total]) {
            list.push(s * 1e3);
        }
    }
    let (_, peak) = memory_kb();
    let [built, audited, carried, total] = phases.map(median);
    println!(
        "approval of {} ({} communities ended, {} grids moved), median of {runs}: \
         new snapshot {built:.1} ms, audit {audited:.1} ms, tiles {carried:.1} ms, \
         total {total:.1} ms",
        proposal.display(),
        change.end_communities.len(),
        change.end_grids.len(),
    );
    println!(
        "resident memory: {before} kB held before, peak {peak} kB during the runs (+{} kB)",
        peak.saturating_sub(before)
    );
    println!(
        "held after each phase of the first run (kB): {}",
        held.join(", ")
    );
}
