//! Application and loan state machines.
//!
//! ```text
//! Application: SUBMITTED → APPROVED | REFERRED | REJECTED
//!              REFERRED  → APPROVED | REJECTED        (risk officer)
//!              APPROVED  → ENROLLED | EXPIRED | WITHDRAWN
//! Loan:        ACTIVE ⇄ OVERDUE → DEFAULTED → CLAIMED → COMPENSATED → (RECOVERING) → CLOSED
//!              ACTIVE/OVERDUE → REPAID (closed)
//!              any but REPAID → EXCLUDED (closed; risk officers, `crate::exclusion`)
//! ```

use chrono::NaiveDate;

use crate::money::Money;
use crate::policy::Policy;
use crate::terms::Classification;

macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Stored name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a stored name.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_enum! {
    /// Where an application stands.
    ApplicationStatus {
        /// Received, not decided.
        Submitted => "SUBMITTED",
        /// Approved; may be enrolled until it expires.
        Approved => "APPROVED",
        /// Referred to a risk officer.
        Referred => "REFERRED",
        /// Rejected.
        Rejected => "REJECTED",
        /// Enrolled into coverage.
        Enrolled => "ENROLLED",
        /// Approval lapsed.
        Expired => "EXPIRED",
        /// Withdrawn by the bank.
        Withdrawn => "WITHDRAWN",
    }
}

stored_enum! {
    /// The life of a covered loan.
    LoanStatus {
        /// Performing.
        Active => "ACTIVE",
        /// Past due, not defaulted.
        Overdue => "OVERDUE",
        /// Defaulted: may be claimed.
        Defaulted => "DEFAULTED",
        /// Claim filed.
        Claimed => "CLAIMED",
        /// Claim approved.
        Compensated => "COMPENSATED",
        /// Recoveries under way.
        Recovering => "RECOVERING",
        /// Fully repaid.
        Repaid => "REPAID",
        /// Closed after compensation.
        Closed => "CLOSED",
        /// Taken out of cover after enrolment (ineligible, misrepresented).
        Excluded => "EXCLUDED",
    }
}

impl ApplicationStatus {
    /// The status as of `today`: an approval past its expiry date reads as EXPIRED.
    pub fn as_of(self, approval_expire_date: Option<NaiveDate>, today: NaiveDate) -> ApplicationStatus {
        match (self, approval_expire_date) {
            (ApplicationStatus::Approved, Some(expiry)) if today > expiry => ApplicationStatus::Expired,
            (status, _) => status,
        }
    }
}

/// What a bank or a risk officer does to an application after it is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationEvent {
    /// A risk officer decides a referred application.
    Reviewed {
        /// Approved (else rejected).
        approve: bool,
    },
    /// The bank withdraws it.
    Withdrawn,
}

/// An application event its status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("application is {status}; {}", match .event {
    ApplicationEvent::Reviewed { .. } => "only REFERRED applications are reviewed",
    ApplicationEvent::Withdrawn => "only APPROVED or REFERRED applications can be withdrawn",
})]
pub struct ApplicationTransitionError {
    /// The application's status.
    pub status: ApplicationStatus,
    /// What was asked.
    pub event: ApplicationEvent,
}

impl crate::Rule for ApplicationTransitionError {
    fn reason(&self) -> &'static str {
        match self.event {
            ApplicationEvent::Reviewed { .. } => "APPLICATION_NOT_REFERRED",
            ApplicationEvent::Withdrawn => "APPLICATION_NOT_WITHDRAWABLE",
        }
    }

    fn figures(&self) -> Vec<(&'static str, String)> {
        vec![("status", self.status.to_string())]
    }
}

