//! The city's establishment guidelines (`guidelines.toml`) and their evaluation.
//!
//! Pure domain code: thresholds and severities come from configuration, never from code, so the
//! bureau can change a number without a release.

mod apply;
pub mod catalogue;
mod grid_groups;
mod guidelines;
mod proposal;
mod split;
pub mod suggest;
mod town;
mod validate;

pub use apply::{ApplyError, Change, GridMove, plan};
pub use catalogue::RuleId;
pub use grid_groups::{GridGroups, GridShare, grid_assignment, grid_groups_by_lines};
pub use guidelines::{
    AuditTolerances, Guidelines, GuidelinesError, Rule, Severity, VoteBase, VoteRule,
};
pub use proposal::{Part, Proposal, ProposalError, ProposalKind, parse};
pub use split::{SNAP_WIDTH_M, SplitError, split_by_groups, split_by_line};
pub use town::{home_town, touched_towns, towns_of};
pub use validate::{
    BeforeAfter, Check, CutGrid, Measures, Offence, PartReport, RegistryBoxes, Report, Totals,
    Verdict, validate, validate_with,
};
