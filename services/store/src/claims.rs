//! Claims, their approvals, the per-bank annual and cohort compensation rows and recoveries.

use chrono::{DateTime, NaiveDate, Utc};
use domain::claims::{ClaimStatus, Cohort, Grant, Reduction};
use domain::terms::{ReductionReason, RejectionReason};
use domain::{BankId, Money};
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::StoreError;
use crate::entities::{
    bank_annual_compensation, bank_cohort_compensation, claim, claim_approval, claim_part, co_sharing_party, loan,
    recovery, settlement_allocation, statement, statement_line,
};

/// An approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecord {
    /// Key id of the officer.
    pub approver: String,
    /// Comment.
    pub comment: String,
    /// Date the approval takes effect in the books.
    pub approval_date: NaiveDate,
    /// When.
    pub created_at: DateTime<Utc>,
    /// What it granted.
    pub grant: Grant,
}

/// A stored claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRecord {
    /// Id.
    pub claim_id: i64,
    /// Loan.
    pub loan_id: i64,
    /// Bank.
    pub bank_id: BankId,
    /// Status.
    pub status: ClaimStatus,
    /// Outstanding at default.
    pub principal_loss: Money,
    /// Pool share.
    pub pool_share: Decimal,
    /// Share × loss.
    pub requested: Money,
    /// Granted compensation.
    pub compensation: Option<Money>,
    /// Paid (cash or netting) so far.
    pub paid: Money,
    /// Left unpaid at the last settlement for want of cash.
    pub shortfall: Money,
    /// Σ recoveries reported.
    pub recoveries: Money,
    /// The pool's share of them.
    pub pool_recoveries: Money,
    /// Approvals needed.
    pub approvals_required: u32,
    /// Cap year.
    pub cap_year: Option<i32>,
    /// The bank's annual cap remaining when the claim was approved.
    pub cap_remaining: Option<Money>,
    /// The loan's enrolment year, when the policy has a portfolio cap rate.
    pub cohort_year: Option<i32>,
    /// What the portfolio cap left of the cohort when the claim was approved.
    pub cohort_remaining: Option<Money>,
    /// How the pool share was reached (the loan's underwriting decision).
    pub pool_share_rows: Vec<domain::underwriting::ShareRow>,
    /// The policy version whose table made it.
    pub share_policy_version: String,
    /// Why rejected, in words.
    pub rejection_reason: Option<String>,
    /// Why rejected, the code.
    pub rejection_code: Option<RejectionReason>,
    /// The default fell in the early-default window.
    pub early_default: bool,
    /// What the approvers granted, once decided (the whole entitlement unless reduced).
    pub grant: Option<Grant>,
    /// Filing date.
    pub claim_date: NaiveDate,
    /// Memo.
    pub memo: String,
    /// When filed.
    pub created_at: DateTime<Utc>,
    /// When decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Approvals so far, oldest first.
    pub approvals: Vec<ApprovalRecord>,
    /// The co-sharers' parts of the loss, in policy order.
    pub parts: Vec<domain::sharing::Part>,
    /// The loan's pool share, when the bank's retention floor cut it to `pool_share`.
    pub pool_share_cut_from: Option<Decimal>,
    /// What the bank bears (the loss less the co-sharers' parts and the pool's entitlement);
    /// `None` on claims filed before co-sharing.
    pub bank_retained: Option<Money>,
}

