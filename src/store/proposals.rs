//! Stored proposals and the procedure they follow: create and edit drafts, record comments and
//! votes, move through the statuses, and on approval write the change as a new registry version.
//!
//! Each operation is one transaction with its audit-log entry; the permission and status rules
//! come from [`crate::workflow`], the checks from [`crate::rules`].

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Value, json};

use super::registry::{LAYERS, Version, insert_features, latest};
use super::{StoreError, log};
use crate::Snapshot;
use crate::accounts::Actor;
use crate::rules::{self, Proposal, ProposalError, Report, Verdict};
use crate::workflow::{self, Refusal, Status, Tally};

/// Why a step of the procedure did not happen. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ProcedureError {
    #[error("no proposal {0}")]
    NotFound(i64),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// The proposal document cannot be parsed (400) or is invalid (422).
    #[error("{0}")]
    Proposal(#[from] ProposalError),
    /// Well-formed but not acceptable (422): a failing validation, a missing reason, …
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ProcedureError {
    fn from(e: rusqlite::Error) -> Self {
        ProcedureError::Store(e.into())
    }
}

impl From<Refusal> for ProcedureError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Forbidden(m) => ProcedureError::Forbidden(m),
            Refusal::Conflict(m) => ProcedureError::Conflict(m),
        }
    }
}

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Warn => "warn",
        Verdict::Fail => "fail",
    }
}

/// A proposal row.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: i64,
    pub town_code: String,
    pub title: String,
    pub kind: String,
    pub status: Status,
    pub author: String,
    pub created_at: String,
    pub updated_at: String,
    pub verdict: String,
    /// The registry version its approval created.
    pub version: Option<i64>,
}

/// One thing that happened to a proposal.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tally: Option<Value>,
    /// Whether a validation report was stored at this step (the latest is in `report`).
    pub validated: bool,
}

/// A proposal with its document, history, latest vote and latest validation report.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub summary: Summary,
    pub proposal: Value,
    pub events: Vec<Event>,
    pub vote: Option<VoteState>,
    pub report: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct VoteState {
    pub tally: Tally,
    pub passes: bool,
}

const SUMMARY_COLUMNS: &str =
    "id, town_code, title, kind, status, author, created_at, updated_at, verdict, version";

fn summary_row(r: &rusqlite::Row) -> rusqlite::Result<Summary> {
    let status: String = r.get(4)?;
    Ok(Summary {
        id: r.get(0)?,
        town_code: r.get(1)?,
        title: r.get(2)?,
        kind: r.get(3)?,
        status: Status::parse(&status).unwrap_or(Status::Draft),
        author: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        verdict: r.get(8)?,
        version: r.get(9)?,
    })
}

pub fn summary(conn: &Connection, id: i64) -> Result<Summary, ProcedureError> {
    conn.query_row(
        &format!("SELECT {SUMMARY_COLUMNS} FROM proposals WHERE id = ?1"),
        [id],
        summary_row,
    )
    .optional()?
    .ok_or(ProcedureError::NotFound(id))
}

/// Proposals, newest first, optionally of one town and/or status.
pub fn list(
    conn: &Connection,
    town: Option<&str>,
    status: Option<Status>,
) -> rusqlite::Result<Vec<Summary>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM proposals
         WHERE (?1 IS NULL OR town_code = ?1) AND (?2 IS NULL OR status = ?2)
         ORDER BY id DESC"
    ))?;
    let rows = stmt.query_map(params![town, status.map(Status::as_str)], summary_row)?;
    rows.collect()
}

