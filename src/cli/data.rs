//! Where commands read the city from (files or a version in the database), and the data
//! commands: `import`, `export`, `check-data`.

use std::io::IsTerminal;
use std::path::Path;

use shequ::Snapshot;
use shequ::crs::Crs;
use shequ::registry::Level;
use shequ::store::registry as registry_store;
use shequ::store::{self, Store};

use super::args::Source;
use super::error::CliError;
use super::render;

/// Loads a boundary directory; a directory that does not load is unreadable input.
pub fn load_files(dir: &Path) -> Result<Snapshot, CliError> {
    Snapshot::load(dir).map_err(|e| CliError::input(format!("cannot load {}: {e}", dir.display())))
}

/// The city a command reads: files, or the database's version in force on `--as-of` (or its
/// newest) — the same as-of rule the API's `?as_of=` follows.
pub fn load_source(source: &Source) -> Result<Snapshot, CliError> {
    let Some(db) = &source.from_db.db else {
        return load_files(&source.data);
    };
    let store = open_db(db, false)?;
    let day = match &source.from_db.as_of {
        Some(day) => Some(time::Date::parse(day, store::DATE_FORMAT).map_err(|_| {
            CliError::input(format!("--as-of {day:?}: expected a date YYYY-MM-DD"))
        })?),
        None => None,
    };
    registry_store::snapshot_as_of(&store, day)
        .map(|(_, snapshot)| snapshot)
        .map_err(|e| CliError::from(e).context(db.display()))
}

/// Opens the database at `path`; only `create` may make a new one (so a mistyped `--db` is
/// reported rather than answered from an empty database).
pub fn open_db(path: &Path, create: bool) -> Result<Store, CliError> {
    sqlite_only(path)?;
    if !create && !path.exists() {
        return Err(CliError::input(format!(
            "no database at {} (check --db; `serve` or `user add` creates one)",
            path.display()
        )));
    }
    Ok(Store::open(path)?)
}

/// Refuses a PostgreSQL `--db` in the commands that do not work on one yet, rather than taking
/// the URL for a file name (which used to create an SQLite file called `postgres:`).
pub fn sqlite_only(db: &Path) -> Result<(), CliError> {
    match store::Location::parse(db) {
        store::Location::Sqlite(_) => Ok(()),
        postgres @ store::Location::Postgres(_) => Err(CliError::input(format!(
            "--db {}: this command does not work on a PostgreSQL store yet; only `log verify` \
             and `export` read one and `migrate-store --to` fills one (README, *PostgreSQL*)",
            postgres.display()
        ))),
    }
}

/// `shequ check-data DIR`: a summary, or every problem found (findings: exit 1).
pub fn check_data(dir: &Path) -> Result<(), CliError> {
    let snapshot = Snapshot::load(dir)
        .map_err(|e| CliError::findings(format!("cannot load {}: {e}", dir.display())))?;
    println!(
        "{}: ok — {}; {}",
        dir.display(),
        render::summary(&snapshot.registry),
        render::noding(&snapshot.noding)
    );
    Ok(())
}

/// `shequ export DIR`: a registry version of the database as boundary files.
pub fn export(dir: &Path, db: &Path, version: Option<i64>) -> Result<(), CliError> {
    if let store::Location::Postgres(url) = store::Location::parse(db) {
        return super::migrate::export(dir, &url, version);
    }
    let store = open_db(db, false)?;
    let version = store.read(|c| match version {
        Some(v) => registry_store::version(c, v)?
            .ok_or_else(|| CliError::input(format!("no registry version {v} in {}", db.display()))),
        None => registry_store::latest(c)?
            .ok_or_else(|| CliError::input(format!("{} holds no registry yet", db.display()))),
    })?;
    let files = store
        .read(|c| registry_store::export(c, version.id, dir))
        .map_err(CliError::internal)?;
    print_written(version.id, dir, &files);
    Ok(())
}

/// What `export` says it wrote.
pub fn print_written(version: i64, dir: &Path, files: &[String]) {
    println!("registry version {version} written to {}:", dir.display());
    for file in files {
        println!("  {file}");
    }
}

/// Files at least this large report progress (on a terminal only).
const PROGRESS_BYTES: u64 = 8 << 20;

/// `shequ import FILE`: a layer in another CRS converted to a WGS84 boundary file, and the
/// directory checked once it holds all three layers.
pub fn import(file: &Path, crs: &str, layer: Level, out: &Path) -> Result<(), CliError> {
    let crs: Crs = crs
        .parse()
        .map_err(|e| CliError::input(format!("--crs: {e}")))?;
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", file.display())))?;
    let mut collection: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::input(format!("{} is not JSON: {e}", file.display())))?;
    let show = std::io::stderr().is_terminal() && text.len() as u64 >= PROGRESS_BYTES;
    shequ::crs::reproject::reproject_collection(&crs, &mut collection, |done, total| {
        if show && (done % 1000 == 0 || done == total) {
            eprint!("\rimporting {}: {done}/{total} features", file.display());
            if done == total {
                eprintln!();
            }
        }
    })
    .map_err(|e| CliError::input(format!("{}: {e}", file.display())))?;
    let features = collection["features"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let target = write_layer(out, layer, &features)?;
    println!(
        "{}: {} features from {crs} written to {}",
        file.display(),
        features.len(),
        target.display()
    );
    if Level::ALL.iter().all(|l| out.join(l.file()).exists()) {
        check_data(out)
    } else {
        println!(
            "(the loader checks {} once it holds all three layers)",
            out.display()
        );
        Ok(())
    }
}

/// Writes `OUT/<layer>.geojson`, one feature per line like the shipped files.
fn write_layer(
    out: &Path,
    layer: Level,
    features: &[serde_json::Value],
) -> Result<std::path::PathBuf, CliError> {
    std::fs::create_dir_all(out)
        .map_err(|e| CliError::internal(format!("cannot create {}: {e}", out.display())))?;
    let mut body = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
    let lines: Vec<String> = features.iter().map(ToString::to_string).collect();
    body.push_str(&lines.join(",\n"));
    body.push_str("\n]}\n");
    let target = out.join(layer.file());
    std::fs::write(&target, body)
        .map_err(|e| CliError::internal(format!("cannot write {}: {e}", target.display())))?;
    Ok(target)
}
