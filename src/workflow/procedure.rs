//! The procedure's decisions on a proposal's content, as pure functions: what a comment, a vote
//! or a move needs (a non-empty comment, a consistent tally, a passed vote on this document, a
//! reason for a rejection, a validation without `fail`, drafters holding every town, an
//! effective date the registry's history allows). The store reads the proposal's state, asks
//! here, and writes only what is decided.

use crate::accounts::Actor;
use crate::message::Message;
use crate::rules::{Report, Verdict, VoteRule};

use super::{CastVote, Refusal, Status, Tally, may_act, may_draft, may_move};

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

/// Dates as versions carry them: `YYYY-MM-DD`.
const DAY: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// Checks a residents' comment by `actor` on a proposal touching `towns` in `status`.
pub fn comment(
    actor: &Actor,
    towns: &[String],
    status: Status,
    text: &str,
    source: Option<&str>,
) -> Result<(), Refusal> {
    may_act(
        actor,
        towns,
        status,
        Status::Consultation,
        "record comments on",
    )?;
    if text.trim().is_empty() {
        return Err(Refusal::Unprocessable(Message::new(
            "procedure.comment_empty",
            "`text`: a comment cannot be empty",
        )));
    }
    crate::text::check(text, crate::text::MAX_TEXT_CHARS, true).map_err(|e| {
        Refusal::Unprocessable(
            Message::new("input.bad_text", format!("`text`: {e}")).with("field", "text"),
        )
    })?;
    if let Some(source) = source {
        crate::text::check(source, crate::text::MAX_NAME_CHARS, false).map_err(|e| {
            Refusal::Unprocessable(
                Message::new("input.bad_text", format!("`source`: {e}")).with("field", "source"),
            )
        })?;
    }
    Ok(())
}

/// Checks a residents' vote recorded by `actor`; decides whether it passes under `rule`.
pub fn vote(
    actor: &Actor,
    towns: &[String],
    status: Status,
    tally: &Tally,
    rule: &VoteRule,
) -> Result<bool, Refusal> {
    may_act(actor, towns, status, Status::Vote, "record the vote on")?;
    tally.check(rule).map_err(Refusal::Unprocessable)?;
    Ok(tally.passes(rule))
}

/// What is known of a proposal when a move of it is decided.
#[derive(Debug, Clone)]
pub struct Moving<'a> {
    pub status: Status,
    /// The towns its document touches now (re-computed: the registry may have changed).
    pub towns: &'a [String],
    /// Its validation against the registry as it is now.
    pub report: &'a Report,
    /// The latest recorded vote, and the hash of the document as it is now.
    pub vote: Option<&'a CastVote>,
    pub document: &'a str,
    pub vote_rule: &'a VoteRule,
    /// Everyone who drafted it (author, editors, submitter), with their account as it is now
    /// (`None`: no such user any more). Asked only for an approval.
    pub drafters: &'a [(String, Option<Actor>)],
}

/// Decides a move of proposal `id` by `actor` (the actor's right to make it from the towns
/// recorded at the last save is checked first, by [`may_move`]). Returns the reason to record:
/// the trimmed, non-empty `reason` of the request.
pub fn decide_move(
    actor: &Actor,
    id: i64,
    moving: &Moving,
    request: &Move,
) -> Result<Option<String>, Refusal> {
    may_move(actor, moving.towns, moving.status, request.to)?;
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    match request.to {
        Status::Submitted => {
            super::vote_allows_submission(moving.vote, moving.document, moving.vote_rule)
                .map_err(Refusal::Unprocessable)?;
            refuse_failing(moving.report, "submitted")?;
        }
        Status::Rejected if reason.is_none() => {
            return Err(Refusal::Unprocessable(Message::new(
                "procedure.reason_required",
                "`reason`: a rejection must say why",
            )));
        }
        Status::Approved => {
            refuse_failing(moving.report, "approved")?;
            drafters_hold(id, moving.drafters, moving.towns)?;
        }
        _ => {}
    }
    Ok(reason)
}

/// A proposal whose validation fails can be neither submitted nor approved.
fn refuse_failing(report: &Report, to: &str) -> Result<(), Refusal> {
    if report.verdict != Verdict::Fail {
        return Ok(());
    }
    let failing: Vec<String> = report
        .checks
        .iter()
        .chain(report.parts.iter().flat_map(|p| p.checks.iter()))
        .filter(|c| c.verdict == Verdict::Fail)
        .map(|c| c.rule.to_string())
        .collect();
    Err(Refusal::Unprocessable(
        Message::new(
            "procedure.validation_fails",
            format!(
                "a proposal whose validation fails cannot be {to}; failing: {}",
                failing.join(", ")
            ),
        )
        .with("to", to)
        .with("failing", failing),
    ))
}

