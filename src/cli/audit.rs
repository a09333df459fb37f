//! `shequ audit`: the coverage and guideline audit, by town (exit 1 when a finding fails).

use std::io::IsTerminal;

use super::args::Source;
use super::data::load_source;
use super::error::CliError;
use super::lookup::print_json;
use super::render;

pub fn run(source: &Source, json: bool) -> Result<(), CliError> {
    let snapshot = load_source(source)?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(snapshot.registry.communities.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("auditing {bar:40} {pos}/{len} communities")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let report = snapshot.audit(&|done, _| {
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if json {
        print_json(&report)?;
    } else {
        print!("{}", render::audit_text(&snapshot.registry, &report));
    }
    if report.has_failures() {
        Err(CliError::findings(""))
    } else {
        Ok(())
    }
}
