//! Database migrations of techcredit, for SQLite and PostgreSQL alike.
//!
//! Money columns end in `_fen` and hold whole fen in a BIGINT, exact on both databases.
//! Decimal rates and shares are stored as their canonical decimal strings.

pub use sea_orm_migration::prelude::*;

mod m20261201_000001_initial;
mod m20261201_000002_bank_quota_used;
mod m20261201_000003_settlement_links;
mod m20261201_000004_pool_net_assets;
mod m20261201_000005_journal_source_index;
mod m20261201_000006_payments_and_clock;
mod m20261201_000007_position_snapshots;
mod m20261201_000008_key_expiry;
mod m20261201_000009_audit_trail;
mod m20261201_000010_claim_grants;
mod m20261201_000011_portfolio_cap;
mod m20261201_000012_claim_share_rows;
mod m20261201_000013_renewals;
mod m20261202_000014_co_sharing;
mod m20261202_000015_exclusions;
mod m20261202_000016_bank_ratings;

/// Applies techcredit's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261201_000001_initial::Migration),
            Box::new(m20261201_000002_bank_quota_used::Migration),
            Box::new(m20261201_000003_settlement_links::Migration),
            Box::new(m20261201_000004_pool_net_assets::Migration),
            Box::new(m20261201_000005_journal_source_index::Migration),
            Box::new(m20261201_000006_payments_and_clock::Migration),
            Box::new(m20261201_000007_position_snapshots::Migration),
            Box::new(m20261201_000008_key_expiry::Migration),
            Box::new(m20261201_000009_audit_trail::Migration),
            Box::new(m20261201_000010_claim_grants::Migration),
            Box::new(m20261201_000011_portfolio_cap::Migration),
            Box::new(m20261201_000012_claim_share_rows::Migration),
            Box::new(m20261201_000013_renewals::Migration),
            Box::new(m20261202_000014_co_sharing::Migration),
            Box::new(m20261202_000015_exclusions::Migration),
            Box::new(m20261202_000016_bank_ratings::Migration),
        ]
    }
}
