//! The underwriting engine: eligibility rules, the technology scorecard, the pool share and
//! the decision. Pure and deterministic: the same submission, context and policy always
//! give the same decision.

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::application::Submission;
use crate::bank::BankStatus;
use crate::money::Money;
use crate::policy::Policy;
use crate::terms::{CollateralType, Grade};

/// Outcome of underwriting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Every rule passed, within the auto-approval limit.
    Approved,
    /// Eligible, but a risk officer decides.
    Referred,
    /// At least one eligibility rule failed.
    Rejected,
}

impl Outcome {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approved => "APPROVED",
            Outcome::Referred => "REFERRED",
            Outcome::Rejected => "REJECTED",
        }
    }
}

/// A broken rule with its stable reason code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleViolation {
    /// UPPER_SNAKE reason code.
    pub reason: String,
    /// Sentence with the figures.
    pub message: String,
    /// Request field the rule is about.
    pub field: String,
}

/// Points of one scorecard module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleScore {
    /// Module name.
    pub module: String,
    /// Points earned.
    pub points: u32,
    /// Points available.
    pub max_points: u32,
}

/// The decision on an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Outcome.
    pub outcome: Outcome,
    /// Every failed rule (rejection) and every reason for referral.
    pub violations: Vec<RuleViolation>,
    /// Scorecard total.
    pub score: u32,
    /// Points per module.
    pub modules: Vec<ModuleScore>,
    /// Grade.
    pub grade: Grade,
    /// Pool share of principal loss.
    pub pool_share: Decimal,
    /// The rows of the policy's pool-share table that made it, in order (empty in decisions
    /// stored before the table).
    #[serde(default)]
    pub pool_share_rows: Vec<ShareRow>,
    /// Covered-outstanding cap of the enterprise.
    pub enterprise_cap: Money,
    /// Last day to enrol; set when approved.
    pub approval_expire_date: Option<NaiveDate>,
    /// Policy version that decided.
    pub policy_version: String,
    /// Business date of the decision.
    pub decision_date: NaiveDate,
}

/// Facts outside the submission that the decision depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Business date of the decision.
    pub decision_date: NaiveDate,
    /// The lending bank's standing.
    pub bank_status: BankStatus,
    /// The enterprise's covered outstanding across all banks now.
    pub enterprise_covered_outstanding: Money,
}

/// Rejection reason codes.
pub mod reasons {
    /// USCC division not local.
    pub const ENTERPRISE_NOT_LOCAL: &str = "ENTERPRISE_NOT_LOCAL";
    /// No required qualification valid on the decision date.
    pub const NO_VALID_TECH_QUALIFICATION: &str = "NO_VALID_TECH_QUALIFICATION";
    /// Revenue above the limit.
    pub const REVENUE_ABOVE_LIMIT: &str = "REVENUE_ABOVE_LIMIT";
    /// Excluded industry.
    pub const INDUSTRY_EXCLUDED: &str = "INDUSTRY_EXCLUDED";
    /// Serious dishonesty record.
    pub const SERIOUS_DISHONESTY_RECORD: &str = "SERIOUS_DISHONESTY_RECORD";
    /// Related party of the lending bank.
    pub const RELATED_PARTY_OF_BANK: &str = "RELATED_PARTY_OF_BANK";
    /// Amount below the minimum.
    pub const AMOUNT_BELOW_MINIMUM: &str = "AMOUNT_BELOW_MINIMUM";
    /// Amount above the maximum.
    pub const AMOUNT_ABOVE_MAXIMUM: &str = "AMOUNT_ABOVE_MAXIMUM";
    /// Term shorter than allowed.
    pub const TERM_BELOW_MINIMUM: &str = "TERM_BELOW_MINIMUM";
    /// Term longer than allowed.
    pub const TERM_ABOVE_MAXIMUM: &str = "TERM_ABOVE_MAXIMUM";
    /// Rate above LPR + spread.
    pub const RATE_ABOVE_CAP: &str = "RATE_ABOVE_CAP";
    /// Excluded purpose.
    pub const PURPOSE_EXCLUDED: &str = "PURPOSE_EXCLUDED";
    /// Grade D.
    pub const GRADE_INELIGIBLE: &str = "GRADE_INELIGIBLE";
    /// The enterprise's covered outstanding would exceed its cap.
    pub const ENTERPRISE_CAP_EXCEEDED: &str = "ENTERPRISE_CAP_EXCEEDED";
    /// Referral: above the auto-approval limit.
    pub const AMOUNT_ABOVE_AUTO_APPROVAL_LIMIT: &str = "AMOUNT_ABOVE_AUTO_APPROVAL_LIMIT";
    /// Referral: grade CCC.
    pub const GRADE_REFERRED: &str = "GRADE_REFERRED";
    /// Referral: the bank is on watch.
    pub const BANK_ON_WATCH: &str = "BANK_ON_WATCH";
    /// Referral: the bank is suspended.
    pub const BANK_SUSPENDED: &str = "BANK_SUSPENDED";
}

