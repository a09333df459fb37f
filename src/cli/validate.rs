//! `shequ validate FILE`: a proposal checked against the guidelines (exit 0 pass or warnings,
//! 1 fail, 2 unreadable or invalid input).

use std::path::Path;

use shequ::rules::Verdict;

use super::args::Source;
use super::data::load_source;
use super::error::CliError;
use super::lookup::print_json;
use super::render;

pub fn run(file: &Path, json: bool, source: &Source) -> Result<(), CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", file.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::input(format!("{}: not valid JSON: {e}", file.display())))?;
    let snapshot = load_source(source)?;
    let proposal = shequ::rules::parse(&value, &snapshot.registry, &snapshot.guidelines.plausible)
        .map_err(|e| CliError::input(format!("{}: {e}", file.display())))?;
    let report = shequ::rules::validate(&proposal, &snapshot.registry, &snapshot.guidelines);
    if json {
        // The API's answer: the report with its offending geometry.
        print_json(&report.to_json())?;
    } else {
        print!("{}", render::report_text(&report));
    }
    if report.verdict == Verdict::Fail {
        Err(CliError::findings(""))
    } else {
        Ok(())
    }
}
