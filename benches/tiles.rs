//! Tile generation on the sample city, or on the city in `SHEQU_BENCH_DATA` (see `common`):
//! cold tiles (no tile cache; the snapshot's topology and per-zoom simplification already
//! built, as `serve` builds them at start, `Published::warm`), per zoom.
//!
//! Besides criterion's figures, prints per-tile median / p90 / worst over every tile covering
//! the city at z0–z14 (at most `SHEQU_BENCH_TILES` of a zoom, default 5,000, spread evenly over
//! the zoom's tiles), the worst tile of z0–z14, the largest z0–z8 tile and the one-off costs
//! (topology, per-zoom simplification). `SHEQU_BENCH_MINZOOM` starts the per-zoom figures at
//! that zoom (a ×100 city's low-zoom tiles take seconds each).

mod common;

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use geo::Coord;
use shequ::Snapshot;
use shequ::tiles::style::city_bounds;
use shequ::tiles::{LayerSet, TileId, TileSource};

/// The tiles covering the city at `z`: every one, or `limit` of them spread evenly.
fn city_tiles(snapshot: &Snapshot, z: u8, limit: usize) -> Vec<TileId> {
    let [w, s, e, n] = city_bounds(&snapshot.registry);
    let nw = TileId::containing(Coord { x: w, y: n }, z);
    let se = TileId::containing(Coord { x: e, y: s }, z);
    let all: Vec<TileId> = (nw.x..=se.x)
        .flat_map(|x| (nw.y..=se.y).map(move |y| TileId { z, x, y }))
        .collect();
    if all.len() <= limit.max(1) {
        return all;
    }
    let step = all.len() as f64 / limit.max(1) as f64;
    (0..limit.max(1))
        .map(|i| all[((i as f64 * step) as usize).min(all.len() - 1)])
        .collect()
}

/// Times every tile once (after one warm-up pass); returns sorted durations in ms and sizes.
fn per_tile(
    snapshot: &Snapshot,
    source: &TileSource,
    tiles: &[TileId],
    layers: &LayerSet,
) -> (Vec<f64>, usize) {
    let mut times = Vec::new();
    let mut largest = 0;
    for &t in tiles {
        let start = Instant::now();
        let bytes = source.render(&snapshot.registry, t, layers).ok().flatten();
        times.push(start.elapsed().as_secs_f64() * 1e3);
        largest = largest.max(bytes.map_or(0, |b| b.len()));
    }
    times.sort_by(f64::total_cmp);
    (times, largest)
}

fn report(label: &str, times: &[f64], largest: usize) {
    if times.is_empty() {
        return;
    }
    let q = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    println!(
        "{label}: {} tiles, median {:.3} ms, p90 {:.3} ms, worst {:.3} ms, largest {} bytes",
        times.len(),
        q(0.5),
        q(0.9),
        q(1.0),
        largest
    );
}

fn tiles(c: &mut Criterion) {
    let snapshot = common::load();
    let limit = std::env::var("SHEQU_BENCH_TILES")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(5_000);
    let start = Instant::now();
    let source = TileSource::new(&snapshot.registry);
    println!(
        "topology: {} shared arcs in {:.0} ms",
        source.arc_count(),
        start.elapsed().as_secs_f64() * 1e3
    );
    // `SHEQU_BENCH_MINZOOM=14` skips the low zooms, whose tiles cover most of a ×100 city and
    // take seconds each.
    let min_zoom = std::env::var("SHEQU_BENCH_MINZOOM")
        .ok()
        .and_then(|z| z.parse::<u8>().ok())
        .unwrap_or(0)
        .min(14);
    // With a minimum zoom, each zoom's shapes are built by the warm-up pass over its tiles
    // instead (the same shapes; the one-off cost is then not reported).
    if min_zoom == 0 {
        let start = Instant::now();
        source.prepare_all_zooms();
        println!(
            "simplification of z0–z16: {:.0} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    let all = LayerSet::parse("towns,communities,grids,labels").unwrap_or_else(|e| panic!("{e}"));
    let mut worst: f64 = 0.0;
    let mut largest_low = 0;
    for z in min_zoom..=14u8 {
        let tiles = city_tiles(&snapshot, z, limit);
        per_tile(&snapshot, &source, &tiles, &all);
        let (times, largest) = per_tile(&snapshot, &source, &tiles, &all);
        report(&format!("z{z} all layers"), &times, largest);
        worst = worst.max(times.last().copied().unwrap_or(0.0));
        if z <= 8 {
            largest_low = largest_low.max(largest);
        }
    }
    println!(
        "worst tile z{min_zoom}–z14: {worst:.3} ms; largest z{min_zoom}–z8 tile: {largest_low} bytes"
    );

    let mut group = c.benchmark_group("cold tile, all layers");
    for z in [10u8, 14].into_iter().filter(|&z| z >= min_zoom) {
        let tiles = city_tiles(&snapshot, z, limit);
        let mut i = 0;
        group.bench_function(format!("z{z}, city tiles in turn"), |b| {
            b.iter(|| {
                i = (i + 1) % tiles.len();
                source.render(&snapshot.registry, tiles[i], &all)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, tiles);
criterion_main!(benches);
