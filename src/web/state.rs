//! The state every handler can reach.

use crate::registry::Registry;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The registry's use cases and its database.
    pub registry: Registry,
}
