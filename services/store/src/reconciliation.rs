//! Reconciliation reports, their discrepancies, and the registry a tape is matched against.

use chrono::{DateTime, NaiveDate, Utc};
use domain::reconcile::{Discrepancy, DiscrepancyKind, RegistryEntry, Summary};
use domain::terms::Classification;
use domain::{BankId, Money};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};

use crate::StoreError;
use crate::entities::{discrepancy, loan, reconciliation_report};

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRecord {
    /// Id.
    pub report_id: i64,
    /// Bank.
    pub bank_id: String,
    /// As-of date.
    pub as_of: NaiveDate,
    /// SHA-256 of the tape's rows.
    pub tape_sha256: String,
    /// Counts and sums.
    pub summary: Summary,
    /// The report it superseded.
    pub supersedes: Option<i64>,
    /// File name.
    pub file_name: String,
    /// When made.
    pub created_at: DateTime<Utc>,
}

impl From<reconciliation_report::Model> for ReportRecord {
    fn from(row: reconciliation_report::Model) -> ReportRecord {
        let counts = [
            (DiscrepancyKind::MissingInPool, row.missing_in_pool),
            (DiscrepancyKind::MissingAtBank, row.missing_at_bank),
            (DiscrepancyKind::BalanceMismatch, row.balance_mismatch),
            (DiscrepancyKind::StatusMismatch, row.status_mismatch),
            (DiscrepancyKind::DuplicateInTape, row.duplicate_in_tape),
            (DiscrepancyKind::InvalidRecord, row.invalid_record),
        ]
        .into_iter()
        .collect();
        ReportRecord {
            report_id: row.report_id,
            bank_id: row.bank_id,
            as_of: row.as_of,
            tape_sha256: row.tape_sha256,
            summary: Summary {
                rows_read: row.rows_read,
                rows_matched: row.rows_matched,
                counts,
                tape_outstanding: Money::from_fen(row.tape_outstanding_fen),
                pool_outstanding: Money::from_fen(row.pool_outstanding_fen),
            },
            supersedes: row.supersedes_report_id,
            file_name: row.file_name,
            created_at: row.created_at,
        }
    }
}

/// The registry of a bank: its covered, open loans as (loan number, entry), read in pages
/// of only the five columns matching needs, so neither side holds more than it must.
pub async fn registry(
    connection: &impl ConnectionTrait,
    bank: &BankId,
) -> Result<Vec<(String, RegistryEntry)>, StoreError> {
    let mut entries = Vec::new();
    let mut after = 0i64;
    loop {
        let rows: Vec<(i64, String, i64, i32, String, chrono::NaiveDate)> = loan::Entity::find()
            .select_only()
            .columns([
                loan::Column::LoanId,
                loan::Column::BankLoanNumber,
                loan::Column::OutstandingFen,
                loan::Column::DaysPastDue,
                loan::Column::Classification,
                loan::Column::MaturityDate,
            ])
            .filter(loan::Column::BankId.eq(bank.as_str()))
            .filter(loan::Column::Status.is_not_in(["REPAID", "CLOSED"]))
            .filter(loan::Column::LoanId.gt(after))
            .order_by_asc(loan::Column::LoanId)
            .limit(100_000)
            .into_tuple()
            .all(connection)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        entries.reserve(rows.len());
        for (loan_id, number, outstanding_fen, days_past_due, classification, maturity_date) in rows {
            let classification = Classification::parse(&classification)
                .ok_or_else(|| StoreError::Corrupt(format!("loan {loan_id} classification")))?;
            entries.push((
                number,
                RegistryEntry {
                    loan_id,
                    outstanding: Money::from_fen(outstanding_fen),
                    days_past_due: u32::try_from(days_past_due).unwrap_or(0),
                    classification,
                    maturity_date,
                },
            ));
        }
    }
    Ok(entries)
}

/// The report of this exact tape, if it was reconciled before.
pub async fn find_same(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    as_of: NaiveDate,
    sha: &str,
) -> Result<Option<ReportRecord>, StoreError> {
    Ok(reconciliation_report::Entity::find()
        .filter(reconciliation_report::Column::BankId.eq(bank.as_str()))
        .filter(reconciliation_report::Column::AsOf.eq(as_of))
        .filter(reconciliation_report::Column::TapeSha256.eq(sha))
        .one(connection)
        .await?
        .map(ReportRecord::from))
}

/// The newest report of a bank and date (the one a new tape supersedes).
pub async fn latest(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    as_of: NaiveDate,
) -> Result<Option<ReportRecord>, StoreError> {
    Ok(reconciliation_report::Entity::find()
        .filter(reconciliation_report::Column::BankId.eq(bank.as_str()))
        .filter(reconciliation_report::Column::AsOf.eq(as_of))
        .order_by_desc(reconciliation_report::Column::ReportId)
        .one(connection)
        .await?
        .map(ReportRecord::from))
}

