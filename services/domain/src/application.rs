//! What a bank submits: the enterprise and the loan it asks the pool to cover.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::terms::{CollateralType, LoanPurpose, Qualification};
use crate::uscc::Uscc;

/// A qualification held by an enterprise and the dates it is valid (inclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationRecord {
    /// The qualification.
    pub qualification: Qualification,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: NaiveDate,
}

impl QualificationRecord {
    /// True when valid on `date`.
    pub fn is_valid_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && date <= self.valid_until
    }
}

/// The borrowing enterprise, as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enterprise {
    /// Unified social credit code.
    #[serde(with = "uscc_text")]
    pub uscc: Uscc,
    /// Registered name.
    pub name: String,
    /// GB/T 4754 section letter.
    pub industry_section: String,
    /// Registration date.
    pub registration_date: NaiveDate,
    /// Revenue of the last financial year.
    pub annual_revenue: Money,
    /// Revenue of the year before.
    pub previous_annual_revenue: Money,
    /// R&D expense of the last financial year.
    pub rd_expense: Money,
    /// Granted invention patents.
    pub invention_patents: u32,
    /// Technology qualifications.
    pub qualifications: Vec<QualificationRecord>,
    /// Serious dishonesty record in the look-back period.
    pub serious_dishonesty_record: bool,
    /// Related party of the lending bank.
    pub related_party_of_bank: bool,
    /// Prior overdue episodes.
    pub prior_overdue_count: u32,
    /// Founder's years of experience.
    pub founder_experience_years: u32,
    /// Total assets.
    pub total_assets: Money,
    /// Total liabilities.
    pub total_liabilities: Money,
}

/// The loan asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanTerms {
    /// Principal.
    pub amount: Money,
    /// Term in months.
    pub term_months: u32,
    /// Annual interest rate (fraction).
    pub annual_rate: Decimal,
    /// Purpose.
    pub purpose: LoanPurpose,
    /// Security.
    pub collateral: CollateralType,
    /// First bank loan of the enterprise.
    pub first_bank_loan: bool,
}

/// A whole submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// The enterprise.
    pub enterprise: Enterprise,
    /// The loan.
    pub terms: LoanTerms,
}

mod uscc_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::uscc::Uscc;

    pub fn serialize<S: Serializer>(uscc: &Uscc, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(uscc.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Uscc, D::Error> {
        let text = String::deserialize(deserializer)?;
        Uscc::parse(&text).map_err(serde::de::Error::custom)
    }
}
