//! The versioned policy: every parameter of DOMAIN.md, loaded from a TOML file and
//! validated before the server starts.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::money::Money;
use crate::terms::{Classification, ContributorGroup, Grade, LoanPurpose, Qualification, is_industry_section};

/// The built-in default policy (DOMAIN.md's defaults), used when no file is configured.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../policy/default.toml");

/// Why a policy document cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not TOML of the expected shape.
    #[error("policy is not valid: {0}")]
    Parse(String),
    /// A parameter breaks a rule.
    #[error("policy parameter {field} {problem}")]
    Invalid {
        /// Dotted path of the parameter, e.g. `pool_share.maximum`.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

/// The whole policy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Version recorded with every decision, e.g. "2025.1".
    pub version: String,
    /// First date the policy applies to.
    pub effective_from: NaiveDate,
    /// Pool size and leverage.
    pub pool: PoolPolicy,
    /// Contributor groups and their shares.
    pub contributors: Vec<ContributorPolicy>,
    /// Enterprise eligibility.
    pub eligibility: EligibilityPolicy,
    /// Loan limits.
    pub loan: LoanPolicy,
    /// Covered outstanding per enterprise.
    pub enterprise_cap: EnterpriseCapPolicy,
    /// One-year LPR by effective date.
    pub lpr: Vec<LprEntry>,
    /// Share of principal loss borne by the pool.
    pub pool_share: PoolSharePolicy,
    /// Enrolment deadlines.
    pub enrolment: EnrolmentPolicy,
    /// When a loan counts as defaulted.
    pub default_trigger: DefaultTriggerPolicy,
    /// Renewal without principal repayment; DOMAIN.md's limits when absent.
    #[serde(default)]
    pub renewal: RenewalPolicy,
    /// Claims.
    pub claims: ClaimsPolicy,
    /// Co-sharing parties and the bank's minimum retention; none and 20 % when absent.
    #[serde(default)]
    pub loss_sharing: LossSharingPolicy,
    /// Bank watch and suspension.
    pub bank_status: BankStatusPolicy,
    /// The banks' own grade (A–D) from their loss record; DOMAIN.md's thresholds when absent.
    #[serde(default)]
    pub bank_rating: BankRatingPolicy,
    /// Minimum score of each grade.
    pub rating: RatingPolicy,
    /// The technology-rating scorecard.
    pub scorecard: ScorecardPolicy,
}

/// Which way a scorecard factor improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Larger values earn more points.
    Higher,
    /// Smaller values earn more points.
    Lower,
}

/// One scorecard factor: bands of (threshold, points).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Factor {
    /// Direction.
    pub better: Better,
    /// Bands in increasing threshold order.
    pub bands: Vec<(Decimal, u32)>,
}

impl Factor {
    /// Points the value earns.
    pub fn points(&self, value: Decimal) -> u32 {
        match self.better {
            Better::Higher => self.bands.iter().rev().find(|(threshold, _)| value >= *threshold),
            Better::Lower => self.bands.iter().find(|(threshold, _)| value <= *threshold),
        }
        .map_or(0, |(_, points)| *points)
    }

    /// The most points the factor can give.
    pub fn max_points(&self) -> u32 {
        self.bands.iter().map(|(_, points)| *points).max().unwrap_or(0)
    }
}

/// Management module.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagementModule {
    /// Full years since registration.
    pub years_operating: Factor,
    /// Founder's years of experience.
    pub founder_experience_years: Factor,
}

/// Technology module.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TechnologyModule {
    /// R&D expense ÷ revenue.
    pub rd_expense_ratio: Factor,
    /// Invention patents.
    pub invention_patents: Factor,
    /// Valid qualifications.
    pub valid_qualifications: Factor,
}

/// Market module.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketModule {
    /// Revenue growth.
    pub revenue_growth: Factor,
}

/// Finance module.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinanceModule {
    /// Liabilities ÷ assets.
    pub debt_to_asset: Factor,
    /// Prior overdue episodes.
    pub prior_overdue_count: Factor,
}

