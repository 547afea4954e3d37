//! Taking a loan out of cover after enrolment (it proves ineligible: a dishonesty record
//! surfaces, the loan was misrepresented), and what that undoes.
//!
//! * an open loan's exposure and the bank's quota are freed, as when it closes;
//! * a claim awaiting approval is cancelled;
//! * a decided claim's compensation is undone: what the pool had not paid (compensation −
//!   paid) is no longer payable; what it had paid, less the pool's part of the recoveries
//!   (which the bank pays or paid anyway, and whose income is undone instead), becomes a
//!   clawback receivable from the bank, netted on the bank's next statement like a recovery;
//! * the claim's compensation no longer counts against the bank's annual cap or its cohort's;
//! * when the loan has compensation, two different risk officers must exclude it, for the
//!   same reason (four eyes).

use crate::claims::ClaimStatus;
use crate::loan::LoanStatus;
use crate::money::Money;
use crate::terms::ExclusionReason;

/// What an exclusion undoes of a decided claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Undo {
    /// Paid compensation the bank owes back: paid − the pool's recoveries.
    pub clawback: Money,
    /// Compensation approved and not paid, no longer payable: compensation − paid.
    pub cancelled: Money,
    /// The pool's part of the recoveries, whose income is undone.
    pub recoveries_undone: Money,
}

impl Undo {
    /// The compensation expense undone: clawback + cancelled + recoveries undone (the whole
    /// compensation).
    pub fn expense_undone(&self) -> Money {
        Money::from_fen(self.clawback.fen() + self.cancelled.fen() + self.recoveries_undone.fen())
    }
}

/// A decided claim as an exclusion sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecidedClaim {
    /// Compensation approved.
    pub compensation: Money,
    /// Settled so far (netted or paid).
    pub paid: Money,
    /// The pool's part of the recoveries reported.
    pub pool_recoveries: Money,
}

/// What excluding the loan undoes of its decided claim, or why it cannot be undone now.
pub fn undo(claim: DecidedClaim) -> Result<Undo, ExclusionError> {
    if claim.pool_recoveries > claim.paid {
        return Err(ExclusionError::RecoveriesAbovePaid { recoveries: claim.pool_recoveries, paid: claim.paid });
    }
    Ok(Undo {
        clawback: claim.paid.saturating_sub(claim.pool_recoveries),
        cancelled: claim.compensation.saturating_sub(claim.paid),
        recoveries_undone: claim.pool_recoveries,
    })
}

/// Officers an exclusion needs: two when the loan has compensation (four eyes), else one.
pub fn approvals_required(compensation: Money) -> u32 {
    if compensation.fen() > 0 { 2 } else { 1 }
}

/// Whether a loan in `status` may be excluded: not once repaid (its cover ended) or
/// excluded already.
pub fn check_excludable(loan: &str, status: LoanStatus) -> Result<(), ExclusionError> {
    match status {
        LoanStatus::Repaid | LoanStatus::Excluded => {
            Err(ExclusionError::NotExcludable { loan: loan.to_owned(), status })
        }
        _ => Ok(()),
    }
}

/// A second officer's exclusion of a loan another officer asked to exclude.
pub fn check_second(
    first_officer: &str,
    first: ExclusionReason,
    officer: &str,
    reason: ExclusionReason,
) -> Result<(), ExclusionError> {
    if first_officer == officer {
        return Err(ExclusionError::SameOfficer);
    }
    if first != reason {
        return Err(ExclusionError::ReasonsDiffer { first, this: reason });
    }
    Ok(())
}

/// The status of a claim on an excluded loan: cancelled, whatever it was (a rejected claim
/// stays rejected).
pub fn claim_status_after(status: ClaimStatus) -> ClaimStatus {
    if status == ClaimStatus::Rejected { ClaimStatus::Rejected } else { ClaimStatus::Cancelled }
}

/// Why a loan cannot be excluded as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExclusionError {
    /// Repaid or excluded already.
    #[error("{loan} is {status}: only a loan under cover can be excluded")]
    NotExcludable {
        /// The loan's resource name.
        loan: String,
        /// Its status.
        status: LoanStatus,
    },
    /// The pool got more back than it paid out: settle the bank's statement first.
    #[error(
        "the pool's part of the recoveries, {recoveries}, is more than the {paid} of compensation settled so far: settle the bank's statement first"
    )]
    RecoveriesAbovePaid {
        /// The pool's recoveries.
        recoveries: Money,
        /// Compensation settled.
        paid: Money,
    },
    /// A confirmed statement still owes the bank this claim's compensation.
    #[error(
        "{statement} still owes the bank {open} for {claim}: record or carry its payment before excluding the loan"
    )]
    StatementOpen {
        /// The statement.
        statement: String,
        /// The claim.
        claim: String,
        /// What it still owes.
        open: Money,
    },
    /// Four eyes: the same officer twice.
    #[error("the second exclusion must come from a different risk officer")]
    SameOfficer,
    /// Four eyes: two reasons.
    #[error("the first officer excluded the loan for {first}, this one for {this}: both must give the same reason")]
    ReasonsDiffer {
        /// The first officer's reason.
        first: ExclusionReason,
        /// This one's.
        this: ExclusionReason,
    },
}

