//! Where commands read the city from (files or a version in the database), and the data
//! commands: `import`, `export`, `check-data`.

use std::io::Write;
use std::path::Path;

use shequ::Snapshot;
use shequ::crs::Crs;
use shequ::formats::city::CityError;
use shequ::formats::{self, Mapping};
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

/// Opens the store `path` names (an SQLite file or a PostgreSQL URL); only `create` may make a
/// new SQLite file (so a mistyped `--db` is reported rather than answered from an empty
/// database). A PostgreSQL database must exist already; its tables are created on first use.
pub fn open_db(path: &Path, create: bool) -> Result<Store, CliError> {
    let location = store::Location::parse(path);
    if let store::Location::Postgres(_) = location {
        return Store::connect(&location)
            .map_err(|e| CliError::from(e).context(location.display()));
    }
    if !create && !path.exists() {
        return Err(CliError::input(format!(
            "no database at {} (check --db; `serve` or `user add` creates one)",
            path.display()
        )));
    }
    Ok(Store::open(path)?)
}

/// Refuses a PostgreSQL URL where only an SQLite file will do (`migrate-store --from`), rather
/// than taking the URL for a file name (which used to create an SQLite file called `postgres:`).
pub fn sqlite_only(db: &Path) -> Result<(), CliError> {
    match store::Location::parse(db) {
        store::Location::Sqlite(_) => Ok(()),
        postgres @ store::Location::Postgres(_) => Err(CliError::input(format!(
            "{}: expected an SQLite file here, not a PostgreSQL URL",
            postgres.display()
        ))),
    }
}

/// `shequ check-data DIR`: a summary, or every problem found (findings: exit 1).
pub fn check_data(dir: &Path) -> Result<(), CliError> {
    let snapshot = Snapshot::load(dir)
        .map_err(|e| CliError::findings(format!("cannot load {}: {e}", dir.display())))?;
    print_checked(dir, &snapshot);
    // The process ends here: freeing millions of rings one by one only delays the exit (~2 s
    // at ×100; issue 20). The operating system takes the memory back at once.
    std::mem::forget(snapshot);
    Ok(())
}

/// The summary `check-data` (and `import`) prints of a loaded city.
fn print_checked(dir: &Path, snapshot: &Snapshot) {
    println!(
        "{}: ok — {}; {}",
        dir.display(),
        render::summary(&snapshot.registry),
        render::noding(&snapshot.noding)
    );
}

/// `shequ export DIR`: a registry version of the database as boundary files.
pub fn export(dir: &Path, db: &Path, version: Option<i64>) -> Result<(), CliError> {
    let store = open_db(db, false)?;
    let location = store.location();
    let version = store.read(|c| match version {
        Some(v) => registry_store::version(c, v)?
            .ok_or_else(|| CliError::input(format!("no registry version {v} in {location}"))),
        None => registry_store::latest(c)?
            .ok_or_else(|| CliError::input(format!("{location} holds no registry yet"))),
    })?;
    let files = store
        .read(|c| registry_store::StoredSnapshot::read(c, version.id))?
        .write_files(dir)
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

/// `shequ import FILE`: survey data (Shapefile, GeoPackage, GeoJSON, or a directory of them)
/// converted into WGS84 boundary files. A source that cannot be read is bad input (exit 2);
/// problems in its features are findings (exit 1); either way nothing is written. When the
/// source holds all three layers they are checked by the loader before anything is written.
pub fn import(file: &Path, options: &formats::Options, out: &Path) -> Result<(), CliError> {
    let layers = formats::city::read_layers(file, options).map_err(city_error)?;
    // The whole city is here: check it once, in memory, before writing anything (naming the
    // sources); the snapshot it makes is what the written files load to.
    let checked = match layers.complete() {
        Some(three) => Some(
            Snapshot::load_with(out, |plausible| formats::city::check_city(three, plausible))
                .map_err(|e| city_error(formats::city::problems(file, three, e)))?,
        ),
        None => None,
    };
    for imported in layers.iter() {
        let target = write_layer(out, imported.level, &imported.features)?;
        println!(
            "{}: {} {} from {} written to {}",
            imported.origin,
            imported.features.len(),
            imported.level.collection(),
            imported.crs,
            target.display()
        );
    }
    if let Some(snapshot) = checked {
        print_checked(out, &snapshot);
        Ok(())
    } else if Level::ALL.iter().all(|l| out.join(l.file()).exists()) {
        check_data(out)
    } else {
        println!(
            "(the loader checks {} once it holds all three layers)",
            out.display()
        );
        Ok(())
    }
}

/// `--crs`, `--layer` and `--map` as reading options.
pub fn import_options(
    crs: Option<&str>,
    layer: Option<Level>,
    map: Option<&Path>,
) -> Result<formats::Options, CliError> {
    let crs = crs
        .map(|c| c.parse::<Crs>())
        .transpose()
        .map_err(|e| CliError::input(format!("--crs: {e}")))?;
    let mapping = match map {
        None => Mapping::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::input(format!("--map {}: {e}", path.display())))?;
            Mapping::parse(&text)
                .map_err(|e| CliError::input(format!("--map {}: {e}", path.display())))?
        }
    };
    Ok(formats::Options {
        crs,
        layer,
        mapping,
    })
}

