//! Re-surveys in the store: a surveyed city imported into a running registry as a stored change
//! of kind `resurvey` (staged features in `staged_features`, the diff against the current
//! version and the coverage audit of the result in the proposal's document), and its procedure
//! ([`crate::workflow::resurvey`]) up to the approval that writes it as a new registry version.
//!
//! Shared by `shequ import … --db` and `POST /api/v1/resurveys`: both call [`import`].

pub mod plan;

use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use super::proposals::{
    Approval, Current, DraftRow, ProcedureError, Summary, before_approval_commit, body,
    event_moved, insert_draft, set_towns, summary,
};
use super::registry::{
    Diff, GUIDELINES, begin_version, collections_at, document, end_features, insert_features,
    latest,
};
use super::sql::{Conn, DbError};
use super::{Store, StoreError, log};
use crate::accounts::Actor;
use crate::audit;
use crate::formats::Options;
use crate::formats::city::{CityError, read_city};
use crate::message::Message;
use crate::registry::Level;
use crate::rules::Guidelines;
use crate::sql_params;
use crate::workflow::resurvey::{Hands, decide_move, may_import, not_editable, still_current};
use crate::workflow::{self, Move, Refusal, Status};

/// The kind of a re-survey's proposal row.
pub const KIND: &str = "resurvey";

/// Why a re-survey was not staged. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The source cannot be read, or its data fails the loader (every problem listed).
    #[error("{0}")]
    City(#[from] CityError),
    /// The actor may not import, the survey changes nothing, or the registry moved on while it
    /// was compared.
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<DbError> for ImportError {
    fn from(e: DbError) -> Self {
        ImportError::Store(e.into())
    }
}

impl From<ProcedureError> for ImportError {
    fn from(e: ProcedureError) -> Self {
        match e {
            ProcedureError::Refused(r) => ImportError::Refused(r),
            ProcedureError::Store(s) => ImportError::Store(s),
            other => ImportError::Store(StoreError::Damaged(other.to_string())),
        }
    }
}

/// A staged re-survey: its proposal, the version it was compared with, what approving it would
/// change, and the coverage audit of the surveyed city.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Staged {
    pub proposal: Summary,
    pub base_version: i64,
    /// Per layer: rows that approval ends, inserts, leaves unchanged.
    pub counts: Value,
    pub diff: Diff,
    pub audit: audit::Summary,
}

