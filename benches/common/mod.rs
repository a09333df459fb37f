//! What the benches share: the city they measure.
//!
//! `SHEQU_BENCH_DATA=DIR` points a bench at another boundary directory (e.g. a `gen-city
//! --scale 100` city, which is never committed), so the ×100 figures of issue 20 come from the
//! same code as the sample city's; unset, the benches read the shipped `boundaries/`.

#![allow(dead_code)] // each bench uses its own part of this module

use std::path::PathBuf;

use shequ::Snapshot;

/// The boundary directory to measure: `SHEQU_BENCH_DATA`, else the shipped sample city.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("SHEQU_BENCH_DATA") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("boundaries"),
    }
}

/// How the figures name the city: "sample city" for the shipped one (the names the stored
/// criterion baselines have), else the directory's own name.
pub fn city_label() -> String {
    match std::env::var_os("SHEQU_BENCH_DATA") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
            name.unwrap_or_else(|| dir.display().to_string())
        }
        _ => "sample city".to_owned(),
    }
}

/// The snapshot of [`data_dir`], loaded as `serve` loads it; a bench cannot run without it.
pub fn load() -> Snapshot {
    let dir = data_dir();
    match Snapshot::load(&dir) {
        Ok(s) => s,
        Err(e) => panic!("{}: {e}", dir.display()),
    }
}