/// A source that cannot be read is bad input (exit 2); problems in its data are findings
/// (exit 1).
fn city_error(e: CityError) -> CliError {
    match e {
        CityError::Problems { text, .. } => CliError::findings(text),
        other => CliError::input(other.to_string()),
    }
}

/// `shequ import FILE --db DB`: the survey data staged as a re-survey of the database's
/// registry — a stored change of kind `resurvey` awaiting review — printed with its diff
/// against the current version and the coverage audit of the result. Nothing is written when
/// the data fails the loader.
pub fn import_resurvey(
    file: &Path,
    options: &formats::Options,
    db: &Path,
    user: Option<&str>,
) -> Result<(), CliError> {
    let store = open_db(db, false)?;
    let actor = match user {
        None => shequ::accounts::Actor {
            user: "cli".into(),
            role: shequ::accounts::Role::Admin,
            towns: Vec::new(),
        },
        Some(name) => store
            .read(|c| store::accounts::find_user(c, name))
            .map_err(|e| CliError::internal(format!("user {name:?}: {e}")))?
            .map(|u| u.actor())
            .ok_or_else(|| CliError::input(format!("--as {name}: no such user")))?,
    };
    let staged =
        store::resurvey::import(&store, &actor, file, options, &file.display().to_string())
            .map_err(|e| match e {
                store::resurvey::ImportError::City(c) => city_error(c),
                other => CliError::input(other.to_string()),
            })?;
    println!("{}", staged.describe());
    Ok(())
}

/// Writes `OUT/<layer>.geojson`, one feature per line like the shipped files.
fn write_layer(
    out: &Path,
    layer: Level,
    features: &[serde_json::Value],
) -> Result<std::path::PathBuf, CliError> {
    std::fs::create_dir_all(out)
        .map_err(|e| CliError::internal(format!("cannot create {}: {e}", out.display())))?;
    let target = out.join(layer.file());
    let failed =
        |e: std::io::Error| CliError::internal(format!("cannot write {}: {e}", target.display()));
    // Feature by feature through a buffer: the layer is not held a second time as text.
    let file = std::fs::File::create(&target).map_err(failed)?;
    let mut body = std::io::BufWriter::new(file);
    body.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
        .map_err(failed)?;
    for (i, feature) in features.iter().enumerate() {
        if i > 0 {
            body.write_all(b",\n").map_err(failed)?;
        }
        serde_json::to_writer(&mut body, feature).map_err(|e| failed(e.into()))?;
    }
    body.write_all(b"\n]}\n").map_err(failed)?;
    body.flush().map_err(failed)?;
    Ok(target)
}