fn record(
    row: claim::Model,
    approvals: Vec<ApprovalRecord>,
    parts: Vec<domain::sharing::Part>,
) -> Result<ClaimRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("claim {}: {what}", row.claim_id));
    Ok(ClaimRecord {
        claim_id: row.claim_id,
        loan_id: row.loan_id,
        bank_id: BankId::parse(&row.bank_id).map_err(|_| corrupt("bank"))?,
        status: ClaimStatus::parse(&row.status).ok_or_else(|| corrupt("status"))?,
        principal_loss: Money::from_fen(row.principal_loss_fen),
        pool_share: row.pool_share.parse().map_err(|_| corrupt("pool share"))?,
        requested: Money::from_fen(row.requested_fen),
        compensation: row.compensation_fen.map(Money::from_fen),
        paid: Money::from_fen(row.paid_fen),
        shortfall: Money::from_fen(row.shortfall_fen),
        recoveries: Money::from_fen(row.recoveries_fen),
        pool_recoveries: Money::from_fen(row.pool_recoveries_fen),
        approvals_required: u32::try_from(row.approvals_required).unwrap_or(1),
        cap_year: row.cap_year,
        cap_remaining: row.cap_remaining_fen.map(Money::from_fen),
        cohort_year: row.cohort_year,
        cohort_remaining: row.cohort_remaining_fen.map(Money::from_fen),
        pool_share_rows: serde_json::from_str(&row.pool_share_rows).map_err(|_| corrupt("pool share rows"))?,
        share_policy_version: row.share_policy_version,
        rejection_reason: row.rejection_reason,
        rejection_code: match row.rejection_code.as_deref() {
            None => None,
            Some(code) => Some(RejectionReason::parse(code).ok_or_else(|| corrupt("rejection code"))?),
        },
        early_default: row.early_default,
        grant: match (row.compensation_fen, row.granted_fen) {
            (None, _) => None,
            (Some(_), granted) => Some(
                stored_grant(
                    granted,
                    row.reduction_reason.as_deref(),
                    row.reduction_note.as_deref(),
                    row.requested_fen,
                )
                .ok_or_else(|| corrupt("reduction reason"))?,
            ),
        },
        claim_date: row.claim_date,
        memo: row.memo,
        created_at: row.created_at,
        decided_at: row.decided_at,
        approvals,
        parts,
        pool_share_cut_from: match row.pool_share_cut_from.as_deref() {
            None => None,
            Some(share) => Some(share.parse().map_err(|_| corrupt("pool share cut from"))?),
        },
        bank_retained: row.bank_retained_fen.map(Money::from_fen),
    })
}

/// A stored grant: NULL columns (rows from before partial approvals) are the whole
/// entitlement; `None` when the stored reason is not one the code knows.
fn stored_grant(granted: Option<i64>, reason: Option<&str>, note: Option<&str>, requested: i64) -> Option<Grant> {
    let reduction = match reason {
        None => None,
        Some(reason) => {
            Some(Reduction { reason: ReductionReason::parse(reason)?, note: note.unwrap_or("").to_owned() })
        }
    };
    Some(Grant { amount: Money::from_fen(granted.unwrap_or(requested)), reduction })
}

/// The grant's columns: (granted fen, reduction reason, reduction note).
fn grant_columns(grant: &Grant) -> (Option<i64>, Option<String>, Option<String>) {
    let reduction = grant.reduction.as_ref();
    (Some(grant.amount.fen()), reduction.map(|r| r.reason.as_str().to_owned()), reduction.map(|r| r.note.clone()))
}

async fn with_approvals(
    connection: &impl ConnectionTrait,
    rows: Vec<claim::Model>,
) -> Result<Vec<ClaimRecord>, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.claim_id).collect();
    let approvals = claim_approval::Entity::find()
        .filter(claim_approval::Column::ClaimId.is_in(ids))
        .order_by_asc(claim_approval::Column::CreatedAt)
        .all(connection)
        .await?;
    let mut parts: std::collections::HashMap<i64, Vec<domain::sharing::Part>> = std::collections::HashMap::new();
    let part_rows = claim_part::Entity::find()
        .filter(claim_part::Column::ClaimId.is_in(rows.iter().map(|r| r.claim_id)))
        .order_by_asc(claim_part::Column::ClaimId)
        .order_by_asc(claim_part::Column::Position)
        .all(connection)
        .await?;
    for part in part_rows {
        let share = part.share.parse().map_err(|_| StoreError::Corrupt(format!("claim {}: part", part.claim_id)))?;
        parts.entry(part.claim_id).or_default().push(domain::sharing::Part {
            party: part.party_id,
            share,
            amount: Money::from_fen(part.amount_fen),
        });
    }
    rows.into_iter()
        .map(|row| {
            let mine = approvals
                .iter()
                .filter(|a| a.claim_id == row.claim_id)
                .map(|a| {
                    let grant = stored_grant(
                        a.granted_fen,
                        a.reduction_reason.as_deref(),
                        a.reduction_note.as_deref(),
                        row.requested_fen,
                    )
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("claim {}: approval's reduction reason", row.claim_id))
                    })?;
                    Ok(ApprovalRecord {
                        approver: a.approver.clone(),
                        comment: a.comment.clone(),
                        approval_date: a.approval_date,
                        created_at: a.created_at,
                        grant,
                    })
                })
                .collect::<Result<_, StoreError>>()?;
            let mine_parts = parts.remove(&row.claim_id).unwrap_or_default();
            record(row, mine, mine_parts)
        })
        .collect()
}

