//! Running totals of exposure — per pool, per bank, per enterprise — updated in the same
//! transaction as every change to a covered loan, so the figures risk officers and limits
//! read never need a scan of the loan book.
//!
//! Lock order, everywhere: enterprise row, then bank row, then the pool totals row last
//! (the rows that enrolments contend for are held for the shortest time).

use domain::{BankId, Money};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::StoreError;
use crate::entities::{bank, enterprise_exposure, pool_totals};

/// A change to the running totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExposureDelta {
    /// Change of covered outstanding.
    pub outstanding: i64,
    /// Change of pool exposure (Σ outstanding × share).
    pub pool_exposure: i64,
    /// Change of non-performing outstanding.
    pub npl_outstanding: i64,
    /// Change of the number of covered (open) loans.
    pub loans: i64,
}

/// Locks an enterprise's exposure row (making it on first use) and returns its covered
/// outstanding.
pub async fn lock_enterprise(connection: &impl ConnectionTrait, uscc: &str) -> Result<Money, StoreError> {
    enterprise_exposure::Entity::insert(enterprise_exposure::ActiveModel {
        uscc: sea_orm::Set(uscc.to_owned()),
        covered_outstanding_fen: sea_orm::Set(0),
    })
    .on_conflict(OnConflict::column(enterprise_exposure::Column::Uscc).do_nothing().to_owned())
    .exec_without_returning(connection)
    .await?;
    let row = enterprise_exposure::Entity::find_by_id(uscc)
        .lock_exclusive()
        .one(connection)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("enterprise exposure row of {uscc} vanished")))?;
    Ok(Money::from_fen(row.covered_outstanding_fen))
}

/// Covered outstanding of an enterprise now (no lock).
pub async fn enterprise_outstanding(connection: &impl ConnectionTrait, uscc: &str) -> Result<Money, StoreError> {
    let row = enterprise_exposure::Entity::find_by_id(uscc).one(connection).await?;
    Ok(Money::from_fen(row.map_or(0, |r| r.covered_outstanding_fen)))
}

/// Adds newly enrolled loans to their bank's totals and returns the bank after it.
pub async fn add_loan_to_bank(
    connection: &impl ConnectionTrait,
    bank_id: &BankId,
    outstanding: Money,
    pool_exposure: Money,
) -> Result<crate::banks::BankRecord, StoreError> {
    let add = |column: &str, value: i64| Expr::col(sea_orm::sea_query::Alias::new(column)).add(value);
    let rows = bank::Entity::update_many()
        .col_expr(bank::Column::CoveredOutstandingFen, add("covered_outstanding_fen", outstanding.fen()))
        .col_expr(bank::Column::PoolExposureFen, add("pool_exposure_fen", pool_exposure.fen()))
        .filter(bank::Column::BankId.eq(bank_id.as_str()))
        .exec_with_returning(connection)
        .await?;
    let row = rows.into_iter().next().ok_or_else(|| StoreError::Corrupt(format!("bank {bank_id} is missing")))?;
    crate::banks::BankRecord::try_from(row)
}

/// Applies a change to the pool's, the bank's and the enterprise's totals. The caller holds
/// the locks.
pub async fn apply(
    connection: &impl ConnectionTrait,
    bank_id: &BankId,
    uscc: &str,
    delta: ExposureDelta,
) -> Result<(), StoreError> {
    let add = |column: &str, value: i64| Expr::col(sea_orm::sea_query::Alias::new(column)).add(value);
    pool_totals::Entity::update_many()
        .col_expr(pool_totals::Column::CoveredOutstandingFen, add("covered_outstanding_fen", delta.outstanding))
        .col_expr(pool_totals::Column::PoolExposureFen, add("pool_exposure_fen", delta.pool_exposure))
        .col_expr(pool_totals::Column::NplOutstandingFen, add("npl_outstanding_fen", delta.npl_outstanding))
        .col_expr(pool_totals::Column::CoveredLoans, add("covered_loans", delta.loans))
        .col_expr(pool_totals::Column::UpdatedAt, Expr::value(crate::clock::instant()))
        .filter(pool_totals::Column::Id.eq(1))
        .exec(connection)
        .await?;
    bank::Entity::update_many()
        .col_expr(bank::Column::CoveredOutstandingFen, add("covered_outstanding_fen", delta.outstanding))
        .col_expr(bank::Column::PoolExposureFen, add("pool_exposure_fen", delta.pool_exposure))
        .col_expr(bank::Column::NplOutstandingFen, add("npl_outstanding_fen", delta.npl_outstanding))
        .filter(bank::Column::BankId.eq(bank_id.as_str()))
        .exec(connection)
        .await?;
    enterprise_exposure::Entity::update_many()
        .col_expr(enterprise_exposure::Column::CoveredOutstandingFen, add("covered_outstanding_fen", delta.outstanding))
        .filter(enterprise_exposure::Column::Uscc.eq(uscc))
        .exec(connection)
        .await?;
    Ok(())
}