/// The scorecard's modules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScorecardPolicy {
    /// Management.
    pub management: ManagementModule,
    /// Technology.
    pub technology: TechnologyModule,
    /// Market.
    pub market: MarketModule,
    /// Finance.
    pub finance: FinanceModule,
}

impl ScorecardPolicy {
    fn factors(&self) -> [(&'static str, &Factor); 8] {
        [
            ("scorecard.management.years_operating", &self.management.years_operating),
            ("scorecard.management.founder_experience_years", &self.management.founder_experience_years),
            ("scorecard.technology.rd_expense_ratio", &self.technology.rd_expense_ratio),
            ("scorecard.technology.invention_patents", &self.technology.invention_patents),
            ("scorecard.technology.valid_qualifications", &self.technology.valid_qualifications),
            ("scorecard.market.revenue_growth", &self.market.revenue_growth),
            ("scorecard.finance.debt_to_asset", &self.finance.debt_to_asset),
            ("scorecard.finance.prior_overdue_count", &self.finance.prior_overdue_count),
        ]
    }

    /// The most points the whole scorecard can give.
    pub fn max_points(&self) -> u32 {
        self.factors().iter().map(|(_, factor)| factor.max_points()).sum()
    }
}

/// Pool size and leverage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolPolicy {
    /// Target committed capital.
    pub size_target: Money,
    /// Target covered loan balance.
    pub covered_balance_target: Money,
    /// Covered outstanding ÷ net pool assets may not exceed this.
    pub max_leverage: Decimal,
    /// Net pool assets below this fraction of committed capital suspend the pool.
    pub suspension_net_assets_ratio: Decimal,
}

/// One contributor group.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContributorPolicy {
    /// Which group.
    pub kind: ContributorGroup,
    /// Display name.
    pub name: String,
    /// Share of the pool size target.
    pub share: Decimal,
    /// Target contribution.
    pub target: Money,
}

/// Enterprise eligibility.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityPolicy {
    /// Admin-division codes counted as local.
    pub local_admin_divisions: Vec<String>,
    /// Qualifications of which at least one is required.
    pub qualifications: Vec<Qualification>,
    /// Maximum annual revenue.
    pub max_annual_revenue: Money,
    /// Excluded GB/T 4754 sections.
    pub excluded_industry_sections: Vec<String>,
    /// A serious dishonesty record within this many years makes the enterprise ineligible.
    pub dishonesty_lookback_years: u32,
    /// Excluded loan purposes.
    pub excluded_purposes: Vec<LoanPurpose>,
}

/// Loan limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoanPolicy {
    /// Smallest loan.
    pub min_amount: Money,
    /// Largest loan.
    pub max_amount: Money,
    /// Shortest term.
    pub min_term_months: u32,
    /// Longest term.
    pub max_term_months: u32,
    /// Rate cap = one-year LPR + this.
    pub max_rate_spread_over_lpr: Decimal,
    /// Above this, eligible applications are referred.
    pub auto_approval_limit: Money,
}

/// Covered outstanding per enterprise.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseCapPolicy {
    /// Cap below the high grade.
    pub default: Money,
    /// Cap at or above the high grade.
    pub high_grade: Money,
    /// The lowest grade that gets the high cap.
    pub high_grade_minimum: Grade,
}

/// One LPR fixing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LprEntry {
    /// Date it took effect.
    pub effective_from: NaiveDate,
    /// One-year LPR.
    pub one_year: Decimal,
}

/// Pool share of principal loss.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSharePolicy {
    /// Base share.
    pub base: Decimal,
    /// Added for pure-credit loans.
    pub pure_credit_bonus: Decimal,
    /// Added for the enterprise's first bank loan.
    pub first_bank_loan_bonus: Decimal,
    /// Rows setting the base by qualification class (e.g. 专精特新 0.55): an enterprise
    /// holding one of them, valid on the decision date, starts from the highest such base
    /// instead of `base`. None by default.
    #[serde(default)]
    pub class_base: Vec<ClassBase>,
    /// Never more than this.
    pub maximum: Decimal,
}