/// What filing stores.
#[derive(Debug, Clone)]
pub struct NewClaim {
    /// Loan.
    pub loan_id: i64,
    /// Bank.
    pub bank_id: BankId,
    /// Loss.
    pub principal_loss: Money,
    /// Share.
    pub pool_share: Decimal,
    /// Share × loss.
    pub requested: Money,
    /// Approvals needed.
    pub approvals_required: u32,
    /// The default fell in the early-default window.
    pub early_default: bool,
    /// How the pool share was reached, and the policy version.
    pub pool_share_rows: (Vec<domain::underwriting::ShareRow>, String),
    /// Filing date.
    pub claim_date: NaiveDate,
    /// Memo.
    pub memo: String,
    /// The co-sharers' parts, the loan's share when the retention floor cut it, and what
    /// the bank bears.
    pub split: (Vec<domain::sharing::Part>, Option<Decimal>, Money),
}

/// Files a claim.
pub async fn insert(connection: &impl ConnectionTrait, new: &NewClaim) -> Result<ClaimRecord, StoreError> {
    let row = claim::ActiveModel {
        claim_id: Default::default(),
        loan_id: Set(new.loan_id),
        bank_id: Set(new.bank_id.to_string()),
        status: Set(ClaimStatus::Filed.as_str().to_owned()),
        principal_loss_fen: Set(new.principal_loss.fen()),
        pool_share: Set(new.pool_share.normalize().to_string()),
        requested_fen: Set(new.requested.fen()),
        compensation_fen: Set(None),
        paid_fen: Set(0),
        shortfall_fen: Set(0),
        recoveries_fen: Set(0),
        pool_recoveries_fen: Set(0),
        approvals_required: Set(i32::try_from(new.approvals_required).unwrap_or(2)),
        cap_year: Set(None),
        rejection_reason: Set(None),
        claim_date: Set(new.claim_date),
        memo: Set(new.memo.clone()),
        created_at: Set(crate::clock::instant()),
        decided_at: Set(None),
        cap_remaining_fen: Set(None),
        early_default: Set(new.early_default),
        granted_fen: Set(None),
        reduction_reason: Set(None),
        reduction_note: Set(None),
        rejection_code: Set(None),
        cohort_year: Set(None),
        cohort_remaining_fen: Set(None),
        pool_share_rows: Set(serde_json::to_string(&new.pool_share_rows.0)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")))?),
        share_policy_version: Set(new.pool_share_rows.1.clone()),
        pool_share_cut_from: Set(new.split.1.map(|s| s.normalize().to_string())),
        bank_retained_fen: Set(Some(new.split.2.fen())),
    }
    .insert(connection)
    .await?;
    let parts: Vec<claim_part::ActiveModel> = new
        .split
        .0
        .iter()
        .enumerate()
        .map(|(position, part)| claim_part::ActiveModel {
            claim_id: Set(row.claim_id),
            party_id: Set(part.party.clone()),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            share: Set(part.share.normalize().to_string()),
            amount_fen: Set(part.amount.fen()),
        })
        .collect();
    if !parts.is_empty() {
        claim_part::Entity::insert_many(parts).exec(connection).await?;
    }
    record(row, Vec::new(), new.split.0.clone())
}

/// One claim.
pub async fn get(connection: &impl ConnectionTrait, claim_id: i64) -> Result<Option<ClaimRecord>, StoreError> {
    let Some(row) = claim::Entity::find_by_id(claim_id).one(connection).await? else { return Ok(None) };
    Ok(with_approvals(connection, vec![row]).await?.pop())
}

/// One claim, locked.
pub async fn get_for_update(
    connection: &impl ConnectionTrait,
    claim_id: i64,
) -> Result<Option<ClaimRecord>, StoreError> {
    let Some(row) = claim::Entity::find_by_id(claim_id).lock_exclusive().one(connection).await? else {
        return Ok(None);
    };
    Ok(with_approvals(connection, vec![row]).await?.pop())
}

/// The live (not rejected) claim of a loan, if any.
pub async fn live_for_loan(connection: &impl ConnectionTrait, loan_id: i64) -> Result<Option<ClaimRecord>, StoreError> {
    let rows = claim::Entity::find()
        .filter(claim::Column::LoanId.eq(loan_id))
        .filter(claim::Column::Status.ne(ClaimStatus::Rejected.as_str()))
        .all(connection)
        .await?;
    Ok(with_approvals(connection, rows).await?.pop())
}

/// Claims, newest first.
pub async fn list(
    connection: &impl ConnectionTrait,
    bank: Option<&BankId>,
    status: Option<ClaimStatus>,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<ClaimRecord>, StoreError> {
    let mut query = claim::Entity::find().order_by_desc(claim::Column::ClaimId).limit(limit);
    if let Some(bank) = bank {
        query = query.filter(claim::Column::BankId.eq(bank.as_str()));
    }
    if let Some(status) = status {
        query = query.filter(claim::Column::Status.eq(status.as_str()));
    }
    if let Some(before) = before_id {
        query = query.filter(claim::Column::ClaimId.lt(before));
    }
    let rows = query.all(connection).await?;
    with_approvals(connection, rows).await
}

/// Approved claims of a bank (paid since or not), oldest first.
pub async fn approved_for_bank(
    connection: &impl ConnectionTrait,
    bank: &BankId,
) -> Result<Vec<ClaimRecord>, StoreError> {
    let rows = claim::Entity::find()
        .filter(claim::Column::BankId.eq(bank.as_str()))
        .filter(claim::Column::Status.is_in([ClaimStatus::Approved.as_str(), ClaimStatus::Paid.as_str()]))
        .order_by_asc(claim::Column::ClaimId)
        .all(connection)
        .await?;
    with_approvals(connection, rows).await
}

/// Records an approval; `AlreadyExists` when the officer approved before.
pub async fn add_approval(
    connection: &impl ConnectionTrait,
    claim_id: i64,
    approver: &str,
    comment: &str,
    approval_date: NaiveDate,
    grant: &Grant,
) -> Result<(), StoreError> {
    let (granted_fen, reduction_reason, reduction_note) = grant_columns(grant);
    claim_approval::ActiveModel {
        claim_id: Set(claim_id),
        approver: Set(approver.to_owned()),
        comment: Set(comment.to_owned()),
        approval_date: Set(approval_date),
        created_at: Set(crate::clock::instant()),
        granted_fen: Set(granted_fen),
        reduction_reason: Set(reduction_reason),
        reduction_note: Set(reduction_note),
    }
    .insert(connection)
    .await
    .map_err(|e| StoreError::from_insert(e, format!("an approval of claim {claim_id} by {approver}")))?;
    Ok(())
}

/// Changes to a claim.
#[derive(Debug, Clone, Default)]
pub struct ClaimChange {
    /// Status.
    pub status: Option<ClaimStatus>,
    /// Granted compensation.
    pub compensation: Option<Money>,
    /// Cap year.
    pub cap_year: Option<i32>,
    /// Cap remaining at approval.
    pub cap_remaining: Option<Money>,
    /// The cohort whose portfolio cap applied, and what it left.
    pub cohort: Option<(i32, Money)>,
    /// Rejection reason.
    pub rejection_reason: Option<String>,
    /// Rejection code.
    pub rejection_code: Option<RejectionReason>,
    /// What the approvers granted.
    pub grant: Option<Grant>,
    /// Mark decided now.
    pub decided: bool,
    /// Paid so far.
    pub paid: Option<Money>,
    /// Shortfall.
    pub shortfall: Option<Money>,
    /// Σ recoveries.
    pub recoveries: Option<Money>,
    /// Pool's share of recoveries.
    pub pool_recoveries: Option<Money>,
}

/// Applies a change.
pub async fn update(connection: &impl ConnectionTrait, claim_id: i64, change: ClaimChange) -> Result<(), StoreError> {
    let mut active = claim::ActiveModel { claim_id: Set(claim_id), ..Default::default() };
    if let Some(status) = change.status {
        active.status = Set(status.as_str().to_owned());
    }
    if let Some(compensation) = change.compensation {
        active.compensation_fen = Set(Some(compensation.fen()));
    }
    if let Some(year) = change.cap_year {
        active.cap_year = Set(Some(year));
    }
    if let Some(remaining) = change.cap_remaining {
        active.cap_remaining_fen = Set(Some(remaining.fen()));
    }
    if let Some((year, remaining)) = change.cohort {
        active.cohort_year = Set(Some(year));
        active.cohort_remaining_fen = Set(Some(remaining.fen()));
    }
    if let Some(reason) = change.rejection_reason {
        active.rejection_reason = Set(Some(reason));
    }
    if let Some(code) = change.rejection_code {
        active.rejection_code = Set(Some(code.as_str().to_owned()));
    }
    if let Some(grant) = &change.grant {
        let (granted_fen, reduction_reason, reduction_note) = grant_columns(grant);
        active.granted_fen = Set(granted_fen);
        active.reduction_reason = Set(reduction_reason);
        active.reduction_note = Set(reduction_note);
    }
    if change.decided {
        active.decided_at = Set(Some(crate::clock::instant()));
    }
    if let Some(paid) = change.paid {
        active.paid_fen = Set(paid.fen());
    }
    if let Some(shortfall) = change.shortfall {
        active.shortfall_fen = Set(shortfall.fen());
    }
    if let Some(recoveries) = change.recoveries {
        active.recoveries_fen = Set(recoveries.fen());
    }
    if let Some(pool_recoveries) = change.pool_recoveries {
        active.pool_recoveries_fen = Set(pool_recoveries.fen());
    }
    active.update(connection).await?;
    Ok(())
}

/// Σ compensation approved for `bank` in `year` (no lock).
pub async fn compensation_in_year(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    year: i32,
) -> Result<Money, StoreError> {
    let row = bank_annual_compensation::Entity::find_by_id((bank.to_string(), year)).one(connection).await?;
    Ok(Money::from_fen(row.map_or(0, |r| r.compensation_fen)))
}

/// Locks (creating on first use) a bank's compensation row for `year`; returns the
/// compensation approved so far that year.
pub async fn lock_annual(connection: &impl ConnectionTrait, bank: &BankId, year: i32) -> Result<Money, StoreError> {
    bank_annual_compensation::Entity::insert(bank_annual_compensation::ActiveModel {
        bank_id: Set(bank.to_string()),
        year: Set(year),
        compensation_fen: Set(0),
    })
    .on_conflict(
        OnConflict::columns([bank_annual_compensation::Column::BankId, bank_annual_compensation::Column::Year])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(connection)
    .await?;
    let row = bank_annual_compensation::Entity::find_by_id((bank.to_string(), year))
        .lock_exclusive()
        .one(connection)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("annual compensation row of {bank} {year} vanished")))?;
    Ok(Money::from_fen(row.compensation_fen))
}

/// Sets a bank's compensation for `year` (the caller holds the row lock).
pub async fn set_annual(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    year: i32,
    total: Money,
) -> Result<(), StoreError> {
    bank_annual_compensation::ActiveModel {
        bank_id: Set(bank.to_string()),
        year: Set(year),
        compensation_fen: Set(total.fen()),
    }
    .update(connection)
    .await?;
    Ok(())
}

/// Locks (creating on first use) a bank's cohort row for `year` (enrolment year, business
/// dates) and reads the cohort: the portfolio cap's lock, as [`lock_annual`] is the annual
/// cap's. Enrolments of that year after the lock only raise the cap.
pub async fn lock_cohort(connection: &impl ConnectionTrait, bank: &BankId, year: i32) -> Result<Cohort, StoreError> {
    bank_cohort_compensation::Entity::insert(bank_cohort_compensation::ActiveModel {
        bank_id: Set(bank.to_string()),
        cohort_year: Set(year),
        compensation_fen: Set(0),
    })
    .on_conflict(
        OnConflict::columns([bank_cohort_compensation::Column::BankId, bank_cohort_compensation::Column::CohortYear])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(connection)
    .await?;
    let row = bank_cohort_compensation::Entity::find_by_id((bank.to_string(), year))
        .lock_exclusive()
        .one(connection)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("cohort row of {bank} {year} vanished")))?;
    let year_start = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|midnight| midnight.and_utc() - chrono::Duration::hours(8))
            .ok_or_else(|| StoreError::Corrupt(format!("cohort year {y} out of range")))
    };
    let disbursed: Vec<i64> = loan::Entity::find()
        .select_only()
        .column(loan::Column::DisbursedFen)
        .filter(loan::Column::BankId.eq(bank.as_str()))
        .filter(loan::Column::CreatedAt.gte(year_start(year)?))
        .filter(loan::Column::CreatedAt.lt(year_start(year + 1)?))
        .into_tuple()
        .all(connection)
        .await?;
    Ok(Cohort {
        compensation: Money::from_fen(row.compensation_fen),
        enrolled: Money::from_fen(disbursed.iter().sum()),
    })
}