fn add_loan(totals: &mut domain::position::CoverTotals, state: &domain::loan::LoanState, exposure: Money) {
    if state.status.is_closed() {
        return;
    }
    totals.covered_outstanding = Money::from_fen(totals.covered_outstanding.fen() + state.outstanding.fen());
    totals.pool_exposure = Money::from_fen(totals.pool_exposure.fen() + exposure.fen());
    if domain::loan::is_non_performing(state.status, state.classification) {
        totals.npl_outstanding = Money::from_fen(totals.npl_outstanding.fen() + state.outstanding.fen());
    }
    totals.covered_loans += 1;
}

/// Recomputes every running total from the loans themselves (a full scan: for audits).
/// Covered totals recomputed from the loan registry, for the pool, each bank and each
/// enterprise.
pub async fn recompute(connection: &impl ConnectionTrait) -> Result<domain::audit::Registry, StoreError> {
    let mut result = domain::audit::Registry::default();
    let loans = crate::entities::loan::Entity::find().all(connection).await?;
    for row in loans {
        let record = crate::loans::LoanRecord::try_from(row)?;
        add_loan(&mut result.pool, &record.state, record.pool_exposure);
        add_loan(result.banks.entry(record.bank_id.to_string()).or_default(), &record.state, record.pool_exposure);
        let enterprise = result.enterprises.entry(record.uscc.clone()).or_default();
        if !record.state.status.is_closed() {
            *enterprise = Money::from_fen(enterprise.fen() + record.state.outstanding.fen());
        }
    }
    Ok(result)
}

/// Stored covered outstanding per enterprise.
pub async fn stored_enterprises(
    connection: &impl ConnectionTrait,
) -> Result<std::collections::BTreeMap<String, Money>, StoreError> {
    Ok(enterprise_exposure::Entity::find()
        .all(connection)
        .await?
        .into_iter()
        .map(|row| (row.uscc, Money::from_fen(row.covered_outstanding_fen)))
        .collect())
}

/// Covered outstanding and pool exposure of open loans, per grade (for stress tests).
pub async fn by_grade(
    connection: &impl ConnectionTrait,
) -> Result<std::collections::BTreeMap<domain::terms::Grade, (Money, Money)>, StoreError> {
    use sea_orm::StatementBuilder;
    use sea_orm::sea_query::{Alias, Func, Query};
    let loan = crate::entities::loan::Column::Grade;
    let sum = |column: &str| Func::cast_as(Func::sum(Expr::col(Alias::new(column))), Alias::new("BIGINT"));
    let mut query = Query::select();
    query
        .from(crate::entities::loan::Entity)
        .column(loan)
        .expr_as(sum("outstanding_fen"), Alias::new("outstanding"))
        .expr_as(sum("pool_exposure_fen"), Alias::new("exposure"))
        .and_where(crate::entities::loan::Column::Status.is_not_in(["REPAID", "CLOSED"]))
        .group_by_col(loan);
    let statement = StatementBuilder::build(&query, &connection.get_database_backend());
    let mut result = std::collections::BTreeMap::new();
    for row in connection.query_all_raw(statement).await? {
        let grade: String = row.try_get("", "grade")?;
        let grade =
            domain::terms::Grade::parse(&grade).ok_or_else(|| StoreError::Corrupt(format!("grade {grade:?}")))?;
        let outstanding: i64 = row.try_get("", "outstanding")?;
        let exposure: i64 = row.try_get("", "exposure")?;
        result.insert(grade, (Money::from_fen(outstanding), Money::from_fen(exposure)));
    }
    Ok(result)
}

/// Cover totals as they were at the end of business date `date` (Asia/Shanghai): loans
/// enrolled by then, each with the last status report recorded by then. A scan of the
/// loan book and its reports, used only for as-of queries.
pub async fn as_of(
    connection: &impl ConnectionTrait,
    date: chrono::NaiveDate,
) -> Result<domain::position::CoverTotals, StoreError> {
    Ok(as_of_by_grade(connection, date).await?.0)
}

/// Covered loans by grade at one moment: how many, and their outstanding.
pub type GradeBook = std::collections::BTreeMap<domain::terms::Grade, (i64, Money)>;

