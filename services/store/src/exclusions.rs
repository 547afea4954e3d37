//! Loans taken out of cover, and the clawbacks their banks owe back.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::terms::ExclusionReason;
use domain::{BankId, Money};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::StoreError;
use crate::entities::{clawback, loan_exclusion};

/// A stored exclusion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExclusionRecord {
    /// Id.
    pub exclusion_id: i64,
    /// Loan.
    pub loan_id: i64,
    /// Bank.
    pub bank_id: BankId,
    /// Done (the loan is EXCLUDED), or awaiting a second officer.
    pub excluded: bool,
    /// The reason's code.
    pub reason: ExclusionReason,
    /// The reason in words.
    pub reason_text: String,
    /// Date of effect.
    pub exclusion_date: NaiveDate,
    /// Key ids of the officers, in order.
    pub officers: Vec<String>,
    /// Officers needed.
    pub officers_required: u32,
    /// Covered outstanding freed.
    pub exposure_released: Money,
    /// Unpaid compensation cancelled.
    pub compensation_cancelled: Money,
    /// Owed back by the bank.
    pub clawback: Money,
    /// The clawback's id, when there is one.
    pub clawback_id: Option<i64>,
    /// The claim it cancelled.
    pub claim_id: Option<i64>,
    /// When first asked.
    pub created_at: DateTime<Utc>,
    /// When done.
    pub excluded_at: Option<DateTime<Utc>>,
}

const AWAITING: &str = "AWAITING_SECOND";
const EXCLUDED: &str = "EXCLUDED";

fn record(row: loan_exclusion::Model) -> Result<ExclusionRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("exclusion {}: {what}", row.exclusion_id));
    Ok(ExclusionRecord {
        exclusion_id: row.exclusion_id,
        loan_id: row.loan_id,
        bank_id: BankId::parse(&row.bank_id).map_err(|_| corrupt("bank"))?,
        excluded: row.status == EXCLUDED,
        reason: ExclusionReason::parse(&row.reason).ok_or_else(|| corrupt("reason"))?,
        reason_text: row.reason_text,
        exclusion_date: row.exclusion_date,
        officers: std::iter::once(row.first_officer).chain(row.second_officer).collect(),
        officers_required: u32::try_from(row.officers_required).unwrap_or(2),
        exposure_released: Money::from_fen(row.exposure_released_fen),
        compensation_cancelled: Money::from_fen(row.compensation_cancelled_fen),
        clawback: Money::from_fen(row.clawback_fen),
        clawback_id: row.clawback_id,
        claim_id: row.claim_id,
        created_at: row.created_at,
        excluded_at: row.excluded_at,
    })
}

/// The exclusion of a loan, if one was asked for.
pub async fn for_loan(connection: &impl ConnectionTrait, loan_id: i64) -> Result<Option<ExclusionRecord>, StoreError> {
    loan_exclusion::Entity::find()
        .filter(loan_exclusion::Column::LoanId.eq(loan_id))
        .one(connection)
        .await?
        .map(record)
        .transpose()
}

/// The exclusions of `loan_ids`, by loan.
pub async fn for_loans(
    connection: &impl ConnectionTrait,
    loan_ids: &[i64],
) -> Result<HashMap<i64, ExclusionRecord>, StoreError> {
    if loan_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = loan_exclusion::Entity::find()
        .filter(loan_exclusion::Column::LoanId.is_in(loan_ids.iter().copied()))
        .all(connection)
        .await?;
    rows.into_iter().map(|row| record(row).map(|r| (r.loan_id, r))).collect()
}

/// What the first officer asks.
#[derive(Debug, Clone)]
pub struct NewExclusion<'a> {
    /// Loan.
    pub loan_id: i64,
    /// Bank.
    pub bank_id: &'a BankId,
    /// Reason.
    pub reason: ExclusionReason,
    /// In words.
    pub reason_text: &'a str,
    /// Date of effect.
    pub exclusion_date: NaiveDate,
    /// The officer's key id.
    pub officer: &'a str,
    /// Officers needed.
    pub officers_required: u32,
}

