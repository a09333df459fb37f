//! Who may do what: roles, jurisdictions and the permission rules of the approval procedure.
//!
//! Pure domain code: the store keeps users, password hashes, sessions and tokens; the API turns
//! credentials into an [`Actor`] and asks it before every write.

use serde::{Deserialize, Serialize};

/// A user's role. Roles do not nest: a reviewer does not draft, an admin does not approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads the registry, proposals and audit.
    Viewer,
    /// A street/town official: drafts proposals for the towns in its jurisdiction and moves them
    /// up to `submitted`.
    Street,
    /// The civil-affairs bureau: approves or rejects submitted proposals of any town; reads the log.
    Reviewer,
    /// Manages users and tokens.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Street, Role::Reviewer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Street => "street",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// An authenticated user as a request acts: name, role and (for `street`) jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub user: String,
    pub role: Role,
    /// Town codes (9 digits) a `street` user may draft for; empty for other roles.
    pub towns: Vec<String>,
}

impl Actor {
    /// May draft, edit and move up to `submitted` the proposals of `town`.
    pub fn may_draft_for(&self, town: &str) -> bool {
        self.role == Role::Street && self.towns.iter().any(|t| t == town)
    }

    /// May approve or reject submitted proposals and read the audit log.
    pub fn may_review(&self) -> bool {
        self.role == Role::Reviewer
    }

    /// May add, disable and list users and issue or revoke their tokens.
    pub fn may_manage_users(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, towns: &[&str]) -> Actor {
        Actor {
            user: "u".into(),
            role,
            towns: towns.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn only_street_users_draft_and_only_for_their_towns() {
        assert!(actor(Role::Street, &["442000005"]).may_draft_for("442000005"));
        assert!(!actor(Role::Street, &["442000005"]).may_draft_for("442000001"));
        for role in [Role::Viewer, Role::Reviewer, Role::Admin] {
            assert!(!actor(role, &["442000005"]).may_draft_for("442000005"));
        }
    }

    #[test]
    fn roles_do_not_nest() {
        assert!(actor(Role::Reviewer, &[]).may_review());
        assert!(!actor(Role::Admin, &[]).may_review());
        assert!(actor(Role::Admin, &[]).may_manage_users());
        assert!(!actor(Role::Reviewer, &[]).may_manage_users());
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }
}