/// Full years from `start` to `end` (0 when `end` is earlier).
pub fn full_years_between(start: NaiveDate, end: NaiveDate) -> u32 {
    if end < start {
        return 0;
    }
    let mut years = end.year() - start.year();
    if (end.month(), end.day()) < (start.month(), start.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

fn ratio(numerator: Money, denominator: Money) -> Option<Decimal> {
    if denominator.is_zero() { None } else { numerator.to_decimal().checked_div(denominator.to_decimal()) }
}

/// Scores a submission on the policy's scorecard.
pub fn score(policy: &Policy, submission: &Submission, date: NaiveDate) -> Vec<ModuleScore> {
    let card = &policy.scorecard;
    let enterprise = &submission.enterprise;
    let module = |name: &str, factors: &[(&crate::policy::Factor, Decimal)]| ModuleScore {
        module: name.to_owned(),
        points: factors.iter().map(|(factor, value)| factor.points(*value)).sum(),
        max_points: factors.iter().map(|(factor, _)| factor.max_points()).sum(),
    };
    let years = Decimal::from(full_years_between(enterprise.registration_date, date));
    let rd_ratio = match ratio(enterprise.rd_expense, enterprise.annual_revenue) {
        Some(value) => value,
        None if enterprise.rd_expense.is_zero() => Decimal::ZERO,
        None => Decimal::MAX,
    };
    let mut valid: Vec<_> =
        enterprise.qualifications.iter().filter(|q| q.is_valid_on(date)).map(|q| q.qualification).collect();
    valid.sort_unstable();
    valid.dedup();
    let growth = ratio(
        enterprise.annual_revenue.checked_sub(enterprise.previous_annual_revenue).unwrap_or(Money::ZERO),
        enterprise.previous_annual_revenue,
    )
    .unwrap_or(Decimal::ZERO);
    let debt_to_asset = ratio(enterprise.total_liabilities, enterprise.total_assets).unwrap_or(Decimal::MAX);
    vec![
        module(
            "management",
            &[
                (&card.management.years_operating, years),
                (&card.management.founder_experience_years, Decimal::from(enterprise.founder_experience_years)),
            ],
        ),
        module(
            "technology",
            &[
                (&card.technology.rd_expense_ratio, rd_ratio),
                (&card.technology.invention_patents, Decimal::from(enterprise.invention_patents)),
                (&card.technology.valid_qualifications, Decimal::from(valid.len())),
            ],
        ),
        module("market", &[(&card.market.revenue_growth, growth)]),
        module(
            "finance",
            &[
                (&card.finance.debt_to_asset, debt_to_asset),
                (&card.finance.prior_overdue_count, Decimal::from(enterprise.prior_overdue_count)),
            ],
        ),
    ]
}

/// One row of the pool-share table as it applied to a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRow {
    /// The policy's row: `pool_share.base`, `pool_share.class_base.SPECIALIZED_NEW`,
    /// `pool_share.pure_credit_bonus`, `pool_share.first_bank_loan_bonus` or
    /// `pool_share.maximum`.
    pub row: String,
    /// What it did: the base it set, the points it added, or (the ceiling) what it cut, negative.
    pub effect: Decimal,
    /// The share after it.
    pub share: Decimal,
}

/// The pool's share of principal loss for the loan's terms on `date`, with the rows of the
/// policy's table that made it: the base (the highest class base among the enterprise's
/// qualifications valid that day, else the base), the bonuses, the ceiling.
pub fn pool_share(policy: &Policy, submission: &Submission, date: NaiveDate) -> (Decimal, Vec<ShareRow>) {
    let table = &policy.pool_share;
    let held = |q| submission.enterprise.qualifications.iter().any(|h| h.qualification == q && h.is_valid_on(date));
    let class = table.class_base.iter().filter(|row| held(row.qualification)).max_by_key(|row| row.base);
    let (row, mut share) = match class {
        Some(class) => (format!("pool_share.class_base.{}", class.qualification), class.base),
        None => ("pool_share.base".to_owned(), table.base),
    };
    let mut rows = vec![ShareRow { row, effect: share, share }];
    let bonuses = [
        (
            submission.terms.collateral == CollateralType::PureCredit,
            "pool_share.pure_credit_bonus",
            table.pure_credit_bonus,
        ),
        (submission.terms.first_bank_loan, "pool_share.first_bank_loan_bonus", table.first_bank_loan_bonus),
    ];
    for (_, row, effect) in bonuses.into_iter().filter(|(applies, _, _)| *applies) {
        share += effect;
        rows.push(ShareRow { row: row.to_owned(), effect, share });
    }
    if share > table.maximum {
        rows.push(ShareRow {
            row: "pool_share.maximum".to_owned(),
            effect: table.maximum - share,
            share: table.maximum,
        });
        share = table.maximum;
    }
    (share, rows)
}

struct Rules(Vec<RuleViolation>);

impl Rules {
    fn fail(&mut self, reason: &str, field: &str, message: String) {
        self.0.push(RuleViolation { reason: reason.to_owned(), message, field: field.to_owned() });
    }
}

/// Underwrites a submission: every eligibility rule, the scorecard, the pool share and the
/// referral rules. A rejection lists every failed rule, not only the first.
pub fn underwrite(policy: &Policy, submission: &Submission, context: &Context) -> Decision {
    let enterprise = &submission.enterprise;
    let terms = &submission.terms;
    let date = context.decision_date;
    let eligibility = &policy.eligibility;
    let mut failed = Rules(Vec::new());

    let division = enterprise.uscc.admin_division();
    if !eligibility.local_admin_divisions.iter().any(|code| code == division) {
        failed.fail(
            reasons::ENTERPRISE_NOT_LOCAL,
            "enterprise.uscc",
            format!(
                "the enterprise is registered in division {division}, not in a local division ({})",
                eligibility.local_admin_divisions.join(", ")
            ),
        );
    }
    let qualified = enterprise
        .qualifications
        .iter()
        .any(|q| q.is_valid_on(date) && eligibility.qualifications.contains(&q.qualification));
    if !qualified {
        failed.fail(
            reasons::NO_VALID_TECH_QUALIFICATION,
            "enterprise.qualifications",
            format!("the enterprise holds no required technology qualification valid on {date}"),
        );
    }
    if enterprise.annual_revenue > eligibility.max_annual_revenue {
        failed.fail(
            reasons::REVENUE_ABOVE_LIMIT,
            "enterprise.annual_revenue",
            format!(
                "annual revenue {} is above the limit {}",
                enterprise.annual_revenue, eligibility.max_annual_revenue
            ),
        );
    }
    if eligibility.excluded_industry_sections.contains(&enterprise.industry_section) {
        failed.fail(
            reasons::INDUSTRY_EXCLUDED,
            "enterprise.industry_section",
            format!("industry section {} is excluded", enterprise.industry_section),
        );
    }
    if enterprise.serious_dishonesty_record {
        failed.fail(
            reasons::SERIOUS_DISHONESTY_RECORD,
            "enterprise.serious_dishonesty_record",
            format!(
                "the enterprise has a serious dishonesty record within {} years",
                eligibility.dishonesty_lookback_years
            ),
        );
    }
    if enterprise.related_party_of_bank {
        failed.fail(
            reasons::RELATED_PARTY_OF_BANK,
            "enterprise.related_party_of_bank",
            "the enterprise is a related party of the lending bank".to_owned(),
        );
    }
    let loan = &policy.loan;
    if terms.amount < loan.min_amount {
        failed.fail(
            reasons::AMOUNT_BELOW_MINIMUM,
            "terms.amount",
            format!("amount {} is below the minimum {}", terms.amount, loan.min_amount),
        );
    }
    if terms.amount > loan.max_amount {
        failed.fail(
            reasons::AMOUNT_ABOVE_MAXIMUM,
            "terms.amount",
            format!("amount {} is above the maximum {}", terms.amount, loan.max_amount),
        );
    }
    if terms.term_months < loan.min_term_months {
        failed.fail(
            reasons::TERM_BELOW_MINIMUM,
            "terms.term_months",
            format!("term of {} months is below the minimum {}", terms.term_months, loan.min_term_months),
        );
    }
    if terms.term_months > loan.max_term_months {
        failed.fail(
            reasons::TERM_ABOVE_MAXIMUM,
            "terms.term_months",
            format!("term of {} months is above the maximum {}", terms.term_months, loan.max_term_months),
        );
    }
    let rate_cap = policy.rate_cap_on(date);
    if terms.annual_rate > rate_cap {
        failed.fail(
            reasons::RATE_ABOVE_CAP,
            "terms.annual_rate",
            format!(
                "annual rate {} is above the cap {} (one-year LPR {} + {})",
                terms.annual_rate.normalize(),
                rate_cap.normalize(),
                policy.lpr_on(date).normalize(),
                loan.max_rate_spread_over_lpr.normalize()
            ),
        );
    }
    if eligibility.excluded_purposes.contains(&terms.purpose) {
        failed.fail(reasons::PURPOSE_EXCLUDED, "terms.purpose", format!("loan purpose {} is excluded", terms.purpose));
    }

    let modules = score(policy, submission, date);
    let total: u32 = modules.iter().map(|m| m.points).sum();
    let grade = policy.grade_of(total);
    if grade == Grade::D {
        failed.fail(
            reasons::GRADE_INELIGIBLE,
            "enterprise",
            format!("technology rating score {total} gives grade D, which is ineligible"),
        );
    }
    let enterprise_cap = policy.enterprise_cap_for(grade);
    let after = context.enterprise_covered_outstanding.checked_add(terms.amount).unwrap_or(Money::from_fen(i64::MAX));
    if after > enterprise_cap {
        failed.fail(
            reasons::ENTERPRISE_CAP_EXCEEDED,
            "terms.amount",
            format!(
                "covered outstanding of the enterprise would be {after} ({} now + {}), above its cap {enterprise_cap} for grade {grade}",
                context.enterprise_covered_outstanding, terms.amount
            ),
        );
    }

    let (pool_share, pool_share_rows) = pool_share(policy, submission, date);
    let mut violations = failed.0;
    let rejected = !violations.is_empty();
    let mut referred = Rules(Vec::new());
    if terms.amount > loan.auto_approval_limit {
        referred.fail(
            reasons::AMOUNT_ABOVE_AUTO_APPROVAL_LIMIT,
            "terms.amount",
            format!("amount {} is above the auto-approval limit {}", terms.amount, loan.auto_approval_limit),
        );
    }
    if grade == Grade::Ccc {
        referred.fail(reasons::GRADE_REFERRED, "enterprise", format!("grade CCC (score {total}) is referred"));
    }
    match context.bank_status {
        BankStatus::Active => {}
        BankStatus::Watch => referred.fail(
            reasons::BANK_ON_WATCH,
            "bank",
            "the bank is on watch for its NPL ratio: new applications are referred".to_owned(),
        ),
        BankStatus::Suspended => referred.fail(
            reasons::BANK_SUSPENDED,
            "bank",
            "the bank is suspended: new enrolments are blocked until it is resumed".to_owned(),
        ),
    }
    let outcome = if rejected {
        Outcome::Rejected
    } else if !referred.0.is_empty() {
        Outcome::Referred
    } else {
        Outcome::Approved
    };
    // A rejection lists the failed rules; referral reasons only matter when nothing failed.
    if !rejected {
        violations.extend(referred.0);
    }
    Decision {
        outcome,
        violations,
        score: total,
        modules,
        grade,
        pool_share,
        pool_share_rows,
        enterprise_cap,
        approval_expire_date: (outcome == Outcome::Approved).then(|| approval_expiry(policy, date)),
        policy_version: policy.version.clone(),
        decision_date: date,
    }
}

/// The last day an approval given on `date` may be enrolled.
pub fn approval_expiry(policy: &Policy, date: NaiveDate) -> NaiveDate {
    date.checked_add_days(Days::new(u64::from(policy.enrolment.max_days_after_approval))).unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests;
