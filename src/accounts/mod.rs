//! Who may do what: roles, jurisdictions and the permission rules of the approval procedure.
//!
//! Pure domain code: the store keeps users, password hashes, sessions and tokens; the API turns
//! credentials into an [`Actor`] and asks it before every write.

pub mod credentials;
pub mod throttle;

use serde::{Deserialize, Serialize};

/// A user's role. Roles do not nest: a reviewer does not draft, an admin does not approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
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

/// A role name that is none of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: one of viewer, street, reviewer, admin")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::parse(s).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// Names the command line writes into the audit log as actor; no account may take them, so a
/// log entry's actor always says whether a person or the operator's shell acted.
pub const RESERVED_NAMES: [&str; 2] = ["cli", "system"];
/// Longest user name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Why a user cannot be created as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUser {
    #[error(
        "user name {0:?}: use 1 to {MAX_NAME_CHARS} letters, digits, '.', '_', '-' or '@' (no spaces)"
    )]
    Name(String),
    #[error("user name {0:?} is reserved for the audit log")]
    Reserved(String),
    #[error("town code {0:?} is not 9 digits (6-digit city and 3-digit town, e.g. 442000005)")]
    TownCode(String),
    #[error("a street user needs at least one town code (its jurisdiction)")]
    StreetWithoutTowns,
    #[error("role {0} has no jurisdiction: give no town codes (only street users have towns)")]
    TownsForRole(&'static str),
}

/// A user as it is to be created: name, role and jurisdiction, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    /// Sorted, without duplicates.
    pub towns: Vec<String>,
}

impl NewUser {
    /// Checks the name (letters, digits, `._-@`, not reserved), that town codes are 9 digits,
    /// and that exactly the `street` role has towns.
    pub fn new(name: &str, role: Role, towns: &[String]) -> Result<NewUser, InvalidUser> {
        check_name(name)?;
        let mut towns: Vec<String> = towns.iter().map(|t| t.trim().to_owned()).collect();
        if let Some(bad) = towns
            .iter()
            .find(|t| t.len() != 9 || !t.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(InvalidUser::TownCode(bad.clone()));
        }
        towns.sort();
        towns.dedup();
        match role {
            Role::Street if towns.is_empty() => return Err(InvalidUser::StreetWithoutTowns),
            Role::Street => {}
            other if !towns.is_empty() => return Err(InvalidUser::TownsForRole(other.as_str())),
            _ => {}
        }
        Ok(NewUser {
            name: name.to_owned(),
            role,
            towns,
        })
    }
}

/// Longest API token label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;

/// A token's label says what system holds it (“grid work orders”), so that an administrator
/// knows what breaks when revoking it: 1–200 characters, no control characters or
/// bidirectional overrides ([`crate::text::check`]).
pub fn check_token_label(label: &str) -> Result<(), String> {
    let chars = label.trim().chars().count();
    if chars == 0 {
        return Err("the token label is empty; say which system will use the token".to_owned());
    }
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(format!(
            "the token label has {} characters; at most {MAX_LABEL_CHARS} are accepted",
            label.chars().count()
        ));
    }
    crate::text::check(label, MAX_LABEL_CHARS, false).map_err(|e| format!("the token label: {e}"))
}

/// A user name is 1–64 letters (any script: officials have Chinese names), digits or `._-@`.
pub fn check_name(name: &str) -> Result<(), InvalidUser> {
    let chars = name.chars().count();
    if chars == 0
        || chars > MAX_NAME_CHARS
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(InvalidUser::Name(name.to_owned()));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(InvalidUser::Reserved(name.to_owned()));
    }
    Ok(())
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
    fn new_users_are_checked() {
        let towns = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let u = NewUser::new(
            "张三",
            Role::Street,
            &towns(&["442000005", "442000001", "442000005"]),
        )
        .unwrap();
        assert_eq!(u.towns, towns(&["442000001", "442000005"]));
        assert!(NewUser::new("r.wang@mz", Role::Reviewer, &[]).is_ok());
        assert_eq!(
            NewUser::new("a b", Role::Viewer, &[]),
            Err(InvalidUser::Name("a b".into()))
        );
        assert_eq!(
            NewUser::new("", Role::Viewer, &[]),
            Err(InvalidUser::Name("".into()))
        );
        assert!(NewUser::new(&"x".repeat(65), Role::Viewer, &[]).is_err());
        assert_eq!(
            NewUser::new("cli", Role::Admin, &[]),
            Err(InvalidUser::Reserved("cli".into()))
        );
        assert_eq!(
            NewUser::new("s", Role::Street, &towns(&["44200005"])),
            Err(InvalidUser::TownCode("44200005".into()))
        );
        assert_eq!(
            NewUser::new("s", Role::Street, &[]),
            Err(InvalidUser::StreetWithoutTowns)
        );
        assert_eq!(
            NewUser::new("s", Role::Admin, &towns(&["442000005"])),
            Err(InvalidUser::TownsForRole("admin"))
        );
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert!(
            "root"
                .parse::<Role>()
                .unwrap_err()
                .to_string()
                .contains("unknown role \"root\"")
        );
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