/// Defence in depth for an approval: every street official who drafted the proposal must hold
/// every town it touches now, so a proposal that reached `submitted` by any other way still
/// cannot change another town's land.
fn drafters_hold(
    id: i64,
    drafters: &[(String, Option<Actor>)],
    towns: &[String],
) -> Result<(), Refusal> {
    for (name, drafter) in drafters {
        match drafter.as_ref().map(|d| may_draft(d, towns, "draft")) {
            Some(Ok(())) => {}
            Some(Err(refusal)) => {
                return Err(Refusal::Forbidden(
                    Message::new(
                        "procedure.drafter_lacks_town",
                        format!(
                            "proposal {id} cannot be approved: it was drafted by {name}, and {refusal}"
                        ),
                    )
                    .with("id", id)
                    .with("drafter", name.as_str())
                    .with("town", refusal.message().params.get("town").cloned().unwrap_or_default()),
                ));
            }
            None => {
                return Err(Refusal::Forbidden(
                    Message::new(
                        "procedure.drafter_gone",
                        format!(
                            "proposal {id} cannot be approved: it was drafted by {name}, who is not a user (any more)"
                        ),
                    )
                    .with("id", id)
                    .with("drafter", name.as_str()),
                ));
            }
        }
    }
    Ok(())
}

/// The registry an approval was prepared on must still be the current one.
pub fn same_registry(prepared: i64, current: i64) -> Result<(), Refusal> {
    if prepared == current {
        return Ok(());
    }
    Err(Refusal::Conflict(
        Message::new(
            "procedure.registry_changed",
            format!(
                "the registry changed while this approval was prepared (version {current} is now current); try again"
            ),
        )
        .with("version", current),
    ))
}