impl ApplicationStatus {
    /// The status after `event` (enrolment is decided by [`crate::enrolment`]).
    pub fn on(self, event: ApplicationEvent) -> Result<ApplicationStatus, ApplicationTransitionError> {
        match (self, event) {
            (ApplicationStatus::Referred, ApplicationEvent::Reviewed { approve: true }) => {
                Ok(ApplicationStatus::Approved)
            }
            (ApplicationStatus::Referred, ApplicationEvent::Reviewed { approve: false }) => {
                Ok(ApplicationStatus::Rejected)
            }
            (ApplicationStatus::Approved | ApplicationStatus::Referred, ApplicationEvent::Withdrawn) => {
                Ok(ApplicationStatus::Withdrawn)
            }
            (status, event) => Err(ApplicationTransitionError { status, event }),
        }
    }
}

impl LoanStatus {
    /// Closed loans carry no exposure and take no reports.
    pub fn is_closed(self) -> bool {
        matches!(self, LoanStatus::Repaid | LoanStatus::Closed | LoanStatus::Excluded)
    }
}

/// A loan's reportable state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanState {
    /// Status.
    pub status: LoanStatus,
    /// Outstanding principal.
    pub outstanding: Money,
    /// Days past due.
    pub days_past_due: u32,
    /// Classification.
    pub classification: Classification,
    /// Date of the last report (disbursement date before the first).
    pub last_report_date: NaiveDate,
    /// Default date, once defaulted.
    pub default_date: Option<NaiveDate>,
    /// Outstanding on the default date.
    pub principal_at_default: Option<Money>,
}

/// A bank's status report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// Date the figures are as of.
    pub report_date: NaiveDate,
    /// Outstanding principal.
    pub outstanding: Money,
    /// Days past due.
    pub days_past_due: u32,
    /// Classification.
    pub classification: Classification,
    /// Fully repaid.
    pub repaid: bool,
}

/// A loan's maturity and its renewals so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Maturity {
    /// The maturity now.
    pub date: NaiveDate,
    /// The maturity it was enrolled with.
    pub original: NaiveDate,
    /// Renewals so far.
    pub renewals: u32,
}

/// Why a renewal without principal repayment is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenewalError {
    /// Only a performing loan is renewed.
    #[error(
        "only a performing loan is renewed (ACTIVE, 0 days past due, NORMAL): this one is {status}, reported {days_past_due} days past due, {classification}"
    )]
    NotPerforming {
        /// The loan's status.
        status: LoanStatus,
        /// Reported days past due.
        days_past_due: u32,
        /// Reported classification.
        classification: Classification,
    },
    /// A renewal does not repay principal.
    #[error("a renewal without principal repayment keeps the outstanding {outstanding}; the report says {reported}")]
    PrincipalChanged {
        /// Reported.
        reported: Money,
        /// Outstanding now.
        outstanding: Money,
    },
    /// The policy's number of renewals is used up.
    #[error("the policy allows {max} renewal(s) and the loan has had {renewals}")]
    Exhausted {
        /// Renewals so far.
        renewals: u32,
        /// Allowed.
        max: u32,
    },
    /// The new maturity must be later.
    #[error("renewed_maturity_date {asked} is not after the maturity {maturity}")]
    NotLater {
        /// Asked.
        asked: NaiveDate,
        /// Maturity now.
        maturity: NaiveDate,
    },
    /// Too far past the original maturity.
    #[error(
        "renewed_maturity_date {asked} is after {limit}, {months} months past the maturity {original} the loan was enrolled with"
    )]
    TooFar {
        /// Asked.
        asked: NaiveDate,
        /// The last allowed.
        limit: NaiveDate,
        /// Policy months.
        months: u32,
        /// Original maturity.
        original: NaiveDate,
    },
}

impl crate::Rule for RenewalError {
    fn reason(&self) -> &'static str {
        match self {
            RenewalError::NotPerforming { .. } => "RENEWAL_NOT_PERFORMING",
            RenewalError::PrincipalChanged { .. } => "RENEWAL_CHANGES_PRINCIPAL",
            RenewalError::Exhausted { .. } => "RENEWALS_EXHAUSTED",
            RenewalError::NotLater { .. } => "RENEWAL_NOT_LATER",
            RenewalError::TooFar { .. } => "RENEWAL_TOO_FAR",
        }
    }
}

