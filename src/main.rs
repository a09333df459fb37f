//! The `shequ` binary: parses the command line and runs the command (`src/cli/`); the exit
//! code says how it went (see `shequ --help`).

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    cli::exit(cli::run(cli::Cli::parse()))
}
