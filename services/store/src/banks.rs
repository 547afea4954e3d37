//! Partner banks.

use chrono::Utc;
use domain::{BankId, BankStatus, Money};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::StoreError;
use crate::entities::bank;

/// A partner bank as the domain sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankRecord {
    /// Identifier.
    pub bank_id: BankId,
    /// Display name.
    pub display_name: String,
    /// Coverage quota.
    pub quota: Money,
    /// Covered outstanding of the bank's loans, which is what uses the quota.
    pub quota_used: Money,
    /// Σ pool share × outstanding of the bank's covered loans.
    pub pool_exposure: Money,
    /// Outstanding of the bank's non-performing covered loans.
    pub npl_outstanding: Money,
    /// Standing.
    pub status: BankStatus,
    /// The status was set by a risk officer and is not recomputed from the NPL ratio.
    pub status_manual: bool,
    /// Why, when not active.
    pub status_reason: String,
    /// When registered.
    pub created_at: chrono::DateTime<Utc>,
    /// Its last quarterly grade, once rated.
    pub rated_grade: Option<domain::bank::BankGrade>,
}

impl BankRecord {
    /// The bank as the enrolment limits see it.
    pub fn standing(&self) -> domain::enrolment::BankStanding {
        domain::enrolment::BankStanding {
            bank_id: self.bank_id.clone(),
            status: self.status,
            status_reason: self.status_reason.clone(),
            quota: self.quota,
            quota_used: self.quota_used,
        }
    }
}

impl TryFrom<bank::Model> for BankRecord {
    type Error = StoreError;

    fn try_from(row: bank::Model) -> Result<BankRecord, StoreError> {
        Ok(BankRecord {
            bank_id: BankId::parse(&row.bank_id)
                .map_err(|e| StoreError::Corrupt(format!("bank id {:?} {e}", row.bank_id)))?,
            display_name: row.display_name,
            quota: Money::from_fen(row.quota_fen),
            quota_used: Money::from_fen(row.covered_outstanding_fen),
            pool_exposure: Money::from_fen(row.pool_exposure_fen),
            npl_outstanding: Money::from_fen(row.npl_outstanding_fen),
            status: BankStatus::parse(&row.status).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            status_manual: row.status_manual,
            status_reason: row.status_reason,
            created_at: row.created_at,
            rated_grade: match row.rated_grade.as_deref() {
                None => None,
                Some(g) => Some(
                    domain::bank::BankGrade::parse(g)
                        .ok_or_else(|| StoreError::Corrupt(format!("bank {} grade {g:?}", row.bank_id)))?,
                ),
            },
        })
    }
}

/// Registers a bank; `AlreadyExists` when the id is taken.
pub async fn create(
    connection: &impl ConnectionTrait,
    bank_id: &BankId,
    display_name: &str,
    quota: Money,
) -> Result<BankRecord, StoreError> {
    let now = crate::clock::instant();
    let row = bank::ActiveModel {
        bank_id: Set(bank_id.as_str().to_owned()),
        display_name: Set(display_name.to_owned()),
        quota_fen: Set(quota.fen()),
        covered_outstanding_fen: Set(0),
        pool_exposure_fen: Set(0),
        npl_outstanding_fen: Set(0),
        status: Set(BankStatus::Active.as_str().to_owned()),
        status_reason: Set(String::new()),
        status_manual: Set(false),
        rated_grade: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let row = row.insert(connection).await.map_err(|e| StoreError::from_insert(e, format!("bank {bank_id}")))?;
    BankRecord::try_from(row)
}

/// One bank, if it exists.
pub async fn get(connection: &impl ConnectionTrait, bank_id: &BankId) -> Result<Option<BankRecord>, StoreError> {
    bank::Entity::find_by_id(bank_id.as_str()).one(connection).await?.map(BankRecord::try_from).transpose()
}

/// One bank, locked for update until the transaction ends (PostgreSQL; SQLite's write
/// transaction already holds the database lock).
pub async fn get_for_update(
    connection: &impl ConnectionTrait,
    bank_id: &BankId,
) -> Result<Option<BankRecord>, StoreError> {
    bank::Entity::find_by_id(bank_id.as_str())
        .lock_exclusive()
        .one(connection)
        .await?
        .map(BankRecord::try_from)
        .transpose()
}

/// Banks in id order, starting after `after`, at most `limit`.
pub async fn list(
    connection: &impl ConnectionTrait,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<BankRecord>, StoreError> {
    let mut query = bank::Entity::find().order_by_asc(bank::Column::BankId).limit(limit);
    if let Some(after) = after {
        query = query.filter(bank::Column::BankId.gt(after));
    }
    query.all(connection).await?.into_iter().map(BankRecord::try_from).collect()
}

/// Changes display name and/or quota of a bank; `None` when it does not exist.
pub async fn update(
    connection: &impl ConnectionTrait,
    bank_id: &BankId,
    display_name: Option<&str>,
    quota: Option<Money>,
) -> Result<Option<BankRecord>, StoreError> {
    let Some(row) = bank::Entity::find_by_id(bank_id.as_str()).lock_exclusive().one(connection).await? else {
        return Ok(None);
    };
    let mut active: bank::ActiveModel = row.into();
    if let Some(name) = display_name {
        active.display_name = Set(name.to_owned());
    }
    if let Some(quota) = quota {
        active.quota_fen = Set(quota.fen());
    }
    active.updated_at = Set(crate::clock::instant());
    let row = active.update(connection).await?;
    BankRecord::try_from(row).map(Some)
}

/// Sets a bank's status and reason; `manual` marks a risk officer's decision.
pub async fn set_status(
    connection: &impl ConnectionTrait,
    bank_id: &BankId,
    status: BankStatus,
    reason: &str,
    manual: bool,
) -> Result<(), StoreError> {
    let active = bank::ActiveModel {
        bank_id: Set(bank_id.as_str().to_owned()),
        status: Set(status.as_str().to_owned()),
        status_reason: Set(reason.to_owned()),
        status_manual: Set(manual),
        updated_at: Set(crate::clock::instant()),
        ..Default::default()
    };
    active.update(connection).await?;
    Ok(())
}

/// A stored quarterly rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingRecord {
    /// Bank.
    pub bank_id: BankId,
    /// The quarter, "2026-Q4".
    pub quarter: String,
    /// The grade with its inputs.
    pub rating: domain::bank::Rating,
    /// Early defaults counted.
    pub early_defaults: u32,
    /// The policy version whose thresholds applied.
    pub policy_version: String,
    /// The business date it was rated on.
    pub rated_on: chrono::NaiveDate,
}

fn rating_record(row: crate::entities::bank_rating::Model) -> Result<RatingRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("rating of {} {}: {what}", row.bank_id, row.quarter));
    let ratio = |text: &Option<String>| -> Result<Option<rust_decimal::Decimal>, StoreError> {
        text.as_deref().map(|t| t.parse().map_err(|_| corrupt("ratio"))).transpose()
    };
    Ok(RatingRecord {
        bank_id: BankId::parse(&row.bank_id).map_err(|_| corrupt("bank"))?,
        rating: domain::bank::Rating {
            grade: domain::bank::BankGrade::parse(&row.grade).ok_or_else(|| corrupt("grade"))?,
            npl_ratio: ratio(&row.npl_ratio)?,
            payout_ratio: ratio(&row.payout_ratio)?,
            mismatch_rate: ratio(&row.mismatch_rate)?,
            because: row.reason.clone(),
        },
        quarter: row.quarter,
        early_defaults: u32::try_from(row.early_defaults).unwrap_or(0),
        policy_version: row.policy_version,
        rated_on: row.rated_on,
    })
}

