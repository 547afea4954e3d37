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