/// Renewal without principal repayment (无还本续贷): a performing loan's maturity moves,
/// its outstanding stays, cover continues.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalPolicy {
    /// Renewals a loan may have (0: none).
    pub max_renewals: u32,
    /// How far past the maturity it was enrolled with a renewal may move it, in months.
    pub max_extension_months: u32,
}

impl Default for RenewalPolicy {
    /// DOMAIN.md's: at most one renewal, the maturity moved at most 12 months.
    fn default() -> RenewalPolicy {
        RenewalPolicy { max_renewals: 1, max_extension_months: 12 }
    }
}

/// A pool-share row: the base for enterprises of one qualification class.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassBase {
    /// The class.
    pub qualification: crate::terms::Qualification,
    /// Its base share.
    pub base: Decimal,
}

/// Enrolment deadlines.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentPolicy {
    /// Days after disbursement.
    pub max_days_after_disbursement: u32,
    /// Days after approval.
    pub max_days_after_approval: u32,
}

/// The default trigger.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultTriggerPolicy {
    /// Days past due at which a loan defaults.
    pub days_past_due: u32,
    /// This classification or worse defaults a loan.
    pub classification: Classification,
}

/// Claims.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsPolicy {
    /// Days after default within which a claim must be filed.
    pub deadline_days: u32,
    /// Compensation per bank per calendar year.
    pub annual_cap_per_bank: Money,
    /// Compensation above this needs a second approver.
    pub four_eyes_threshold: Money,
    /// A default within this many months after enrolment is an early default: its claim is
    /// flagged EARLY_DEFAULT and needs two approvers. 0 (the default when absent) turns the
    /// rule off.
    #[serde(default)]
    pub early_default_months: u32,
    /// Portfolio cap rate: Σ compensation on a bank's loans enrolled in one year ≤ this ×
    /// Σ principal the bank enrolled that year. None (absent) for no such cap.
    #[serde(default)]
    pub portfolio_cap_rate: Option<Decimal>,
}

/// Who else bears a defaulted loan's principal loss (政银保, 政银担), and what the bank keeps.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossSharingPolicy {
    /// The least share of the principal loss the bank bears itself: the pool's share is
    /// reduced where the co-sharers would leave the bank less.
    pub bank_min_retention: Decimal,
    /// The co-sharing parties, in order, each with its share of the principal loss.
    #[serde(default)]
    pub parties: Vec<PartyShare>,
}

impl Default for LossSharingPolicy {
    /// DOMAIN.md's: no co-sharers; the bank keeps at least 20 %.
    fn default() -> LossSharingPolicy {
        LossSharingPolicy { bank_min_retention: Decimal::new(20, 2), parties: Vec::new() }
    }
}

/// A co-sharing party's share of every principal loss.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyShare {
    /// The party's id, as an administrator registered it (`parties/<id>`).
    pub party: String,
    /// Its share of the principal loss.
    pub share: Decimal,
}

/// Bank watch and suspension thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankStatusPolicy {
    /// NPL ratio above which new applications are referred.
    pub watch_npl_ratio: Decimal,
    /// NPL ratio above which new enrolments are blocked.
    pub suspend_npl_ratio: Decimal,
    /// A quarterly bank grade at or below this one puts the bank on watch too (absent: the
    /// grade does not).
    #[serde(default)]
    pub watch_grade: Option<crate::bank::BankGrade>,
    /// A quarterly bank grade at or below this one suspends the bank too (absent: the grade
    /// does not).
    #[serde(default)]
    pub suspend_grade: Option<crate::bank::BankGrade>,
}

