//! The techcredit domain core: policy, money, identifiers, underwriting, compensation
//! arithmetic, state machines and ledger posting rules, as plain Rust over plain types.
//!
//! Invariant: this crate imports neither tonic nor sea-orm. It is tested without a server
//! or a database.

pub mod application;
pub mod auth;
pub mod bank;
pub mod claims;
pub mod examples;
pub mod ids;
pub mod ledger;
pub mod loan;
pub mod money;
pub mod policy;
pub mod position;
pub mod reconcile;
pub mod statement;
pub mod terms;
pub mod underwriting;
pub mod uscc;

pub use auth::{Principal, Role};
pub use bank::{BankStatus, BankStatusParseError};
pub use ids::{BankId, IdError, RequestId};
pub use money::{Money, MoneyError};
pub use policy::{Policy, PolicyError};
pub use uscc::{Uscc, UsccError};
