//! Stored proposals and the procedure they follow: create and edit drafts, record comments and
//! votes, move through the statuses, and on approval write the change as a new registry version.
//!
//! Each operation is one transaction with its audit-log entry; the permission and status rules
//! come from [`crate::workflow`], the checks from [`crate::rules`].

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{Value, json};

use super::registry::{Version, begin_version, end_features, insert_features, latest};
use super::sql::{Conn, DbError, Row};
use super::{StoreError, log};
use crate::Snapshot;
use crate::accounts::Actor;
use crate::audit::AuditReport;
use crate::registry::{Edit, Level, Touched};
use crate::rules::{self, Proposal, ProposalError, Report, Verdict};
use crate::sql_params;
pub use crate::workflow::Move;
use crate::workflow::{self, CastVote, Moving, Refusal, Status, Tally};

/// Why a step of the procedure did not happen. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ProcedureError {
    #[error("no proposal {0}")]
    NotFound(i64),
    /// The procedure refuses the step (403, 409 or 422), with a coded message.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// The proposal document cannot be parsed (400) or is invalid (422).
    #[error("{0}")]
    Proposal(#[from] ProposalError),
    /// Well-formed but not acceptable (422): a failing validation, a missing reason, …
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<DbError> for ProcedureError {
    fn from(e: DbError) -> Self {
        ProcedureError::Store(e.into())
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
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub id: i64,
    /// The town of its first parent.
    pub town_code: String,
    /// Every town it touches (its parents' and the ones its parts lie in), sorted: the
    /// official drafting it must hold all of them, and `?town=` lists it under each.
    pub towns: Vec<String>,
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
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Detail {
    #[serde(flatten)]
    pub summary: Summary,
    pub proposal: Value,
    pub events: Vec<Event>,
    pub vote: Option<VoteState>,
    pub report: Value,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VoteState {
    pub tally: Tally,
    pub passes: bool,
    /// Whether it was cast on the document as it is now (a vote holds only for the document it
    /// was cast on; an edit after the vote needs a new one before submission).
    pub current: bool,
}

/// The columns [`summary_row`] reads: the towns are joined with commas in the dialect's way.
fn summary_columns(conn: &dyn Conn) -> String {
    format!(
        "id, town_code, title, kind, status, author, created_at, updated_at, verdict, version,
         (SELECT {} FROM proposal_towns WHERE proposal_id = proposals.id)",
        conn.dialect().comma_list("town_code")
    )
}

fn summary_row(r: &Row) -> Result<Summary, DbError> {
    let status: String = r.get(4)?;
    let towns: Option<String> = r.get(10)?;
    let mut towns: Vec<String> = towns
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    towns.sort();
    Ok(Summary {
        id: r.get(0)?,
        town_code: r.get(1)?,
        towns,
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

pub fn summary(conn: &dyn Conn, id: i64) -> Result<Summary, ProcedureError> {
    conn.query_opt(
        &format!(
            "SELECT {} FROM proposals WHERE id = ?1",
            summary_columns(conn)
        ),
        sql_params![id],
    )?
    .map(|r| summary_row(&r))
    .transpose()?
    .ok_or(ProcedureError::NotFound(id))
}

/// Proposals, newest first, optionally of one town and/or status.
pub fn list(
    conn: &dyn Conn,
    town: Option<&str>,
    status: Option<Status>,
) -> Result<Vec<Summary>, DbError> {
    conn.query(
        &format!(
            "SELECT {} FROM proposals
             WHERE (CAST(?1 AS TEXT) IS NULL
                    OR id IN (SELECT proposal_id FROM proposal_towns WHERE town_code = ?1))
               AND (CAST(?2 AS TEXT) IS NULL OR status = ?2)
             ORDER BY id DESC",
            summary_columns(conn)
        ),
        sql_params![town, status.map(Status::as_str)],
    )?
    .iter()
    .map(summary_row)
    .collect()
}

/// The latest recorded vote and the document it was cast on.
fn latest_vote(conn: &dyn Conn, id: i64) -> Result<Option<CastVote>, DbError> {
    let row: Option<(String, Option<String>)> = conn
        .query_opt(
            "SELECT tally, document FROM proposal_events WHERE proposal_id = ?1 AND kind = 'vote'
             ORDER BY id DESC LIMIT 1",
            sql_params![id],
        )?
        .map(|r| Ok::<_, DbError>((r.get(0)?, r.get(1)?)))
        .transpose()?;
    Ok(row.and_then(|(tally, document)| {
        serde_json::from_str(&tally)
            .ok()
            .map(|tally| CastVote { tally, document })
    }))
}

/// The identity of a stored proposal document: SHA-256 of its stored text (which is written
/// once per save, so the same save always hashes the same).
fn document_hash(conn: &dyn Conn, id: i64) -> Result<String, DbError> {
    use sha2::{Digest, Sha256};
    let text: String = conn
        .query_one("SELECT body FROM proposals WHERE id = ?1", sql_params![id])?
        .get(0)?;
    Ok(hex::encode(Sha256::digest(text.as_bytes())))
}

pub fn detail(
    conn: &dyn Conn,
    id: i64,
    vote_rule: &rules::VoteRule,
) -> Result<Detail, ProcedureError> {
    let summary = summary(conn, id)?;
    let proposal = body(conn, id)?;
    let events = conn
        .query(
            "SELECT at, actor, kind, from_status, to_status, text, source, tally,
                    report IS NOT NULL
             FROM proposal_events WHERE proposal_id = ?1 ORDER BY id",
            sql_params![id],
        )?
        .iter()
        .map(|r| {
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
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    let report: Option<String> = conn
        .query_opt(
            "SELECT report FROM proposal_events WHERE proposal_id = ?1 AND report IS NOT NULL
             ORDER BY id DESC LIMIT 1",
            sql_params![id],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    let document = document_hash(conn, id)?;
    let vote = latest_vote(conn, id)?.map(|v| VoteState {
        passes: v.tally.passes(vote_rule),
        current: v.document.as_deref() == Some(document.as_str()),
        tally: v.tally,
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

/// A proposal parsed and validated against `snapshot`, the town of its first parent, and every
/// town it touches.
struct Checked {
    proposal: Proposal,
    report: Report,
    town: String,
    towns: Vec<String>,
}

/// Area below which a part reaching into a town does not count (the audit's tolerance, as in
/// validation).
fn tolerance_m2(snapshot: &Snapshot) -> f64 {
    let audit = &snapshot.guidelines.audit;
    audit.area_m2()
}

fn check(body: &Value, snapshot: &Snapshot) -> Result<Checked, ProcedureError> {
    let registry = &snapshot.registry;
    let proposal = rules::parse(body, registry, &snapshot.guidelines.plausible)?;
    let towns = rules::touched_towns(&proposal, registry, tolerance_m2(snapshot));
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
        towns,
    })
}

/// The row of a new draft.
pub(super) struct DraftRow<'a> {
    /// The town it is filed under (its first parent's; a re-survey's first touched town).
    pub town: &'a str,
    pub title: &'a str,
    pub kind: &'a str,
    /// The stored document.
    pub body: &'a str,
    pub author: &'a str,
    pub verdict: &'a str,
}

/// Inserts a new draft; its id.
pub(super) fn insert_draft(tx: &dyn Conn, row: &DraftRow) -> Result<i64, DbError> {
    tx.query_one(
        "INSERT INTO proposals (town_code, title, kind, status, body, author, created_at,
                                updated_at, verdict)
         VALUES (?1, ?2, ?3, 'draft', ?4, ?5, ?6, ?6, ?7)
         RETURNING id",
        sql_params![
            row.town,
            row.title,
            row.kind,
            row.body,
            row.author,
            &super::now(),
            row.verdict
        ],
    )?
    .get(0)
}

/// Records the towns a proposal touches (replacing earlier ones).
pub(super) fn set_towns(tx: &dyn Conn, id: i64, towns: &[String]) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM proposal_towns WHERE proposal_id = ?1",
        sql_params![id],
    )?;
    for town in towns {
        tx.execute(
            "INSERT INTO proposal_towns (proposal_id, town_code) VALUES (?1, ?2)",
            sql_params![id, town],
        )?;
    }
    Ok(())
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
    /// For a vote: the hash of the document it was cast on.
    document: Option<&'a str>,
}

fn event(tx: &dyn Conn, id: i64, actor: &str, e: NewEvent) -> Result<(), DbError> {
    let tally = e
        .tally
        .map(|t| serde_json::to_string(t).unwrap_or_default());
    let report = e.report.map(|r| r.to_json().to_string());
    tx.execute(
        "INSERT INTO proposal_events
           (proposal_id, at, actor, kind, from_status, to_status, text, source, tally, report,
            document)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        sql_params![
            id,
            &super::now(),
            actor,
            e.kind,
            e.from.map(Status::as_str),
            e.to.map(Status::as_str),
            e.text,
            e.source,
            &tally,
            &report,
            e.document,
        ],
    )?;
    Ok(())
}

/// The stored proposal document.
pub(super) fn body(conn: &dyn Conn, id: i64) -> Result<Value, ProcedureError> {
    let text: String = conn
        .query_one("SELECT body FROM proposals WHERE id = ?1", sql_params![id])?
        .get(0)?;
    Ok(serde_json::from_str(&text)
        .map_err(|e| StoreError::Damaged(format!("proposal {id}: {e}")))?)
}

/// Stores a new draft by `actor` (a street official holding every town the proposal touches).
pub fn create(
    tx: &dyn Conn,
    actor: &Actor,
    body: &Value,
    snapshot: &Snapshot,
) -> Result<Summary, ProcedureError> {
    let c = check(body, snapshot)?;
    workflow::may_draft(actor, &c.towns, "draft")?;
    let row = DraftRow {
        town: &c.town,
        title: &c.proposal.title,
        kind: &kind_str(&c.report),
        body: &body.to_string(),
        author: &actor.user,
        verdict: verdict_str(c.report.verdict),
    };
    let id = insert_draft(tx, &row)?;
    set_towns(tx, id, &c.towns)?;
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
        &json!({"title": c.proposal.title, "town": c.town, "towns": c.towns,
                "verdict": verdict_str(c.report.verdict)}),
    )?;
    summary(tx, id)
}

/// Records a step of proposal `id` without report, tally or vote document (a re-survey's).
pub(super) fn event_moved(
    tx: &dyn Conn,
    id: i64,
    actor: &str,
    kind: &str,
    from: Option<Status>,
    to: Status,
    text: Option<&str>,
) -> Result<(), DbError> {
    let e = NewEvent {
        kind,
        from,
        to: Some(to),
        text,
        ..NewEvent::default()
    };
    event(tx, id, actor, e)
}

/// Runs the [test hook](BEFORE_APPROVAL_COMMIT), when one is set.
pub(super) fn before_approval_commit() {
    if let Some(hook) = BEFORE_APPROVAL_COMMIT.get() {
        hook();
    }
}

fn kind_str(report: &Report) -> String {
    serde_json::to_value(report.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The towns a stored proposal touches (as recorded at its last save) and its status.
fn towns_and_status(tx: &dyn Conn, id: i64) -> Result<(Vec<String>, Status), ProcedureError> {
    let s = summary(tx, id)?;
    Ok((s.towns, s.status))
}

/// Replaces a draft's document (a street official holding every town it touched and every town
/// it now touches; only in `draft`).
pub fn edit(
    tx: &dyn Conn,
    actor: &Actor,
    id: i64,
    body: &Value,
    snapshot: &Snapshot,
) -> Result<Summary, ProcedureError> {
    super::resurvey::refuse_change(tx, id, "edited")?;
    let (towns, status) = towns_and_status(tx, id)?;
    workflow::may_act(actor, &towns, status, Status::Draft, "edit")?;
    let c = check(body, snapshot)?;
    workflow::may_draft(actor, &c.towns, "edit")?;
    tx.execute(
        "UPDATE proposals SET title = ?2, kind = ?3, body = ?4, updated_at = ?5, verdict = ?6,
                              town_code = ?7
         WHERE id = ?1",
        sql_params![
            id,
            &c.proposal.title,
            &kind_str(&c.report),
            &body.to_string(),
            &super::now(),
            verdict_str(c.report.verdict),
            &c.town
        ],
    )?;
    set_towns(tx, id, &c.towns)?;
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
    tx: &dyn Conn,
    actor: &Actor,
    id: i64,
    text: &str,
    source: Option<&str>,
) -> Result<(), ProcedureError> {
    super::resurvey::refuse_change(tx, id, "commented on")?;
    let (towns, status) = towns_and_status(tx, id)?;
    workflow::comment(actor, &towns, status, text, source)?;
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

/// Records the residents' vote on the document as it is now (replacing an earlier tally; a
/// vote holds only for the document it was cast on).
pub fn vote(
    tx: &dyn Conn,
    actor: &Actor,
    id: i64,
    tally: &Tally,
    rule: &rules::VoteRule,
) -> Result<VoteState, ProcedureError> {
    super::resurvey::refuse_change(tx, id, "voted on")?;
    let (towns, status) = towns_and_status(tx, id)?;
    let passes = workflow::vote(actor, &towns, status, tally, rule)?;
    let document = document_hash(tx, id)?;
    let vote = NewEvent {
        kind: "vote",
        tally: Some(tally),
        document: Some(&document),
        ..NewEvent::default()
    };
    event(tx, id, &actor.user, vote)?;
    log::append(
        tx,
        &actor.user,
        "proposal.vote",
        &format!("proposal {id}"),
        &json!({"tally": tally, "passes": passes, "document": document}),
    )?;
    Ok(VoteState {
        tally: *tally,
        passes,
        current: true,
    })
}

/// What an approval did.
pub struct Approval {
    pub version: Version,
    /// The snapshot of the new version, to publish.
    pub snapshot: Snapshot,
    /// Its coverage audit, computed for the approval gate, to publish with it rather than audit
    /// the city again (`None` if the gate judged it under other guidelines than the snapshot's).
    pub audit: Option<AuditReport>,
    /// What the change touched, when the snapshot was built from the current one
    /// ([`Snapshot::with_edit`]), for whoever carries more over (the tile source).
    pub touched: Option<Touched>,
}

/// The registry an approval is judged against: the published snapshot, its audit (already
/// computed for serving, so the approval gate does not audit the whole city again) and its
/// stored version.
#[derive(Clone, Copy)]
pub struct Current<'a> {
    pub snapshot: &'a Snapshot,
    pub audit: &'a AuditReport,
    pub version: i64,
}

/// Test hook: called inside an approval's transaction once all its rows are written, before
/// the commit. Nothing in shequ sets it, and nothing from outside the process (no variable, no
/// request) can: a crash test sets it in a process of its own (tests/procedure.rs re-runs its
/// own binary) to stop there and be killed.
static BEFORE_APPROVAL_COMMIT: OnceLock<fn()> = OnceLock::new();

/// Sets the [test hook](BEFORE_APPROVAL_COMMIT) (once per process); for tests only.
#[doc(hidden)]
pub fn set_before_approval_commit(hook: fn()) -> bool {
    BEFORE_APPROVAL_COMMIT.set(hook).is_ok()
}

/// Moves a proposal (see [`workflow::decide_move`]). Submission needs a passed vote and a
/// validation without `fail` (re-run now); approval re-validates against the registry as it is
/// now, writes the change as a new registry version and returns its snapshot.
pub fn transition(
    tx: &dyn Conn,
    actor: &Actor,
    id: i64,
    request: &Move,
    current: Current,
    today: time::Date,
) -> Result<(Summary, Option<Approval>), ProcedureError> {
    let snapshot = current.snapshot;
    let s = summary(tx, id)?;
    if s.kind == super::resurvey::KIND {
        return super::resurvey::transition(tx, actor, s, request, current, today);
    }
    let (towns, from) = (s.towns, s.status);
    let to = request.to;
    workflow::may_move(actor, &towns, from, to)?;
    // Re-checked at every move: the registry may have changed since the draft was saved, and
    // the towns it touches are taken from the document itself, not from what was recorded.
    let c = check(&body(tx, id)?, snapshot)?;
    let vote = latest_vote(tx, id)?;
    let drafters = if to == Status::Approved {
        drafters(tx, id)?
    } else {
        Vec::new()
    };
    let moving = Moving {
        status: from,
        towns: &c.towns,
        report: &c.report,
        vote: vote.as_ref(),
        document: &document_hash(tx, id)?,
        vote_rule: &snapshot.guidelines.vote,
        drafters: &drafters,
    };
    let reason = workflow::decide_move(actor, id, &moving, request)?;
    let approval = match to {
        Status::Approved => Some(approve(tx, actor, id, &c, request, current, today)?),
        _ => None,
    };
    let version = approval.as_ref().map(|a| a.version.id);
    tx.execute(
        "UPDATE proposals SET status = ?2, updated_at = ?3, verdict = ?4, version = ?5 WHERE id = ?1",
        sql_params![
            id,
            to.as_str(),
            &super::now(),
            verdict_str(c.report.verdict),
            version
        ],
    )?;
    let moved = NewEvent {
        kind: "moved",
        from: Some(from),
        to: Some(to),
        text: reason.as_deref(),
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
                "verdict": verdict_str(c.report.verdict), "version": version}),
    )?;
    if approval.is_some() {
        before_approval_commit();
    }
    Ok((summary(tx, id)?, approval))
}

/// Everyone who drafted proposal `id` (its author, whoever edited it, whoever submitted it),
/// with their account as it is now.
fn drafters(tx: &dyn Conn, id: i64) -> Result<Vec<(String, Option<Actor>)>, ProcedureError> {
    let names = tx
        .query(
            "SELECT author FROM proposals WHERE id = ?1
             UNION SELECT actor FROM proposal_events WHERE proposal_id = ?1
               AND (kind IN ('created', 'edited') OR (kind = 'moved' AND to_status = 'submitted'))",
            sql_params![id],
        )?
        .iter()
        .map(|r| r.get::<String>(0))
        .collect::<Result<Vec<String>, DbError>>()?;
    names
        .into_iter()
        .map(|name| {
            let user = super::accounts::find_user(tx, &name)
                .map_err(|e| StoreError::Damaged(format!("user {name:?}: {e}")))?;
            Ok((name, user.map(|u| u.actor())))
        })
        .collect()
}

/// Every community and grid code the city has had (codes are never reused).
fn used_codes(tx: &dyn Conn) -> Result<HashSet<String>, DbError> {
    tx.query(
        "SELECT DISTINCT code FROM features WHERE layer IN ('communities', 'grids')",
        &[],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn approve(
    tx: &dyn Conn,
    actor: &Actor,
    id: i64,
    c: &Checked,
    request: &Move,
    current: Current,
    today: time::Date,
) -> Result<Approval, ProcedureError> {
    let (snapshot, registry_version) = (current.snapshot, current.version);
    let last =
        latest(tx)?.ok_or_else(|| StoreError::Damaged("the store holds no registry".into()))?;
    workflow::same_registry(registry_version, last.id)?;
    let day = workflow::effective_day(request.effective, today, last.effective.as_deref())?;
    let started = std::time::Instant::now();
    let change = rules::plan(&c.proposal, &snapshot.registry, &used_codes(tx)?)
        .map_err(|e| ProcedureError::Unprocessable(e.to_string()))?;
    let version_id = last.id + 1;
    let description = format!("proposal {id}: {}", c.proposal.title);
    begin_version(tx, version_id, &day, &description, id)?;
    end_features(tx, Level::Community, &change.end_communities, version_id)?;
    end_features(tx, Level::Grid, &change.end_grids, version_id)?;
    insert_features(tx, Level::Community, &change.communities, version_id, None)?;
    let (grids, predecessors): (Vec<Value>, Vec<Option<String>>) = change
        .grids
        .iter()
        .map(|(f, p)| (f.clone(), Some(p.clone())))
        .unzip();
    insert_features(tx, Level::Grid, &grids, version_id, Some(&predecessors))?;
    // The new version must load like any boundary files would; otherwise nothing is written.
    // It is built from the current snapshot with the change applied in memory (the rows just
    // written are exactly `change`'s; tests/approval_incremental.rs checks that a full read of
    // the version builds the same snapshot).
    let planned = started.elapsed();
    let edit = Edit {
        end_communities: &change.end_communities,
        end_grids: &change.end_grids,
        communities: &change.communities,
        grids: &grids,
    };
    let (new_snapshot, touched) = snapshot.with_edit(&edit).map_err(|e| {
        ProcedureError::Unprocessable(format!("the approved registry would not be valid: {e}"))
    })?;
    let built = started.elapsed();
    let audit = refuse_worse(current, &new_snapshot, &touched)?;
    // Where an approval's time goes (issue 19 and BENCHMARKS.md).
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    tracing::info!(
        "approval of proposal {id}: plan and rows {:.1} ms, new snapshot {:.1} ms, audit {:.1} ms",
        ms(planned),
        ms(built - planned),
        ms(started.elapsed() - built)
    );
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
    Ok(Approval {
        version,
        audit: Some(audit),
        snapshot: new_snapshot,
        touched: Some(touched),
    })
}

/// The approval gate (see [`workflow::refuse_worse`]): the audits of the current and the new
/// version compared. The new version's audit is the current one with the checks the change
/// reached run again (`touched`; equal to a full audit, see `audit::audit_change`). Returns it.
fn refuse_worse(
    current: Current,
    new: &Snapshot,
    touched: &Touched,
) -> Result<AuditReport, ProcedureError> {
    let after = new.audit_after(current.audit, touched);
    workflow::refuse_worse(current.audit, &after, tolerance_m2(current.snapshot))?;
    Ok(after)
}