/// A bank's grade: A when its NPL ratio and its payout ratio (compensation ÷ principal
/// enrolled) are both at most A's thresholds (and, when set, its early defaults and its last
/// tape's mismatch rate too); else B, C by NPL ratio; D above C's.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankRatingPolicy {
    /// A: NPL ratio at most this…
    pub a_max_npl_ratio: Decimal,
    /// …and payout ratio at most this.
    pub a_max_payout_ratio: Decimal,
    /// A: at most this many early defaults (absent: not a condition).
    #[serde(default)]
    pub a_max_early_defaults: Option<u32>,
    /// A and B: the last tape's mismatch rate at most this (absent: not a condition).
    #[serde(default)]
    pub b_max_mismatch_rate: Option<Decimal>,
    /// B: NPL ratio at most this.
    pub b_max_npl_ratio: Decimal,
    /// C: NPL ratio at most this; above, D.
    pub c_max_npl_ratio: Decimal,
}

impl Default for BankRatingPolicy {
    /// DOMAIN.md's: A ≤ 1.5 % NPL and ≤ 1 % payout; B ≤ 3 %; C ≤ 5 %.
    fn default() -> BankRatingPolicy {
        BankRatingPolicy {
            a_max_npl_ratio: Decimal::new(15, 3),
            a_max_payout_ratio: Decimal::new(1, 2),
            a_max_early_defaults: None,
            b_max_mismatch_rate: None,
            b_max_npl_ratio: Decimal::new(3, 2),
            c_max_npl_ratio: Decimal::new(5, 2),
        }
    }
}

/// Minimum scores of the grades; anything below CCC is D.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, missing_docs)]
pub struct RatingPolicy {
    pub AAA: u32,
    pub AA: u32,
    pub A: u32,
    pub BBB: u32,
    pub BB: u32,
    pub B: u32,
    pub CCC: u32,
}

fn invalid(field: &str, problem: impl Into<String>) -> PolicyError {
    PolicyError::Invalid { field: field.to_owned(), problem: problem.into() }
}

fn fraction(field: &str, value: Decimal) -> Result<(), PolicyError> {
    if value < Decimal::ZERO || value > Decimal::ONE {
        return Err(invalid(field, format!("must be between 0 and 1, got {value}")));
    }
    Ok(())
}

fn positive(field: &str, value: Money) -> Result<(), PolicyError> {
    if value <= Money::ZERO {
        return Err(invalid(field, format!("must be greater than 0, got {value}")));
    }
    Ok(())
}

impl Policy {
    /// The built-in default policy.
    pub fn default_policy() -> Policy {
        // The embedded file is checked by a unit test; failing here would be a build defect.
        #[allow(clippy::expect_used)]
        Policy::from_toml(DEFAULT_POLICY_TOML).expect("the built-in policy is valid")
    }

