//! The pool's running totals: one row (id 1), kept by every posting and every exposure
//! change in the transaction that makes it. One typed read and one lock.

use domain::Money;
use domain::enrolment::PoolStanding;
use domain::position::CoverTotals;
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};

use crate::StoreError;
use crate::entities::pool_totals;

/// The pool's running totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolTotals {
    /// Covered loans.
    pub cover: CoverTotals,
    /// Net pool assets (kept by every posting).
    pub net_pool_assets: Money,
    /// Committed capital (kept by every posting).
    pub committed_capital: Money,
    /// Suspended by hand.
    pub suspended: bool,
    /// Why.
    pub suspension_reason: String,
    /// Claims filed, ever.
    pub claims_filed: i64,
    /// Σ compensation approved.
    pub compensation_approved: Money,
    /// Σ compensation paid.
    pub compensation_paid: Money,
    /// Σ compensation left unpaid for want of cash.
    pub shortfall: Money,
    /// Σ the pool's share of recoveries.
    pub recoveries: Money,
}

impl PoolTotals {
    /// The totals the enrolment limits are checked against.
    pub fn standing(&self) -> PoolStanding {
        PoolStanding {
            covered_outstanding: self.cover.covered_outstanding,
            net_pool_assets: self.net_pool_assets,
            committed_capital: self.committed_capital,
            suspended: self.suspended,
            suspension_reason: self.suspension_reason.clone(),
        }
    }
}

impl From<pool_totals::Model> for PoolTotals {
    fn from(row: pool_totals::Model) -> PoolTotals {
        PoolTotals {
            cover: CoverTotals {
                covered_outstanding: Money::from_fen(row.covered_outstanding_fen),
                pool_exposure: Money::from_fen(row.pool_exposure_fen),
                npl_outstanding: Money::from_fen(row.npl_outstanding_fen),
                covered_loans: row.covered_loans,
            },
            net_pool_assets: Money::from_fen(row.net_pool_assets_fen),
            committed_capital: Money::from_fen(row.committed_capital_fen),
            suspended: row.suspended,
            suspension_reason: row.suspension_reason,
            claims_filed: row.claims_filed,
            compensation_approved: Money::from_fen(row.compensation_approved_fen),
            compensation_paid: Money::from_fen(row.compensation_paid_fen),
            shortfall: Money::from_fen(row.shortfall_fen),
            recoveries: Money::from_fen(row.recoveries_fen),
        }
    }
}

fn missing() -> StoreError {
    StoreError::Corrupt("the pool totals row is missing".to_owned())
}

/// The totals now, without a lock.
pub async fn read(connection: &impl ConnectionTrait) -> Result<PoolTotals, StoreError> {
    Ok(pool_totals::Entity::find_by_id(1).one(connection).await?.ok_or_else(missing)?.into())
}

/// Locks the totals row for the rest of the transaction (lock order: enterprise, bank,
/// pool: take it last) and returns the totals.
pub async fn lock(connection: &impl ConnectionTrait) -> Result<PoolTotals, StoreError> {
    Ok(pool_totals::Entity::find_by_id(1).lock_exclusive().one(connection).await?.ok_or_else(missing)?.into())
}