/// Sets a cohort's compensation (the caller holds the row lock).
pub async fn set_cohort(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    year: i32,
    total: Money,
) -> Result<(), StoreError> {
    bank_cohort_compensation::ActiveModel {
        bank_id: Set(bank.to_string()),
        cohort_year: Set(year),
        compensation_fen: Set(total.fen()),
    }
    .update(connection)
    .await?;
    Ok(())
}

/// A stored recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryRecord {
    /// Id.
    pub recovery_id: i64,
    /// Loan.
    pub loan_id: i64,
    /// Claim.
    pub claim_id: i64,
    /// Bank.
    pub bank_id: String,
    /// Amount net of costs.
    pub amount: Money,
    /// The pool's part.
    pub pool_share_amount: Money,
    /// Date recovered.
    pub recovery_date: NaiveDate,
    /// Final.
    pub is_final: bool,
    /// The statement that settled it.
    pub settled_statement_id: Option<i64>,
    /// When reported.
    pub created_at: DateTime<Utc>,
}

impl From<recovery::Model> for RecoveryRecord {
    fn from(row: recovery::Model) -> RecoveryRecord {
        RecoveryRecord {
            recovery_id: row.recovery_id,
            loan_id: row.loan_id,
            claim_id: row.claim_id,
            bank_id: row.bank_id,
            amount: Money::from_fen(row.amount_fen),
            pool_share_amount: Money::from_fen(row.pool_share_fen),
            recovery_date: row.recovery_date,
            is_final: row.is_final,
            settled_statement_id: row.settled_statement_id,
            created_at: row.created_at,
        }
    }
}