fn latest_tally(conn: &Connection, id: i64) -> rusqlite::Result<Option<Tally>> {
    let text: Option<String> = conn
        .query_row(
            "SELECT tally FROM proposal_events WHERE proposal_id = ?1 AND kind = 'vote'
             ORDER BY id DESC LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

pub fn detail(
    conn: &Connection,
    id: i64,
    vote_rule: &rules::VoteRule,
) -> Result<Detail, ProcedureError> {
    let summary = summary(conn, id)?;
    let proposal = body(conn, id)?;
    let mut stmt = conn.prepare(
        "SELECT at, actor, kind, from_status, to_status, text, source, tally, report IS NOT NULL
         FROM proposal_events WHERE proposal_id = ?1 ORDER BY id",
    )?;
    let events = stmt
        .query_map([id], |r| {
            let tally: Option<String> = r.get(7)?;
            Ok(Event {
                at: r.get(0)?,
                actor: r.get(1)?,
                kind: r.get(2)?,
                from: r.get(3)?,
                to: r.get(4)?,
                text: r.get(5)?,
                source: r.get(6)?,
                tally: tally.and_then(|t| serde_json::from_str(&t).ok()),
                validated: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let report: Option<String> = conn
        .query_row(
            "SELECT report FROM proposal_events WHERE proposal_id = ?1 AND report IS NOT NULL
             ORDER BY id DESC LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let vote = latest_tally(conn, id)?.map(|tally| VoteState {
        passes: tally.passes(vote_rule),
        tally,
    });
    Ok(Detail {
        summary,
        proposal,
        events,
        vote,
        report: report
            .and_then(|r| serde_json::from_str(&r).ok())
            .unwrap_or(Value::Null),
    })
}

/// A proposal parsed and validated against `snapshot`, and the town it belongs to.
struct Checked {
    proposal: Proposal,
    report: Report,
    town: String,
}

fn check(body: &Value, snapshot: &Snapshot) -> Result<Checked, ProcedureError> {
    let registry = &snapshot.registry;
    let proposal = rules::parse(body, registry)?;
    let town = match proposal.parents.first() {
        Some(&p) => registry.towns[registry.communities[p].town].code.clone(),
        None => {
            return Err(ProcedureError::Unprocessable(
                "proposal.parents: a stored proposal names the communities it changes (a `new` community on unassigned land needs grids, which shequ cannot create yet)".into(),
            ));
        }
    };
    let report = rules::validate(&proposal, registry, &snapshot.guidelines);
    Ok(Checked {
        proposal,
        report,
        town,
    })
}

/// One row of a proposal's history; fields a kind of event does not have stay `None`.
#[derive(Default)]
struct NewEvent<'a> {
    kind: &'a str,
    from: Option<Status>,
    to: Option<Status>,
    text: Option<&'a str>,
    source: Option<&'a str>,
    tally: Option<&'a Tally>,
    report: Option<&'a Report>,
}

fn event(tx: &Connection, id: i64, actor: &str, e: NewEvent) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO proposal_events
           (proposal_id, at, actor, kind, from_status, to_status, text, source, tally, report)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id,
            super::now(),
            actor,
            e.kind,
            e.from.map(Status::as_str),
            e.to.map(Status::as_str),
            e.text,
            e.source,
            e.tally
                .map(|t| serde_json::to_string(t).unwrap_or_default()),
            e.report.map(|r| r.to_json().to_string()),
        ],
    )?;
    Ok(())
}

/// The stored proposal document.
fn body(conn: &Connection, id: i64) -> Result<Value, ProcedureError> {
    let text: String = conn.query_row("SELECT body FROM proposals WHERE id = ?1", [id], |r| {
        r.get(0)
    })?;
    Ok(serde_json::from_str(&text)
        .map_err(|e| StoreError::Damaged(format!("proposal {id}: {e}")))?)
}

/// Stores a new draft by `actor` (a street official of the proposal's town).
pub fn create(
    tx: &Connection,
    actor: &Actor,
    body: &Value,
    snapshot: &Snapshot,
) -> Result<Summary, ProcedureError> {
    let c = check(body, snapshot)?;
    if !actor.may_draft_for(&c.town) {
        return Err(ProcedureError::Forbidden(format!(
            "only a street official of town {} may draft its proposals",
            c.town
        )));
    }
    let now = super::now();
    tx.execute(
        "INSERT INTO proposals (town_code, title, kind, status, body, author, created_at,
                                updated_at, verdict)
         VALUES (?1, ?2, ?3, 'draft', ?4, ?5, ?6, ?6, ?7)",
        params![
            c.town,
            c.proposal.title,
            kind_str(&c.report),
            body.to_string(),
            actor.user,
            now,
            verdict_str(c.report.verdict)
        ],
    )?;
    let id = tx.last_insert_rowid();
    let created = NewEvent {
        kind: "created",
        to: Some(Status::Draft),
        report: Some(&c.report),
        ..NewEvent::default()
    };
    event(tx, id, &actor.user, created)?;
    log::append(
        tx,
        &actor.user,
        "proposal.create",
        &format!("proposal {id}"),
        &json!({"title": c.proposal.title, "town": c.town, "verdict": verdict_str(c.report.verdict)}),
    )?;
    summary(tx, id)
}

fn kind_str(report: &Report) -> String {
    serde_json::to_value(report.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn town_and_status(tx: &Connection, id: i64) -> Result<(String, Status), ProcedureError> {
    let s = summary(tx, id)?;
    Ok((s.town_code, s.status))
}

/// Replaces a draft's document (the street official of its town; only in `draft`).
pub fn edit(
    tx: &Connection,
    actor: &Actor,
    id: i64,
    body: &Value,
    snapshot: &Snapshot,
) -> Result<Summary, ProcedureError> {
    let (town, status) = town_and_status(tx, id)?;
    workflow::may_act(actor, &town, status, Status::Draft, "edit")?;
    let c = check(body, snapshot)?;
    if c.town != town {
        return Err(ProcedureError::Unprocessable(format!(
            "the edited proposal changes communities of town {}, not of its town {town}; start a new proposal",
            c.town
        )));
    }
    tx.execute(
        "UPDATE proposals SET title = ?2, kind = ?3, body = ?4, updated_at = ?5, verdict = ?6
         WHERE id = ?1",
        params![
            id,
            c.proposal.title,
            kind_str(&c.report),
            body.to_string(),
            super::now(),
            verdict_str(c.report.verdict)
        ],
    )?;
    let edited = NewEvent {
        kind: "edited",
        report: Some(&c.report),
        ..NewEvent::default()
    };
    event(tx, id, &actor.user, edited)?;
    log::append(
        tx,
        &actor.user,
        "proposal.edit",
        &format!("proposal {id}"),
        &json!({"verdict": verdict_str(c.report.verdict)}),
    )?;
    summary(tx, id)
}

/// Records a residents' comment during consultation (`source`: who said it, if not the actor).
pub fn comment(
    tx: &Connection,
    actor: &Actor,
    id: i64,
    text: &str,
    source: Option<&str>,
) -> Result<(), ProcedureError> {
    let (town, status) = town_and_status(tx, id)?;
    workflow::may_act(
        actor,
        &town,
        status,
        Status::Consultation,
        "record comments on",
    )?;
    if text.trim().is_empty() {
        return Err(ProcedureError::Unprocessable(
            "`text`: a comment cannot be empty".into(),
        ));
    }
    let comment = NewEvent {
        kind: "comment",
        text: Some(text),
        source,
        ..NewEvent::default()
    };
    event(tx, id, &actor.user, comment)?;
    log::append(
        tx,
        &actor.user,
        "proposal.comment",
        &format!("proposal {id}"),
        &json!({"text": text, "source": source}),
    )?;
    Ok(())
}

/// Records the residents' vote (replacing an earlier tally of the same stage).
pub fn vote(
    tx: &Connection,
    actor: &Actor,
    id: i64,
    tally: &Tally,
    rule: &rules::VoteRule,
) -> Result<VoteState, ProcedureError> {
    let (town, status) = town_and_status(tx, id)?;
    workflow::may_act(actor, &town, status, Status::Vote, "record the vote on")?;
    tally.check(rule).map_err(ProcedureError::Unprocessable)?;
    let passes = tally.passes(rule);
    let vote = NewEvent {
        kind: "vote",
        tally: Some(tally),
        ..NewEvent::default()
    };
    event(tx, id, &actor.user, vote)?;
    log::append(
        tx,
        &actor.user,
        "proposal.vote",
        &format!("proposal {id}"),
        &json!({"tally": tally, "passes": passes}),
    )?;
    Ok(VoteState {
        tally: *tally,
        passes,
    })
}

/// A request to move a proposal.
#[derive(Debug, Clone)]
pub struct Move {
    pub to: Status,
    /// Required for a rejection; kept as a note otherwise.
    pub reason: Option<String>,
    /// For an approval: from when the change holds (default today); not before the latest
    /// version's date, not in the future.
    pub effective: Option<time::Date>,
}

/// What an approval did.
pub struct Approval {
    pub version: Version,
    /// The snapshot of the new version, to publish.
    pub snapshot: Snapshot,
}

/// Test hook: with `SHEQU_FAILPOINT=approve-before-commit` an approval stops inside its
/// transaction (all rows written, nothing committed) and says so on stderr, so a test can kill
/// the process at exactly that point.
fn failpoint(name: &str) {
    if std::env::var("SHEQU_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("failpoint {name} reached");
        loop {
            std::thread::park();
        }
    }
}

/// Moves a proposal (see [`workflow::may_move`]). Submission needs a passed vote and a
/// validation without `fail` (re-run now); approval re-validates against the registry as it is
/// now, writes the change as a new registry version and returns its snapshot.
pub fn transition(
    tx: &Connection,
    actor: &Actor,
    id: i64,
    request: &Move,
    current: (&Snapshot, i64),
    today: time::Date,
) -> Result<(Summary, Option<Approval>), ProcedureError> {
    let (snapshot, registry_version) = current;
    let (town, from) = town_and_status(tx, id)?;
    let to = request.to;
    workflow::may_move(actor, &town, from, to)?;
    // Re-checked at every move: the registry may have changed since the draft was saved.
    let c = check(&body(tx, id)?, snapshot)?;
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let mut approval = None;
    match to {
        Status::Submitted => {
            let rule = &snapshot.guidelines.vote;
            match latest_tally(tx, id)? {
                None => {
                    return Err(ProcedureError::Unprocessable(
                        "no vote is recorded: record the residents' vote first".into(),
                    ));
                }
                Some(t) if !t.passes(rule) => {
                    return Err(ProcedureError::Unprocessable(format!(
                        "the vote did not pass ({} for, {} against, {} abstaining; more than {:.0}% of the {} needed)",
                        t.in_favour,
                        t.against,
                        t.abstain,
                        rule.pass_share * 100.0,
                        match rule.base {
                            rules::VoteBase::Cast => "votes cast",
                            rules::VoteBase::Eligible => "eligible voters",
                        }
                    )));
                }
                Some(_) => {}
            }
            refuse_failing(&c.report, "submitted")?;
        }
        Status::Rejected if reason.is_none() => {
            return Err(ProcedureError::Unprocessable(
                "`reason`: a rejection must say why".into(),
            ));
        }
        Status::Approved => {
            refuse_failing(&c.report, "approved")?;
            approval = Some(approve(
                tx,
                actor,
                id,
                &c,
                request,
                (snapshot, registry_version),
                today,
            )?);
        }
        _ => {}
    }
    tx.execute(
        "UPDATE proposals SET status = ?2, updated_at = ?3, verdict = ?4, version = ?5 WHERE id = ?1",
        params![
            id,
            to.as_str(),
            super::now(),
            verdict_str(c.report.verdict),
            approval.as_ref().map(|a| a.version.id)
        ],
    )?;
    let moved = NewEvent {
        kind: "moved",
        from: Some(from),
        to: Some(to),
        text: reason,
        report: Some(&c.report),
        ..NewEvent::default()
    };
    event(tx, id, &actor.user, moved)?;
    log::append(
        tx,
        &actor.user,
        &format!("proposal.{}", to.as_str()),
        &format!("proposal {id}"),
        &json!({"from": from.as_str(), "to": to.as_str(), "reason": reason,
                "verdict": verdict_str(c.report.verdict),
                "version": approval.as_ref().map(|a| a.version.id)}),
    )?;
    if approval.is_some() {
        failpoint("approve-before-commit");
    }
    Ok((summary(tx, id)?, approval))
}

fn refuse_failing(report: &Report, to: &str) -> Result<(), ProcedureError> {
    if report.verdict != Verdict::Fail {
        return Ok(());
    }
    let failing: Vec<String> = report
        .checks
        .iter()
        .chain(report.parts.iter().flat_map(|p| p.checks.iter()))
        .filter(|c| c.verdict == Verdict::Fail)
        .map(|c| c.rule.clone())
        .collect();
    Err(ProcedureError::Unprocessable(format!(
        "a proposal whose validation fails cannot be {to}; failing: {}",
        failing.join(", ")
    )))
}

/// Every community and grid code the city has had (codes are never reused).
fn used_codes(tx: &Connection) -> rusqlite::Result<HashSet<String>> {
    let mut stmt =
        tx.prepare("SELECT DISTINCT code FROM features WHERE layer IN ('communities', 'grids')")?;
    let codes = stmt.query_map([], |r| r.get(0))?;
    codes.collect()
}

fn approve(
    tx: &Connection,
    actor: &Actor,
    id: i64,
    c: &Checked,
    request: &Move,
    current: (&Snapshot, i64),
    today: time::Date,
) -> Result<Approval, ProcedureError> {
    let (snapshot, registry_version) = current;
    let last =
        latest(tx)?.ok_or_else(|| StoreError::Damaged("the store holds no registry".into()))?;
    if last.id != registry_version {
        return Err(ProcedureError::Conflict(format!(
            "the registry changed while this approval was prepared (version {} is now current); try again",
            last.id
        )));
    }
    let effective = request.effective.unwrap_or(today);
    let day = effective
        .format(super::DATE_FORMAT)
        .map_err(|e| ProcedureError::Unprocessable(e.to_string()))?;
    if effective > today {
        return Err(ProcedureError::Unprocessable(format!(
            "`effective` {day} is in the future: approvals take effect today or on an earlier day"
        )));
    }
    if let Some(prev) = last.effective.as_deref().filter(|p| *p > day.as_str()) {
        return Err(ProcedureError::Unprocessable(format!(
            "`effective` {day} is before {prev}, from when the current version holds"
        )));
    }
    let change = rules::plan(&c.proposal, &snapshot.registry, &used_codes(tx)?)
        .map_err(|e| ProcedureError::Unprocessable(e.to_string()))?;
    let version_id = last.id + 1;
    tx.execute(
        "INSERT INTO versions (id, effective, created_at, description, proposal_id)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            version_id,
            day,
            super::now(),
            format!("proposal {id}: {}", c.proposal.title),
            id
        ],
    )?;
    let end = |layer: &str, codes: &[String]| -> rusqlite::Result<()> {
        let mut stmt = tx.prepare_cached(
            "UPDATE features SET valid_to = ?1 WHERE layer = ?2 AND code = ?3 AND valid_to IS NULL",
        )?;
        for code in codes {
            stmt.execute(params![version_id, layer, code])?;
        }
        Ok(())
    };
    end(LAYERS[1], &change.end_communities)?;
    end(LAYERS[2], &change.end_grids)?;
    insert_features(tx, LAYERS[1], &change.communities, version_id, None)?;
    let (grids, predecessors): (Vec<Value>, Vec<Option<String>>) = change
        .grids
        .iter()
        .map(|(f, p)| (f.clone(), Some(p.clone())))
        .unzip();
    insert_features(tx, LAYERS[2], &grids, version_id, Some(&predecessors))?;
    // The new version must load like any boundary files would; otherwise nothing is written.
    let snapshot = super::registry::StoredSnapshot::read(tx, version_id)?
        .build()
        .map_err(|e| {
            ProcedureError::Unprocessable(format!("the approved registry would not be valid: {e}"))
        })?;
    let version = super::registry::version(tx, version_id)?
        .ok_or_else(|| StoreError::Damaged(format!("version {version_id} vanished")))?;
    log::append(
        tx,
        &actor.user,
        "registry.version",
        &format!("version {version_id}"),
        &json!({
            "proposal": id, "effective": day,
            "ended": change.end_communities, "created": change.communities.iter()
                .filter_map(|f| f.pointer("/properties/code").cloned()).collect::<Vec<_>>(),
            "grids_moved": change.moves.len(),
        }),
    )?;
    Ok(Approval { version, snapshot })
}
