//! Whether an approved application may be enrolled into cover: the rules of `EnrollLoan`,
//! as plain functions over plain figures.
//!
//! Two groups, checked in this order:
//! * the **approval** ([`check_approval`]): the application is APPROVED and unexpired, and
//!   the loan keeps within it: amount, the rate cap on the disbursement date, the enrolment
//!   deadline after disbursement, the approved term;
//! * the **limits** ([`check_enterprise`], [`check_bank`], [`check_pool`]): the enterprise's
//!   covered total within its grade's cap (across banks), the bank active and within its
//!   quota, the pool not suspended and its covered outstanding within max leverage × net
//!   pool assets ([`position::capacity`], the same figure the position shows as headroom).
//!
//! Each refusal is a [`Refusal`] with a stable `reason()` and the figures behind it.

use chrono::{Days, Months, NaiveDate};
use rust_decimal::Decimal;

use crate::application::LoanTerms;
use crate::bank::BankStatus;
use crate::ids::BankId;
use crate::loan::ApplicationStatus;
use crate::money::Money;
use crate::policy::Policy;
use crate::position;

/// What the bank asks to enrol: the loan as disbursed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disbursement {
    /// Amount disbursed.
    pub amount: Money,
    /// Annual interest rate.
    pub annual_rate: Decimal,
    /// Disbursement date.
    pub date: NaiveDate,
    /// Maturity date.
    pub maturity_date: NaiveDate,
}

/// The approval an enrolment draws on.
#[derive(Debug, Clone, Copy)]
pub struct Approval<'a> {
    /// The application's status as of the business date.
    pub status: ApplicationStatus,
    /// The loan it was enrolled as, once enrolled.
    pub loan_id: Option<i64>,
    /// When the approval lapses.
    pub expire_date: Option<NaiveDate>,
    /// The approved terms.
    pub terms: &'a LoanTerms,
}

/// A bank's standing as the limits see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankStanding {
    /// The bank.
    pub bank_id: BankId,
    /// Its status.
    pub status: BankStatus,
    /// Why, when not active.
    pub status_reason: String,
    /// Its coverage quota.
    pub quota: Money,
    /// Covered outstanding of its loans.
    pub quota_used: Money,
}

/// The pool's running totals as the limits see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStanding {
    /// Covered outstanding of loans not closed.
    pub covered_outstanding: Money,
    /// Net pool assets.
    pub net_pool_assets: Money,
    /// Committed capital.
    pub committed_capital: Money,
    /// Suspended by hand.
    pub suspended: bool,
    /// Why, when suspended by hand.
    pub suspension_reason: String,
}

/// Why the pool is suspended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suspension {
    /// A risk officer suspended it, for this reason.
    ByHand(String),
    /// Net pool assets fell below the policy's share of committed capital.
    BelowFloor {
        /// The floor.
        floor: Money,
        /// The policy's share of committed capital.
        ratio: Decimal,
    },
}

/// Why an enrolment is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The application was enrolled already.
    #[error("application is already enrolled as loans/{loan_id}")]
    AlreadyEnrolled {
        /// Its loan.
        loan_id: i64,
    },
    /// The approval lapsed.
    #[error("the approval expired on {}; submit a new application", date_text(*.expired_on))]
    ApprovalExpired {
        /// When it lapsed.
        expired_on: Option<NaiveDate>,
    },
    /// The application is not approved.
    #[error("application is {status}; only APPROVED applications can be enrolled")]
    NotApproved {
        /// Its status.
        status: ApplicationStatus,
    },
    /// More was disbursed than approved.
    #[error("disbursed amount {disbursed} is above the approved amount {approved}")]
    DisbursedAboveApproved {
        /// Disbursed.
        disbursed: Money,
        /// Approved.
        approved: Money,
    },
    /// The rate is above the cap on the disbursement date.
    #[error("annual rate {} is above the cap {} on {on}", .rate.normalize(), .cap.normalize())]
    RateAboveCap {
        /// The loan's rate.
        rate: Decimal,
        /// The cap.
        cap: Decimal,
        /// The disbursement date.
        on: NaiveDate,
    },
    /// Enrolled too long after disbursement.
    #[error("loans must be enrolled within {days} days of disbursement: the deadline was {deadline}")]
    DeadlinePassed {
        /// The policy's days.
        days: u32,
        /// The last day.
        deadline: NaiveDate,
    },
    /// Maturity is after the approved term.
    #[error("maturity {maturity} is after the approved term of {term_months} months ({latest})")]
    MaturityBeyondTerm {
        /// The loan's maturity.
        maturity: NaiveDate,
        /// The approved term.
        term_months: u32,
        /// The latest maturity the term allows.
        latest: NaiveDate,
    },
    /// The enterprise's covered total would pass its cap.
    #[error(
        "enterprise {uscc} would have {} covered ({covered} + {requested}), above its cap {cap}",
        after(*.covered, *.requested)
    )]
    EnterpriseCapExceeded {
        /// The enterprise.
        uscc: String,
        /// Covered before.
        covered: Money,
        /// This loan.
        requested: Money,
        /// The cap of its grade.
        cap: Money,
    },
    /// The bank is suspended.
    #[error("bank {bank_id} is suspended: {reason}")]
    BankSuspended {
        /// The bank.
        bank_id: BankId,
        /// Why.
        reason: String,
    },
    /// The bank's quota would be passed.
    #[error(
        "bank {bank_id} would use {} of its quota {quota} ({used} used + {requested})",
        after(*.used, *.requested)
    )]
    BankQuotaExceeded {
        /// The bank.
        bank_id: BankId,
        /// Its quota.
        quota: Money,
        /// Used before.
        used: Money,
        /// This loan.
        requested: Money,
    },
    /// The pool takes no new enrolments.
    #[error("the pool takes no new enrolments: {}", suspension_text(.why, *.net_pool_assets, *.committed_capital))]
    PoolSuspended {
        /// Why.
        why: Suspension,
        /// Net pool assets.
        net_pool_assets: Money,
        /// Committed capital.
        committed_capital: Money,
    },
    /// Covered outstanding would pass max leverage × net pool assets.
    #[error(
        "covered outstanding would be {} ({covered} + {requested}), above {max_leverage} × net pool assets {net_pool_assets} = {capacity}",
        after(*.covered, *.requested)
    )]
    LeverageLimitExceeded {
        /// Covered before.
        covered: Money,
        /// This loan.
        requested: Money,
        /// Net pool assets.
        net_pool_assets: Money,
        /// The policy's maximum.
        max_leverage: Decimal,
        /// The most the pool may cover.
        capacity: Money,
    },
}

