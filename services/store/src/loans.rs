//! Covered loans and their status reports.

use chrono::{DateTime, NaiveDate, Utc};
use domain::loan::{LoanState, LoanStatus};
use domain::terms::{Classification, Grade};
use domain::{BankId, Money};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::StoreError;
use crate::entities::{loan, loan_status_report};

/// A stored covered loan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanRecord {
    /// Id.
    pub loan_id: i64,
    /// Application it came from.
    pub application_id: i64,
    /// Lending bank.
    pub bank_id: BankId,
    /// The bank's loan number.
    pub bank_loan_number: String,
    /// Borrower.
    pub uscc: String,
    /// Borrower's name.
    pub enterprise_name: String,
    /// Grade at decision.
    pub grade: Grade,
    /// Pool share.
    pub pool_share: Decimal,
    /// Principal disbursed.
    pub disbursed: Money,
    /// Disbursement date.
    pub disbursement_date: NaiveDate,
    /// Maturity date.
    pub maturity_date: NaiveDate,
    /// Renewals without principal repayment so far.
    pub renewals: u32,
    /// The maturity it was enrolled with, once renewed.
    pub original_maturity_date: Option<NaiveDate>,
    /// Annual rate.
    pub annual_rate: Decimal,
    /// Reportable state.
    pub state: LoanState,
    /// Outstanding × pool share, half-up to the fen.
    pub pool_exposure: Money,
    /// Policy version at enrolment.
    pub policy_version: String,
    /// When enrolled.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<loan::Model> for LoanRecord {
    type Error = StoreError;

    fn try_from(row: loan::Model) -> Result<LoanRecord, StoreError> {
        let corrupt =
            |what: &str, detail: &str| StoreError::Corrupt(format!("loan {}: {what} {detail:?}", row.loan_id));
        Ok(LoanRecord {
            loan_id: row.loan_id,
            application_id: row.application_id,
            bank_id: BankId::parse(&row.bank_id).map_err(|_| corrupt("bank", &row.bank_id))?,
            bank_loan_number: row.bank_loan_number.clone(),
            uscc: row.uscc.clone(),
            enterprise_name: row.enterprise_name.clone(),
            grade: Grade::parse(&row.grade).ok_or_else(|| corrupt("grade", &row.grade))?,
            pool_share: row.pool_share.parse().map_err(|_| corrupt("pool share", &row.pool_share))?,
            disbursed: Money::from_fen(row.disbursed_fen),
            disbursement_date: row.disbursement_date,
            maturity_date: row.maturity_date,
            renewals: u32::try_from(row.renewals).unwrap_or(0),
            original_maturity_date: row.original_maturity_date,
            annual_rate: row.annual_rate.parse().map_err(|_| corrupt("rate", &row.annual_rate))?,
            state: LoanState {
                status: LoanStatus::parse(&row.status).ok_or_else(|| corrupt("status", &row.status))?,
                outstanding: Money::from_fen(row.outstanding_fen),
                days_past_due: u32::try_from(row.days_past_due).unwrap_or(0),
                classification: Classification::parse(&row.classification)
                    .ok_or_else(|| corrupt("classification", &row.classification))?,
                last_report_date: row.last_report_date,
                default_date: row.default_date,
                principal_at_default: row.principal_at_default_fen.map(Money::from_fen),
            },
            pool_exposure: Money::from_fen(row.pool_exposure_fen),
            policy_version: row.policy_version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// What enrolment stores.
#[derive(Debug, Clone)]
pub struct NewLoan {
    /// Application.
    pub application_id: i64,
    /// Bank.
    pub bank_id: BankId,
    /// The bank's loan number.
    pub bank_loan_number: String,
    /// Borrower.
    pub uscc: String,
    /// Borrower's name.
    pub enterprise_name: String,
    /// Grade.
    pub grade: Grade,
    /// Pool share.
    pub pool_share: Decimal,
    /// Principal.
    pub disbursed: Money,
    /// Disbursement date.
    pub disbursement_date: NaiveDate,
    /// Maturity.
    pub maturity_date: NaiveDate,
    /// Rate.
    pub annual_rate: Decimal,
    /// Outstanding × share.
    pub pool_exposure: Money,
    /// Policy version.
    pub policy_version: String,
}

/// The row of a newly enrolled loan, made at `now`.
pub(crate) fn new_loan_row(new: &NewLoan, now: chrono::DateTime<Utc>) -> loan::ActiveModel {
    loan::ActiveModel {
        loan_id: Default::default(),
        application_id: Set(new.application_id),
        bank_id: Set(new.bank_id.as_str().to_owned()),
        bank_loan_number: Set(new.bank_loan_number.clone()),
        uscc: Set(new.uscc.clone()),
        enterprise_name: Set(new.enterprise_name.clone()),
        grade: Set(new.grade.as_str().to_owned()),
        pool_share: Set(new.pool_share.normalize().to_string()),
        disbursed_fen: Set(new.disbursed.fen()),
        disbursement_date: Set(new.disbursement_date),
        maturity_date: Set(new.maturity_date),
        renewals: Set(0),
        original_maturity_date: Set(None),
        annual_rate: Set(new.annual_rate.normalize().to_string()),
        outstanding_fen: Set(new.disbursed.fen()),
        pool_exposure_fen: Set(new.pool_exposure.fen()),
        days_past_due: Set(0),
        classification: Set(Classification::Normal.as_str().to_owned()),
        status: Set(LoanStatus::Active.as_str().to_owned()),
        last_report_date: Set(new.disbursement_date),
        default_date: Set(None),
        principal_at_default_fen: Set(None),
        closed_on: Set(None),
        policy_version: Set(new.policy_version.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// One loan.
pub async fn get(connection: &impl ConnectionTrait, loan_id: i64) -> Result<Option<LoanRecord>, StoreError> {
    loan::Entity::find_by_id(loan_id).one(connection).await?.map(LoanRecord::try_from).transpose()
}

/// One loan, locked until the transaction ends.
pub async fn get_for_update(connection: &impl ConnectionTrait, loan_id: i64) -> Result<Option<LoanRecord>, StoreError> {
    loan::Entity::find_by_id(loan_id).lock_exclusive().one(connection).await?.map(LoanRecord::try_from).transpose()
}

/// Filters of a loan listing.
#[derive(Debug, Clone, Default)]
pub struct LoanFilter {
    /// Of this bank.
    pub bank: Option<BankId>,
    /// With this status.
    pub status: Option<LoanStatus>,
    /// Of this enterprise.
    pub uscc: Option<String>,
    /// With this bank loan number.
    pub bank_loan_number: Option<String>,
    /// Ids below this (paging, newest first).
    pub before_id: Option<i64>,
}

/// Loans, newest first.
pub async fn list(
    connection: &impl ConnectionTrait,
    filter: &LoanFilter,
    limit: u64,
) -> Result<Vec<LoanRecord>, StoreError> {
    let mut query = loan::Entity::find().order_by_desc(loan::Column::LoanId).limit(limit);
    if let Some(bank) = &filter.bank {
        query = query.filter(loan::Column::BankId.eq(bank.as_str()));
    }
    if let Some(status) = filter.status {
        query = query.filter(loan::Column::Status.eq(status.as_str()));
    }
    if let Some(uscc) = &filter.uscc {
        query = query.filter(loan::Column::Uscc.eq(uscc.as_str()));
    }
    if let Some(number) = &filter.bank_loan_number {
        query = query.filter(loan::Column::BankLoanNumber.eq(number.as_str()));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(loan::Column::LoanId.lt(before));
    }
    query.all(connection).await?.into_iter().map(LoanRecord::try_from).collect()
}

/// Records a renewal: the new maturity, one more renewal, and the original maturity kept.
pub async fn renew(
    connection: &impl ConnectionTrait,
    before: &LoanRecord,
    maturity: NaiveDate,
) -> Result<(), StoreError> {
    loan::ActiveModel {
        loan_id: Set(before.loan_id),
        maturity_date: Set(maturity),
        renewals: Set(i32::try_from(before.renewals.saturating_add(1)).unwrap_or(i32::MAX)),
        original_maturity_date: Set(Some(before.original_maturity_date.unwrap_or(before.maturity_date))),
        ..Default::default()
    }
    .update(connection)
    .await?;
    Ok(())
}

/// Writes a loan's new state and exposure, and records the report that caused it.
pub async fn record_report(
    connection: &impl ConnectionTrait,
    before: &LoanRecord,
    after: &LoanState,
    pool_exposure: Money,
    repaid: bool,
) -> Result<LoanRecord, StoreError> {
    let now = crate::clock::instant();
    let active = loan::ActiveModel {
        loan_id: Set(before.loan_id),
        outstanding_fen: Set(after.outstanding.fen()),
        pool_exposure_fen: Set(pool_exposure.fen()),
        days_past_due: Set(i32::try_from(after.days_past_due).unwrap_or(i32::MAX)),
        classification: Set(after.classification.as_str().to_owned()),
        status: Set(after.status.as_str().to_owned()),
        last_report_date: Set(after.last_report_date),
        default_date: Set(after.default_date),
        principal_at_default_fen: Set(after.principal_at_default.map(Money::fen)),
        closed_on: Set(after.status.is_closed().then_some(after.last_report_date)),
        updated_at: Set(now),
        ..Default::default()
    };
    let row = active.update(connection).await?;
    loan_status_report::ActiveModel {
        report_id: Default::default(),
        loan_id: Set(before.loan_id),
        report_date: Set(after.last_report_date),
        outstanding_fen: Set(after.outstanding.fen()),
        days_past_due: Set(i32::try_from(after.days_past_due).unwrap_or(i32::MAX)),
        classification: Set(after.classification.as_str().to_owned()),
        repaid: Set(repaid),
        status_before: Set(before.state.status.as_str().to_owned()),
        status_after: Set(after.status.as_str().to_owned()),
        created_at: Set(now),
    }
    .insert(connection)
    .await?;
    LoanRecord::try_from(row)
}

/// Writes a loan's new state (claims, compensation, closing) without a status report.
pub async fn set_state(
    connection: &impl ConnectionTrait,
    before: &LoanRecord,
    after: &LoanState,
    pool_exposure: Money,
) -> Result<LoanRecord, StoreError> {
    let active = loan::ActiveModel {
        loan_id: Set(before.loan_id),
        status: Set(after.status.as_str().to_owned()),
        pool_exposure_fen: Set(pool_exposure.fen()),
        last_report_date: Set(after.last_report_date),
        closed_on: Set(after.status.is_closed().then_some(after.last_report_date)),
        updated_at: Set(crate::clock::instant()),
        ..Default::default()
    };
    LoanRecord::try_from(active.update(connection).await?)
}