/// Records a recovery.
pub async fn insert_recovery(
    connection: &impl ConnectionTrait,
    claim: &ClaimRecord,
    amount: Money,
    pool_share_amount: Money,
    recovery_date: NaiveDate,
    is_final: bool,
) -> Result<RecoveryRecord, StoreError> {
    let row = recovery::ActiveModel {
        recovery_id: Default::default(),
        loan_id: Set(claim.loan_id),
        claim_id: Set(claim.claim_id),
        amount_fen: Set(amount.fen()),
        pool_share_fen: Set(pool_share_amount.fen()),
        recovery_date: Set(recovery_date),
        is_final: Set(is_final),
        created_at: Set(crate::clock::instant()),
        settled_statement_id: Set(None),
        bank_id: Set(claim.bank_id.to_string()),
    }
    .insert(connection)
    .await?;
    Ok(row.into())
}

/// Recoveries of a bank dated on or before `until`, oldest first.
pub async fn recoveries_until(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    until: NaiveDate,
) -> Result<Vec<RecoveryRecord>, StoreError> {
    Ok(recovery::Entity::find()
        .filter(recovery::Column::BankId.eq(bank.as_str()))
        .filter(recovery::Column::RecoveryDate.lte(until))
        .order_by_asc(recovery::Column::RecoveryId)
        .all(connection)
        .await?
        .into_iter()
        .map(RecoveryRecord::from)
        .collect())
}