impl Staged {
    /// The CLI's printout: proposal, diff summary, audit summary.
    pub fn describe(&self) -> String {
        let d = &self.diff;
        let codes = |refs: &[super::registry::CommunityRef]| {
            refs.iter()
                .map(|c| format!("{} {}", c.code, c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let grids: usize = d.moved.iter().map(|m| m.grids.len()).sum();
        let households: u64 = d.moved.iter().map(|m| m.households).sum();
        let mut out = format!(
            "re-survey staged as proposal {} (kind resurvey, status draft), compared with registry version {}\n",
            self.proposal.id, self.base_version
        );
        for level in Level::ALL {
            let c = &self.counts[level.collection()];
            out.push_str(&format!(
                "  {}: {} unchanged, {} ended, {} inserted\n",
                level.collection(),
                c["unchanged"],
                c["ended"],
                c["inserted"]
            ));
        }
        for (what, refs) in [
            ("created", &d.created),
            ("ended", &d.ended),
            ("re-drawn", &d.redrawn),
            ("changed", &d.changed),
        ] {
            if !refs.is_empty() {
                out.push_str(&format!(
                    "  communities {what} ({}): {}\n",
                    refs.len(),
                    codes(refs)
                ));
            }
        }
        out.push_str(&format!(
            "  grids moved: {grids} ({households} households)\n"
        ));
        for m in &d.moved {
            out.push_str(&format!(
                "    {} → {}: {} grids, {} households\n",
                m.from,
                m.to,
                m.grids.len(),
                m.households
            ));
        }
        let a = &self.audit;
        out.push_str(&format!(
            "  audit of the surveyed city: {} findings ({} failing), unassigned {:.0} m², overlap {:.0} m²\n",
            a.findings, a.failing, a.unassigned_m2, a.overlap_m2
        ));
        out.push_str(&format!(
            "  next: an admin or reviewer submits it (POST /api/v1/proposals/{id}/transition {{\"to\":\"submitted\"}}), another reviewer approves it",
            id = self.proposal.id
        ));
        out
    }
}

/// The guidelines stored with the registry (the defaults when none are).
fn guidelines(conn: &dyn Conn) -> Result<Guidelines, StoreError> {
    match document(conn, GUIDELINES)? {
        Some(text) => Guidelines::parse(&text, GUIDELINES)
            .map_err(|e| StoreError::Damaged(format!("{GUIDELINES}: {}", e.message))),
        None => Ok(Guidelines::default()),
    }
}

/// Imports the survey at `path` into `store` as a re-survey by `actor` (an admin or reviewer):
/// reads and checks the city (nothing is written if it fails the loader), compares it with the
/// newest version and audits it, then stores the proposal and its staged features in one
/// transaction. `source` names the upload in the proposal's title and document.
pub fn import(
    store: &Store,
    actor: &Actor,
    path: &Path,
    options: &Options,
    source: &str,
) -> Result<Staged, ImportError> {
    may_import(actor)?;
    let (base, old, guidelines) = store.read(|c| {
        let base = latest(c)?.ok_or_else(|| {
            StoreError::Damaged("the store holds no registry to re-survey".into())
        })?;
        Ok::<_, StoreError>((base.id, collections_at(c, base.id)?, guidelines(c)?))
    })?;
    let city = read_city(path, options, &guidelines.plausible)?;
    let reused = store.read(|c| reused_codes(c, &city.collections))?;
    if !reused.is_empty() {
        let mut text = format!("{source}: {} problems; nothing written", reused.len());
        for (code, layer) in &reused {
            text.push_str(&format!(
                "\n  {layer}: code {code} belonged to a feature that has ended, and codes are never reused: give it a new code"
            ));
        }
        return Err(CityError::Problems {
            count: reused.len(),
            text,
        }
        .into());
    }
    let mut plan = plan::plan(old, city.collections.clone());
    if plan.is_empty() {
        return Err(Refusal::Unprocessable(
            Message::new(
                "resurvey.unchanged",
                format!("the survey is the same as registry version {base}: nothing to stage"),
            )
            .with("version", base),
        )
        .into());
    }
    plan.diff.from = base;
    plan.diff.to = base + 1;
    let audit = audit::audit(&city.registry, &guidelines, &|_, _| {}).summary;
    let towns = touched_towns(&plan);
    let title = format!("re-survey: {source}");
    let document = json!({
        "kind": KIND, "title": title, "source": source, "base_version": base,
        "counts": plan.counts(), "diff": plan.diff, "audit": audit,
    });
    let verdict = if audit.failing > 0 {
        "fail"
    } else if audit.findings > 0 {
        "warn"
    } else {
        "pass"
    };
    let proposal = store.write(|tx| {
        may_import(actor)?;
        let now_latest = latest(tx)?.map(|v| v.id).unwrap_or(0);
        still_current(base, now_latest)?;
        let row = DraftRow {
            town: towns.first().map(String::as_str).unwrap_or(""),
            title: &title,
            kind: KIND,
            body: &document.to_string(),
            author: &actor.user,
            verdict,
        };
        let id = insert_draft(tx, &row)?;
        set_towns(tx, id, &towns)?;
        for (level, features) in Level::ALL.into_iter().zip(&city.collections) {
            for f in features {
                let code = f
                    .pointer("/properties/code")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                tx.execute(
                    "INSERT INTO staged_features (proposal_id, layer, code, feature)
                     VALUES (?1, ?2, ?3, ?4)",
                    sql_params![id, level, code, &f.to_string()],
                )?;
            }
        }
        event_moved(tx, id, &actor.user, "created", None, Status::Draft, None)?;
        log::append(
            tx,
            &actor.user,
            "proposal.create",
            &format!("proposal {id}"),
            &json!({"kind": KIND, "title": title, "source": source, "base_version": base,
                    "towns": towns, "counts": plan.counts(), "audit": audit}),
        )?;
        summary(tx, id)
    })?;
    Ok(Staged {
        proposal,
        base_version: base,
        counts: plan.counts(),
        diff: plan.diff,
        audit,
    })
}

/// Codes of the survey that belonged to features which have ended (codes are never reused:
/// history and `as_of` answers are kept by code), with their layer.
fn reused_codes(conn: &dyn Conn, new: &[Vec<Value>; 3]) -> Result<Vec<(String, String)>, DbError> {
    let mut out = Vec::new();
    for (level, features) in Level::ALL.into_iter().zip(new) {
        let ended: std::collections::HashSet<String> = conn
            .query(
                "SELECT DISTINCT code FROM features WHERE layer = ?1 AND valid_to IS NOT NULL
                 AND code NOT IN (SELECT code FROM features WHERE layer = ?1 AND valid_to IS NULL)",
                sql_params![level],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect::<Result<_, _>>()?;
        for f in features {
            if let Some(code) = f.pointer("/properties/code").and_then(Value::as_str)
                && ended.contains(code)
            {
                out.push((code.to_owned(), level.collection().to_owned()));
            }
        }
    }
    Ok(out)
}

/// The towns a re-survey changes: of every community created, ended, re-drawn or changed and of
/// every community a grid moved from or to (codes nest: a community code starts with its town's).
fn touched_towns(plan: &plan::Plan) -> Vec<String> {
    let d = &plan.diff;
    let communities = d
        .created
        .iter()
        .chain(&d.ended)
        .chain(&d.redrawn)
        .chain(&d.changed)
        .map(|c| c.code.as_str())
        .chain(
            d.moved
                .iter()
                .flat_map(|m| [m.from.as_str(), m.to.as_str()]),
        );
    let town_digits = Level::Town.code_digits();
    let mut towns: Vec<String> = communities
        .chain(plan.end[Level::Town.index()].iter().map(String::as_str))
        .filter_map(|c| c.get(..town_digits))
        .map(str::to_owned)
        .collect();
    towns.sort();
    towns.dedup();
    towns
}

/// Refuses to edit, comment on or vote on a re-survey (`what`: "edited", …).
pub fn refuse_change(conn: &dyn Conn, id: i64, what: &str) -> Result<(), ProcedureError> {
    if summary(conn, id)?.kind == KIND {
        return Err(not_editable(what).into());
    }
    Ok(())
}

/// Who imported proposal `id` and who submitted it last.
fn hands(tx: &dyn Conn, s: &Summary) -> Result<Hands, DbError> {
    let submitter: Option<String> = tx
        .query_opt(
            "SELECT actor FROM proposal_events WHERE proposal_id = ?1 AND kind = 'moved'
             AND to_status = 'submitted' ORDER BY id DESC LIMIT 1",
            sql_params![s.id],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    Ok(Hands {
        importer: s.author.clone(),
        submitter,
    })
}

/// Moves a re-survey (see [`crate::workflow::resurvey`]); an approval writes it as a new
/// registry version and returns its snapshot. Closing it (approved or rejected) drops its staged
/// features: an approved survey lives on as registry rows, a rejected one is gone.
pub fn transition(
    tx: &dyn Conn,
    actor: &Actor,
    s: Summary,
    request: &Move,
    current: Current,
    today: time::Date,
) -> Result<(Summary, Option<Approval>), ProcedureError> {
    let id = s.id;
    let to = request.to;
    let reason = decide_move(
        actor,
        s.status,
        to,
        &hands(tx, &s)?,
        request.reason.as_deref(),
    )?;
    let document = body(tx, id)?;
    let base = document["base_version"].as_i64().unwrap_or(0);
    let last =
        latest(tx)?.ok_or_else(|| StoreError::Damaged("the store holds no registry".into()))?;
    if to != Status::Rejected {
        still_current(base, last.id)?;
    }
    let approval = match to {
        Status::Approved => Some(approve(tx, actor, &s, current, request, today)?),
        _ => None,
    };
    let version = approval.as_ref().map(|a| a.version.id);
    tx.execute(
        "UPDATE proposals SET status = ?2, updated_at = ?3, version = ?4 WHERE id = ?1",
        sql_params![id, to.as_str(), &super::now(), version],
    )?;
    if to.is_closed() {
        tx.execute(
            "DELETE FROM staged_features WHERE proposal_id = ?1",
            sql_params![id],
        )?;
    }
    event_moved(
        tx,
        id,
        &actor.user,
        "moved",
        Some(s.status),
        to,
        reason.as_deref(),
    )?;
    log::append(
        tx,
        &actor.user,
        &format!("proposal.{}", to.as_str()),
        &format!("proposal {id}"),
        &json!({"kind": KIND, "from": s.status.as_str(), "to": to.as_str(), "reason": reason,
                "version": version}),
    )?;
    if approval.is_some() {
        before_approval_commit();
    }
    Ok((summary(tx, id)?, approval))
}

/// The staged features of proposal `id`, by layer in code order.
fn staged(tx: &dyn Conn, id: i64) -> Result<[Vec<Value>; 3], StoreError> {
    let mut out: [Vec<Value>; 3] = Default::default();
    for level in Level::ALL {
        for r in tx.query(
            "SELECT code, feature FROM staged_features WHERE proposal_id = ?1 AND layer = ?2
             ORDER BY code",
            sql_params![id, level],
        )? {
            let code: String = r.get(0)?;
            let text: String = r.get(1)?;
            out[level.index()].push(
                serde_json::from_str(&text).map_err(|e| {
                    StoreError::Damaged(format!("staged {level} feature {code}: {e}"))
                })?,
            );
        }
    }
    Ok(out)
}

/// Writes the re-survey as the next registry version, in the caller's transaction: ends the rows
/// of features it removes or changes, inserts the new and changed ones (a grid under a new code
/// with the ended grid it covers most as predecessor), leaves the rest untouched, and builds the
/// new snapshot with the loader's checks.
///
/// The audit gate of other approvals ([`workflow::refuse_worse`]) does not apply: a survey is
/// the authoritative record of where boundaries run, so a worse audit is a finding about the
/// city to act on, not a reason to keep serving boundaries known to be wrong. The audit of the
/// result is recorded in the `registry.version` log entry instead.
fn approve(
    tx: &dyn Conn,
    actor: &Actor,
    s: &Summary,
    current: Current,
    request: &Move,
    today: time::Date,
) -> Result<Approval, ProcedureError> {
    let id = s.id;
    let last =
        latest(tx)?.ok_or_else(|| StoreError::Damaged("the store holds no registry".into()))?;
    workflow::same_registry(current.version, last.id)?;
    let day = workflow::effective_day(request.effective, today, last.effective.as_deref())?;
    let new = staged(tx, id)?;
    if new.iter().any(Vec::is_empty) {
        return Err(
            StoreError::Damaged(format!("proposal {id}: its staged features are missing")).into(),
        );
    }
    let plan = plan::plan(collections_at(tx, last.id)?, new);
    let version_id = last.id + 1;
    begin_version(
        tx,
        version_id,
        &day,
        &format!("proposal {id}: {}", s.title),
        id,
    )?;
    for (level, codes) in Level::ALL.into_iter().zip(&plan.end) {
        end_features(tx, level, codes, version_id)?;
    }
    for (level, features) in Level::ALL.into_iter().zip(&plan.insert) {
        let predecessors = (level == Level::Grid).then_some(plan.predecessors.as_slice());
        insert_features(tx, level, features, version_id, predecessors)?;
    }
    // Streamed and checked in the transaction; the database failing is not the registry's
    // fault (as when the rows were read first and built after).
    let snapshot = match super::registry::read_checked(tx, version_id) {
        Ok(checked) => checked.build(),
        Err(e @ StoreError::Damaged(_)) => {
            return Err(ProcedureError::Unprocessable(format!(
                "the approved registry would not be valid: {e}"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let audit = snapshot.audit(&|_, _| {});
    let version = super::registry::version(tx, version_id)?
        .ok_or_else(|| StoreError::Damaged(format!("version {version_id} vanished")))?;
    let refs = |r: &[super::registry::CommunityRef]| -> Vec<String> {
        r.iter().map(|c| c.code.clone()).collect()
    };
    log::append(
        tx,
        &actor.user,
        "registry.version",
        &format!("version {version_id}"),
        &json!({
            "proposal": id, "kind": KIND, "effective": day, "counts": plan.counts(),
            "created": refs(&plan.diff.created), "ended": refs(&plan.diff.ended),
            "redrawn": refs(&plan.diff.redrawn), "changed": refs(&plan.diff.changed),
            "grids_moved": plan.diff.moved.iter().map(|m| m.grids.len()).sum::<usize>(),
            "audit": audit.summary,
            "audit_before": current.audit.summary,
        }),
    )?;
    Ok(Approval {
        version,
        audit: Some(audit),
        snapshot,
        touched: None,
    })
}
