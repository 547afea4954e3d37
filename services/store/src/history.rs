//! Month-end position snapshots. A closed month's figures are computed once from the as-of
//! queries (a scan of the journal and of the loan book) and kept; the history reads the
//! kept rows. A posting dated back into a closed month refreshes: it deletes the snapshots
//! from that date on, in its own transaction, and they are computed again when next read.
//!
//! A month computed from a read that began before such a posting committed must not be kept
//! after the posting deleted the snapshots (it would stay stale for good). So the read notes
//! the journal's last committed entry before it computes ([`Computed`]), and [`keep`] — under
//! the pool row's lock, which every posting takes before it writes, so postings commit in the
//! order of their entry ids — keeps only the months that no later entry is dated into. A
//! plain read is enough: a posting the computation missed has an id above the mark.

use chrono::NaiveDate;
use domain::Money;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
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

/// Month ends computed by one read, with the journal's last entry when that read began.
#[derive(Debug, Clone, Default)]
pub struct Computed {
    months: Vec<MonthEnd>,
    journal_mark: i64,
}

impl Computed {
    /// Whether nothing was computed (every month was kept already).
    pub fn is_empty(&self) -> bool {
        self.months.is_empty()
    }
}

/// The journal's last entry id (0 when it is empty).
async fn journal_mark(connection: &impl ConnectionTrait) -> Result<i64, StoreError> {
    use crate::entities::journal_entry;
    Ok(journal_entry::Entity::find()
        .select_only()
        .column(journal_entry::Column::EntryId)
        .order_by_desc(journal_entry::Column::EntryId)
        .limit(1)
        .into_tuple::<i64>()
        .one(connection)
        .await?
        .unwrap_or(0))
}

/// The month-end positions of `months` (`YYYY-MM` and its last day, oldest first, every one
/// closed): the kept snapshots, and the missing ones computed. Returns them all and, apart,
/// the ones computed now, for [`keep`] to store in a write transaction.
pub async fn month_ends(
    connection: &impl ConnectionTrait,
    months: &[(String, NaiveDate)],
) -> Result<(Vec<MonthEnd>, Computed), StoreError> {
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
    let mut mark = None;
    for (period, as_of) in months {
        match kept.get(period) {
            Some(month) if month.as_of == *as_of => result.push(month.clone()),
            _ => {
                // Before the first computing: a posting that commits after this is seen by `keep`.
                if mark.is_none() {
                    mark = Some(journal_mark(connection).await?);
                }
                let month = MonthEnd::compute(connection, period, *as_of).await?;
                computed.push(month.clone());
                result.push(month);
            }
        }
    }
    Ok((result, Computed { months: computed, journal_mark: mark.unwrap_or(0) }))
}

/// Keeps computed month ends, in a write transaction (replacing an older snapshot of the
/// same month: a concurrent reader that kept it first kept the same figures) — all but those
/// ending on or after the date of an entry posted since they were read, which are left to
/// be computed again. Returns how many were kept.
pub async fn keep(connection: &impl ConnectionTrait, computed: &Computed) -> Result<usize, StoreError> {
    use crate::entities::journal_entry;
    let Some(last) = computed.months.iter().map(|m| m.as_of).max() else {
        return Ok(0);
    };
    // Waits for a posting under way; every later one sees the snapshots kept here.
    crate::pool::lock(connection).await?;
    let dated_back: Option<NaiveDate> = journal_entry::Entity::find()
        .select_only()
        .column(journal_entry::Column::EffectiveDate)
        .filter(journal_entry::Column::EntryId.gt(computed.journal_mark))
        .filter(journal_entry::Column::EffectiveDate.lte(last))
        .order_by_asc(journal_entry::Column::EffectiveDate)
        .limit(1)
        .into_tuple::<NaiveDate>()
        .one(connection)
        .await?;
    let months: Vec<&MonthEnd> =
        computed.months.iter().filter(|m| dated_back.is_none_or(|date| m.as_of < date)).collect();
    for month in &months {
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
    Ok(months.len())
}

/// Drops the snapshots of months ending on or after `date` (a posting dated back into them).
pub async fn invalidate_from(connection: &impl ConnectionTrait, date: NaiveDate) -> Result<(), StoreError> {
    position_snapshot::Entity::delete_many().filter(position_snapshot::Column::AsOf.gte(date)).exec(connection).await?;
    Ok(())
}