/// Checks a renewal without principal repayment reported with `report`: a performing
/// loan (ACTIVE; the report 0 days past due, NORMAL, not repaid), the same outstanding, a
/// later maturity at most the policy's months past the original one, within the policy's
/// number of renewals. Returns the maturity after it.
pub fn check_renewal(
    policy: &Policy,
    state: &LoanState,
    report: &StatusReport,
    maturity: Maturity,
    asked: NaiveDate,
) -> Result<Maturity, RenewalError> {
    let performing = state.status == LoanStatus::Active
        && report.days_past_due == 0
        && report.classification == Classification::Normal
        && !report.repaid;
    if !performing {
        return Err(RenewalError::NotPerforming {
            status: state.status,
            days_past_due: report.days_past_due,
            classification: report.classification,
        });
    }
    if report.outstanding != state.outstanding {
        return Err(RenewalError::PrincipalChanged { reported: report.outstanding, outstanding: state.outstanding });
    }
    let rules = &policy.renewal;
    if maturity.renewals >= rules.max_renewals {
        return Err(RenewalError::Exhausted { renewals: maturity.renewals, max: rules.max_renewals });
    }
    if asked <= maturity.date {
        return Err(RenewalError::NotLater { asked, maturity: maturity.date });
    }
    let months = rules.max_extension_months;
    let limit = maturity.original.checked_add_months(chrono::Months::new(months)).unwrap_or(NaiveDate::MAX);
    if asked > limit {
        return Err(RenewalError::TooFar { asked, limit, months, original: maturity.original });
    }
    Ok(Maturity { date: asked, original: maturity.original, renewals: maturity.renewals + 1 })
}

/// Why a report is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The loan no longer takes reports.
    #[error("loan is {0} and takes no status reports")]
    NotReportable(LoanStatus),
    /// Dated before the previous report.
    #[error("report date {report} is before the previous report of {previous}")]
    DateBeforePrevious {
        /// This report.
        report: NaiveDate,
        /// The previous one.
        previous: NaiveDate,
    },
    /// Outstanding went up.
    #[error("outstanding principal {reported} is above the previous {previous}; it only falls through repayments")]
    OutstandingIncreased {
        /// Reported.
        reported: Money,
        /// Previous.
        previous: Money,
    },
    /// Repaid but something still outstanding.
    #[error("a repaid loan must report outstanding 0.00, not {0}")]
    RepaidWithOutstanding(Money),
    /// A claim is live on the loan.
    #[error(
        "{loan} has claims/{claim_id} ({}); money the borrower pays after a claim is filed is reported with ReportRecovery",
        .claim_status.as_str()
    )]
    Claimed {
        /// The loan's resource name.
        loan: String,
        /// The live claim.
        claim_id: i64,
        /// Its status.
        claim_status: crate::claims::ClaimStatus,
        /// The loan's status.
        loan_status: LoanStatus,
    },
}

impl crate::Rule for ReportError {
    fn reason(&self) -> &'static str {
        match self {
            ReportError::NotReportable(_) => "LOAN_NOT_REPORTABLE",
            ReportError::DateBeforePrevious { .. } => "REPORT_DATE_BEFORE_PREVIOUS",
            ReportError::OutstandingIncreased { .. } => "OUTSTANDING_INCREASED",
            ReportError::RepaidWithOutstanding(_) => "REPAID_WITH_OUTSTANDING",
            ReportError::Claimed { .. } => "LOAN_CLAIMED",
        }
    }

    fn figures(&self) -> Vec<(&'static str, String)> {
        match self {
            ReportError::Claimed { claim_id, loan_status, .. } => {
                vec![("claim", format!("claims/{claim_id}")), ("status", loan_status.to_string())]
            }
            _ => Vec::new(),
        }
    }
}

