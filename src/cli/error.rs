//! One error type for every command, and the exit codes it maps to (README, *Command line*;
//! `shequ --help`).

use std::process::ExitCode;

use shequ::store::DbError;
use shequ::store::StoreError;
use shequ::store::accounts::AccountError;
use shequ::store::pg::PgError;
use shequ::store::registry::AsOfError;

/// The exit codes, as `shequ --help` lists them.
pub const EXIT_CODES: &str = "\
Exit codes (every command):
  0  done; the check passed (warnings allowed)
  1  findings: failing audit findings, a failing validation, problems in checked data, no split
     plan inside the band, no address match, a broken audit log
  2  bad input or unreadable data: arguments, files, dates, codes, a missing or busy database
  3  internal: the database, the disk or the runtime failed";

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command ran and its answer is negative (exit 1); the message may be empty when the
    /// output already said so.
    #[error("{0}")]
    Findings(String),
    /// Bad arguments or input, or data that cannot be read (exit 2).
    #[error("{0}")]
    Input(String),
    /// The database, the disk or the runtime failed (exit 3).
    #[error("{0}")]
    Internal(String),
}

impl CliError {
    pub fn findings(message: impl Into<String>) -> Self {
        CliError::Findings(message.into())
    }

    pub fn input(message: impl Into<String>) -> Self {
        CliError::Input(message.into())
    }

    pub fn internal(message: impl ToString) -> Self {
        CliError::Internal(message.to_string())
    }

    /// The exit code (see [`EXIT_CODES`]).
    pub fn code(&self) -> u8 {
        match self {
            CliError::Findings(_) => 1,
            CliError::Input(_) => 2,
            CliError::Internal(_) => 3,
        }
    }

    /// The same kind of error, its message prefixed with `context: `.
    pub fn context(self, context: impl std::fmt::Display) -> Self {
        let with = |m: String| format!("{context}: {m}");
        match self {
            CliError::Findings(m) => CliError::Findings(with(m)),
            CliError::Input(m) => CliError::Input(with(m)),
            CliError::Internal(m) => CliError::Internal(with(m)),
        }
    }
}

/// The exit status of a command's result; the error (if it says anything) goes to stderr.
pub fn exit(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.to_string().is_empty() {
                eprintln!("error: {e}");
            }
            ExitCode::from(e.code())
        }
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        match e {
            // A file that is no database, one from a newer shequ, or damaged rows: unreadable data.
            StoreError::Open { .. } | StoreError::TooNew { .. } | StoreError::Damaged(_) => {
                CliError::input(e.to_string())
            }
            StoreError::Postgres(e) => (*e).into(),
            StoreError::Db(e) => e.into(),
            StoreError::Directory { .. } | StoreError::Migration { .. } => CliError::internal(e),
        }
    }
}

impl From<PgError> for CliError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::Sqlite(e) => e.into(),
            PgError::Db(e) => e.into(),
            // Unreachable, refused, newer or used elsewhere: the database given is not usable.
            PgError::Connect { .. }
            | PgError::Unavailable(_)
            | PgError::TooNew { .. }
            | PgError::NotEmpty(_)
            | PgError::Damaged(_) => CliError::input(e.to_string()),
            PgError::Migration { .. } | PgError::Postgres(_) | PgError::Mismatch(_) => {
                CliError::internal(e)
            }
        }
    }
}

impl From<rusqlite::Error> for CliError {
    fn from(e: rusqlite::Error) -> Self {
        CliError::from(DbError::from(e))
    }
}

impl From<DbError> for CliError {
    fn from(e: DbError) -> Self {
        if e.is_unavailable() {
            // The database named is not reachable: the command's input, not a bug.
            CliError::input(e.to_string())
        } else {
            CliError::internal(format!("database: {e}"))
        }
    }
}

impl From<AsOfError> for CliError {
    fn from(e: AsOfError) -> Self {
        match e {
            AsOfError::Store(e) => e.into(),
            AsOfError::NotInForce(_) | AsOfError::Empty => CliError::input(e.to_string()),
        }
    }
}

impl From<AccountError> for CliError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(_)
            | AccountError::Password(_)
            | AccountError::Label(_)
            | AccountError::Duplicate(_)
            | AccountError::UnknownUser(_)
            | AccountError::Disabled(_)
            | AccountError::UnknownToken(_)
            | AccountError::BadCredentials
            | AccountError::Damaged(_) => CliError::input(e.to_string()),
            AccountError::Db(e) => e.into(),
            AccountError::Secret(_) => CliError::internal(e),
        }
    }
}