fn date_text(date: Option<NaiveDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

fn after(before: Money, added: Money) -> Money {
    Money::from_fen(before.fen().saturating_add(added.fen()))
}

fn suspension_text(why: &Suspension, net: Money, committed: Money) -> String {
    match why {
        Suspension::ByHand(reason) => reason.clone(),
        Suspension::BelowFloor { floor, ratio } => {
            let percent = (ratio * Decimal::ONE_HUNDRED).normalize();
            format!("net pool assets {net} are below {floor}, {percent}% of committed capital {committed}")
        }
    }
}

impl crate::Rule for Refusal {
    fn reason(&self) -> &'static str {
        match self {
            Refusal::AlreadyEnrolled { .. } => "APPLICATION_ALREADY_ENROLLED",
            Refusal::ApprovalExpired { .. } => "APPROVAL_EXPIRED",
            Refusal::NotApproved { .. } => "APPLICATION_NOT_APPROVED",
            Refusal::DisbursedAboveApproved { .. } => "DISBURSED_ABOVE_APPROVED",
            Refusal::RateAboveCap { .. } => "RATE_ABOVE_CAP",
            Refusal::DeadlinePassed { .. } => "ENROLMENT_DEADLINE_PASSED",
            Refusal::MaturityBeyondTerm { .. } => "MATURITY_BEYOND_TERM",
            Refusal::EnterpriseCapExceeded { .. } => "ENTERPRISE_CAP_EXCEEDED",
            Refusal::BankSuspended { .. } => "BANK_SUSPENDED",
            Refusal::BankQuotaExceeded { .. } => "BANK_QUOTA_EXCEEDED",
            Refusal::PoolSuspended { .. } => "POOL_SUSPENDED",
            Refusal::LeverageLimitExceeded { .. } => "LEVERAGE_LIMIT_EXCEEDED",
        }
    }

    fn figures(&self) -> Vec<(&'static str, String)> {
        match self {
            Refusal::AlreadyEnrolled { .. } | Refusal::MaturityBeyondTerm { .. } | Refusal::BankSuspended { .. } => {
                Vec::new()
            }
            Refusal::ApprovalExpired { expired_on } => vec![("approval_expire_date", date_text(*expired_on))],
            Refusal::NotApproved { status } => vec![("status", status.to_string())],
            Refusal::DisbursedAboveApproved { disbursed, approved } => {
                vec![("disbursed_amount", disbursed.to_string()), ("approved_amount", approved.to_string())]
            }
            Refusal::RateAboveCap { rate, cap, .. } => {
                vec![("annual_rate", rate.normalize().to_string()), ("rate_cap", cap.normalize().to_string())]
            }
            Refusal::DeadlinePassed { deadline, .. } => vec![("deadline", deadline.to_string())],
            Refusal::EnterpriseCapExceeded { covered, requested, cap, .. } => vec![
                ("enterprise_cap", cap.to_string()),
                ("covered_outstanding", covered.to_string()),
                ("requested", requested.to_string()),
            ],
            Refusal::BankQuotaExceeded { quota, used, requested, .. } => vec![
                ("quota", quota.to_string()),
                ("quota_used", used.to_string()),
                ("requested", requested.to_string()),
            ],
            Refusal::PoolSuspended { net_pool_assets, committed_capital, .. } => vec![
                ("net_pool_assets", net_pool_assets.to_string()),
                ("committed_capital", committed_capital.to_string()),
            ],
            Refusal::LeverageLimitExceeded { covered, requested, net_pool_assets, max_leverage, .. } => vec![
                ("covered_outstanding", covered.to_string()),
                ("net_pool_assets", net_pool_assets.to_string()),
                ("max_leverage", max_leverage.to_string()),
                ("requested", requested.to_string()),
            ],
        }
    }
}

