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

/// The status the NPL ratio calls for: above the suspension threshold SUSPENDED, above the
/// watch threshold WATCH, else ACTIVE. `npl_outstanding ÷ covered_outstanding`; no covered
/// loans means ACTIVE.
pub fn automatic_status(
    policy: &crate::policy::Policy,
    covered_outstanding: crate::money::Money,
    npl_outstanding: crate::money::Money,
) -> BankStatus {
    match npl_ratio(covered_outstanding, npl_outstanding) {
        Some(ratio) if ratio > policy.bank_status.suspend_npl_ratio => BankStatus::Suspended,
        Some(ratio) if ratio > policy.bank_status.watch_npl_ratio => BankStatus::Watch,
        _ => BankStatus::Active,
    }
}

/// NPL ratio, `None` when nothing is covered.
pub fn npl_ratio(
    covered_outstanding: crate::money::Money,
    npl_outstanding: crate::money::Money,
) -> Option<rust_decimal::Decimal> {
    if covered_outstanding.fen() <= 0 {
        return None;
    }
    npl_outstanding.to_decimal().checked_div(covered_outstanding.to_decimal())
}
