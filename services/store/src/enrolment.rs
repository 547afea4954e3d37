//! The set-wise statements of batched enrolment. A batch of `EnrollLoan` calls is decided
//! and written in one transaction with a fixed number of statements whatever its size:
//! lock the applications, then (lock order: enterprise, bank, pool) the rows holding the
//! running totals, decide in memory, then write the loans, the applications, the totals and
//! the remembered responses. The rows every enrolment contends for are held once per batch,
//! not once per loan.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use domain::{BankId, Money};
use sea_orm::sea_query::{Alias, CaseStatement, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, StatementBuilder,
};

use crate::applications::ApplicationRecord;
use crate::banks::BankRecord;
use crate::entities::{application, bank, enterprise_exposure, loan, pool_totals};
use crate::loans::{LoanRecord, NewLoan};
use crate::{StoreError, union_all};
use domain::enrolment::PoolStanding;

/// The applications with these ids that exist, locked until the transaction ends (taken in
/// id order, so two batches never wait on each other in a cycle).
pub async fn lock_applications(
    connection: &impl ConnectionTrait,
    ids: &BTreeSet<i64>,
) -> Result<HashMap<i64, ApplicationRecord>, StoreError> {
    let rows = application::Entity::find()
        .filter(application::Column::ApplicationId.is_in(ids.iter().copied()))
        .order_by_asc(application::Column::ApplicationId)
        .lock_exclusive()
        .all(connection)
        .await?;
    rows.into_iter().map(|row| ApplicationRecord::try_from(row).map(|r| (r.application_id, r))).collect()
}

/// Which of these (bank, bank loan number) pairs are taken by stored loans.
pub async fn loan_numbers_taken(
    connection: &impl ConnectionTrait,
    numbers: &BTreeSet<(BankId, String)>,
) -> Result<HashSet<(BankId, String)>, StoreError> {
    let probes = numbers.iter().map(|(bank_id, number)| {
        Query::select()
            .column(loan::Column::BankId)
            .column(loan::Column::BankLoanNumber)
            .from(loan::Entity)
            .and_where(loan::Column::BankId.eq(bank_id.as_str()))
            .and_where(loan::Column::BankLoanNumber.eq(number.as_str()))
            .to_owned()
    });
    let Some(query) = union_all(probes) else { return Ok(HashSet::new()) };
    let statement = StatementBuilder::build(&query, &connection.get_database_backend());
    let mut rows = Vec::new();
    for row in connection.query_all_raw(statement).await? {
        let bank_id: String = row.try_get("", "bank_id")?;
        let number: String = row.try_get("", "bank_loan_number")?;
        rows.push((bank_id, number));
    }
    let mut taken = HashSet::new();
    for (bank_id, number) in rows {
        let bank =
            BankId::parse(&bank_id).map_err(|e| StoreError::Corrupt(format!("loan of bank {bank_id:?}: {e}")))?;
        let pair = (bank, number);
        if numbers.contains(&pair) {
            taken.insert(pair);
        }
    }
    Ok(taken)
}

/// Locks the exposure rows of these enterprises (making them on first use, in USCC order)
/// and returns their covered outstanding.
pub async fn lock_enterprises(
    connection: &impl ConnectionTrait,
    usccs: &BTreeSet<String>,
) -> Result<HashMap<String, Money>, StoreError> {
    if usccs.is_empty() {
        return Ok(HashMap::new());
    }
    let column = enterprise_exposure::Column::CoveredOutstandingFen;
    let rows = enterprise_exposure::Entity::insert_many(
        usccs
            .iter()
            .map(|uscc| enterprise_exposure::ActiveModel { uscc: Set(uscc.clone()), covered_outstanding_fen: Set(0) }),
    )
    .on_conflict(
        // A no-op update: it takes the row's lock and returns the row.
        OnConflict::column(enterprise_exposure::Column::Uscc)
            .value(column, Expr::col((enterprise_exposure::Entity, column)))
            .to_owned(),
    )
    .exec_with_returning(connection)
    .await?;
    Ok(rows.into_iter().map(|row| (row.uscc, Money::from_fen(row.covered_outstanding_fen))).collect())
}

/// These banks; with `lock`, locked until the transaction ends (taken in id order).
pub async fn banks(
    connection: &impl ConnectionTrait,
    ids: &BTreeSet<BankId>,
    lock: bool,
) -> Result<HashMap<BankId, BankRecord>, StoreError> {
    let mut query = bank::Entity::find()
        .filter(bank::Column::BankId.is_in(ids.iter().map(BankId::as_str)))
        .order_by_asc(bank::Column::BankId);
    if lock {
        query = query.lock_exclusive();
    }
    let rows = query.all(connection).await?;
    rows.into_iter().map(|row| BankRecord::try_from(row).map(|b| (b.bank_id.clone(), b))).collect()
}