/// [`as_of`], with the covered loans of each grade (for month-end snapshots).
pub async fn as_of_by_grade(
    connection: &impl ConnectionTrait,
    date: chrono::NaiveDate,
) -> Result<(domain::position::CoverTotals, GradeBook), StoreError> {
    use crate::entities::{loan, loan_status_report};
    let end = date
        .succ_opt()
        .and_then(|next| next.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc() - chrono::Duration::hours(8))
        .ok_or_else(|| StoreError::Corrupt(format!("date {date} out of range")))?;
    let loans = loan::Entity::find().filter(loan::Column::CreatedAt.lt(end)).all(connection).await?;
    let mut latest: std::collections::BTreeMap<i64, loan_status_report::Model> = std::collections::BTreeMap::new();
    for report in
        loan_status_report::Entity::find().filter(loan_status_report::Column::CreatedAt.lt(end)).all(connection).await?
    {
        let keep = latest.get(&report.loan_id).is_none_or(|seen| seen.report_id < report.report_id);
        if keep {
            latest.insert(report.loan_id, report);
        }
    }
    let mut totals = domain::position::CoverTotals::default();
    let mut grades = GradeBook::new();
    for row in loans {
        let record = crate::loans::LoanRecord::try_from(row)?;
        let mut state = record.state.clone();
        match latest.get(&record.loan_id) {
            Some(report) => {
                state.outstanding = Money::from_fen(report.outstanding_fen);
                state.classification = domain::terms::Classification::parse(&report.classification)
                    .ok_or_else(|| StoreError::Corrupt(format!("classification {:?}", report.classification)))?;
                state.status = domain::loan::LoanStatus::parse(&report.status_after)
                    .ok_or_else(|| StoreError::Corrupt(format!("status {:?}", report.status_after)))?;
            }
            None => {
                state.outstanding = record.disbursed;
                state.classification = domain::terms::Classification::Normal;
                state.status = domain::loan::LoanStatus::Active;
            }
        }
        let exposure = state.outstanding.mul_half_up(record.pool_share).unwrap_or(Money::ZERO);
        if !state.status.is_closed() {
            let entry = grades.entry(record.grade).or_insert((0, Money::ZERO));
            *entry = (entry.0 + 1, Money::from_fen(entry.1.fen() + state.outstanding.fen()));
        }
        add_loan(&mut totals, &state, exposure);
    }
    Ok((totals, grades))
}

/// Adds to the pool's claim and money counters (the caller holds the pool lock).
pub async fn add_pool_counters(
    connection: &impl ConnectionTrait,
    claims_filed: i64,
    compensation_approved_fen: i64,
    compensation_paid_fen: i64,
    shortfall_fen: i64,
    recoveries_fen: i64,
) -> Result<(), StoreError> {
    let add = |column: &str, value: i64| Expr::col(sea_orm::sea_query::Alias::new(column)).add(value);
    pool_totals::Entity::update_many()
        .col_expr(pool_totals::Column::ClaimsFiled, add("claims_filed", claims_filed))
        .col_expr(
            pool_totals::Column::CompensationApprovedFen,
            add("compensation_approved_fen", compensation_approved_fen),
        )
        .col_expr(pool_totals::Column::CompensationPaidFen, add("compensation_paid_fen", compensation_paid_fen))
        .col_expr(pool_totals::Column::ShortfallFen, add("shortfall_fen", shortfall_fen))
        .col_expr(pool_totals::Column::RecoveriesFen, add("recoveries_fen", recoveries_fen))
        .filter(pool_totals::Column::Id.eq(1))
        .exec(connection)
        .await?;
    Ok(())
}

/// Takes a loan that leaves cover (written off, finally recovered, excluded) out of the
/// running totals: locks its enterprise, its bank and the pool (the lock order), removes its
/// outstanding, exposure and non-performing part and the loan itself — nothing for a loan
/// already closed — and lets the bank's status follow its figures. Returns the outstanding
/// freed and the bank's status change, if any.
pub async fn release_loan(
    connection: &impl ConnectionTrait,
    loan: &crate::loans::LoanRecord,
    policy: &domain::Policy,
) -> Result<(Money, Option<(domain::BankStatus, domain::BankStatus)>), StoreError> {
    lock_enterprise(connection, &loan.uscc).await?;
    crate::banks::get_for_update(connection, &loan.bank_id).await?;
    crate::pool::lock(connection).await?;
    if loan.state.status.is_closed() {
        return Ok((Money::ZERO, None));
    }
    let npl = if domain::loan::is_non_performing(loan.state.status, loan.state.classification) {
        loan.state.outstanding.fen()
    } else {
        0
    };
    let delta = ExposureDelta {
        outstanding: -loan.state.outstanding.fen(),
        pool_exposure: -loan.pool_exposure.fen(),
        npl_outstanding: -npl,
        loans: -1,
    };
    apply(connection, &loan.bank_id, &loan.uscc, delta).await?;
    let changed = crate::banks::follow_automatic_status(connection, &loan.bank_id, policy).await?;
    Ok((loan.state.outstanding, changed))
}