/// Stores a bank's rating for its quarter (replacing an earlier one of the same quarter) and
/// the grade on the bank's row.
pub async fn save_rating(connection: &impl ConnectionTrait, record: &RatingRecord) -> Result<(), StoreError> {
    use crate::entities::bank_rating;
    use sea_orm::sea_query::OnConflict;
    let text = |d: Option<rust_decimal::Decimal>| d.map(|d| d.normalize().to_string());
    let row = bank_rating::ActiveModel {
        bank_id: Set(record.bank_id.to_string()),
        quarter: Set(record.quarter.clone()),
        grade: Set(record.rating.grade.as_str().to_owned()),
        npl_ratio: Set(text(record.rating.npl_ratio)),
        payout_ratio: Set(text(record.rating.payout_ratio)),
        early_defaults: Set(i32::try_from(record.early_defaults).unwrap_or(i32::MAX)),
        mismatch_rate: Set(text(record.rating.mismatch_rate)),
        reason: Set(record.rating.because.clone()),
        policy_version: Set(record.policy_version.clone()),
        rated_on: Set(record.rated_on),
        created_at: Set(crate::clock::instant()),
    };
    bank_rating::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([bank_rating::Column::BankId, bank_rating::Column::Quarter])
                .update_columns([
                    bank_rating::Column::Grade,
                    bank_rating::Column::NplRatio,
                    bank_rating::Column::PayoutRatio,
                    bank_rating::Column::EarlyDefaults,
                    bank_rating::Column::MismatchRate,
                    bank_rating::Column::Reason,
                    bank_rating::Column::PolicyVersion,
                    bank_rating::Column::RatedOn,
                    bank_rating::Column::CreatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(connection)
        .await?;
    bank::Entity::update_many()
        .col_expr(bank::Column::RatedGrade, sea_orm::sea_query::Expr::value(record.rating.grade.as_str()))
        .filter(bank::Column::BankId.eq(record.bank_id.as_str()))
        .exec(connection)
        .await?;
    Ok(())
}

/// A bank's quarterly ratings, newest first.
pub async fn ratings(connection: &impl ConnectionTrait, bank: &BankId) -> Result<Vec<RatingRecord>, StoreError> {
    use crate::entities::bank_rating;
    bank_rating::Entity::find()
        .filter(bank_rating::Column::BankId.eq(bank.as_str()))
        .order_by_desc(bank_rating::Column::Quarter)
        .all(connection)
        .await?
        .into_iter()
        .map(rating_record)
        .collect()
}

/// Sets a bank's status to what its figures now call for (the NPL ratio and its last
/// quarterly grade, `domain::bank::automatic_status_with_reason`), unless a risk officer set
/// it by hand. The caller holds the bank's row lock. Returns (from, to) when it changed.
pub async fn follow_automatic_status(
    connection: &impl ConnectionTrait,
    bank_id: &BankId,
    policy: &domain::Policy,
) -> Result<Option<(BankStatus, BankStatus)>, StoreError> {
    let Some(bank) = get(connection, bank_id).await? else { return Ok(None) };
    if bank.status_manual {
        return Ok(None);
    }
    let (status, reason) =
        domain::bank::automatic_status_with_reason(policy, bank.quota_used, bank.npl_outstanding, bank.rated_grade);
    if status == bank.status {
        return Ok(None);
    }
    set_status(connection, bank_id, status, &reason, false).await?;
    Ok(Some((bank.status, status)))
}