/// Whether the loan may be enrolled under its approval on `today`.
pub fn check_approval(
    policy: &Policy,
    today: NaiveDate,
    approval: &Approval<'_>,
    loan: &Disbursement,
) -> Result<(), Refusal> {
    match approval.status {
        ApplicationStatus::Approved => {}
        ApplicationStatus::Enrolled => {
            return Err(Refusal::AlreadyEnrolled { loan_id: approval.loan_id.unwrap_or_default() });
        }
        ApplicationStatus::Expired => return Err(Refusal::ApprovalExpired { expired_on: approval.expire_date }),
        status => return Err(Refusal::NotApproved { status }),
    }
    let terms = approval.terms;
    if loan.amount > terms.amount {
        return Err(Refusal::DisbursedAboveApproved { disbursed: loan.amount, approved: terms.amount });
    }
    let cap = policy.rate_cap_on(loan.date);
    if loan.annual_rate > cap {
        return Err(Refusal::RateAboveCap { rate: loan.annual_rate, cap, on: loan.date });
    }
    let days = policy.enrolment.max_days_after_disbursement;
    let deadline = loan.date.checked_add_days(Days::new(u64::from(days))).unwrap_or(NaiveDate::MAX);
    if today > deadline {
        return Err(Refusal::DeadlinePassed { days, deadline });
    }
    let latest = loan.date.checked_add_months(Months::new(terms.term_months)).unwrap_or(NaiveDate::MAX);
    if loan.maturity_date > latest {
        return Err(Refusal::MaturityBeyondTerm {
            maturity: loan.maturity_date,
            term_months: terms.term_months,
            latest,
        });
    }
    Ok(())
}

/// The enterprise's covered total after `requested`, if within `cap`.
pub fn check_enterprise(uscc: &str, covered: Money, requested: Money, cap: Money) -> Result<Money, Refusal> {
    match covered.checked_add(requested) {
        Some(after) if after <= cap => Ok(after),
        _ => Err(Refusal::EnterpriseCapExceeded { uscc: uscc.to_owned(), covered, requested, cap }),
    }
}

/// The bank's quota used after `requested`, if the bank is not suspended and it fits.
pub fn check_bank(bank: &BankStanding, requested: Money) -> Result<Money, Refusal> {
    if bank.status == BankStatus::Suspended {
        return Err(Refusal::BankSuspended { bank_id: bank.bank_id.clone(), reason: bank.status_reason.clone() });
    }
    match bank.quota_used.checked_add(requested) {
        Some(after) if after <= bank.quota => Ok(after),
        _ => Err(Refusal::BankQuotaExceeded {
            bank_id: bank.bank_id.clone(),
            quota: bank.quota,
            used: bank.quota_used,
            requested,
        }),
    }
}

/// Why the pool takes no new loans, if it does not.
pub fn suspension(policy: &Policy, pool: &PoolStanding) -> Option<Suspension> {
    if pool.suspended {
        return Some(Suspension::ByHand(pool.suspension_reason.clone()));
    }
    let floor = position::suspension_floor(policy, pool.committed_capital);
    (pool.net_pool_assets < floor)
        .then_some(Suspension::BelowFloor { floor, ratio: policy.pool.suspension_net_assets_ratio })
}

/// The pool's covered outstanding after `requested`, if the pool is not suspended and the
/// total stays within its capacity. `requested` may be zero: whether the totals as they
/// stand still hold.
pub fn check_pool(policy: &Policy, pool: &PoolStanding, requested: Money) -> Result<Money, Refusal> {
    if let Some(why) = suspension(policy, pool) {
        return Err(Refusal::PoolSuspended {
            why,
            net_pool_assets: pool.net_pool_assets,
            committed_capital: pool.committed_capital,
        });
    }
    let capacity = position::capacity(policy, pool.net_pool_assets);
    match pool.covered_outstanding.checked_add(requested) {
        Some(after) if after <= capacity => Ok(after),
        _ => Err(Refusal::LeverageLimitExceeded {
            covered: pool.covered_outstanding,
            requested,
            net_pool_assets: pool.net_pool_assets,
            max_leverage: policy.pool.max_leverage,
            capacity,
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