/// The pool's totals as the limits see them; with `lock`, locked until the transaction
/// ends (take it last).
pub async fn pool(connection: &impl ConnectionTrait, lock: bool) -> Result<PoolStanding, StoreError> {
    let totals = if lock { crate::pool::lock(connection).await? } else { crate::pool::read(connection).await? };
    Ok(totals.standing())
}

/// Stores newly enrolled loans in one statement and returns them by application id.
pub async fn insert_loans(
    connection: &impl ConnectionTrait,
    loans: &[NewLoan],
) -> Result<HashMap<i64, LoanRecord>, StoreError> {
    if loans.is_empty() {
        return Ok(HashMap::new());
    }
    let now = crate::clock::instant();
    let rows = loan::Entity::insert_many(loans.iter().map(|new| crate::loans::new_loan_row(new, now)))
        .exec_with_returning(connection)
        .await
        .map_err(|e| StoreError::from_insert(e, "a bank loan number of this batch"))?;
    rows.into_iter().map(|row| LoanRecord::try_from(row).map(|l| (l.application_id, l))).collect()
}

/// Marks applications ENROLLED as these loans, in one statement.
pub async fn mark_enrolled(connection: &impl ConnectionTrait, loans: &[(i64, i64)]) -> Result<(), StoreError> {
    if loans.is_empty() {
        return Ok(());
    }
    let mut case = CaseStatement::new();
    for &(application_id, loan_id) in loans {
        case = case.case(application::Column::ApplicationId.eq(application_id), Expr::val(loan_id));
    }
    let case = case.finally(Expr::col(application::Column::LoanId));
    let updated = application::Entity::update_many()
        .col_expr(application::Column::Status, Expr::val(domain::loan::ApplicationStatus::Enrolled.as_str()))
        .col_expr(application::Column::LoanId, case.into())
        .col_expr(application::Column::UpdatedAt, Expr::val(crate::clock::instant()))
        .filter(application::Column::ApplicationId.is_in(loans.iter().map(|(application_id, _)| *application_id)))
        .exec(connection)
        .await?;
    if updated.rows_affected != loans.len() as u64 {
        return Err(StoreError::Corrupt(format!(
            "{} of {} enrolled applications were updated",
            updated.rows_affected,
            loans.len()
        )));
    }
    Ok(())
}

/// Adds covered outstanding to enterprises' running totals, in one statement.
pub async fn add_to_enterprises(
    connection: &impl ConnectionTrait,
    deltas: &BTreeMap<String, Money>,
) -> Result<(), StoreError> {
    if deltas.is_empty() {
        return Ok(());
    }
    let column = enterprise_exposure::Column::CoveredOutstandingFen;
    enterprise_exposure::Entity::insert_many(deltas.iter().map(|(uscc, delta)| enterprise_exposure::ActiveModel {
        uscc: Set(uscc.clone()),
        covered_outstanding_fen: Set(delta.fen()),
    }))
    .on_conflict(
        OnConflict::column(enterprise_exposure::Column::Uscc)
            .value(
                column,
                Expr::col((enterprise_exposure::Entity, column)).add(Expr::col((Alias::new("excluded"), column))),
            )
            .to_owned(),
    )
    .exec_without_returning(connection)
    .await?;
    Ok(())
}

/// Adds enrolled loans to the pool's running totals in one statement that takes the row's
/// lock and returns the totals it wrote.
pub async fn add_to_pool(
    connection: &impl ConnectionTrait,
    outstanding: Money,
    pool_exposure: Money,
    loans: i64,
) -> Result<PoolStanding, StoreError> {
    let add = |column: &str, value: i64| Expr::col(Alias::new(column)).add(value);
    let rows = pool_totals::Entity::update_many()
        .col_expr(pool_totals::Column::CoveredOutstandingFen, add("covered_outstanding_fen", outstanding.fen()))
        .col_expr(pool_totals::Column::PoolExposureFen, add("pool_exposure_fen", pool_exposure.fen()))
        .col_expr(pool_totals::Column::CoveredLoans, add("covered_loans", loans))
        .col_expr(pool_totals::Column::UpdatedAt, Expr::val(crate::clock::instant()))
        .filter(pool_totals::Column::Id.eq(1))
        .exec_with_returning(connection)
        .await?;
    let row =
        rows.into_iter().next().ok_or_else(|| StoreError::Corrupt("the pool totals row is missing".to_owned()))?;
    Ok(crate::pool::PoolTotals::from(row).standing())
}
