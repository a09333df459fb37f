//! The procedure a proposal follows (规范社区设置): draft a plan (制定方案) → consult residents
//! (征求意见) → vote (民主表决) → submit for approval (报请审批) → approved or rejected.
//!
//! Pure domain code: which moves exist, who may make them, and when a vote passes. The store
//! records the moves; the API asks here first.

mod gate;
mod procedure;
pub mod resurvey;

pub use gate::{describe, new_failures, refuse_worse, structural};
pub use procedure::{Move, Moving, comment, decide_move, effective_day, same_registry, vote};

use serde::{Deserialize, Serialize};

use crate::accounts::Actor;
use crate::message::Message;
use crate::rules::{VoteBase, VoteRule};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Consultation,
    Vote,
    Submitted,
    Approved,
    Rejected,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Draft,
        Status::Consultation,
        Status::Vote,
        Status::Submitted,
        Status::Approved,
        Status::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Consultation => "consultation",
            Status::Vote => "vote",
            Status::Submitted => "submitted",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Approved and rejected proposals are closed: nothing more happens to them.
    pub fn is_closed(self) -> bool {
        matches!(self, Status::Approved | Status::Rejected)
    }
}

/// Why a step is refused: the actor may not take it (403), the proposal is not in a state
/// where it exists (409), or the request or the proposal's content does not allow it (422: an
/// empty comment, a vote that did not pass, a rejection without a reason, a failing
/// validation, an effective date out of range).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Forbidden(Message),
    #[error("{0}")]
    Conflict(Message),
    #[error("{0}")]
    Unprocessable(Message),
}

impl Refusal {
    /// What is said, with its code and parameters.
    pub fn message(&self) -> &Message {
        match self {
            Refusal::Forbidden(m) | Refusal::Conflict(m) | Refusal::Unprocessable(m) => m,
        }
    }
}

/// Who takes a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taker {
    /// A `street` user whose jurisdiction holds every town the proposal touches.
    Street,
    /// A `reviewer`.
    Reviewer,
}

/// The moves of the procedure and who makes each. Going back to `draft` from consultation or
/// vote lets the street revise a plan after residents' comments or a failed vote.
fn step(from: Status, to: Status) -> Option<Taker> {
    use Status::*;
    match (from, to) {
        (Draft, Consultation)
        | (Consultation, Vote)
        | (Consultation, Draft)
        | (Vote, Draft)
        | (Vote, Submitted) => Some(Taker::Street),
        (Submitted, Approved) | (Submitted, Rejected) => Some(Taker::Reviewer),
        _ => None,
    }
}

/// Checks that `actor` is a street official holding every one of `towns` (the towns a proposal
/// touches: its parents' and the ones its parts lie in), so that no official can change land of
/// a town outside their jurisdiction by naming it in a proposal of their own town. The refusal
/// names the first town missing.
pub fn may_draft(actor: &Actor, towns: &[String], what: &str) -> Result<(), Refusal> {
    let missing = towns.iter().find(|t| !actor.may_draft_for(t));
    match (towns.is_empty(), missing) {
        (true, _) => Err(Refusal::Forbidden(Message::new(
            "procedure.no_town",
            format!("the proposal lies in no town, so no street official may {what} it"),
        ))),
        (false, None) => Ok(()),
        (false, Some(town)) => Err(Refusal::Forbidden(
            Message::new(
                "procedure.not_your_town",
                if towns.len() == 1 {
                    format!("only a street official of town {town} may {what} its proposals")
                } else {
                    format!(
                        "only a street official of town {town} may {what} this proposal: it touches towns {}, and the official must hold all of them",
                        towns.join(", ")
                    )
                },
            )
            .with("town", town.as_str())
            .with("towns", towns.to_vec()),
        )),
    }
}

/// Checks that `actor` may move a proposal touching `towns` from `from` to `to` (the conditions
/// on the proposal's content — passed vote on this document, validation without `fail`, the
/// audit gate — are checked by the caller).
pub fn may_move(actor: &Actor, towns: &[String], from: Status, to: Status) -> Result<(), Refusal> {
    let Some(taker) = step(from, to) else {
        return Err(no_such_move(
            "procedure.not_allowed",
            "proposal",
            (from, to),
            |s| step(from, s).is_some(),
        ));
    };
    match taker {
        Taker::Street => may_draft(actor, towns, &format!("move to {}", to.as_str())),
        Taker::Reviewer if actor.may_review() => Ok(()),
        Taker::Reviewer => Err(Refusal::Forbidden(
            Message::new(
                "procedure.reviewer_only",
                format!("only a reviewer may move a proposal to {}", to.as_str()),
            )
            .with("to", to.as_str()),
        )),
    }
}

