//! A worked example: an AAA enterprise (900 points on the default policy) asking for an
//! auto-approvable loan, decided on 2025-06-01. Used by the unit tests and the benchmark.

use chrono::NaiveDate;

use crate::application::{Enterprise, LoanTerms, QualificationRecord, Submission};
use crate::bank::BankStatus;
use crate::money::Money;
use crate::terms::{CollateralType, LoanPurpose, Qualification};
use crate::underwriting::Context;
use crate::uscc::Uscc;

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
}

/// The example submission.
pub fn submission() -> Submission {
    Submission {
        enterprise: Enterprise {
            uscc: Uscc::parse("91330212MA2H000019").unwrap_or_else(|_| unreachable!("a valid example code")),
            name: "宁波鄞州示例科技有限公司".to_owned(),
            industry_section: "I".to_owned(),
            registration_date: date(2018, 3, 1),
            annual_revenue: Money::from_fen(8_000_000_000),
            previous_annual_revenue: Money::from_fen(6_000_000_000),
            rd_expense: Money::from_fen(600_000_000),
            invention_patents: 4,
            qualifications: vec![
                QualificationRecord {
                    qualification: Qualification::HighTechEnterprise,
                    valid_from: date(2023, 1, 1),
                    valid_until: date(2025, 12, 31),
                },
                QualificationRecord {
                    qualification: Qualification::TechSme,
                    valid_from: date(2025, 1, 1),
                    valid_until: date(2025, 12, 31),
                },
            ],
            serious_dishonesty_record: false,
            related_party_of_bank: false,
            prior_overdue_count: 0,
            founder_experience_years: 8,
            total_assets: Money::from_fen(10_000_000_000),
            total_liabilities: Money::from_fen(3_000_000_000),
        },
        terms: LoanTerms {
            amount: Money::from_fen(100_000_000),
            term_months: 12,
            annual_rate: rust_decimal::Decimal::new(350, 4),
            purpose: LoanPurpose::WorkingCapital,
            collateral: CollateralType::IpPledge,
            first_bank_loan: false,
        },
    }
}

/// The example's context: decided on 2025-06-01 for an active bank, no prior exposure.
pub fn context() -> Context {
    Context {
        decision_date: date(2025, 6, 1),
        bank_status: BankStatus::Active,
        enterprise_covered_outstanding: Money::ZERO,
    }
}
