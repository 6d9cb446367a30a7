//! The one error for unexpected failures that are neither the user's nor the database's: the
//! system's randomness, password hashing, serialising a value, rendering a template, a calendar.
//! Callers log it once and answer 500; it never carries user data or secrets.

/// An unexpected failure, in words for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unexpected(pub String);

impl Unexpected {
    /// An unexpected failure of `what`, with its cause.
    pub fn new(what: &str, cause: impl std::fmt::Display) -> Self {
        Self(format!("{what}: {cause}"))
    }
}
