//! The procedure of a re-survey (kind `resurvey`): the surveying unit's data is the
//! authoritative ground truth of where boundaries run, not a plan the residents decide on, so it
//! skips consultation and vote. It is staged as a `draft` by an admin or reviewer (the
//! importer), moved to `submitted` by an admin or reviewer, and approved by a reviewer who is
//! neither its importer nor its submitter (four eyes: nobody publishes their own upload). It can
//! be rejected (with a reason) from draft or submitted by an admin or reviewer. Its document
//! cannot be edited: a corrected survey is imported again.

use crate::accounts::{Actor, Role};
use crate::message::Message;

use super::{Refusal, Status};

/// The moves a re-survey may make.
fn step(from: Status, to: Status) -> bool {
    use Status::*;
    matches!(
        (from, to),
        (Draft, Submitted) | (Draft, Rejected) | (Submitted, Approved) | (Submitted, Rejected)
    )
}

/// Staff of the bureau: admins and reviewers, who import surveys.
fn is_staff(actor: &Actor) -> bool {
    matches!(actor.role, Role::Admin | Role::Reviewer)
}

/// Checks that `actor` may import a re-survey (an admin or a reviewer).
pub fn may_import(actor: &Actor) -> Result<(), Refusal> {
    if is_staff(actor) {
        return Ok(());
    }
    Err(Refusal::Forbidden(
        Message::new(
            "resurvey.staff_only",
            format!(
                "only an admin or a reviewer may import a re-survey ({} is a {})",
                actor.user,
                actor.role.as_str()
            ),
        )
        .with("role", actor.role.as_str()),
    ))
}

/// Who staged and who submitted a re-survey (for the four-eyes rule).
#[derive(Debug, Clone, Default)]
pub struct Hands {
    pub importer: String,
    pub submitter: Option<String>,
}

/// Decides a move of a re-survey by `actor`; returns the reason to record (trimmed, non-empty).
pub fn decide_move(
    actor: &Actor,
    from: Status,
    to: Status,
    hands: &Hands,
    reason: Option<&str>,
) -> Result<Option<String>, Refusal> {
    if !step(from, to) {
        return Err(super::no_such_move(
            "resurvey.not_allowed",
            "re-survey",
            (from, to),
            |s| step(from, s),
        ));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    match to {
        Status::Approved if !actor.may_review() => Err(Refusal::Forbidden(Message::new(
            "resurvey.reviewer_only",
            "only a reviewer may approve a re-survey",
        ))),
        Status::Approved
            if actor.user == hands.importer
                || hands.submitter.as_deref() == Some(actor.user.as_str()) =>
        {
            Err(Refusal::Forbidden(
                Message::new(
                    "resurvey.four_eyes",
                    format!(
                        "{} imported or submitted this re-survey and so may not approve it: another reviewer must",
                        actor.user
                    ),
                )
                .with("user", actor.user.as_str()),
            ))
        }
        _ if !is_staff(actor) => Err(Refusal::Forbidden(
            Message::new(
                "resurvey.staff_only",
                format!(
                    "only an admin or a reviewer may move a re-survey to {}",
                    to.as_str()
                ),
            )
            .with("role", actor.role.as_str()),
        )),
        Status::Rejected if reason.is_none() => Err(Refusal::Unprocessable(Message::new(
            "procedure.reason_required",
            "`reason`: a rejection must say why",
        ))),
        _ => Ok(reason.map(str::to_owned)),
    }
}

/// A re-survey's document is the survey: it is not edited, commented or voted on.
pub fn not_editable(what: &str) -> Refusal {
    Refusal::Conflict(
        Message::new(
            "resurvey.not_editable",
            format!("a re-survey cannot be {what}: import the corrected survey again instead"),
        )
        .with("what", what),
    )
}

/// A re-survey was compared with registry version `base`; it can move on only while that is
/// still the newest version (otherwise its diff no longer says what approval would change).
pub fn still_current(base: i64, current: i64) -> Result<(), Refusal> {
    if base == current {
        return Ok(());
    }
    Err(Refusal::Conflict(
        Message::new(
            "resurvey.stale",
            format!(
                "the registry changed since this re-survey was staged against version {base} (version {current} is now current): import the survey again to compare it with the registry as it is now"
            ),
        )
        .with("base", base)
        .with("version", current),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(name: &str, role: Role) -> Actor {
        Actor {
            user: name.into(),
            role,
            towns: vec![],
        }
    }

    #[test]
    fn only_staff_import_and_a_second_reviewer_approves() {
        use Status::*;
        assert!(may_import(&actor("a", Role::Admin)).is_ok());
        assert!(may_import(&actor("r", Role::Reviewer)).is_ok());
        assert!(may_import(&actor("s", Role::Street)).is_err());
        let hands = Hands {
            importer: "r1".into(),
            submitter: Some("a".into()),
        };
        let r1 = actor("r1", Role::Reviewer);
        let r2 = actor("r2", Role::Reviewer);
        let admin = actor("a", Role::Admin);
        assert!(decide_move(&admin, Draft, Submitted, &hands, None).is_ok());
        let own = decide_move(&r1, Submitted, Approved, &hands, None);
        assert!(matches!(own, Err(Refusal::Forbidden(m)) if m.code == "resurvey.four_eyes"));
        let submitter = decide_move(&admin, Submitted, Approved, &hands, None);
        assert!(
            matches!(submitter, Err(Refusal::Forbidden(m)) if m.code == "resurvey.reviewer_only")
        );
        assert!(decide_move(&r2, Submitted, Approved, &hands, None).is_ok());
        let street = decide_move(&actor("s", Role::Street), Draft, Submitted, &hands, None);
        assert!(matches!(street, Err(Refusal::Forbidden(m)) if m.code == "resurvey.staff_only"));
        let vote = decide_move(&admin, Draft, Consultation, &hands, None);
        assert!(matches!(vote, Err(Refusal::Conflict(m)) if m.code == "resurvey.not_allowed"));
        let no_reason = decide_move(&r1, Submitted, Rejected, &hands, Some("  "));
        assert!(matches!(no_reason, Err(Refusal::Unprocessable(_))));
        assert_eq!(
            decide_move(&r1, Submitted, Rejected, &hands, Some(" wrong zone ")),
            Ok(Some("wrong zone".into()))
        );
        assert!(still_current(3, 3).is_ok());
        assert!(
            matches!(still_current(3, 4), Err(Refusal::Conflict(m)) if m.code == "resurvey.stale")
        );
    }
}
