//! The `shequ` command line: clap structs in [`args`], one module per command group, text
//! renderers in [`render`], and one [`CliError`] whose kind decides the exit code.
//!
//! Adding a command: its clap variant in `args.rs`, its body in the module of its group (or a
//! new one declared here), one arm in [`run`], its line in README's *Command line*.

pub mod args;
mod audit;
mod data;
mod error;
mod log_writer;
mod lookup;
mod migrate;
mod render;
mod serve;
mod suggest;
mod users;
mod validate;

pub use args::Cli;
pub use error::{CliError, exit};

use args::{Command, LogCommand};

/// Runs one command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::User { command } => users::user(command),
        Command::Token { command } => users::token(command),
        Command::Log {
            command: LogCommand::Verify { db },
        } => users::log_verify(&db.db),
        Command::Lookup(args) => lookup::run(&args),
        Command::Validate { file, json, source } => validate::run(&file, json, &source),
        Command::Suggest(args) => suggest::run(&args),
        Command::Audit { dir, json, from_db } => {
            audit::run(&args::Source { data: dir, from_db }, json)
        }
        Command::Import {
            file,
            crs,
            layer,
            map,
            out,
            db,
            user,
        } => {
            let options = data::import_options(crs.as_deref(), layer, map.as_deref())?;
            match (out, db) {
                (Some(out), None) => data::import(&file, &options, &out),
                (None, Some(db)) => data::import_resurvey(&file, &options, &db, user.as_deref()),
                _ => Err(CliError::input(
                    "give exactly one of --out DIR (convert to boundary files) and --db DB (stage a re-survey)",
                )),
            }
        }
        Command::Export { dir, db, version } => data::export(&dir, &db.db, version),
        Command::CheckData { dir } => data::check_data(&dir),
        Command::MigrateStore { from, to } => migrate::run(&from, &to),
    }
}
