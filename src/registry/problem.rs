//! Problems found while loading boundary files. The loader collects all of them, so a data
//! maintainer fixes a file in one pass instead of one error per run.

use std::fmt;

/// One problem, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// File name within the data directory, e.g. `communities.geojson`.
    pub file: String,
    /// Index of the feature in the file's `features` array.
    pub feature: Option<usize>,
    /// The feature's code, when it has a readable one.
    pub code: Option<String>,
    /// The property or member concerned, e.g. `households` or `geometry`.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(index) = self.feature {
            write!(f, ": feature {index}")?;
        }
        if let Some(code) = &self.code {
            write!(f, " (code {code})")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a directory could not be loaded; nothing of it was loaded.
#[derive(Debug, Clone, thiserror::Error)]
pub struct LoadError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{n} problem{} in boundary data",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}
