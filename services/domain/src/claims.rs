//! Claims, compensation and recoveries: the arithmetic and the rules, as plain functions.
//!
//! * principal loss = outstanding principal on the default date; interest is not covered;
//! * requested compensation = pool share × principal loss;
//! * compensation = min(requested, the bank's remaining cap for the approval's calendar
//!   year), rounded half-up to the fen once, on that final amount — 0.00 when the cap is
//!   used up: the claim is still decided;
//! * an approver may grant less than the entitlement for a stated reason (a partial
//!   approval); under four eyes every approver grants the same amount for the same reason,
//!   and the cap applies to what was granted;
//! * with a portfolio cap rate, Σ compensation on a bank's loans enrolled in one year (the
//!   cohort) ≤ rate × Σ principal the bank enrolled that year, rounded down to the fen: the
//!   cohort's cap, on top of the annual cap; the smaller of the two binds;
//! * a default within the policy's early-default window after enrolment flags the claim
//!   EARLY_DEFAULT, and it needs two approvers whatever its amount;
//! * payment goes through the bank's settlement statement: confirming it nets what each side
//!   owes (`statement::net`), and cash moves only when finance records the transfer; the pool
//!   pays only the cash it has, and what stays unpaid is carried to the next statement;
//! * the pool's part of a recovery = recovery × compensation ÷ principal loss (half-up);
//!   Σ recoveries never exceed the principal loss.

use chrono::{Days, Months, NaiveDate};
use rust_decimal::Decimal;

use crate::money::Money;
use crate::policy::Policy;
use crate::terms::ReductionReason;

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatus {
    /// Awaiting a risk officer.
    Filed,
    /// One of two approvals given.
    PartiallyApproved,
    /// Approved: compensation payable.
    Approved,
    /// Rejected.
    Rejected,
    /// Paid in full.
    Paid,
    /// Its loan was excluded from cover: nothing is payable (paid compensation is clawed back).
    Cancelled,
}

impl ClaimStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Filed => "FILED",
            ClaimStatus::PartiallyApproved => "PARTIALLY_APPROVED",
            ClaimStatus::Approved => "APPROVED",
            ClaimStatus::Rejected => "REJECTED",
            ClaimStatus::Paid => "PAID",
            ClaimStatus::Cancelled => "CANCELLED",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<ClaimStatus> {
        match text {
            "FILED" => Some(ClaimStatus::Filed),
            "PARTIALLY_APPROVED" => Some(ClaimStatus::PartiallyApproved),
            "APPROVED" => Some(ClaimStatus::Approved),
            "REJECTED" => Some(ClaimStatus::Rejected),
            "PAID" => Some(ClaimStatus::Paid),
            "CANCELLED" => Some(ClaimStatus::Cancelled),
            _ => None,
        }
    }
}

/// What a risk officer does to a pending claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approves it.
    Approve,
    /// Rejects it.
    Reject,
}

impl Decision {
    fn past_tense(self) -> &'static str {
        match self {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        }
    }
}

/// What one more approval does to a pending claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStep {
    /// Another officer must approve too (four eyes).
    AwaitsSecond,
    /// The last approval needed: the claim is decided.
    Decides,
}

/// Whether `approver` may approve a claim in `status` that `approvers` approved before
/// (four eyes: never the same officer twice), and what the approval does.
pub fn approve(
    status: ClaimStatus,
    approvers: &[&str],
    required: u32,
    approver: &str,
) -> Result<ApprovalStep, ClaimError> {
    check_pending(status, Decision::Approve)?;
    if approvers.contains(&approver) {
        return Err(ClaimError::SameApprover);
    }
    let given = u32::try_from(approvers.len()).unwrap_or(u32::MAX).saturating_add(1);
    Ok(if given < required { ApprovalStep::AwaitsSecond } else { ApprovalStep::Decides })
}

/// Whether a claim in `status` may still be decided (`action`).
pub fn check_pending(status: ClaimStatus, action: Decision) -> Result<(), ClaimError> {
    match status {
        ClaimStatus::Filed | ClaimStatus::PartiallyApproved => Ok(()),
        ClaimStatus::Approved | ClaimStatus::Rejected | ClaimStatus::Paid | ClaimStatus::Cancelled => {
            Err(ClaimError::NotPending { status, action })
        }
    }
}

/// Why an approval grants less than the entitlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reduction {
    /// The reason's code.
    pub reason: ReductionReason,
    /// The officer's words (required with OTHER).
    pub note: String,
}

