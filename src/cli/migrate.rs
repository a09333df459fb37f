//! `shequ migrate-store`: an SQLite store into PostgreSQL, with its history; and the audit
//! log's check on PostgreSQL (`log verify --db postgres://…`).

use std::path::Path;

use shequ::store::log::Broken;
use shequ::store::pg::{self, PgStore};
use shequ::store::{Location, Store};

use super::error::CliError;

/// Copies the SQLite store `from` into the PostgreSQL database `to` and prints what arrived.
pub fn run(from: &Path, to: &str) -> Result<(), CliError> {
    let target = connect(to)?;
    super::data::sqlite_only(from)?;
    if !from.exists() {
        return Err(CliError::input(format!(
            "no database at {} (check --from)",
            from.display()
        )));
    }
    let source = Store::open(from)?;
    let copied = pg::copy::from_sqlite(&source, &target)?;
    let rows: Vec<String> = copied
        .rows
        .iter()
        .map(|(table, n)| format!("{table} {n}"))
        .collect();
    println!(
        "{} copied to {}: {}; audit log verified, {} entries (head {})",
        from.display(),
        target.location(),
        rows.join(", "),
        copied.log_entries,
        copied.head
    );
    Ok(())
}

/// A log check: the chain's verdict, and the head (last number and hash).
type LogCheck = (Result<i64, Broken>, (i64, String));

/// The log's verdict and head on the PostgreSQL database `url`.
pub fn verify_pg_log(url: &str) -> Result<LogCheck, CliError> {
    let store = connect(url)?;
    let location = store.location().to_owned();
    store
        .with(|c| Ok::<_, postgres::Error>((pg::read::verify_log(c)?, pg::read::log_head(c)?)))
        .map_err(|e| CliError::from(pg::PgError::from(e)).context(location))
}

/// `shequ export DIR --db postgres://…`: a registry version of the PostgreSQL store as boundary
/// files, the same bytes `export` writes from the SQLite file it was copied from.
pub fn export(dir: &Path, url: &str, version: Option<i64>) -> Result<(), CliError> {
    let store = connect(url)?;
    let location = store.location().to_owned();
    let found = store.with(|c| match version {
        Some(v) => pg::read::version(c, v),
        None => pg::read::latest(c),
    });
    let chosen = found.map_err(pg::PgError::from)?.ok_or_else(|| {
        CliError::input(match version {
            Some(v) => format!("no registry version {v} in {location}"),
            None => format!("{location} holds no registry yet"),
        })
    })?;
    let files = store
        .with(|c| pg::read::stored_snapshot(c, chosen.id))?
        .write_files(dir)
        .map_err(CliError::internal)?;
    super::data::print_written(chosen.id, dir, &files);
    Ok(())
}

/// Connects to a `postgres://` URL (anything else is refused: `--to` names no file).
fn connect(url: &str) -> Result<PgStore, CliError> {
    match Location::parse(Path::new(url)) {
        location @ Location::Postgres(_) => Ok(PgStore::connect(url, &location.display())?),
        Location::Sqlite(_) => Err(CliError::input(format!(
            "{url}: expected a PostgreSQL URL, postgres://user@host/dbname"
        ))),
    }
}
