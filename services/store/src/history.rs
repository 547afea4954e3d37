//! Month-end position snapshots. A closed month's figures are computed once from the as-of
//! queries (a scan of the journal and of the loan book) and kept; the history reads the
//! kept rows. A posting dated back into a closed month refreshes: it deletes the snapshots
//! from that date on, in its own transaction, and they are computed again when next read.

use chrono::NaiveDate;
use domain::Money;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::entities::position_snapshot;

/// A month's position on its last day, in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthEnd {
    /// `YYYY-MM`.
    pub period: String,
    /// Its last day.
    pub as_of: NaiveDate,
    /// Committed capital.
    pub committed_capital: i64,
    /// Net pool assets.
    pub net_pool_assets: i64,
    /// Covered outstanding.
    pub covered_outstanding: i64,
    /// Pool exposure.
    pub pool_exposure: i64,
    /// Non-performing covered outstanding.
    pub npl_outstanding: i64,
    /// Covered loans.
    pub covered_loans: i64,
    /// Σ compensation expense so far.
    pub compensation: i64,
    /// Σ the pool's recovery income so far.
    pub recoveries: i64,
    /// Covered loans by grade: (grade, loans, outstanding).
    pub by_grade: Vec<(String, i64, i64)>,
}

impl MonthEnd {
    /// Computes a month's figures from the as-of queries (the scan a snapshot saves).
    async fn compute(
        connection: &impl ConnectionTrait,
        period: &str,
        as_of: NaiveDate,
    ) -> Result<MonthEnd, StoreError> {
        let balances = crate::ledger::balances_as_of(connection, as_of).await?;
        let (cover, grades) = crate::exposure::as_of_by_grade(connection, as_of).await?;
        let account = |code: domain::ledger::Account| balances.0.get(&code).copied().unwrap_or(Money::ZERO).fen();
        Ok(MonthEnd {
            period: period.to_owned(),
            as_of,
            committed_capital: balances.committed_capital().fen(),
            net_pool_assets: balances.net_pool_assets().fen(),
            covered_outstanding: cover.covered_outstanding.fen(),
            pool_exposure: cover.pool_exposure.fen(),
            npl_outstanding: cover.npl_outstanding.fen(),
            covered_loans: cover.covered_loans,
            compensation: account(domain::ledger::Account::compensation_expense()),
            recoveries: account(domain::ledger::Account::recovery_income()),
            by_grade: grades
                .into_iter()
                .map(|(grade, (loans, outstanding))| (grade.as_str().to_owned(), loans, outstanding.fen()))
                .collect(),
        })
    }
}

/// The month-end positions of `months` (`YYYY-MM` and its last day, oldest first, every one
/// closed): the kept snapshots, and the missing ones computed. Returns them all and, apart,
/// the ones computed now, for [`keep`] to store in a write transaction.
pub async fn month_ends(
    connection: &impl ConnectionTrait,
    months: &[(String, NaiveDate)],
) -> Result<(Vec<MonthEnd>, Vec<MonthEnd>), StoreError> {
    let periods: Vec<&str> = months.iter().map(|(p, _)| p.as_str()).collect();
    let kept: std::collections::HashMap<String, MonthEnd> = position_snapshot::Entity::find()
        .filter(position_snapshot::Column::Period.is_in(periods))
        .all(connection)
        .await?
        .into_iter()
        .filter_map(|row| serde_json::from_str::<MonthEnd>(&row.figures).ok().map(|m| (row.period, m)))
        .collect();
    let mut result = Vec::with_capacity(months.len());
    let mut computed = Vec::new();
    for (period, as_of) in months {
        match kept.get(period) {
            Some(month) if month.as_of == *as_of => result.push(month.clone()),
            _ => {
                let month = MonthEnd::compute(connection, period, *as_of).await?;
                computed.push(month.clone());
                result.push(month);
            }
        }
    }
    Ok((result, computed))
}

/// Keeps computed month ends (replacing an older snapshot of the same month; a concurrent
/// reader that kept it first kept the same figures).
pub async fn keep(connection: &impl ConnectionTrait, months: &[MonthEnd]) -> Result<(), StoreError> {
    for month in months {
        let figures = serde_json::to_string(month).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let row = position_snapshot::ActiveModel {
            period: Set(month.period.clone()),
            as_of: Set(month.as_of),
            figures: Set(figures),
            created_at: Set(crate::clock::instant()),
        };
        position_snapshot::Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(position_snapshot::Column::Period)
                    .update_columns([
                        position_snapshot::Column::AsOf,
                        position_snapshot::Column::Figures,
                        position_snapshot::Column::CreatedAt,
                    ])
                    .to_owned(),
            )
            .exec(connection)
            .await?;
    }
    Ok(())
}

/// Drops the snapshots of months ending on or after `date` (a posting dated back into them).
pub async fn invalidate_from(connection: &impl ConnectionTrait, date: NaiveDate) -> Result<(), StoreError> {
    position_snapshot::Entity::delete_many().filter(position_snapshot::Column::AsOf.gte(date)).exec(connection).await?;
    Ok(())
}
