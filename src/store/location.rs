//! What `--db` names: an SQLite file (the embedded default) or a PostgreSQL database given as
//! a `postgres://` / `postgresql://` URL. Before this, a URL was taken as a file name and a
//! server quietly created a new SQLite file called `postgres:`; now the two are told apart in
//! one place, and a command that cannot work on PostgreSQL says so instead.

use std::path::{Path, PathBuf};

/// The store a `--db` value designates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (libpq syntax, as `tokio-postgres` reads it; a Unix socket
    /// directory goes in `?host=/path`).
    Postgres(String),
}

impl Location {
    /// Reads a `--db` value: a URL whose scheme is `postgres` or `postgresql` (any case) is a
    /// PostgreSQL database, anything else a file path.
    pub fn parse(db: &Path) -> Location {
        if let Some(text) = db.to_str()
            && let Some((scheme, _)) = text.split_once("://")
            && (scheme.eq_ignore_ascii_case("postgres")
                || scheme.eq_ignore_ascii_case("postgresql"))
        {
            return Location::Postgres(text.to_owned());
        }
        Location::Sqlite(db.to_owned())
    }

    /// The location for messages, with any password in a URL replaced by `***`.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// `url` with the password of its user-info part (`user:password@`) hidden.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_postgresql_and_everything_else_a_file() {
        for url in [
            "postgres://shequ@db.example/shequ",
            "postgresql:///shequ?host=/run/postgresql",
            "PostgreSQL://localhost/x",
        ] {
            assert_eq!(
                Location::parse(Path::new(url)),
                Location::Postgres(url.to_owned())
            );
        }
        for file in [
            "data/shequ.db",
            "postgres.db",
            "postgres:/x",
            "dir/postgres://x",
            "",
        ] {
            assert_eq!(
                Location::parse(Path::new(file)),
                Location::Sqlite(PathBuf::from(file)),
                "{file}"
            );
        }
    }

    #[test]
    fn passwords_are_not_displayed() {
        let l = Location::parse(Path::new(
            "postgres://app:s3cret@db:5432/shequ?sslmode=require",
        ));
        assert_eq!(
            l.display(),
            "postgres://app:***@db:5432/shequ?sslmode=require"
        );
        let l = Location::parse(Path::new("postgresql:///shequ?host=/tmp/pg"));
        assert_eq!(l.display(), "postgresql:///shequ?host=/tmp/pg");
    }
}