/// What one approver grants: the whole entitlement, or less for a stated reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The amount granted before the annual cap; at most the entitlement.
    pub amount: Money,
    /// Why less than the entitlement; `None` when the whole entitlement is granted.
    pub reduction: Option<Reduction>,
}

impl Grant {
    /// The whole entitlement.
    pub fn whole(entitled: Money) -> Grant {
        Grant { amount: entitled, reduction: None }
    }

    fn describe(&self) -> String {
        match &self.reduction {
            None => format!("{} (the whole entitlement)", self.amount),
            Some(r) => format!("{} ({})", self.amount, r.reason),
        }
    }
}

/// An approval's grant that cannot be taken as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantProblem {
    /// A field is missing or does not go with the amount (the caller's mistake).
    Invalid {
        /// The request's field.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A rule refuses it.
    Refused(ClaimError),
}

/// Reads what an approver grants: `amount` (`None`: the whole entitlement) and, for less,
/// the reduction's reason and note.
pub fn grant(
    entitled: Money,
    amount: Option<Money>,
    reason: Option<ReductionReason>,
    note: &str,
) -> Result<Grant, GrantProblem> {
    let invalid = |field, problem: String| Err(GrantProblem::Invalid { field, problem });
    let amount = amount.unwrap_or(entitled);
    if amount > entitled {
        return Err(GrantProblem::Refused(ClaimError::AboveEntitlement { amount, entitled }));
    }
    let note = note.trim();
    match reason {
        None if amount < entitled => invalid(
            "reduction_reason",
            format!("is required when approved_amount {amount} is below the entitlement {entitled}"),
        ),
        None if !note.is_empty() => invalid("reduction_note", "goes only with a reduction_reason".to_owned()),
        None => Ok(Grant::whole(entitled)),
        Some(_) if amount == entitled => {
            invalid("reduction_reason", format!("goes only with an approved_amount below the entitlement {entitled}"))
        }
        Some(ReductionReason::Other) if note.is_empty() => {
            invalid("reduction_note", "is required with reduction_reason OTHER".to_owned())
        }
        Some(reason) => Ok(Grant { amount, reduction: Some(Reduction { reason, note: note.to_owned() }) }),
    }
}

/// Four eyes agree on one figure: an approval must grant what the earlier ones granted,
/// for the same reason.
pub fn check_agrees(earlier: &[Grant], grant: &Grant) -> Result<(), ClaimError> {
    let reason = |g: &Grant| g.reduction.as_ref().map(|r| r.reason);
    match earlier.iter().find(|g| g.amount != grant.amount || reason(g) != reason(grant)) {
        Some(first) => Err(ClaimError::GrantsDiffer { first: first.describe(), this: grant.describe() }),
        None => Ok(()),
    }
}

/// What bound a claim's compensation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Nothing: the whole entitlement (pool share × principal loss).
    Entitlement,
    /// The approvers granted less (a partial approval).
    Reduction,
    /// The bank's annual cap.
    AnnualCap,
    /// The portfolio cap of the loan's cohort (its enrolment year).
    PortfolioCap,
}

/// What bound a decided claim: a cap when it paid less than was granted (the portfolio cap
/// when it left less than the annual cap), else the reduction when less than the
/// entitlement was granted.
pub fn binding_limit(
    entitled: Money,
    granted: Money,
    compensation: Money,
    cap_remaining: Money,
    cohort_remaining: Option<Money>,
) -> Limit {
    if compensation < granted {
        match cohort_remaining {
            Some(cohort) if cohort < cap_remaining => Limit::PortfolioCap,
            _ => Limit::AnnualCap,
        }
    } else if granted < entitled {
        Limit::Reduction
    } else {
        Limit::Entitlement
    }
}

/// A bank's cohort (the loans it enrolled in one year), as the portfolio cap sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cohort {
    /// Σ principal enrolled in the year.
    pub enrolled: Money,
    /// Σ compensation approved on those loans so far.
    pub compensation: Money,
}

/// What the portfolio cap leaves of a cohort: rate × enrolled, rounded down to the fen
/// (so Σ compensation never exceeds the exact product), less what was approved.
pub fn cohort_remaining(rate: Decimal, cohort: Cohort) -> Money {
    let cap = Money::from_decimal_down(cohort.enrolled.to_decimal() * rate).unwrap_or(Money::ZERO);
    cap.saturating_sub(cohort.compensation)
}