/// The day an approval takes effect (`YYYY-MM-DD`): the requested day or today, neither in the
/// future nor before `current`, the day from when the current version holds.
pub fn effective_day(
    requested: Option<time::Date>,
    today: time::Date,
    current: Option<&str>,
) -> Result<String, Refusal> {
    let effective = requested.unwrap_or(today);
    let day = effective
        .format(DAY)
        .map_err(|e| Refusal::Unprocessable(Message::new("input.bad_date", e.to_string())))?;
    if effective > today {
        return Err(Refusal::Unprocessable(
            Message::new(
                "procedure.effective_future",
                format!(
                    "`effective` {day} is in the future: approvals take effect today or on an earlier day"
                ),
            )
            .with("effective", day.as_str()),
        ));
    }
    if let Some(prev) = current.filter(|p| *p > day.as_str()) {
        return Err(Refusal::Unprocessable(
            Message::new(
                "procedure.effective_before",
                format!("`effective` {day} is before {prev}, from when the current version holds"),
            )
            .with("effective", day.as_str())
            .with("current", prev),
        ));
    }
    Ok(day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;
    use crate::rules::{BeforeAfter, Check, ProposalKind, RuleId, Severity, Totals};
    use time::macros::date;

    const TOWN: &str = "442000005";

    fn street() -> Actor {
        Actor {
            user: "street".into(),
            role: Role::Street,
            towns: vec![TOWN.into()],
        }
    }

    fn reviewer() -> Actor {
        Actor {
            user: "reviewer".into(),
            role: Role::Reviewer,
            towns: vec![],
        }
    }

    /// A validation report with one proposal-wide check of `verdict`.
    fn report(verdict: Verdict) -> Report {
        let zero = Totals {
            households: 0.0,
            population: 0.0,
            service_households: 0.0,
            workers: 0,
            households_per_worker: None,
            office_area_m2: 0.0,
        };
        Report {
            kind: ProposalKind::Split,
            title: "t".into(),
            parents: vec![],
            verdict,
            parts: vec![],
            checks: vec![Check {
                rule: RuleId::PartsCoverParents,
                verdict,
                severity: Severity::Fail,
                min: None,
                max: None,
                measured: Some(0.0),
                message: String::new(),
            }],
            before_after: BeforeAfter {
                before: zero,
                after: zero,
                parts: vec![],
            },
            offences: vec![],
        }
    }

    fn request(to: Status, reason: Option<&str>) -> Move {
        Move {
            to,
            reason: reason.map(str::to_owned),
            effective: None,
        }
    }

    fn tally(in_favour: u32, against: u32) -> Tally {
        Tally {
            in_favour,
            against,
            abstain: 0,
            eligible: None,
        }
    }

    /// Decides `request` by `actor` on a proposal of TOWN in `status`, voted on by `vote` (on
    /// document "d"), validated as `verdict`, drafted by `drafters`.
    fn decide(
        actor: &Actor,
        status: Status,
        verdict: Verdict,
        vote: Option<Tally>,
        drafters: &[(String, Option<Actor>)],
        request: &Move,
    ) -> Result<Option<String>, Refusal> {
        let towns = [TOWN.to_owned()];
        let report = report(verdict);
        let cast = vote.map(|tally| CastVote {
            tally,
            document: Some("d".into()),
        });
        let moving = Moving {
            status,
            towns: &towns,
            report: &report,
            vote: cast.as_ref(),
            document: "d",
            vote_rule: &VoteRule::default(),
            drafters,
        };
        decide_move(actor, 7, &moving, request)
    }

    fn unprocessable(r: Result<Option<String>, Refusal>, says: &str) {
        assert!(
            matches!(&r, Err(Refusal::Unprocessable(m)) if m.contains(says)),
            "{r:?} should say {says:?}"
        );
    }

    #[test]
    fn submission_needs_a_passed_vote_and_no_failing_check() {
        let to = request(Status::Submitted, None);
        let (s, pass, fail) = (street(), Verdict::Pass, Verdict::Fail);
        let passed = Some(tally(60, 40));
        assert_eq!(decide(&s, Status::Vote, pass, passed, &[], &to), Ok(None));
        unprocessable(decide(&s, Status::Vote, pass, None, &[], &to), "no vote");
        let lost = Some(tally(40, 60));
        unprocessable(
            decide(&s, Status::Vote, pass, lost, &[], &to),
            "did not pass",
        );
        unprocessable(
            decide(&s, Status::Vote, fail, passed, &[], &to),
            "cannot be submitted; failing: parts_cover_parents",
        );
        // The reviewer may not submit; a draft cannot jump to submitted.
        let r = decide(&reviewer(), Status::Vote, pass, passed, &[], &to);
        assert!(matches!(r, Err(Refusal::Forbidden(_))), "{r:?}");
        let r = decide(&s, Status::Draft, pass, passed, &[], &to);
        assert!(matches!(r, Err(Refusal::Conflict(_))), "{r:?}");
    }

    #[test]
    fn a_rejection_says_why_and_the_reason_is_trimmed() {
        let r = reviewer();
        for blank in [None, Some("  ")] {
            let to = request(Status::Rejected, blank);
            unprocessable(
                decide(&r, Status::Submitted, Verdict::Pass, None, &[], &to),
                "must say why",
            );
        }
        let to = request(Status::Rejected, Some(" too large \n"));
        let decided = decide(&r, Status::Submitted, Verdict::Pass, None, &[], &to);
        assert_eq!(decided, Ok(Some("too large".into())));
    }

    #[test]
    fn an_approval_needs_a_passing_validation_and_drafters_holding_every_town() {
        let (r, to) = (reviewer(), request(Status::Approved, None));
        let held = [("street".to_owned(), Some(street()))];
        let at = Status::Submitted;
        assert_eq!(decide(&r, at, Verdict::Warn, None, &held, &to), Ok(None));
        unprocessable(
            decide(&r, at, Verdict::Fail, None, &held, &to),
            "cannot be approved",
        );
        let elsewhere = Actor {
            towns: vec!["442000001".into()],
            ..street()
        };
        let other = [("other".to_owned(), Some(elsewhere))];
        let refused = decide(&r, at, Verdict::Pass, None, &other, &to);
        assert!(
            matches!(&refused, Err(Refusal::Forbidden(m)) if m.contains("drafted by other")),
            "{refused:?}"
        );
        let gone = [("gone".to_owned(), None)];
        let refused = decide(&r, at, Verdict::Pass, None, &gone, &to);
        assert!(
            matches!(&refused, Err(Refusal::Forbidden(m)) if m.contains("not a user")),
            "{refused:?}"
        );
    }

    #[test]
    fn the_effective_day_lies_between_the_current_version_and_today() {
        let today = date!(2026 - 03 - 10);
        assert_eq!(effective_day(None, today, None), Ok("2026-03-10".into()));
        let earlier = Some(date!(2026 - 03 - 01));
        assert_eq!(
            effective_day(earlier, today, Some("2026-02-01")),
            Ok("2026-03-01".into())
        );
        let future = effective_day(Some(date!(2026 - 03 - 11)), today, None);
        assert!(matches!(future, Err(Refusal::Unprocessable(m)) if m.contains("in the future")));
        let before = effective_day(earlier, today, Some("2026-03-05"));
        assert!(
            matches!(before, Err(Refusal::Unprocessable(m)) if m.contains("before 2026-03-05"))
        );
        assert_eq!(same_registry(3, 3), Ok(()));
        assert!(
            matches!(same_registry(3, 4), Err(Refusal::Conflict(m)) if m.contains("version 4"))
        );
    }

    #[test]
    fn comments_and_votes_are_checked_before_they_are_recorded() {
        let (s, towns) = (street(), [TOWN.to_owned()]);
        let at = Status::Consultation;
        assert_eq!(comment(&s, &towns, at, "同意", Some("居民")), Ok(()));
        let empty = comment(&s, &towns, at, " \n", None);
        assert!(matches!(empty, Err(Refusal::Unprocessable(m)) if m.contains("cannot be empty")));
        let r = comment(&s, &towns, Status::Draft, "同意", None);
        assert!(matches!(r, Err(Refusal::Conflict(_))), "{r:?}");
        let rule = VoteRule::default();
        assert_eq!(
            vote(&s, &towns, Status::Vote, &tally(6, 4), &rule),
            Ok(true)
        );
        assert_eq!(
            vote(&s, &towns, Status::Vote, &tally(5, 5), &rule),
            Ok(false)
        );
        let none = vote(&s, &towns, Status::Vote, &tally(0, 0), &rule);
        assert!(matches!(none, Err(Refusal::Unprocessable(m)) if m.contains("no votes")));
    }
}