/// What moves a covered loan after enrolment, besides the bank's status reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoanEvent {
    /// The bank files a claim on the defaulted loan.
    ClaimFiled,
    /// Its claim is approved (for any amount, 0.00 included).
    ClaimApproved,
    /// Its claim is rejected: the loan is defaulted again and may be claimed anew.
    ClaimRejected,
    /// The bank reports a recovery on `date`; a final one closes the loan.
    Recovered {
        /// The last recovery there will be.
        last: bool,
        /// When.
        date: NaiveDate,
    },
    /// The compensated loan is written off (closed) on `date`.
    WrittenOff {
        /// When.
        date: NaiveDate,
    },
}

/// An event the loan's status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("loan is {status}; {}", allowed(*.event))]
pub struct TransitionError {
    /// The loan's status.
    pub status: LoanStatus,
    /// What was asked.
    pub event: LoanEvent,
}

fn allowed(event: LoanEvent) -> &'static str {
    match event {
        LoanEvent::ClaimFiled => "only DEFAULTED loans can be claimed",
        LoanEvent::ClaimApproved => "only CLAIMED loans are compensated",
        LoanEvent::ClaimRejected => "only CLAIMED loans go back to DEFAULTED when their claim is rejected",
        LoanEvent::Recovered { .. } => "recoveries are reported on compensated loans",
        LoanEvent::WrittenOff { .. } => "only compensated loans are closed (written off)",
    }
}

impl crate::Rule for TransitionError {
    fn reason(&self) -> &'static str {
        match self.event {
            LoanEvent::ClaimFiled => "LOAN_NOT_DEFAULTED",
            LoanEvent::ClaimApproved | LoanEvent::ClaimRejected => "LOAN_NOT_CLAIMED",
            LoanEvent::Recovered { .. } | LoanEvent::WrittenOff { .. } => "LOAN_NOT_COMPENSATED",
        }
    }
}

impl LoanState {
    /// The state after `event`, or why the loan's status does not allow it:
    ///
    /// ```text
    /// DEFAULTED ──ClaimFiled──▶ CLAIMED ──ClaimApproved──▶ COMPENSATED ──Recovered──▶ RECOVERING
    ///     ▲                        │                            │    └──Recovered(last), WrittenOff──▶ CLOSED
    ///     └──────ClaimRejected─────┘                            RECOVERING ──Recovered(last), WrittenOff──▶ CLOSED
    /// ```
    pub fn on(&self, event: LoanEvent) -> Result<LoanState, TransitionError> {
        use LoanStatus::{Claimed, Closed, Compensated, Defaulted, Recovering};
        let refused = Err(TransitionError { status: self.status, event });
        let (status, closed_on) = match (self.status, event) {
            (Defaulted, LoanEvent::ClaimFiled) => (Claimed, None),
            (Claimed, LoanEvent::ClaimApproved) => (Compensated, None),
            (Claimed, LoanEvent::ClaimRejected) => (Defaulted, None),
            (Compensated | Recovering, LoanEvent::Recovered { last: false, .. }) => (Recovering, None),
            (Compensated | Recovering, LoanEvent::Recovered { last: true, date } | LoanEvent::WrittenOff { date }) => {
                (Closed, Some(date))
            }
            _ => return refused,
        };
        let mut next = self.clone();
        next.status = status;
        if let Some(date) = closed_on {
            next.last_report_date = next.last_report_date.max(date);
        }
        Ok(next)
    }
}

/// Whether the bank may report the loan's status: not once a claim is live on it (what the
/// borrower pays then is a recovery).
pub fn check_reportable(
    loan: &str,
    live_claim: Option<(i64, crate::claims::ClaimStatus)>,
    status: LoanStatus,
) -> Result<(), ReportError> {
    match live_claim {
        Some((claim_id, claim_status)) => {
            Err(ReportError::Claimed { loan: loan.to_owned(), claim_id, claim_status, loan_status: status })
        }
        None => Ok(()),
    }
}

/// True when the report meets the policy's default trigger.
pub fn meets_default_trigger(policy: &Policy, days_past_due: u32, classification: Classification) -> bool {
    // Classifications are ordered best first, so "SUBSTANDARD or worse" is ">=".
    days_past_due >= policy.default_trigger.days_past_due || classification >= policy.default_trigger.classification
}