/// Recoveries by id.
pub async fn recoveries_by_id(
    connection: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<RecoveryRecord>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(recovery::Entity::find()
        .filter(recovery::Column::RecoveryId.is_in(ids.to_vec()))
        .all(connection)
        .await?
        .into_iter()
        .map(RecoveryRecord::from)
        .collect())
}

/// A bank's claim record: what its exposure shows and its grade is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BankClaimRecord {
    /// Claims filed, ever.
    pub claims: i64,
    /// The pool's share of its recoveries, ever.
    pub recoveries: Money,
    /// Σ compensation approved on its claims, ever.
    pub compensation: Money,
    /// Claims flagged EARLY_DEFAULT.
    pub early_defaults: u32,
    /// Σ principal it enrolled, ever.
    pub enrolled: Money,
    /// Its last tape: (discrepancies, rows compared); `None` before the first.
    pub last_tape: Option<(u64, u64)>,
}

/// A bank's claim record, one query per table: its claims (count, recoveries,
/// compensation, early defaults), its loans (principal enrolled) and its last tape.
pub async fn bank_claim_record(
    connection: &impl ConnectionTrait,
    bank: &BankId,
) -> Result<BankClaimRecord, StoreError> {
    use crate::entities::reconciliation_report;
    use sea_orm::sea_query::{Alias, Expr, Func, SimpleExpr};
    let bigint = |e: SimpleExpr| Expr::from(Func::cast_as(e, Alias::new("BIGINT")));
    let bigint_sum = |column: Expr| bigint(Func::sum(column).into());
    // (count, Σ pool recoveries, Σ compensation, early defaults); sums are NULL over no rows.
    type ClaimSums = (i64, Option<i64>, Option<i64>, Option<i64>);
    let claims: Option<ClaimSums> = claim::Entity::find()
        .select_only()
        .column_as(bigint(Func::count(Expr::col(claim::Column::ClaimId)).into()), "claims")
        .column_as(bigint_sum(Expr::col(claim::Column::PoolRecoveriesFen)), "recoveries")
        // A cancelled claim's compensation was undone when its loan was excluded.
        .column_as(
            bigint(Func::sum(Expr::cust("CASE WHEN status = 'CANCELLED' THEN 0 ELSE compensation_fen END")).into()),
            "compensation",
        )
        .column_as(bigint(Func::sum(Expr::cust("CASE WHEN early_default THEN 1 ELSE 0 END")).into()), "early")
        .filter(claim::Column::BankId.eq(bank.as_str()))
        .into_tuple()
        .one(connection)
        .await?;
    let (claims, recoveries, compensation, early) = claims.unwrap_or((0, None, None, None));
    let enrolled: Option<Option<i64>> = loan::Entity::find()
        .select_only()
        .column_as(bigint_sum(Expr::col(loan::Column::DisbursedFen)), "enrolled")
        .filter(loan::Column::BankId.eq(bank.as_str()))
        .into_tuple()
        .one(connection)
        .await?;
    let last = reconciliation_report::Entity::find()
        .filter(reconciliation_report::Column::BankId.eq(bank.as_str()))
        .order_by_desc(reconciliation_report::Column::ReportId)
        .one(connection)
        .await?;
    let last_tape = last.map(|r| {
        let wrong = r.missing_in_pool
            + r.missing_at_bank
            + r.balance_mismatch
            + r.status_mismatch
            + r.duplicate_in_tape
            + r.invalid_record;
        (u64::try_from(wrong).unwrap_or(0), u64::try_from(r.rows_read + r.missing_at_bank).unwrap_or(0))
    });
    Ok(BankClaimRecord {
        claims,
        recoveries: Money::from_fen(recoveries.unwrap_or(0)),
        compensation: Money::from_fen(compensation.unwrap_or(0)),
        early_defaults: u32::try_from(early.unwrap_or(0)).unwrap_or(u32::MAX),
        enrolled: Money::from_fen(enrolled.flatten().unwrap_or(0)),
        last_tape,
    })
}