/// A claim decided by its last approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decided {
    /// The bank's annual cap left before this claim.
    pub cap_remaining: Money,
    /// What the portfolio cap left of the loan's cohort, when the policy has one.
    pub cohort_remaining: Option<Money>,
    /// What the pool pays: min(what was granted, the caps left), half-up once.
    pub compensation: Money,
    /// What bound it.
    pub limit: Limit,
    /// APPROVED (payable), or PAID when there is nothing to pay (a used-up cap).
    pub status: ClaimStatus,
}

/// Decides an approved claim against the bank's compensation this year (`cap_used`): a
/// used-up cap still decides it, for what the cap leaves, 0.00 included. The whole
/// entitlement is min(pool share × loss, caps) rounded once; a reduced grant is already in fen.
/// `cohort` is the loan's cohort, counted when the policy has a portfolio cap rate.
pub fn decide(
    policy: &Policy,
    principal_loss: Money,
    pool_share: Decimal,
    granted: &Grant,
    cap_used: Money,
    cohort: Option<Cohort>,
) -> Decided {
    let cap_remaining = policy.claims.annual_cap_per_bank.saturating_sub(cap_used);
    let cohort_remaining = policy.claims.portfolio_cap_rate.zip(cohort).map(|(rate, c)| cohort_remaining(rate, c));
    let limit_left = cohort_remaining.map_or(cap_remaining, |c| c.min(cap_remaining));
    // The whole entitlement is the claim's (the co-sharers' retention floor may have taken
    // a fen off pool share × loss); a reduced grant is below it.
    let (entitled, compensation) = match granted.reduction {
        None => (granted.amount, compensation(principal_loss, pool_share, limit_left).min(granted.amount)),
        Some(_) => (requested_compensation(principal_loss, pool_share), granted.amount.min(limit_left)),
    };
    let status = if compensation.is_zero() { ClaimStatus::Paid } else { ClaimStatus::Approved };
    let limit = binding_limit(entitled, granted.amount, compensation, cap_remaining, cohort_remaining);
    Decided { cap_remaining, cohort_remaining, compensation, limit, status }
}

/// Whether a default on `default_date` of a loan enrolled on `enrolled_on` falls in the
/// policy's early-default window: before the day that many months after enrolment (a
/// window of 0 months turns the rule off).
pub fn is_early_default(policy: &Policy, enrolled_on: NaiveDate, default_date: NaiveDate) -> bool {
    let months = policy.claims.early_default_months;
    months > 0 && enrolled_on.checked_add_months(Months::new(months)).is_none_or(|end| default_date < end)
}

/// Why a claim, approval or recovery is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// The loan has a live claim already.
    #[error("{loan} already has a claim")]
    AlreadyClaimed {
        /// The loan's resource name.
        loan: String,
    },
    /// The claim was decided already.
    #[error("claim is {}; only FILED or PARTIALLY_APPROVED claims are {}", .status.as_str(), .action.past_tense())]
    NotPending {
        /// Its status.
        status: ClaimStatus,
        /// What was asked.
        action: Decision,
    },
    /// Filed after the deadline.
    #[error("the claim deadline was {deadline} ({days} days after the default on {default_date})")]
    DeadlinePassed {
        /// Default date.
        default_date: NaiveDate,
        /// Last filing day.
        deadline: NaiveDate,
        /// Policy days.
        days: u32,
    },
    /// Filed before the default.
    #[error("claim date {claim_date} is before the default date {default_date}")]
    BeforeDefault {
        /// Claim date.
        claim_date: NaiveDate,
        /// Default date.
        default_date: NaiveDate,
    },
    /// The same officer approves twice.
    #[error("a second approval must come from a different risk officer")]
    SameApprover,
    /// An approval grants more than the claim's entitlement.
    #[error("approved_amount {amount} is above the entitlement {entitled} (pool share × principal loss)")]
    AboveEntitlement {
        /// Granted.
        amount: Money,
        /// Pool share × principal loss.
        entitled: Money,
    },
    /// A second approval grants another amount or reason than the first.
    #[error(
        "the first approval granted {first}, this one {this}: every approver must grant the same amount for the same reason"
    )]
    GrantsDiffer {
        /// The first grant, described.
        first: String,
        /// This one, described.
        this: String,
    },
    /// The policy names a co-sharer no administrator registered.
    #[error(
        "the policy {version} names the co-sharing party {party}, which is not registered: an administrator creates parties/{party} first"
    )]
    PartyNotRegistered {
        /// The party's id.
        party: String,
        /// The policy's version.
        version: String,
    },
    /// Recoveries would exceed the loss.
    #[error("recoveries would total {total}, above the principal loss {loss}")]
    RecoveriesExceedLoss {
        /// Σ recoveries after this one.
        total: Money,
        /// Principal loss.
        loss: Money,
    },
}

