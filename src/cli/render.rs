//! Text renderings for people (JSON output is the shared answers of `shequ::output` and the
//! domain's own serialisations).

use std::fmt::Write;

use shequ::audit::{AuditReport, FindingKind};
use shequ::registry::{CommunityKind, Registry};
use shequ::rules::{Check, PartReport, Report, Totals, Verdict};
use unicode_width::UnicodeWidthStr;

/// `text` padded with spaces to `width` terminal columns: `{:<8}` counts characters, but a
/// Chinese character takes two columns, so names like 环城社区 would push a table askew.
pub fn pad(text: &str, width: usize) -> String {
    format!("{text}{}", " ".repeat(width.saturating_sub(text.width())))
}

/// One line: towns, communities by kind, grids, households and residents.
/// What noding did at load, e.g. "T-junctions resolved: 312 (tolerance 0.005 m, 4 ms)".
pub fn noding(n: &shequ::registry::Noding) -> String {
    format!(
        "T-junctions resolved: {} (tolerance {} m, {:.0} ms)",
        n.junctions, n.tolerance_m, n.millis
    )
}

pub fn summary(r: &Registry) -> String {
    let kinds: Vec<String> = CommunityKind::ALL
        .iter()
        .map(|&k| {
            let n = r.communities.iter().filter(|c| c.kind == k).count();
            format!("{n} {}", k.as_str())
        })
        .collect();
    let without = r
        .communities
        .iter()
        .filter(|c| c.territory.is_none())
        .count();
    let total = r.total_counts();
    format!(
        "{} towns, {} communities ({}; {} without territory), {} grids, {} households, {} residents",
        r.towns.len(),
        r.communities.len(),
        kinds.join(", "),
        without,
        r.grids.len(),
        total.households,
        total.population
    )
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Warn => "WARN",
        Verdict::Fail => "FAIL",
    }
}

/// A validation report as tables: each part's rules, the proposal's checks, before and after.
pub fn report_text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({:?} of {}): {}",
        r.title,
        r.kind,
        r.parents.join(", "),
        verdict(r.verdict)
    );
    for part in &r.parts {
        out += &part_text(part);
    }
    let _ = writeln!(out, "\nproposal");
    for c in &r.checks {
        out += &check_line(c);
    }
    out + &before_after_text(r)
}

/// One rule's verdict, name and message.
fn check_line(c: &Check) -> String {
    format!("  {:<5} {:<34} {}\n", verdict(c.verdict), c.rule, c.message)
}

/// One part of a report: its measures, every rule's verdict, the grids it cuts.
fn part_text(part: &PartReport) -> String {
    let mut out = String::new();
    let m = &part.measures;
    let _ = writeln!(
        out,
        "\n{} [{}] {}: {:.0} m², {:.0} households, {:.0} residents, {} workers",
        part.name,
        part.kind,
        verdict(part.verdict),
        m.area_m2,
        m.households,
        m.population,
        m.workers
    );
    for c in &part.checks {
        out += &check_line(c);
    }
    for g in &part.cut_grids {
        let _ = writeln!(
            out,
            "        cut grid {} {}: {:.1}% inside{}",
            g.code,
            g.name,
            100.0 * g.share_inside,
            if g.snapping_error {
                " (snapping error)"
            } else {
                ""
            }
        );
    }
    out
}

/// The before/after table: the parents, the parts together, each part.
fn before_after_text(r: &Report) -> String {
    let first = r.parts.iter().map(|p| p.name.width()).fold(8, usize::max);
    let row = |name: &str, t: &Totals| {
        format!(
            "  {} {:>10.0} {:>10.0} {:>8} {:>10} {:>10.0} {:>10.0}\n",
            pad(name, first),
            t.households,
            t.population,
            t.workers,
            t.households_per_worker
                .map_or("-".to_owned(), |h| format!("{h:.0}")),
            t.service_households,
            t.office_area_m2
        )
    };
    let mut out = format!(
        "\n  {} {:>10} {:>10} {:>8} {:>10} {:>10} {:>10}\n",
        pad("", first),
        "households",
        "residents",
        "workers",
        "hh/worker",
        "service",
        "office m²"
    );
    out += &row("before", &r.before_after.before);
    out += &row("after", &r.before_after.after);
    for (part, t) in r.parts.iter().zip(&r.before_after.parts) {
        out += &row(&part.name, t);
    }
    out
}