/// The pool's claim figures as they stood at the end of a business date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimCounters {
    /// Claims filed (claim date on or before).
    pub claims_filed: i64,
    /// Σ compensation of claims decided (deciding approval dated on or before).
    pub compensation_approved: Money,
    /// Σ of it settled, by netting or in cash (dated on or before).
    pub compensation_paid: Money,
    /// What stayed unpaid of claims agreed on a statement confirmed on or before.
    pub shortfall: Money,
    /// Σ the pool's part of recoveries (recovery date on or before).
    pub recoveries: Money,
}

/// The claim figures of the pool as of the end of `date`, each by the date the books give
/// it (claim, approval, recovery and settlement dates; a statement's confirmation), so that
/// they agree with the ledger as of that date. Reads every claim: for past dates only (today's
/// figures are the running totals).
pub async fn counters_as_of(connection: &impl ConnectionTrait, date: NaiveDate) -> Result<ClaimCounters, StoreError> {
    let claims = claim::Entity::find().filter(claim::Column::ClaimDate.lte(date)).all(connection).await?;
    let mut deciding: std::collections::HashMap<i64, (DateTime<Utc>, NaiveDate)> = std::collections::HashMap::new();
    for approval in claim_approval::Entity::find().all(connection).await? {
        let later = deciding.get(&approval.claim_id).is_none_or(|(at, _)| *at < approval.created_at);
        if later {
            deciding.insert(approval.claim_id, (approval.created_at, approval.approval_date));
        }
    }
    let mut paid: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for allocation in settlement_allocation::Entity::find()
        .filter(settlement_allocation::Column::EffectiveDate.lte(date))
        .filter(settlement_allocation::Column::Source.starts_with("claims/"))
        .all(connection)
        .await?
    {
        *paid.entry(allocation.source).or_default() += allocation.amount_fen;
    }
    let confirmed: Vec<i64> = statement::Entity::find()
        .filter(statement::Column::ConfirmedAt.is_not_null())
        .all(connection)
        .await?
        .into_iter()
        .filter(|s| s.confirmed_at.is_some_and(|at| crate::clock::business_date(at) <= date))
        .map(|s| s.statement_id)
        .collect();
    let agreed: std::collections::HashSet<String> = statement_line::Entity::find()
        .filter(statement_line::Column::StatementId.is_in(confirmed))
        .filter(statement_line::Column::Source.starts_with("claims/"))
        .all(connection)
        .await?
        .into_iter()
        .map(|line| line.source)
        .collect();
    let (mut approved, mut settled_total, mut shortfall) = (0i64, 0i64, 0i64);
    for row in &claims {
        let Some(compensation) = row.compensation_fen else { continue };
        if deciding.get(&row.claim_id).is_none_or(|(_, decided_on)| *decided_on > date) {
            continue;
        }
        let source = format!("claims/{}", row.claim_id);
        let settled = paid.get(&source).copied().unwrap_or(0);
        approved += compensation;
        settled_total += settled;
        if agreed.contains(&source) {
            shortfall += domain::claims::settle(Money::from_fen(compensation), Money::ZERO, Money::from_fen(settled))
                .shortfall
                .fen();
        }
    }
    let recovered = recovery::Entity::find().filter(recovery::Column::RecoveryDate.lte(date)).all(connection).await?;
    Ok(ClaimCounters {
        claims_filed: i64::try_from(claims.len()).unwrap_or(i64::MAX),
        compensation_approved: Money::from_fen(approved),
        compensation_paid: Money::from_fen(settled_total),
        shortfall: Money::from_fen(shortfall),
        recoveries: Money::from_fen(recovered.iter().map(|r| r.pool_share_fen).sum()),
    })
}