impl crate::Rule for ExclusionError {
    fn reason(&self) -> &'static str {
        match self {
            ExclusionError::NotExcludable { .. } => "LOAN_NOT_EXCLUDABLE",
            ExclusionError::RecoveriesAbovePaid { .. } => "EXCLUSION_RECOVERIES_ABOVE_PAID",
            ExclusionError::StatementOpen { .. } => "EXCLUSION_STATEMENT_OPEN",
            ExclusionError::SameOfficer => "SAME_APPROVER",
            ExclusionError::ReasonsDiffer { .. } => "EXCLUSION_REASONS_DIFFER",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rule;

    fn money(text: &str) -> Money {
        Money::parse_signed(text).unwrap()
    }

    #[test]
    fn a_paid_claim_becomes_a_clawback_less_the_pools_recoveries() {
        // 1,680,000.00 approved and paid; a 600,000.00 recovery gave the pool 420,000.00.
        let claim = DecidedClaim {
            compensation: money("1680000.00"),
            paid: money("1680000.00"),
            pool_recoveries: money("420000.00"),
        };
        let undo = undo(claim).unwrap();
        assert_eq!(
            undo,
            Undo { clawback: money("1260000.00"), cancelled: Money::ZERO, recoveries_undone: money("420000.00") }
        );
        assert_eq!(undo.expense_undone(), money("1680000.00"), "the whole expense is undone");
    }

    #[test]
    fn what_was_not_paid_is_cancelled_and_a_part_payment_is_clawed_back() {
        // 1,680,000.00 approved, 500,000.00 paid for want of cash: 1,180,000.00 cancelled.
        let part =
            DecidedClaim { compensation: money("1680000.00"), paid: money("500000.00"), pool_recoveries: Money::ZERO };
        let undo = undo(part).unwrap();
        assert_eq!((undo.clawback, undo.cancelled), (money("500000.00"), money("1180000.00")));
        let unpaid = DecidedClaim { compensation: money("0.01"), paid: Money::ZERO, pool_recoveries: Money::ZERO };
        assert_eq!(super::undo(unpaid).unwrap().cancelled, money("0.01"));
    }

    #[test]
    fn recoveries_above_what_was_paid_wait_for_the_statement() {
        let early =
            DecidedClaim { compensation: money("100.00"), paid: money("10.00"), pool_recoveries: money("10.01") };
        let refused = undo(early).unwrap_err();
        assert_eq!(refused.reason(), "EXCLUSION_RECOVERIES_ABOVE_PAID");
        assert!(refused.to_string().contains("10.01") && refused.to_string().contains("10.00"), "{refused}");
        let equal =
            DecidedClaim { compensation: money("100.00"), paid: money("10.00"), pool_recoveries: money("10.00") };
        assert_eq!(undo(equal).unwrap().clawback, Money::ZERO);
    }

    #[test]
    fn four_eyes_when_there_is_compensation_and_only_covered_loans() {
        assert_eq!(approvals_required(Money::ZERO), 1);
        assert_eq!(approvals_required(money("0.01")), 2);
        assert!(check_excludable("loans/1", LoanStatus::Compensated).is_ok());
        assert!(
            check_excludable("loans/1", LoanStatus::Closed).is_ok(),
            "a written-off loan's compensation is clawed back"
        );
        assert_eq!(check_excludable("loans/1", LoanStatus::Repaid).unwrap_err().reason(), "LOAN_NOT_EXCLUDABLE");
        assert_eq!(check_excludable("loans/1", LoanStatus::Excluded).unwrap_err().reason(), "LOAN_NOT_EXCLUDABLE");
        use ExclusionReason::*;
        assert!(check_second("k1", DishonestyRecord, "k2", DishonestyRecord).is_ok());
        assert_eq!(check_second("k1", DishonestyRecord, "k1", DishonestyRecord).unwrap_err().reason(), "SAME_APPROVER");
        assert_eq!(
            check_second("k1", DishonestyRecord, "k2", Misrepresentation).unwrap_err().reason(),
            "EXCLUSION_REASONS_DIFFER"
        );
        assert_eq!(claim_status_after(ClaimStatus::Paid), ClaimStatus::Cancelled);
        assert_eq!(claim_status_after(ClaimStatus::Rejected), ClaimStatus::Rejected);
    }
}