/// Stores a report and its discrepancies.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    as_of: NaiveDate,
    sha: &str,
    summary: &Summary,
    supersedes: Option<i64>,
    file_name: &str,
    discrepancies: &[Discrepancy],
) -> Result<ReportRecord, StoreError> {
    let count = |kind| summary.counts.get(&kind).copied().unwrap_or(0);
    let row = reconciliation_report::ActiveModel {
        report_id: Default::default(),
        bank_id: Set(bank.to_string()),
        as_of: Set(as_of),
        tape_sha256: Set(sha.to_owned()),
        rows_read: Set(summary.rows_read),
        rows_matched: Set(summary.rows_matched),
        missing_in_pool: Set(count(DiscrepancyKind::MissingInPool)),
        missing_at_bank: Set(count(DiscrepancyKind::MissingAtBank)),
        balance_mismatch: Set(count(DiscrepancyKind::BalanceMismatch)),
        status_mismatch: Set(count(DiscrepancyKind::StatusMismatch)),
        duplicate_in_tape: Set(count(DiscrepancyKind::DuplicateInTape)),
        invalid_record: Set(count(DiscrepancyKind::InvalidRecord)),
        tape_outstanding_fen: Set(summary.tape_outstanding.fen()),
        pool_outstanding_fen: Set(summary.pool_outstanding.fen()),
        supersedes_report_id: Set(supersedes),
        file_name: Set(file_name.to_owned()),
        created_at: Set(crate::clock::instant()),
    }
    .insert(connection)
    .await
    .map_err(|e| StoreError::from_insert(e, "a report of this tape"))?;
    for (batch_index, batch) in discrepancies.chunks(1000).enumerate() {
        let rows: Vec<discrepancy::ActiveModel> = batch
            .iter()
            .enumerate()
            .map(|(i, d)| discrepancy::ActiveModel {
                report_id: Set(row.report_id),
                sequence: Set((batch_index * 1000 + i + 1) as i64),
                kind: Set(d.kind.as_str().to_owned()),
                line_number: Set(d.line),
                bank_loan_number: Set(d.bank_loan_number.clone()),
                loan_id: Set(d.loan_id),
                bank_value: Set(d.bank_value.clone()),
                pool_value: Set(d.pool_value.clone()),
                difference_fen: Set(d.difference.map(Money::fen)),
                detail: Set(d.detail.clone()),
            })
            .collect();
        discrepancy::Entity::insert_many(rows).exec(connection).await?;
    }
    Ok(row.into())
}

/// One report.
pub async fn get(connection: &impl ConnectionTrait, report_id: i64) -> Result<Option<ReportRecord>, StoreError> {
    Ok(reconciliation_report::Entity::find_by_id(report_id).one(connection).await?.map(ReportRecord::from))
}

/// Reports, newest first.
pub async fn list(
    connection: &impl ConnectionTrait,
    bank: Option<&BankId>,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<ReportRecord>, StoreError> {
    let mut query =
        reconciliation_report::Entity::find().order_by_desc(reconciliation_report::Column::ReportId).limit(limit);
    if let Some(bank) = bank {
        query = query.filter(reconciliation_report::Column::BankId.eq(bank.as_str()));
    }
    if let Some(before) = before_id {
        query = query.filter(reconciliation_report::Column::ReportId.lt(before));
    }
    Ok(query.all(connection).await?.into_iter().map(ReportRecord::from).collect())
}

/// Discrepancies of a report in sequence order, after `after`, optionally of one kind.
pub async fn discrepancies(
    connection: &impl ConnectionTrait,
    report_id: i64,
    kind: Option<DiscrepancyKind>,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<(i64, Discrepancy)>, StoreError> {
    let mut query = discrepancy::Entity::find()
        .filter(discrepancy::Column::ReportId.eq(report_id))
        .order_by_asc(discrepancy::Column::Sequence)
        .limit(limit);
    if let Some(kind) = kind {
        query = query.filter(discrepancy::Column::Kind.eq(kind.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(discrepancy::Column::Sequence.gt(after));
    }
    query
        .all(connection)
        .await?
        .into_iter()
        .map(|row| {
            let kind = DiscrepancyKind::parse(&row.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("discrepancy kind {:?}", row.kind)))?;
            Ok((
                row.sequence,
                Discrepancy {
                    kind,
                    line: row.line_number,
                    bank_loan_number: row.bank_loan_number,
                    loan_id: row.loan_id,
                    bank_value: row.bank_value,
                    pool_value: row.pool_value,
                    difference: row.difference_fen.map(Money::from_fen),
                    detail: row.detail,
                },
            ))
        })
        .collect()
}

/// Number of discrepancies of a report.
pub async fn discrepancy_count(connection: &impl ConnectionTrait, report_id: i64) -> Result<u64, StoreError> {
    Ok(discrepancy::Entity::find().filter(discrepancy::Column::ReportId.eq(report_id)).count(connection).await?)
}