/// A registered co-sharing party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRecord {
    /// Id.
    pub party_id: String,
    /// Name for people.
    pub display_name: String,
    /// Insurer or guarantee company.
    pub kind: domain::terms::PartyKind,
    /// When registered.
    pub created_at: DateTime<Utc>,
    /// Σ its parts on decided (approved or paid) claims.
    pub decided_total: Money,
    /// Σ its parts on claims still awaiting approval.
    pub pending_total: Money,
    /// Claims it has a part in (decided or pending).
    pub claims: u64,
}

/// Registers a party; `AlreadyExists` when the id is taken.
pub async fn insert_party(
    connection: &impl ConnectionTrait,
    party_id: &str,
    display_name: &str,
    kind: domain::terms::PartyKind,
) -> Result<(), StoreError> {
    co_sharing_party::ActiveModel {
        party_id: Set(party_id.to_owned()),
        display_name: Set(display_name.to_owned()),
        kind: Set(kind.as_str().to_owned()),
        created_at: Set(crate::clock::instant()),
    }
    .insert(connection)
    .await
    .map_err(|e| StoreError::from_insert(e, format!("parties/{party_id}")))?;
    Ok(())
}

/// The registered parties among `ids`.
pub async fn registered_parties(connection: &impl ConnectionTrait, ids: &[&str]) -> Result<Vec<String>, StoreError> {
    let rows = co_sharing_party::Entity::find()
        .filter(co_sharing_party::Column::PartyId.is_in(ids.iter().copied()))
        .all(connection)
        .await?;
    Ok(rows.into_iter().map(|r| r.party_id).collect())
}

/// Parties with their totals, by id (`only`: one of them).
pub async fn parties(connection: &impl ConnectionTrait, only: Option<&str>) -> Result<Vec<PartyRecord>, StoreError> {
    let mut query = co_sharing_party::Entity::find().order_by_asc(co_sharing_party::Column::PartyId);
    if let Some(id) = only {
        query = query.filter(co_sharing_party::Column::PartyId.eq(id));
    }
    let rows = query.all(connection).await?;
    let mut records = Vec::with_capacity(rows.len());
    use sea_orm::sea_query::{Alias, Expr, Func, Query, SimpleExpr};
    let bigint = |e: SimpleExpr| Expr::from(Func::cast_as(e, Alias::new("BIGINT")));
    for row in rows {
        // (Σ amount, count) of the party's parts on claims in `statuses`.
        let totals = async |statuses: &[ClaimStatus]| -> Result<(i64, i64), StoreError> {
            let mut of_claims = Query::select();
            of_claims
                .column(claim::Column::ClaimId)
                .from(claim::Entity)
                .and_where(claim::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
            let found: Option<(Option<i64>, i64)> = claim_part::Entity::find()
                .select_only()
                .column_as(bigint(Func::sum(Expr::col(claim_part::Column::AmountFen)).into()), "total")
                .column_as(bigint(Func::count(Expr::col(claim_part::Column::ClaimId)).into()), "claims")
                .filter(claim_part::Column::PartyId.eq(row.party_id.as_str()))
                .filter(claim_part::Column::ClaimId.in_subquery(of_claims))
                .into_tuple()
                .one(connection)
                .await?;
            let (total, count) = found.unwrap_or((None, 0));
            Ok((total.unwrap_or(0), count))
        };
        let (decided, decided_claims) = totals(&[ClaimStatus::Approved, ClaimStatus::Paid]).await?;
        let (pending, pending_claims) = totals(&[ClaimStatus::Filed, ClaimStatus::PartiallyApproved]).await?;
        records.push(PartyRecord {
            kind: domain::terms::PartyKind::parse(&row.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("party {}: kind", row.party_id)))?,
            party_id: row.party_id,
            display_name: row.display_name,
            created_at: row.created_at,
            decided_total: Money::from_fen(decided),
            pending_total: Money::from_fen(pending),
            claims: u64::try_from(decided_claims + pending_claims).unwrap_or(0),
        });
    }
    Ok(records)
}