/// Non-performing (counted in the NPL ratio, bank watch and suspension): DEFAULTED by the
/// pool's trigger (and every later stage of a default: claimed, compensated, recovering),
/// or classified SUBSTANDARD or worse by the bank. A closed loan is never counted.
pub fn is_non_performing(status: LoanStatus, classification: Classification) -> bool {
    let defaulted = matches!(
        status,
        LoanStatus::Defaulted | LoanStatus::Claimed | LoanStatus::Compensated | LoanStatus::Recovering
    );
    !status.is_closed() && (defaulted || classification >= Classification::Substandard)
}

/// Applies a report to a loan's state: the new state, or why the report is refused.
/// Once defaulted a loan stays defaulted; a report with nothing outstanding repays it.
pub fn apply_report(policy: &Policy, state: &LoanState, report: &StatusReport) -> Result<LoanState, ReportError> {
    if !matches!(state.status, LoanStatus::Active | LoanStatus::Overdue | LoanStatus::Defaulted) {
        return Err(ReportError::NotReportable(state.status));
    }
    if report.report_date < state.last_report_date {
        return Err(ReportError::DateBeforePrevious { report: report.report_date, previous: state.last_report_date });
    }
    if report.outstanding > state.outstanding {
        return Err(ReportError::OutstandingIncreased { reported: report.outstanding, previous: state.outstanding });
    }
    if report.repaid && !report.outstanding.is_zero() {
        return Err(ReportError::RepaidWithOutstanding(report.outstanding));
    }
    let mut next = LoanState {
        status: state.status,
        outstanding: report.outstanding,
        days_past_due: report.days_past_due,
        classification: report.classification,
        last_report_date: report.report_date,
        default_date: state.default_date,
        principal_at_default: state.principal_at_default,
    };
    next.status = if report.repaid || report.outstanding.is_zero() {
        LoanStatus::Repaid
    } else if state.status == LoanStatus::Defaulted {
        LoanStatus::Defaulted
    } else if meets_default_trigger(policy, report.days_past_due, report.classification) {
        next.default_date = Some(report.report_date);
        next.principal_at_default = Some(report.outstanding);
        LoanStatus::Defaulted
    } else if report.days_past_due > 0 {
        LoanStatus::Overdue
    } else {
        LoanStatus::Active
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rule;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn state() -> LoanState {
        LoanState {
            status: LoanStatus::Active,
            outstanding: Money::parse_signed("1000000.00").unwrap(),
            days_past_due: 0,
            classification: Classification::Normal,
            last_report_date: date("2025-06-01"),
            default_date: None,
            principal_at_default: None,
        }
    }

    fn report(days_past_due: u32, classification: Classification, outstanding: &str) -> StatusReport {
        StatusReport {
            report_date: date("2025-07-01"),
            outstanding: Money::parse_signed(outstanding).unwrap(),
            days_past_due,
            classification,
            repaid: false,
        }
    }

    #[test]
    fn status_follows_days_past_due_and_classification() {
        let policy = Policy::default_policy();
        let cases = [
            (0, Classification::Normal, LoanStatus::Active),
            (1, Classification::Normal, LoanStatus::Overdue),
            (89, Classification::SpecialMention, LoanStatus::Overdue),
            (90, Classification::SpecialMention, LoanStatus::Defaulted),
            (0, Classification::Substandard, LoanStatus::Defaulted),
            (0, Classification::Loss, LoanStatus::Defaulted),
        ];
        for (days, classification, expected) in cases {
            let next = apply_report(&policy, &state(), &report(days, classification, "900000.00")).unwrap();
            assert_eq!(next.status, expected, "{days} days, {classification}");
            if expected == LoanStatus::Defaulted {
                assert_eq!(next.default_date, Some(date("2025-07-01")));
                assert_eq!(next.principal_at_default, Some(Money::parse_signed("900000.00").unwrap()));
            }
        }
    }

    #[test]
    fn defaulted_loans_are_non_performing_whatever_their_classification() {
        assert!(is_non_performing(LoanStatus::Defaulted, Classification::SpecialMention));
        assert!(is_non_performing(LoanStatus::Compensated, Classification::Normal));
        assert!(is_non_performing(LoanStatus::Overdue, Classification::Substandard));
        assert!(!is_non_performing(LoanStatus::Overdue, Classification::SpecialMention));
        assert!(!is_non_performing(LoanStatus::Repaid, Classification::Loss));
    }

    #[test]
    fn overdue_returns_to_active_but_default_sticks() {
        let policy = Policy::default_policy();
        let overdue = LoanState { status: LoanStatus::Overdue, days_past_due: 30, ..state() };
        let back = apply_report(&policy, &overdue, &report(0, Classification::Normal, "1000000.00")).unwrap();
        assert_eq!(back.status, LoanStatus::Active);
        let defaulted = LoanState { status: LoanStatus::Defaulted, ..state() };
        let still = apply_report(&policy, &defaulted, &report(0, Classification::Normal, "1000000.00")).unwrap();
        assert_eq!(still.status, LoanStatus::Defaulted);
    }

    #[test]
    fn refused_reports_say_why() {
        let policy = Policy::default_policy();
        let early = StatusReport { report_date: date("2025-05-31"), ..report(0, Classification::Normal, "1.00") };
        assert_eq!(apply_report(&policy, &state(), &early).unwrap_err().reason(), "REPORT_DATE_BEFORE_PREVIOUS");
        let up = report(0, Classification::Normal, "1000000.01");
        assert_eq!(apply_report(&policy, &state(), &up).unwrap_err().reason(), "OUTSTANDING_INCREASED");
        let repaid = StatusReport { repaid: true, ..report(0, Classification::Normal, "1.00") };
        assert_eq!(apply_report(&policy, &state(), &repaid).unwrap_err().reason(), "REPAID_WITH_OUTSTANDING");
        let closed = LoanState { status: LoanStatus::Repaid, ..state() };
        assert_eq!(
            apply_report(&policy, &closed, &report(0, Classification::Normal, "1.00")).unwrap_err().reason(),
            "LOAN_NOT_REPORTABLE"
        );
        let zero = report(0, Classification::Normal, "0.00");
        assert_eq!(apply_report(&policy, &state(), &zero).unwrap().status, LoanStatus::Repaid);
    }

    #[test]
    fn every_loan_event_moves_only_the_statuses_it_names() {
        use LoanStatus::*;
        let day = date("2025-08-01");
        let events = [
            LoanEvent::ClaimFiled,
            LoanEvent::ClaimApproved,
            LoanEvent::ClaimRejected,
            LoanEvent::Recovered { last: false, date: day },
            LoanEvent::Recovered { last: true, date: day },
            LoanEvent::WrittenOff { date: day },
        ];
        // For each status, where each event (in the order above) leads; None: refused.
        let table: [(LoanStatus, [Option<LoanStatus>; 6]); 8] = [
            (Active, [None, None, None, None, None, None]),
            (Overdue, [None, None, None, None, None, None]),
            (Defaulted, [Some(Claimed), None, None, None, None, None]),
            (Claimed, [None, Some(Compensated), Some(Defaulted), None, None, None]),
            (Compensated, [None, None, None, Some(Recovering), Some(Closed), Some(Closed)]),
            (Recovering, [None, None, None, Some(Recovering), Some(Closed), Some(Closed)]),
            (Repaid, [None, None, None, None, None, None]),
            (Closed, [None, None, None, None, None, None]),
        ];
        for (from, expected) in table {
            let loan = LoanState { status: from, ..state() };
            for (event, to) in events.iter().zip(expected) {
                let outcome = loan.on(*event);
                assert_eq!(outcome.as_ref().ok().map(|s| s.status), to, "{from} on {event:?}");
                if let Err(refused) = outcome {
                    assert_eq!(refused.status, from);
                    assert!(refused.to_string().starts_with(&format!("loan is {from}; ")), "{refused}");
                }
            }
        }
        let closed = LoanState { status: Compensated, ..state() }.on(LoanEvent::WrittenOff { date: day }).unwrap();
        assert_eq!(closed.last_report_date, day, "closing dates the loan's last change");
        let refused = LoanState { status: Active, ..state() }.on(LoanEvent::ClaimFiled).unwrap_err();
        assert_eq!(
            (refused.reason(), refused.to_string().as_str()),
            ("LOAN_NOT_DEFAULTED", "loan is ACTIVE; only DEFAULTED loans can be claimed")
        );
    }

    #[test]
    fn application_events_need_the_status_they_name() {
        use ApplicationStatus::*;
        let review = ApplicationEvent::Reviewed { approve: true };
        assert_eq!(Referred.on(review), Ok(Approved));
        assert_eq!(Referred.on(ApplicationEvent::Reviewed { approve: false }), Ok(Rejected));
        assert_eq!(Approved.on(ApplicationEvent::Withdrawn), Ok(Withdrawn));
        assert_eq!(Referred.on(ApplicationEvent::Withdrawn), Ok(Withdrawn));
        for status in [Submitted, Approved, Rejected, Enrolled, Expired, Withdrawn] {
            assert_eq!(status.on(review).unwrap_err().reason(), "APPLICATION_NOT_REFERRED", "{status}");
        }
        for status in [Submitted, Rejected, Enrolled, Expired, Withdrawn] {
            let refused = status.on(ApplicationEvent::Withdrawn).unwrap_err();
            assert_eq!(refused.reason(), "APPLICATION_NOT_WITHDRAWABLE", "{status}");
            assert_eq!(refused.figures(), vec![("status", status.to_string())]);
        }
    }

    #[test]
    fn a_renewal_moves_a_performing_loan_s_maturity_within_the_policy() {
        let policy = Policy::default_policy();
        let maturity = Maturity { date: date("2025-08-31"), original: date("2025-08-31"), renewals: 0 };
        let same = report(0, Classification::Normal, "1000000.00");
        let renewed = check_renewal(&policy, &state(), &same, maturity, date("2026-08-31")).unwrap();
        assert_eq!(renewed, Maturity { date: date("2026-08-31"), original: date("2025-08-31"), renewals: 1 });
        let reason = |r: Result<Maturity, RenewalError>| r.unwrap_err().reason();
        // Twelve months past 31 August 2025 is 31 August 2026; a day more is too far.
        let too_far = check_renewal(&policy, &state(), &same, maturity, date("2026-09-01")).unwrap_err();
        assert_eq!(
            too_far.to_string(),
            "renewed_maturity_date 2026-09-01 is after 2026-08-31, 12 months past the maturity 2025-08-31 the loan was enrolled with"
        );
        assert_eq!(reason(check_renewal(&policy, &state(), &same, maturity, date("2025-08-31"))), "RENEWAL_NOT_LATER");
        assert_eq!(reason(check_renewal(&policy, &state(), &same, renewed, date("2026-08-31"))), "RENEWALS_EXHAUSTED");
        let repaid_some = report(0, Classification::Normal, "999999.99");
        assert_eq!(
            reason(check_renewal(&policy, &state(), &repaid_some, maturity, date("2026-01-31"))),
            "RENEWAL_CHANGES_PRINCIPAL"
        );
        for late in
            [report(1, Classification::Normal, "1000000.00"), report(0, Classification::SpecialMention, "1000000.00")]
        {
            assert_eq!(
                reason(check_renewal(&policy, &state(), &late, maturity, date("2026-01-31"))),
                "RENEWAL_NOT_PERFORMING"
            );
        }
        let overdue = LoanState { status: LoanStatus::Overdue, ..state() };
        assert_eq!(
            reason(check_renewal(&policy, &overdue, &same, maturity, date("2026-01-31"))),
            "RENEWAL_NOT_PERFORMING"
        );
    }
}