impl crate::Rule for ClaimError {
    fn reason(&self) -> &'static str {
        match self {
            ClaimError::AlreadyClaimed { .. } => "LOAN_ALREADY_CLAIMED",
            ClaimError::NotPending { .. } => "CLAIM_NOT_PENDING",
            ClaimError::DeadlinePassed { .. } => "CLAIM_DEADLINE_PASSED",
            ClaimError::BeforeDefault { .. } => "CLAIM_BEFORE_DEFAULT",
            ClaimError::SameApprover => "SAME_APPROVER",
            ClaimError::AboveEntitlement { .. } => "APPROVED_ABOVE_ENTITLEMENT",
            ClaimError::GrantsDiffer { .. } => "APPROVALS_DIFFER",
            ClaimError::RecoveriesExceedLoss { .. } => "RECOVERIES_EXCEED_LOSS",
            ClaimError::PartyNotRegistered { .. } => "CO_SHARING_PARTY_NOT_REGISTERED",
        }
    }
}

/// A decided claim after `share` more of its compensation is settled (netted or paid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// Σ settled.
    pub paid: Money,
    /// What stays unpaid.
    pub shortfall: Money,
    /// PAID once nothing stays unpaid; otherwise unchanged.
    pub status: Option<ClaimStatus>,
}

/// Settles `share` more of a claim's `compensation`, of which `paid` was settled before.
pub fn settle(compensation: Money, paid: Money, share: Money) -> Settled {
    let paid = paid.checked_add(share).unwrap_or(Money::from_fen(i64::MAX));
    let shortfall = compensation.saturating_sub(paid);
    Settled { paid, shortfall, status: shortfall.is_zero().then_some(ClaimStatus::Paid) }
}

/// Checks the filing date against the default date and the deadline.
pub fn check_filing(policy: &Policy, default_date: NaiveDate, claim_date: NaiveDate) -> Result<(), ClaimError> {
    if claim_date < default_date {
        return Err(ClaimError::BeforeDefault { claim_date, default_date });
    }
    let days = policy.claims.deadline_days;
    let deadline = default_date.checked_add_days(Days::new(u64::from(days))).unwrap_or(NaiveDate::MAX);
    if claim_date > deadline {
        return Err(ClaimError::DeadlinePassed { default_date, deadline, days });
    }
    Ok(())
}

/// Pool share × principal loss, before any cap, half-up to the fen.
pub fn requested_compensation(principal_loss: Money, pool_share: Decimal) -> Money {
    principal_loss.mul_half_up(pool_share).unwrap_or(Money::from_fen(i64::MAX))
}

/// Approvals a claim needs: two (from different officers) above the four-eyes threshold
/// and for an early default; otherwise one.
pub fn approvals_required(policy: &Policy, requested: Money, early_default: bool) -> u32 {
    if early_default || requested > policy.claims.four_eyes_threshold { 2 } else { 1 }
}

/// The compensation granted: min(pool share × loss, the cap remaining this year), rounded
/// half-up to the fen once.
pub fn compensation(principal_loss: Money, pool_share: Decimal, cap_remaining: Money) -> Money {
    let exact = principal_loss.to_decimal() * pool_share;
    let capped = exact.min(cap_remaining.to_decimal()).max(Decimal::ZERO);
    Money::from_decimal_half_up(capped).unwrap_or(Money::ZERO)
}

/// The pool's part of a recovery: recovery × compensation ÷ principal loss, half-up.
pub fn pool_share_of_recovery(recovery: Money, compensation: Money, principal_loss: Money) -> Money {
    if principal_loss.fen() <= 0 {
        return Money::ZERO;
    }
    let exact = recovery.to_decimal() * compensation.to_decimal() / principal_loss.to_decimal();
    Money::from_decimal_half_up(exact).unwrap_or(Money::ZERO)
}

