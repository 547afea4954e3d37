//! What every service handler shares.

use std::sync::Arc;

use domain::Policy;
use store::Store;

/// Shared state of the running server: the store and the policy in force.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The validated policy.
    pub policy: Arc<Policy>,
    /// The policy document as loaded, for `GetPolicy`.
    pub policy_document: Arc<str>,
}
