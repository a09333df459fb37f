//! A message for people with a stable machine code and its parameters, so that a client can say
//! it in its own language: the web page renders `code` + `params` in Chinese from its catalogue
//! (`web/messages.js`); the English `text` is for logs, the CLI and API users who read English.
//!
//! Domain errors that reach users carry one (a procedure's [`crate::workflow::Refusal`]) or
//! answer `code()`/`params()` themselves ([`crate::rules::split::SplitError`]); the API copies
//! both into its problem documents (`code`, `params`). Codes are `area.what` in snake case and
//! never change meaning; a new kind of message is a new code (and a line in the catalogue).

use serde_json::{Map, Value};

/// A coded message: `code` (e.g. `procedure.not_allowed`), its `params` (named values the
/// wording uses) and the English `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub code: &'static str,
    pub params: Map<String, Value>,
    pub text: String,
}

impl Message {
    pub fn new(code: &'static str, text: impl Into<String>) -> Self {
        Message {
            code,
            params: Map::new(),
            text: text.into(),
        }
    }

    /// The same message with parameter `name` set to `value`.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.params.insert(name.to_owned(), value.into());
        self
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The English text, so that code asking what a message says (`m.contains(…)`) reads it.
impl std::ops::Deref for Message {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}
