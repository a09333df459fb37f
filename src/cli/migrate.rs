//! `shequ migrate-store`: an SQLite store into PostgreSQL, with its history.

use std::path::Path;

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

/// Connects to a `postgres://` URL (anything else is refused: `--to` names no file).
fn connect(url: &str) -> Result<PgStore, CliError> {
    match Location::parse(Path::new(url)) {
        location @ Location::Postgres(_) => Ok(PgStore::connect(url, &location.display())?),
        Location::Sqlite(_) => Err(CliError::input(format!(
            "{url}: expected a PostgreSQL URL, postgres://user@host/dbname"
        ))),
    }
}
