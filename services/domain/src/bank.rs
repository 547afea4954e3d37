//! Partner banks.

use std::fmt;

/// A bank's standing with the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BankStatus {
    /// Normal operation.
    Active,
    /// NPL ratio above the watch threshold: new applications are referred.
    Watch,
    /// Suspended: no new enrolments.
    Suspended,
}

/// An unknown stored bank status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown bank status {0:?}")]
pub struct BankStatusParseError(pub String);

impl BankStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BankStatus::Active => "ACTIVE",
            BankStatus::Watch => "WATCH",
            BankStatus::Suspended => "SUSPENDED",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Result<BankStatus, BankStatusParseError> {
        match text {
            "ACTIVE" => Ok(BankStatus::Active),
            "WATCH" => Ok(BankStatus::Watch),
            "SUSPENDED" => Ok(BankStatus::Suspended),
            other => Err(BankStatusParseError(other.to_owned())),
        }
    }
}

impl fmt::Display for BankStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