/// Records the first officer's exclusion, awaiting the second (or about to be completed).
pub async fn insert(connection: &impl ConnectionTrait, new: &NewExclusion<'_>) -> Result<ExclusionRecord, StoreError> {
    let row = loan_exclusion::ActiveModel {
        exclusion_id: Default::default(),
        loan_id: Set(new.loan_id),
        bank_id: Set(new.bank_id.to_string()),
        status: Set(AWAITING.to_owned()),
        reason: Set(new.reason.as_str().to_owned()),
        reason_text: Set(new.reason_text.to_owned()),
        exclusion_date: Set(new.exclusion_date),
        first_officer: Set(new.officer.to_owned()),
        second_officer: Set(None),
        officers_required: Set(i32::try_from(new.officers_required).unwrap_or(2)),
        exposure_released_fen: Set(0),
        compensation_cancelled_fen: Set(0),
        clawback_fen: Set(0),
        clawback_id: Set(None),
        claim_id: Set(None),
        created_at: Set(crate::clock::instant()),
        excluded_at: Set(None),
    }
    .insert(connection)
    .await
    .map_err(|e| StoreError::from_insert(e, format!("the exclusion of loans/{}", new.loan_id)))?;
    record(row)
}

/// What completing an exclusion undid.
#[derive(Debug, Clone, Copy, Default)]
pub struct Completed<'a> {
    /// The second officer, under four eyes.
    pub second_officer: Option<&'a str>,
    /// Covered outstanding freed.
    pub exposure_released: Money,
    /// Unpaid compensation cancelled.
    pub compensation_cancelled: Money,
    /// Owed back, and the clawback's id.
    pub clawback: Option<(Money, i64)>,
    /// The claim it cancelled.
    pub claim_id: Option<i64>,
}

/// Marks an exclusion done with what it undid.
pub async fn complete(
    connection: &impl ConnectionTrait,
    exclusion_id: i64,
    done: &Completed<'_>,
) -> Result<ExclusionRecord, StoreError> {
    let row = loan_exclusion::ActiveModel {
        exclusion_id: Set(exclusion_id),
        status: Set(EXCLUDED.to_owned()),
        second_officer: Set(done.second_officer.map(str::to_owned)),
        exposure_released_fen: Set(done.exposure_released.fen()),
        compensation_cancelled_fen: Set(done.compensation_cancelled.fen()),
        clawback_fen: Set(done.clawback.map_or(0, |(amount, _)| amount.fen())),
        clawback_id: Set(done.clawback.map(|(_, id)| id)),
        claim_id: Set(done.claim_id),
        excluded_at: Set(Some(crate::clock::instant())),
        ..Default::default()
    }
    .update(connection)
    .await?;
    record(row)
}

/// A clawback as statements see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClawbackRecord {
    /// Id.
    pub clawback_id: i64,
    /// Loan.
    pub loan_id: i64,
    /// Claim.
    pub claim_id: i64,
    /// Owed back.
    pub amount: Money,
    /// The exclusion's date.
    pub date: NaiveDate,
}

/// Records a clawback; returns its id.
pub async fn insert_clawback(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    loan_id: i64,
    claim_id: i64,
    amount: Money,
    date: NaiveDate,
) -> Result<i64, StoreError> {
    let row = clawback::ActiveModel {
        clawback_id: Default::default(),
        bank_id: Set(bank.to_string()),
        loan_id: Set(loan_id),
        claim_id: Set(claim_id),
        amount_fen: Set(amount.fen()),
        clawback_date: Set(date),
        created_at: Set(crate::clock::instant()),
    }
    .insert(connection)
    .await?;
    Ok(row.clawback_id)
}

/// A bank's clawbacks, oldest first.
pub async fn clawbacks_for_bank(
    connection: &impl ConnectionTrait,
    bank: &BankId,
) -> Result<Vec<ClawbackRecord>, StoreError> {
    let rows = clawback::Entity::find()
        .filter(clawback::Column::BankId.eq(bank.as_str()))
        .order_by_asc(clawback::Column::ClawbackId)
        .all(connection)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| ClawbackRecord {
            clawback_id: r.clawback_id,
            loan_id: r.loan_id,
            claim_id: r.claim_id,
            amount: Money::from_fen(r.amount_fen),
            date: r.clawback_date,
        })
        .collect())
}
