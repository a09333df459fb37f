//! `shequ suggest`: the split assistant on the command line (one community, or every split
//! candidate of the city) — a thin shell over `shequ::rules::suggest`. Exit 0 when plans
//! within the band were found, 1 when not (for `--all`: for some community), 2 on bad input.

use std::time::{Duration, Instant};

use shequ::Snapshot;
use shequ::registry::Community;
use shequ::rules::RuleId;
use shequ::rules::suggest::{
    DEFAULT_COUNT, DEFAULT_SEED, Kind, Parts, SuggestError, SuggestRequest, Suggestion, suggest,
};

use super::args::SuggestArgs;
use super::data::load_source;
use super::error::CliError;
use super::lookup::print_json;
use super::render;

pub fn run(args: &SuggestArgs) -> Result<(), CliError> {
    let parts = if args.parts == "auto" {
        Parts::Auto
    } else {
        args.parts
            .parse::<usize>()
            .map(Parts::Exactly)
            .map_err(|_| {
                CliError::input(format!("--parts {}: expected a number or auto", args.parts))
            })?
    };
    // --all gives one plan per community unless --count says otherwise.
    let count = if args.all && args.count == DEFAULT_COUNT {
        1
    } else {
        args.count
    };
    let kind = match args.kind.as_str() {
        "split" => Kind::Split,
        "merge" => Kind::Merge,
        _ => Kind::Auto,
    };
    let request = |code: &str| SuggestRequest {
        kind,
        parts,
        count,
        seed: args.seed.unwrap_or(DEFAULT_SEED),
        ..SuggestRequest::new(code)
    };
    let snapshot = load_source(&args.source)?;
    if args.all {
        return all(&snapshot, args, &request);
    }
    let Some(code) = &args.code else {
        return Err(CliError::input("give a community CODE or --all"));
    };
    let answer = suggest(&snapshot.registry, &snapshot.guidelines, &request(code))
        .map_err(|e| CliError::input(e.to_string()))?;
    if args.json {
        print_json(&answer)?;
    } else {
        print!("{}", render::suggestion_text(&answer));
    }
    if answer.feasible {
        Ok(())
    } else {
        Err(CliError::findings(""))
    }
}

/// One community's answer under `--all`, and how long it took.
struct Answer<'a> {
    community: &'a Community,
    answer: Result<Suggestion, SuggestError>,
    took: Duration,
}

/// Every community above its household band (in `--town`), one plan each, and a summary.
fn all(
    snapshot: &Snapshot,
    args: &SuggestArgs,
    request: &dyn Fn(&str) -> SuggestRequest,
) -> Result<(), CliError> {
    let r = &snapshot.registry;
    let town = match &args.town {
        None => None,
        Some(code) => Some(
            r.town_by_code(code)
                .ok_or_else(|| CliError::input(format!("--town {code}: unknown town")))?,
        ),
    };
    let started = Instant::now();
    let mut answers = Vec::new();
    for c in &r.communities {
        let max = snapshot
            .guidelines
            .rule(c.kind, RuleId::Households)
            .and_then(|rule| rule.max)
            .unwrap_or(f64::INFINITY);
        if town.is_some_and(|t| t != c.town) || (c.counts.households as f64) <= max {
            continue;
        }
        let one = Instant::now();
        let answer = suggest(r, &snapshot.guidelines, &request(&c.code));
        answers.push(Answer {
            community: c,
            answer,
            took: one.elapsed(),
        });
    }
    let infeasible = answers
        .iter()
        .filter(|a| !matches!(&a.answer, Ok(s) if s.feasible))
        .count();
    if args.json {
        let list: Vec<serde_json::Value> = answers
            .iter()
            .map(|a| match &a.answer {
                Ok(s) => serde_json::to_value(s).unwrap_or_default(),
                Err(e) => {
                    serde_json::json!({"community": a.community.code, "error": e.to_string()})
                }
            })
            .collect();
        print_json(&list)?;
    } else {
        print!("{}", table(&answers));
        println!(
            "\n{} split candidates, {} with a plan inside the band, {infeasible} without; {:.2} s",
            answers.len(),
            answers.len() - infeasible,
            started.elapsed().as_secs_f64()
        );
    }
    if infeasible == 0 {
        Ok(())
    } else {
        Err(CliError::findings(""))
    }
}

/// The `--all` table: one row per community with its best plan.
fn table(answers: &[Answer]) -> String {
    use render::pad;
    let mut out = format!(
        "{}  {}  households  parts  feasible  score   part households    ms\n",
        pad("community", 12),
        pad("name", 14)
    );
    for a in answers {
        let (parts, feasible, score, range) = match &a.answer {
            Ok(s) => {
                let best = s.candidates.first();
                let hs: Vec<u64> = best
                    .map(|b| b.parts.iter().map(|p| p.households).collect())
                    .unwrap_or_default();
                let range = match (hs.iter().min(), hs.iter().max()) {
                    (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
                    _ => "—".to_owned(),
                };
                (
                    s.parts.to_string(),
                    if s.feasible { "yes" } else { "NO" },
                    best.map_or("—".to_owned(), |b| format!("{:.3}", b.score.total)),
                    range,
                )
            }
            Err(SuggestError::NoTerritory(_)) => {
                ("—".into(), "NO", "—".into(), "no territory".into())
            }
            Err(e) => ("—".into(), "NO", "—".into(), e.to_string()),
        };
        let c = a.community;
        out += &format!(
            "{}  {}  {:>10}  {:>5}  {}  {:>6}  {}  {:>5.0}\n",
            pad(&c.code, 12),
            pad(&c.name, 14),
            c.counts.households,
            parts,
            pad(feasible, 8),
            score,
            pad(&range, 16),
            a.took.as_secs_f64() * 1e3
        );
    }
    out
}