/// The audit as a readable report grouped by town.
pub fn audit_text(r: &Registry, report: &AuditReport) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{} findings ({} failing): {}",
        s.findings,
        s.failing,
        s.by_kind
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "unassigned land {:.1} m², overlap between communities {:.1} m²",
        s.unassigned_m2, s.overlap_m2
    );
    let mut town: Option<&str> = None;
    for f in &report.findings {
        if town != f.town_code.as_deref() {
            town = f.town_code.as_deref();
            let name = town
                .and_then(|c| r.town_by_code(c))
                .map_or("", |t| r.towns[t].name.as_str());
            let _ = writeln!(out, "\n== {} {name}", town.unwrap_or("(no town)"));
        }
        let _ = writeln!(
            out,
            "[{}] {}: {}",
            f.severity.as_str(),
            f.kind.as_str(),
            f.message
        );
        let _ = writeln!(out, "    → {}", f.suggestion);
    }
    out + &audit_reading(report)
}

/// The closing lines of the audit: the failing findings split by what they mean, so that a
/// reader (say, of the shipped city, which fails its own audit) can tell data to fix from
/// communities that miss the guidelines.
fn audit_reading(report: &AuditReport) -> String {
    let failing: Vec<_> = report.findings.iter().filter(|f| f.is_failing()).collect();
    if failing.is_empty() {
        return String::new();
    }
    let count =
        |keep: &dyn Fn(FindingKind) -> bool| failing.iter().filter(|f| keep(f.kind)).count();
    let defects = count(&FindingKind::is_data_defect);
    let mut text = format!(
        "\nHow to read this: {} failing findings.\n\
         \x20 {defects} data defects (overlaps, gaps, slivers, parts outside a town or community, \
         grids not tiling): fix the boundary data.\n\
         \x20 {} communities without territory: the city has yet to draw them.\n\
         \x20 {} guideline findings: communities that miss the establishment guidelines (too many \
         households, too few workers or too little office space; `exception` = outside the size \
         range without a written justification): candidates for a split, more staff or space.\n",
        failing.len(),
        count(&|k| k == FindingKind::NoTerritory),
        count(&|k| k == FindingKind::Guideline),
    );
    if defects == 0 {
        text += "The boundary data itself is consistent; what fails is the city's communities \
                 (as in the shipped sample city, which models the real city's shortfalls).\n";
    }
    text
}

/// One community's split suggestion: the band, what blocks it, and each candidate's parts.
pub fn suggestion_text(a: &shequ::rules::suggest::Suggestion) -> String {
    let mut out = String::new();
    let band = match (a.band.min, a.band.max) {
        (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
        (None, Some(hi)) => format!("≤ {hi}"),
        (Some(lo), None) => format!("≥ {lo}"),
        (None, None) => "any".to_owned(),
    };
    let parts = if a.mode == "merge" {
        "merges and adjustments with its neighbours".to_owned()
    } else {
        format!("{} parts{}", a.parts, if a.auto { " (auto)" } else { "" })
    };
    let _ = writeln!(
        out,
        "{} {}: {} households in {} grids, band {band}: {parts} — {}",
        a.community,
        a.name,
        a.households,
        a.grids,
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
        out += &candidate_text(c);
    }
    for note in &a.notes {
        let _ = writeln!(out, "\nnote: {note}");
    }
    out
}

/// One candidate split: its score, then a row per part with what the part needs.
fn candidate_text(c: &shequ::rules::suggest::Candidate) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n#{} {} score {:.3} (compactness {:.3}, balance {:.3}, boundary {:.3}, new boundary {:.0} m){}",
        c.rank,
        c.kind,
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
    out
}