/// The refusal (`code`, 409) of a move from `from` to `to` that the procedure of a `what`
/// ("proposal", "re-survey") does not have, naming the moves `exists` from `from` that it has.
pub(crate) fn no_such_move(
    code: &'static str,
    what: &str,
    (from, to): (Status, Status),
    exists: impl Fn(Status) -> bool,
) -> Refusal {
    let next: Vec<&str> = Status::ALL
        .into_iter()
        .filter(|&s| exists(s))
        .map(Status::as_str)
        .collect();
    let why = if what == "proposal" {
        ""
    } else {
        ": a survey is not put to residents' consultation or vote"
    };
    Refusal::Conflict(
        Message::new(
            code,
            format!(
                "a {} {what} cannot move to {}{why}{}",
                from.as_str(),
                to.as_str(),
                if next.is_empty() {
                    " (it is closed)".to_owned()
                } else {
                    format!(" (only to {})", next.join(" or "))
                }
            ),
        )
        .with("state", from.as_str())
        .with("to", to.as_str())
        .with("next", next),
    )
}

/// Checks that `actor` may change a proposal touching `towns` in `status` by `what` ("edit"
/// needs draft, "comment" consultation, "record a vote" vote); all are the street's.
pub fn may_act(
    actor: &Actor,
    towns: &[String],
    status: Status,
    needs: Status,
    what: &str,
) -> Result<(), Refusal> {
    may_draft(actor, towns, what)?;
    if status != needs {
        return Err(Refusal::Conflict(
            Message::new(
                "procedure.wrong_state",
                format!(
                    "cannot {what} a proposal in {}: only in {}",
                    status.as_str(),
                    needs.as_str()
                ),
            )
            .with("state", status.as_str())
            .with("needs", needs.as_str()),
        ));
    }
    Ok(())
}

/// The vote a submission rests on: the latest recorded tally and the document it was cast on
/// (the SHA-256 of the stored proposal text; `None` for votes recorded before votes were tied to
/// documents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CastVote {
    pub tally: Tally,
    pub document: Option<String>,
}

/// Whether `latest` lets a proposal whose stored text hashes to `document` be submitted: a vote
/// is recorded, it was cast on this very document (residents voted on what is submitted, not on
/// an earlier version edited afterwards), and it passes under `rule`.
pub fn vote_allows_submission(
    latest: Option<&CastVote>,
    document: &str,
    rule: &VoteRule,
) -> Result<(), Message> {
    let Some(vote) = latest else {
        return Err(Message::new(
            "vote.none",
            "no vote is recorded: record the residents' vote first",
        ));
    };
    if vote.document.as_deref() != Some(document) {
        return Err(Message::new(
            "vote.stale",
            "the recorded vote was cast on an earlier version of the proposal, which has been edited since: record the residents' vote on this version first",
        ));
    }
    let t = &vote.tally;
    if !t.passes(rule) {
        let base = match rule.base {
            VoteBase::Cast => "cast",
            VoteBase::Eligible => "eligible",
        };
        return Err(Message::new(
            "vote.failed",
            format!(
                "the vote did not pass ({} for, {} against, {} abstaining; more than {:.0}% of the {} needed)",
                t.in_favour,
                t.against,
                t.abstain,
                rule.pass_share * 100.0,
                match rule.base {
                    VoteBase::Cast => "votes cast",
                    VoteBase::Eligible => "eligible voters",
                }
            ),
        )
        .with("for", t.in_favour)
        .with("against", t.against)
        .with("abstain", t.abstain)
        .with("percent", (rule.pass_share * 100.0).round())
        .with("base", base));
    }
    Ok(())
}

/// A residents' vote as recorded: the tally of one meeting or ballot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tally {
    #[serde(rename = "for")]
    pub in_favour: u32,
    pub against: u32,
    pub abstain: u32,
    /// Everyone entitled to vote (needed when the rule counts eligible voters).
    #[serde(default)]
    pub eligible: Option<u32>,
}

impl Tally {
    pub fn cast(&self) -> u64 {
        self.in_favour as u64 + self.against as u64 + self.abstain as u64
    }

    /// Whether the tally is consistent with `rule` (a base of eligible voters is given and not
    /// below the votes cast), naming what is wrong.
    pub fn check(&self, rule: &VoteRule) -> Result<(), Message> {
        if self.cast() == 0 {
            return Err(Message::new("vote.no_votes", "no votes cast"));
        }
        match (rule.base, self.eligible) {
            (VoteBase::Eligible, None) => Err(Message::new(
                "vote.eligible_required",
                "`eligible` is required: the vote rule counts the share of eligible voters",
            )),
            (_, Some(e)) if (e as u64) < self.cast() => Err(Message::new(
                "vote.eligible_too_small",
                format!("eligible {e} is less than the {} votes cast", self.cast()),
            )
            .with("eligible", e)
            .with("cast", self.cast())),
            _ => Ok(()),
        }
    }

