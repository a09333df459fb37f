//! `shequ suggest`: the split assistant on the command line (one community, or every split
//! candidate of the city) — a thin shell over `shequ::rules::suggest`.

use std::fmt::Write;
use std::process::ExitCode;
use std::time::Instant;

use shequ::Snapshot;
use shequ::rules::RuleId;
use shequ::rules::suggest::{
    DEFAULT_SEED, Parts, SuggestError, SuggestRequest, Suggestion, suggest,
};
use unicode_width::UnicodeWidthStr;

/// What `shequ suggest` was asked.
pub struct Args {
    pub code: Option<String>,
    pub parts: String,
    pub count: usize,
    pub seed: Option<u64>,
    pub json: bool,
    pub all: bool,
    pub town: Option<String>,
}

/// `text` padded to `width` terminal columns (Chinese characters take two).
fn pad(text: &str, width: usize) -> String {
    format!("{text}{}", " ".repeat(width.saturating_sub(text.width())))
}

fn bad(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Runs the command: exit code 0 when plans within the band were found, 1 when not (for
/// `--all`: for some community), 2 on bad input.
pub fn run(snapshot: &Snapshot, args: &Args) -> ExitCode {
    let parts = if args.parts == "auto" {
        Parts::Auto
    } else {
        match args.parts.parse::<usize>() {
            Ok(k) => Parts::Exactly(k),
            Err(_) => return bad(format!("--parts {}: expected a number or auto", args.parts)),
        }
    };
    let request = |code: &str| SuggestRequest {
        parts,
        count: args.count,
        seed: args.seed.unwrap_or(DEFAULT_SEED),
        ..SuggestRequest::new(code)
    };
    if args.all {
        return all(snapshot, args, &request);
    }
    let Some(code) = &args.code else {
        return bad("give a community CODE or --all".to_owned());
    };
    match suggest(&snapshot.registry, &snapshot.guidelines, &request(code)) {
        Ok(answer) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&answer).unwrap_or_default()
                );
            } else {
                print!("{}", text(&answer));
            }
            if answer.feasible {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => bad(e.to_string()),
    }
}

/// One community's answer as text: the band, what blocks it, and each candidate's parts.
fn text(a: &Suggestion) -> String {
    let mut out = String::new();
    let band = match (a.band.min, a.band.max) {
        (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
        (None, Some(hi)) => format!("≤ {hi}"),
        (Some(lo), None) => format!("≥ {lo}"),
        (None, None) => "any".to_owned(),
    };
    let _ = writeln!(
        out,
        "{} {}: {} households in {} grids, band {band}: {} parts{} — {}",
        a.community,
        a.name,
        a.households,
        a.grids,
        a.parts,
        if a.auto { " (auto)" } else { "" },
        if a.feasible {
            "feasible"
        } else {
            "NOT feasible"
        }
    );
    for b in &a.blocking {
        let _ = writeln!(out, "  blocked ({}): {}", b.constraint, b.reason);
    }
    for c in &a.candidates {
        let _ = writeln!(
            out,
            "\n#{} score {:.3} (compactness {:.3}, balance {:.3}, boundary {:.3}, new boundary {:.0} m){}",
            c.rank,
            c.score.total,
            c.score.compactness,
            c.score.balance,
            c.score.boundary,
            c.score.new_boundary_m,
            if c.passes {
                ""
            } else {
                " — fails validation"
            }
        );
        let _ = writeln!(
            out,
            "  {}  grids  households  residents  workers needed  office m² needed  Polsby-Popper",
            pad("part", 24)
        );
        for p in &c.parts {
            let _ = writeln!(
                out,
                "  {}  {:>5}  {:>10}  {:>9}  {:>14}  {:>16.0}  {:>13.3}",
                pad(&p.name, 24),
                p.grids.len(),
                p.households,
                p.population,
                p.needs.workers,
                p.needs.office_area_m2,
                p.polsby_popper
            );
        }
        for problem in &c.problems {
            let _ = writeln!(out, "  ! {problem}");
        }
    }
    for note in &a.notes {
        let _ = writeln!(out, "\nnote: {note}");
    }
    out
}

/// Every community above its household band (in `--town`), one plan each, and a summary.
fn all(snapshot: &Snapshot, args: &Args, request: &dyn Fn(&str) -> SuggestRequest) -> ExitCode {
    let r = &snapshot.registry;
    let town = match &args.town {
        None => None,
        Some(code) => match r.town_by_code(code) {
            Some(t) => Some(t),
            None => return bad(format!("--town {code}: unknown town")),
        },
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
        answers.push((c, answer, one.elapsed()));
    }
    let infeasible = answers
        .iter()
        .filter(|(_, a, _)| !matches!(a, Ok(s) if s.feasible))
        .count();
    if args.json {
        let list: Vec<serde_json::Value> = answers
            .iter()
            .map(|(c, a, _)| match a {
                Ok(s) => serde_json::to_value(s).unwrap_or_default(),
                Err(e) => serde_json::json!({"community": c.code, "error": e.to_string()}),
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
    } else {
        println!(
            "{}  {}  households  parts  feasible  score   part households    ms",
            pad("community", 12),
            pad("name", 14)
        );
        for (c, a, took) in &answers {
            let (parts, feasible, score, range) = match a {
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
            println!(
                "{}  {}  {:>10}  {:>5}  {}  {:>6}  {}  {:>5.0}",
                pad(&c.code, 12),
                pad(&c.name, 14),
                c.counts.households,
                parts,
                pad(feasible, 8),
                score,
                pad(&range, 16),
                took.as_secs_f64() * 1e3
            );
        }
        println!(
            "\n{} split candidates, {} with a plan inside the band, {infeasible} without; {:.2} s",
            answers.len(),
            answers.len() - infeasible,
            started.elapsed().as_secs_f64()
        );
    }
    if infeasible == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