/// Checks that a recovery keeps Σ recoveries within the principal loss.
pub fn check_recovery(recovered_so_far: Money, recovery: Money, principal_loss: Money) -> Result<(), ClaimError> {
    let total = recovered_so_far.checked_add(recovery).unwrap_or(Money::from_fen(i64::MAX));
    if total > principal_loss {
        return Err(ClaimError::RecoveriesExceedLoss { total, loss: principal_loss });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rule;

    fn money(text: &str) -> Money {
        Money::parse_signed(text).unwrap()
    }

    #[test]
    fn the_worked_example_of_domain_md() {
        // A 3,000,000.00 pure-credit first loan at 70% defaults with 2,400,000.00 outstanding.
        let policy = Policy::default_policy();
        let share = Decimal::new(70, 2);
        let loss = money("2400000.00");
        let requested = requested_compensation(loss, share);
        assert_eq!(requested, money("1680000.00"));
        assert_eq!(approvals_required(&policy, requested, false), 2, "above 1,000,000.00 needs four eyes");
        let granted = compensation(loss, share, policy.claims.annual_cap_per_bank);
        assert_eq!(granted, money("1680000.00"));
        // A later 600,000.00 recovery: 600,000 × 1,680,000 ÷ 2,400,000 = 420,000.00 to the pool.
        assert_eq!(pool_share_of_recovery(money("600000.00"), granted, loss), money("420000.00"));
    }

    #[test]
    fn the_cap_limits_and_rounding_happens_once() {
        let share = Decimal::new(70, 2);
        assert_eq!(compensation(money("2400000.00"), share, money("100000.00")), money("100000.00"));
        assert_eq!(compensation(money("2400000.00"), share, Money::ZERO), Money::ZERO);
        // 0.05 × 0.50 = 0.025 → 0.03 half-up.
        assert_eq!(compensation(money("0.05"), Decimal::new(50, 2), money("1.00")), money("0.03"));
        assert_eq!(approvals_required(&Policy::default_policy(), money("1000000.00"), false), 1);
        assert_eq!(approvals_required(&Policy::default_policy(), money("1000000.01"), false), 2);
    }

    #[test]
    fn filing_deadline_and_recovery_limits() {
        let policy = Policy::default_policy();
        let default_date = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        assert!(check_filing(&policy, default_date, NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()).is_ok());
        let late = check_filing(&policy, default_date, NaiveDate::from_ymd_opt(2025, 7, 1).unwrap()).unwrap_err();
        assert_eq!(late.reason(), "CLAIM_DEADLINE_PASSED");
        assert!(check_recovery(money("100.00"), money("900.00"), money("1000.00")).is_ok());
        assert_eq!(
            check_recovery(money("100.00"), money("900.01"), money("1000.00")).unwrap_err().reason(),
            "RECOVERIES_EXCEED_LOSS"
        );
    }

    #[test]
    fn approvals_follow_four_eyes_and_only_pending_claims_are_decided() {
        use ClaimStatus::*;
        type Case<'a> = (ClaimStatus, &'a [&'a str], u32, &'a str, Result<ApprovalStep, &'a str>);
        let cases: [Case<'_>; 7] = [
            (Filed, &[], 1, "k1", Ok(ApprovalStep::Decides)),
            (Filed, &[], 2, "k1", Ok(ApprovalStep::AwaitsSecond)),
            (PartiallyApproved, &["k1"], 2, "k2", Ok(ApprovalStep::Decides)),
            (PartiallyApproved, &["k1"], 2, "k1", Err("SAME_APPROVER")),
            (Approved, &["k1"], 1, "k2", Err("CLAIM_NOT_PENDING")),
            (Rejected, &[], 1, "k1", Err("CLAIM_NOT_PENDING")),
            (Paid, &["k1"], 1, "k2", Err("CLAIM_NOT_PENDING")),
        ];
        for (status, approvers, required, approver, expected) in cases {
            let outcome = approve(status, approvers, required, approver);
            assert_eq!(outcome.map_err(|e| e.reason()), expected, "{status:?} {approvers:?} {approver}");
        }
        let decided = check_pending(Rejected, Decision::Reject).unwrap_err();
        assert_eq!(decided.to_string(), "claim is REJECTED; only FILED or PARTIALLY_APPROVED claims are rejected");
        assert!(check_pending(PartiallyApproved, Decision::Reject).is_ok());
    }

    #[test]
    fn a_decision_pays_what_the_cap_leaves_and_nothing_is_paid_when_it_is_used_up() {
        let policy = Policy::default_policy();
        let (loss, share) = (money("2400000.00"), Decimal::new(70, 2));
        let all = Grant::whole(money("1680000.00"));
        let whole = decide(&policy, loss, share, &all, Money::ZERO, None);
        assert_eq!((whole.compensation, whole.status), (money("1680000.00"), ClaimStatus::Approved));
        let cut = decide(&policy, loss, share, &all, money("9000000.00"), None);
        assert_eq!((cut.cap_remaining, cut.compensation), (money("1000000.00"), money("1000000.00")));
        let none = decide(&policy, loss, share, &all, money("10000000.00"), None);
        assert_eq!((none.compensation, none.status), (Money::ZERO, ClaimStatus::Paid));
    }

    #[test]
    fn a_claim_is_paid_once_nothing_stays_unpaid() {
        let part = settle(money("1680000.00"), Money::ZERO, money("300000.00"));
        assert_eq!((part.paid, part.shortfall, part.status), (money("300000.00"), money("1380000.00"), None));
        let rest = settle(money("1680000.00"), part.paid, money("1380000.00"));
        assert_eq!((rest.shortfall, rest.status), (Money::ZERO, Some(ClaimStatus::Paid)));
    }

    #[test]
    fn an_approval_grants_the_entitlement_or_less_for_a_stated_reason() {
        use ReductionReason::*;
        let entitled = money("1680000.00");
        let field = |r: Result<Grant, GrantProblem>| match r {
            Err(GrantProblem::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(grant(entitled, None, None, " ").unwrap(), Grant::whole(entitled));
        assert_eq!(grant(entitled, Some(entitled), None, "").unwrap(), Grant::whole(entitled));
        let part = grant(entitled, Some(money("1000000.00")), Some(LateReporting), " late by 40 days ").unwrap();
        assert_eq!(part.amount, money("1000000.00"));
        assert_eq!(part.reduction, Some(Reduction { reason: LateReporting, note: "late by 40 days".into() }));
        assert_eq!(grant(entitled, Some(Money::ZERO), Some(DocumentationDeficient), "").unwrap().amount, Money::ZERO);
        // One fen above the entitlement is a rule with figures; the rest are the caller's fields.
        match grant(entitled, Some(money("1680000.01")), Some(Other), "x") {
            Err(GrantProblem::Refused(e)) => {
                assert_eq!(crate::Rule::reason(&e), "APPROVED_ABOVE_ENTITLEMENT");
                assert!(e.to_string().contains("1680000.01") && e.to_string().contains("1680000.00"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(field(grant(entitled, Some(money("1679999.99")), None, "")), "reduction_reason");
        assert_eq!(field(grant(entitled, None, Some(LateReporting), "")), "reduction_reason");
        assert_eq!(field(grant(entitled, Some(money("1.00")), Some(Other), "  ")), "reduction_note");
        assert_eq!(field(grant(entitled, None, None, "a note without a reduction")), "reduction_note");
    }

    #[test]
    fn four_eyes_grant_one_amount_for_one_reason() {
        let entitled = money("1680000.00");
        let whole = Grant::whole(entitled);
        let reduced = grant(entitled, Some(money("1000000.00")), Some(ReductionReason::LateReporting), "").unwrap();
        assert!(check_agrees(&[], &reduced).is_ok());
        assert!(check_agrees(std::slice::from_ref(&reduced), &reduced).is_ok());
        let differs = check_agrees(std::slice::from_ref(&whole), &reduced).unwrap_err();
        assert_eq!(crate::Rule::reason(&differs), "APPROVALS_DIFFER");
        assert_eq!(
            differs.to_string(),
            "the first approval granted 1680000.00 (the whole entitlement), this one 1000000.00 (LATE_REPORTING): \
             every approver must grant the same amount for the same reason"
        );
        let other_reason =
            grant(entitled, Some(money("1000000.00")), Some(ReductionReason::CollateralNotPerfected), "").unwrap();
        assert!(check_agrees(&[reduced], &other_reason).is_err(), "the same amount for another reason");
    }

    #[test]
    fn a_partial_approval_pays_what_was_granted_and_the_cap_still_binds() {
        let policy = Policy::default_policy();
        let (loss, share) = (money("2400000.00"), Decimal::new(70, 2));
        let reduced = grant(money("1680000.00"), Some(money("1200000.00")), Some(ReductionReason::Other), "n").unwrap();
        let paid = decide(&policy, loss, share, &reduced, money("8000000.00"), None);
        // Cap left 2,000,000.00 ≥ 1,200,000.00 granted: the reduction binds.
        assert_eq!((paid.compensation, paid.limit), (money("1200000.00"), Limit::Reduction));
        let capped = decide(&policy, loss, share, &reduced, money("9000000.00"), None);
        // Cap left 1,000,000.00 < 1,200,000.00 granted: the cap binds.
        assert_eq!((capped.compensation, capped.limit), (money("1000000.00"), Limit::AnnualCap));
        let whole = decide(&policy, loss, share, &Grant::whole(money("1680000.00")), Money::ZERO, None);
        assert_eq!(whole.limit, Limit::Entitlement);
        let granted_nothing = grant(money("1680000.00"), Some(Money::ZERO), Some(ReductionReason::Other), "n").unwrap();
        let zero = decide(&policy, loss, share, &granted_nothing, Money::ZERO, None);
        assert_eq!((zero.compensation, zero.status, zero.limit), (Money::ZERO, ClaimStatus::Paid, Limit::Reduction));
    }

    #[test]
    fn an_early_default_is_one_before_the_window_ends_and_needs_two_approvers() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let mut policy = Policy::default_policy();
        policy.claims.early_default_months = 6;
        let enrolled = date(2025, 8, 31);
        // Six months after 31 August is 28 February (the month's last day).
        assert!(is_early_default(&policy, enrolled, date(2025, 8, 31)));
        assert!(is_early_default(&policy, enrolled, date(2026, 2, 27)));
        assert!(!is_early_default(&policy, enrolled, date(2026, 2, 28)));
        assert_eq!(approvals_required(&policy, money("0.01"), true), 2);
        assert_eq!(approvals_required(&policy, money("0.01"), false), 1);
        policy.claims.early_default_months = 0;
        assert!(!is_early_default(&policy, enrolled, enrolled), "0 months turns the rule off");
    }

    #[test]
    fn the_portfolio_cap_binds_a_cohort_below_the_annual_cap() {
        let mut policy = Policy::default_policy();
        policy.claims.portfolio_cap_rate = Some(Decimal::new(8, 2));
        let (loss, share) = (money("2400000.00"), Decimal::new(70, 2));
        let all = Grant::whole(money("1680000.00"));
        // 8% × 20,000,000.00 enrolled = 1,600,000.00; 100,000.00 approved so far leaves 1,500,000.00.
        let cohort = Cohort { enrolled: money("20000000.00"), compensation: money("100000.00") };
        let decided = decide(&policy, loss, share, &all, Money::ZERO, Some(cohort));
        assert_eq!(decided.cohort_remaining, Some(money("1500000.00")));
        assert_eq!((decided.compensation, decided.limit), (money("1500000.00"), Limit::PortfolioCap));
        // With the annual cap leaving less (1,000,000.00), the annual cap binds.
        let annual = decide(&policy, loss, share, &all, money("9000000.00"), Some(cohort));
        assert_eq!((annual.compensation, annual.limit), (money("1000000.00"), Limit::AnnualCap));
        // A cohort cap with room: the entitlement.
        let roomy = Cohort { enrolled: money("100000000.00"), compensation: Money::ZERO };
        let whole = decide(&policy, loss, share, &all, Money::ZERO, Some(roomy));
        assert_eq!((whole.compensation, whole.limit), (money("1680000.00"), Limit::Entitlement));
        // Rounded down: 8% × 0.13 = 0.0104 → 0.01; used up → 0.00 and the claim is still decided.
        assert_eq!(
            cohort_remaining(Decimal::new(8, 2), Cohort { enrolled: money("0.13"), compensation: Money::ZERO }),
            money("0.01")
        );
        let used = Cohort { enrolled: money("20000000.00"), compensation: money("1600000.00") };
        let none = decide(&policy, loss, share, &all, Money::ZERO, Some(used));
        assert_eq!((none.compensation, none.status, none.limit), (Money::ZERO, ClaimStatus::Paid, Limit::PortfolioCap));
        // No rate in the policy: the cohort is not a limit.
        policy.claims.portfolio_cap_rate = None;
        let uncapped = decide(&policy, loss, share, &all, Money::ZERO, Some(used));
        assert_eq!((uncapped.compensation, uncapped.cohort_remaining), (money("1680000.00"), None));
    }
}
