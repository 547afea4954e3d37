//! The techcredit domain core: policy, money, identifiers, underwriting, compensation
//! arithmetic, state machines and ledger posting rules, as plain Rust over plain types.
//!
//! Invariant: this crate imports neither tonic nor sea-orm. It is tested without a server
//! or a database.

pub mod application;
pub mod audit;
pub mod auth;
pub mod bank;
pub mod claims;
pub mod display;
pub mod enrolment;
pub mod examples;
pub mod exclusion;
pub mod ids;
pub mod ledger;
pub mod loan;
pub mod money;
pub mod policy;
pub mod position;
pub mod reconcile;
pub mod sharing;
pub mod statement;
pub mod terms;
pub mod trail;
pub mod underwriting;
pub mod uscc;

pub use auth::{Principal, Role};

/// A business rule's refusal: a stable reason code for programs, words for people
/// (`Display`) and the figures behind it. The wire maps every one the same way
/// (FAILED_PRECONDITION with the reason and figures in its error details).
pub trait Rule: std::fmt::Display {
    /// Stable reason code, e.g. `BANK_QUOTA_EXCEEDED`.
    fn reason(&self) -> &'static str;

    /// The figures behind the refusal, by name.
    fn figures(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
pub use bank::{BankStatus, BankStatusParseError};
pub use ids::{BankId, IdError, PartyId, RequestId};
pub use money::{Money, MoneyError};
pub use policy::{Policy, PolicyError};
pub use uscc::{Uscc, UsccError};