    /// Parses and validates a policy document.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let policy: Policy = toml::from_str(text).map_err(|e| PolicyError::Parse(e.message().to_owned()))?;
        policy.validate()?;
        Ok(policy)
    }

    fn validate_loss_sharing(&self) -> Result<(), PolicyError> {
        let sharing = &self.loss_sharing;
        fraction("loss_sharing.bank_min_retention", sharing.bank_min_retention)?;
        let mut seen = BTreeSet::new();
        for party in &sharing.parties {
            if let Err(e) = crate::PartyId::parse(&party.party) {
                return Err(invalid("loss_sharing.parties.party", format!("{:?} {e}", party.party)));
            }
            if !seen.insert(party.party.as_str()) {
                return Err(invalid("loss_sharing.parties", format!("{} is listed more than once", party.party)));
            }
            fraction("loss_sharing.parties.share", party.share)?;
            if party.share.is_zero() {
                return Err(invalid("loss_sharing.parties.share", format!("of {} must be above 0", party.party)));
            }
        }
        let parties: Decimal = sharing.parties.iter().map(|p| p.share).sum();
        if parties + sharing.bank_min_retention > Decimal::ONE {
            return Err(invalid(
                "loss_sharing.parties",
                format!(
                    "shares total {parties}, which with the bank's minimum retention {} is more than the whole loss",
                    sharing.bank_min_retention
                ),
            ));
        }
        Ok(())
    }

    /// Checks every rule a usable policy must satisfy.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.version.trim().is_empty() {
            return Err(invalid("version", "must not be empty"));
        }
        positive("pool.size_target", self.pool.size_target)?;
        positive("pool.covered_balance_target", self.pool.covered_balance_target)?;
        if self.pool.max_leverage <= Decimal::ZERO {
            return Err(invalid("pool.max_leverage", "must be greater than 0"));
        }
        fraction("pool.suspension_net_assets_ratio", self.pool.suspension_net_assets_ratio)?;

        let mut groups = BTreeSet::new();
        for contributor in &self.contributors {
            fraction("contributors.share", contributor.share)?;
            if !groups.insert(contributor.kind) {
                return Err(invalid("contributors.kind", format!("{} is listed twice", contributor.kind)));
            }
        }
        let share_total: Decimal = self.contributors.iter().map(|c| c.share).sum();
        if share_total != Decimal::ONE {
            return Err(invalid("contributors.share", format!("must add up to 1, got {share_total}")));
        }
        let target_total: Money = self.contributors.iter().map(|c| c.target).sum();
        if target_total != self.pool.size_target {
            return Err(invalid(
                "contributors.target",
                format!("must add up to pool.size_target {}, got {target_total}", self.pool.size_target),
            ));
        }

        let eligibility = &self.eligibility;
        for code in &eligibility.local_admin_divisions {
            if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid("eligibility.local_admin_divisions", format!("{code:?} is not a six-digit code")));
            }
        }
        if eligibility.local_admin_divisions.is_empty() {
            return Err(invalid("eligibility.local_admin_divisions", "must not be empty"));
        }
        for section in &eligibility.excluded_industry_sections {
            if !is_industry_section(section) {
                return Err(invalid(
                    "eligibility.excluded_industry_sections",
                    format!("{section:?} is not a section A–T"),
                ));
            }
        }
        positive("eligibility.max_annual_revenue", eligibility.max_annual_revenue)?;

        let loan = &self.loan;
        positive("loan.min_amount", loan.min_amount)?;
        if loan.min_amount > loan.max_amount {
            return Err(invalid("loan.min_amount", "must not exceed loan.max_amount"));
        }
        if loan.min_term_months == 0 || loan.min_term_months > loan.max_term_months {
            return Err(invalid("loan.min_term_months", "must be at least 1 and not exceed loan.max_term_months"));
        }
        fraction("loan.max_rate_spread_over_lpr", loan.max_rate_spread_over_lpr)?;
        positive("loan.auto_approval_limit", loan.auto_approval_limit)?;

        positive("enterprise_cap.default", self.enterprise_cap.default)?;
        if self.enterprise_cap.high_grade < self.enterprise_cap.default {
            return Err(invalid("enterprise_cap.high_grade", "must not be below enterprise_cap.default"));
        }

        if self.lpr.is_empty() {
            return Err(invalid("lpr", "needs at least one entry"));
        }
        for pair in self.lpr.windows(2) {
            if pair[0].effective_from >= pair[1].effective_from {
                return Err(invalid("lpr.effective_from", "entries must be in increasing date order"));
            }
        }
        for entry in &self.lpr {
            fraction("lpr.one_year", entry.one_year)?;
        }

        let share = &self.pool_share;
        fraction("pool_share.base", share.base)?;
        fraction("pool_share.pure_credit_bonus", share.pure_credit_bonus)?;
        fraction("pool_share.first_bank_loan_bonus", share.first_bank_loan_bonus)?;
        fraction("pool_share.maximum", share.maximum)?;
        if share.base > share.maximum {
            return Err(invalid("pool_share.base", "must not exceed pool_share.maximum"));
        }
        for (index, row) in share.class_base.iter().enumerate() {
            fraction("pool_share.class_base.base", row.base)?;
            if row.base > share.maximum {
                return Err(invalid("pool_share.class_base.base", "must not exceed pool_share.maximum"));
            }
            if share.class_base[..index].iter().any(|earlier| earlier.qualification == row.qualification) {
                return Err(invalid("pool_share.class_base", format!("{} has more than one row", row.qualification)));
            }
        }

        if self.enrolment.max_days_after_disbursement == 0 || self.enrolment.max_days_after_approval == 0 {
            return Err(invalid("enrolment", "deadlines must be at least one day"));
        }
        if self.renewal.max_extension_months > 60 {
            return Err(invalid("renewal.max_extension_months", "must be at most 60"));
        }
        if self.default_trigger.days_past_due == 0 {
            return Err(invalid("default_trigger.days_past_due", "must be at least 1"));
        }
        if self.claims.deadline_days == 0 {
            return Err(invalid("claims.deadline_days", "must be at least 1"));
        }
        positive("claims.annual_cap_per_bank", self.claims.annual_cap_per_bank)?;
        positive("claims.four_eyes_threshold", self.claims.four_eyes_threshold)?;
        if let Some(rate) = self.claims.portfolio_cap_rate {
            fraction("claims.portfolio_cap_rate", rate)?;
            if rate.is_zero() {
                return Err(invalid(
                    "claims.portfolio_cap_rate",
                    "must be above 0 (leave it out for no portfolio cap)",
                ));
            }
        }
        if self.claims.early_default_months > 120 {
            return Err(invalid("claims.early_default_months", "must be at most 120 (0 turns the rule off)"));
        }
        self.validate_loss_sharing()?;
        if let (Some(watch), Some(suspend)) = (self.bank_status.watch_grade, self.bank_status.suspend_grade)
            && suspend < watch
        {
            return Err(invalid(
                "bank_status.suspend_grade",
                format!("{suspend} is better than watch_grade {watch}: suspension must need a grade at least as bad"),
            ));
        }

        let rating = &self.bank_rating;
        fraction("bank_rating.a_max_npl_ratio", rating.a_max_npl_ratio)?;
        fraction("bank_rating.a_max_payout_ratio", rating.a_max_payout_ratio)?;
        fraction("bank_rating.b_max_npl_ratio", rating.b_max_npl_ratio)?;
        fraction("bank_rating.c_max_npl_ratio", rating.c_max_npl_ratio)?;
        if let Some(rate) = rating.b_max_mismatch_rate {
            fraction("bank_rating.b_max_mismatch_rate", rate)?;
        }
        if !(rating.a_max_npl_ratio <= rating.b_max_npl_ratio && rating.b_max_npl_ratio <= rating.c_max_npl_ratio) {
            return Err(invalid("bank_rating", "NPL thresholds must rise from A to B to C"));
        }
        fraction("bank_status.watch_npl_ratio", self.bank_status.watch_npl_ratio)?;
        fraction("bank_status.suspend_npl_ratio", self.bank_status.suspend_npl_ratio)?;
        if self.bank_status.watch_npl_ratio > self.bank_status.suspend_npl_ratio {
            return Err(invalid("bank_status.watch_npl_ratio", "must not exceed bank_status.suspend_npl_ratio"));
        }

        for (field, factor) in self.scorecard.factors() {
            if factor.bands.is_empty() {
                return Err(invalid(field, "needs at least one band"));
            }
            if factor.bands.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
                return Err(invalid(field, "band thresholds must increase"));
            }
        }
        if self.scorecard.max_points() != 1000 {
            return Err(invalid(
                "scorecard",
                format!("the best bands must add up to 1000 points, got {}", self.scorecard.max_points()),
            ));
        }
        let class_bases = self.pool_share.class_base.iter().map(|row| row.base);
        for share in [self.pool_share.base, self.pool_share.pure_credit_bonus, self.pool_share.first_bank_loan_bonus]
            .into_iter()
            .chain(class_bases)
        {
            if share.round_dp(2) != share {
                return Err(invalid("pool_share", "shares must be whole percentages (two decimal places)"));
            }
        }

        let r = &self.rating;
        let thresholds = [r.AAA, r.AA, r.A, r.BBB, r.BB, r.B, r.CCC];
        if thresholds.windows(2).any(|pair| pair[0] <= pair[1]) || r.AAA > 1000 {
            return Err(invalid("rating", "grade minimums must fall strictly from AAA to CCC, within 0–1000"));
        }
        Ok(())
    }

    /// The grade of a score.
    pub fn grade_of(&self, score: u32) -> Grade {
        let r = &self.rating;
        [
            (r.AAA, Grade::Aaa),
            (r.AA, Grade::Aa),
            (r.A, Grade::A),
            (r.BBB, Grade::Bbb),
            (r.BB, Grade::Bb),
            (r.B, Grade::B),
            (r.CCC, Grade::Ccc),
        ]
        .into_iter()
        .find(|(minimum, _)| score >= *minimum)
        .map_or(Grade::D, |(_, grade)| grade)
    }

    /// The annual rate cap on `date`: one-year LPR + the allowed spread.
    pub fn rate_cap_on(&self, date: NaiveDate) -> Decimal {
        self.lpr_on(date) + self.loan.max_rate_spread_over_lpr
    }

    /// The per-enterprise cap of covered outstanding for a grade.
    pub fn enterprise_cap_for(&self, grade: Grade) -> Money {
        // Grades are ordered best first, so "at least AA" is "<= AA".
        if grade <= self.enterprise_cap.high_grade_minimum {
            self.enterprise_cap.high_grade
        } else {
            self.enterprise_cap.default
        }
    }

    /// The one-year LPR in force on `date` (the latest fixing on or before it; the earliest
    /// fixing for dates before the table starts).
    pub fn lpr_on(&self, date: NaiveDate) -> Decimal {
        self.lpr
            .iter()
            .rev()
            .find(|entry| entry.effective_from <= date)
            .or(self.lpr.first())
            .map_or(Decimal::ZERO, |entry| entry.one_year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_is_domain_md() {
        let policy = Policy::default_policy();
        assert_eq!(policy.version, "2025.1");
        assert_eq!(policy.pool.size_target.to_string(), "50000000.00");
        assert_eq!(policy.pool.covered_balance_target.to_string(), "600000000.00");
        assert_eq!(policy.pool.max_leverage, Decimal::from(12));
        assert_eq!(policy.loan.auto_approval_limit.to_string(), "2000000.00");
        assert_eq!(policy.claims.annual_cap_per_bank.to_string(), "10000000.00");
        assert_eq!(policy.pool_share.maximum, Decimal::new(70, 2));
        assert_eq!(policy.lpr_on(NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()), Decimal::new(300, 4));
    }

    #[test]
    fn rejects_broken_policies_naming_the_parameter() {
        let broken = DEFAULT_POLICY_TOML.replace("maximum = \"0.70\"", "maximum = \"0.40\"");
        assert_eq!(
            Policy::from_toml(&broken).unwrap_err().to_string(),
            "policy parameter pool_share.base must not exceed pool_share.maximum"
        );
        let broken = DEFAULT_POLICY_TOML.replace("share = \"0.20\"", "share = \"0.25\"");
        assert_eq!(
            Policy::from_toml(&broken).unwrap_err().to_string(),
            "policy parameter contributors.share must add up to 1, got 1.05"
        );
        let broken = DEFAULT_POLICY_TOML.replace("max_amount = \"5000000.00\"", "max_amount = \"5000000.001\"");
        assert!(Policy::from_toml(&broken).unwrap_err().to_string().contains("more than two fraction digits"));
        assert!(matches!(Policy::from_toml("version = "), Err(PolicyError::Parse(_))));
        let unknown = format!("{DEFAULT_POLICY_TOML}\nsurprise = 1\n");
        assert!(Policy::from_toml(&unknown).unwrap_err().to_string().contains("surprise"));
    }
}