    /// Whether the vote passes under `rule`: votes in favour strictly above the share.
    pub fn passes(&self, rule: &VoteRule) -> bool {
        let base = match rule.base {
            VoteBase::Cast => self.cast() as f64,
            VoteBase::Eligible => self.eligible.unwrap_or(0) as f64,
        };
        base > 0.0 && self.in_favour as f64 > rule.pass_share * base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;

    fn towns(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    fn actor(role: Role) -> Actor {
        Actor {
            user: "u".into(),
            role,
            towns: if role == Role::Street {
                vec!["442000005".into()]
            } else {
                vec![]
            },
        }
    }

    #[test]
    fn the_street_drafts_up_to_submission_and_the_reviewer_decides() {
        use Status::*;
        let street = actor(Role::Street);
        let reviewer = actor(Role::Reviewer);
        for (from, to) in [
            (Draft, Consultation),
            (Consultation, Vote),
            (Vote, Submitted),
        ] {
            assert_eq!(may_move(&street, &towns(&["442000005"]), from, to), Ok(()));
            assert!(matches!(
                may_move(&reviewer, &towns(&["442000005"]), from, to),
                Err(Refusal::Forbidden(_))
            ));
            assert!(matches!(
                may_move(&street, &towns(&["442000001"]), from, to),
                Err(Refusal::Forbidden(_))
            ));
        }
        for to in [Approved, Rejected] {
            assert_eq!(
                may_move(&reviewer, &towns(&["442000005"]), Submitted, to),
                Ok(())
            );
            assert!(matches!(
                may_move(&street, &towns(&["442000005"]), Submitted, to),
                Err(Refusal::Forbidden(_))
            ));
        }
    }

    #[test]
    fn steps_cannot_be_skipped_and_closed_proposals_stay_closed() {
        use Status::*;
        let street = actor(Role::Street);
        let reviewer = actor(Role::Reviewer);
        assert!(matches!(
            may_move(&street, &towns(&["442000005"]), Draft, Submitted),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(
            may_move(&reviewer, &towns(&["442000005"]), Vote, Approved),
            Err(Refusal::Conflict(_))
        ));
        let Err(Refusal::Conflict(m)) =
            may_move(&reviewer, &towns(&["442000005"]), Approved, Draft)
        else {
            panic!("approved proposals are closed")
        };
        assert!(m.contains("closed"), "{m}");
    }

    #[test]
    fn a_vote_passes_with_more_than_the_share() {
        let rule = VoteRule::default();
        let t = |f, a, x| Tally {
            in_favour: f,
            against: a,
            abstain: x,
            eligible: None,
        };
        assert!(t(51, 49, 0).passes(&rule));
        assert!(!t(50, 50, 0).passes(&rule));
        // Abstentions count as votes cast.
        assert!(!t(50, 40, 10).passes(&rule));
        let eligible = VoteRule {
            pass_share: 2.0 / 3.0,
            base: VoteBase::Eligible,
        };
        let with = |f, e| Tally {
            eligible: Some(e),
            ..t(f, 0, 0)
        };
        assert!(with(67, 100).passes(&eligible));
        assert!(!with(66, 100).passes(&eligible));
        assert!(t(10, 0, 0).check(&eligible).is_err());
        assert!(with(10, 5).check(&rule).is_err());
        assert!(t(0, 0, 0).check(&rule).is_err());
    }

    #[test]
    fn every_touched_town_must_be_held() {
        let street = actor(Role::Street);
        assert_eq!(may_draft(&street, &towns(&["442000005"]), "draft"), Ok(()));
        let Err(Refusal::Forbidden(m)) =
            may_draft(&street, &towns(&["442000001", "442000005"]), "draft")
        else {
            panic!("a town outside the jurisdiction is refused")
        };
        assert!(m.contains("442000001") && m.contains("all of them"), "{m}");
        let both = Actor {
            towns: towns(&["442000001", "442000005"]),
            ..street.clone()
        };
        assert_eq!(
            may_draft(&both, &towns(&["442000001", "442000005"]), "draft"),
            Ok(())
        );
        assert!(may_draft(&both, &[], "draft").is_err());
        assert!(may_draft(&actor(Role::Reviewer), &towns(&["442000005"]), "draft").is_err());
        assert!(matches!(
            may_act(&street, &towns(&["442000005", "442000006"]), Status::Draft, Status::Draft, "edit"),
            Err(Refusal::Forbidden(m)) if m.contains("442000006")
        ));
    }

    #[test]
    fn a_vote_holds_only_for_the_document_it_was_cast_on() {
        let rule = VoteRule::default();
        let tally = Tally {
            in_favour: 60,
            against: 40,
            abstain: 0,
            eligible: None,
        };
        let on = |d: Option<&str>| CastVote {
            tally,
            document: d.map(str::to_owned),
        };
        assert_eq!(
            vote_allows_submission(Some(&on(Some("a"))), "a", &rule),
            Ok(())
        );
        let edited = vote_allows_submission(Some(&on(Some("a"))), "b", &rule);
        assert!(matches!(edited, Err(m) if m.contains("earlier version")));
        assert!(vote_allows_submission(Some(&on(None)), "a", &rule).is_err());
        assert!(vote_allows_submission(None, "a", &rule).is_err());
        let failed = CastVote {
            tally: Tally {
                in_favour: 40,
                against: 60,
                ..tally
            },
            document: Some("a".into()),
        };
        assert!(matches!(
            vote_allows_submission(Some(&failed), "a", &rule),
            Err(m) if m.contains("did not pass")
        ));
    }
}
