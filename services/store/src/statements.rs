//! Settlement statements and their lines.

use chrono::{DateTime, Utc};
use domain::statement::{Direction, Line, LineKind, Period, Statement};
use domain::{BankId, Money};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::StoreError;
use crate::entities::{statement, statement_line};

/// A stored statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRecord {
    /// Id.
    pub statement_id: i64,
    /// Content.
    pub statement: Statement,
    /// "DRAFT" or "CONFIRMED".
    pub confirmed: bool,
    /// SHA-256 of the canonical CSV.
    pub content_sha256: String,
    /// When (re)built.
    pub built_at: DateTime<Utc>,
    /// When confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
}

async fn load(connection: &impl ConnectionTrait, row: statement::Model) -> Result<StatementRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("statement {}: {what}", row.statement_id));
    let lines = statement_line::Entity::find()
        .filter(statement_line::Column::StatementId.eq(row.statement_id))
        .order_by_asc(statement_line::Column::LineNumber)
        .all(connection)
        .await?
        .into_iter()
        .map(|line| {
            Ok(Line {
                kind: LineKind::parse(&line.kind).ok_or_else(|| corrupt("line kind"))?,
                source: line.source,
                description: line.description,
                amount: Money::from_fen(line.amount_fen),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(StatementRecord {
        statement_id: row.statement_id,
        statement: Statement {
            bank: BankId::parse(&row.bank_id).map_err(|_| corrupt("bank"))?,
            period: Period::parse(&row.period).ok_or_else(|| corrupt("period"))?,
            lines,
            compensation_total: Money::from_fen(row.compensation_total_fen),
            shortfall_total: Money::from_fen(row.shortfall_total_fen),
            recoveries_total: Money::from_fen(row.recoveries_total_fen),
            contributions_due_total: Money::from_fen(row.contributions_due_total_fen),
            net: Money::from_fen(row.net_fen),
            direction: Direction::parse(&row.direction).ok_or_else(|| corrupt("direction"))?,
        },
        confirmed: row.status == "CONFIRMED",
        content_sha256: row.content_sha256,
        built_at: row.built_at,
        confirmed_at: row.confirmed_at,
    })
}

/// The statement of a bank and month, locked, if it exists.
pub async fn find_for_update(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    period: Period,
) -> Result<Option<StatementRecord>, StoreError> {
    let row = statement::Entity::find()
        .filter(statement::Column::BankId.eq(bank.as_str()))
        .filter(statement::Column::Period.eq(period.to_string()))
        .lock_exclusive()
        .one(connection)
        .await?;
    match row {
        Some(row) => load(connection, row).await.map(Some),
        None => Ok(None),
    }
}

/// One statement.
pub async fn get(connection: &impl ConnectionTrait, statement_id: i64) -> Result<Option<StatementRecord>, StoreError> {
    match statement::Entity::find_by_id(statement_id).one(connection).await? {
        Some(row) => load(connection, row).await.map(Some),
        None => Ok(None),
    }
}

/// One statement, locked.
pub async fn get_for_update(
    connection: &impl ConnectionTrait,
    statement_id: i64,
) -> Result<Option<StatementRecord>, StoreError> {
    match statement::Entity::find_by_id(statement_id).lock_exclusive().one(connection).await? {
        Some(row) => load(connection, row).await.map(Some),
        None => Ok(None),
    }
}

/// Statements, newest period first.
pub async fn list(
    connection: &impl ConnectionTrait,
    bank: Option<&BankId>,
    period: Option<Period>,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<StatementRecord>, StoreError> {
    let mut query = statement::Entity::find()
        .order_by_desc(statement::Column::Period)
        .order_by_desc(statement::Column::StatementId)
        .limit(limit);
    if let Some(bank) = bank {
        query = query.filter(statement::Column::BankId.eq(bank.as_str()));
    }
    if let Some(period) = period {
        query = query.filter(statement::Column::Period.eq(period.to_string()));
    }
    if let Some(before) = before_id {
        query = query.filter(statement::Column::StatementId.lt(before));
    }
    let mut result = Vec::new();
    for row in query.all(connection).await? {
        result.push(load(connection, row).await?);
    }
    Ok(result)
}

/// Writes a draft: a new row, or the existing draft's row with its lines replaced.
pub async fn save_draft(
    connection: &impl ConnectionTrait,
    existing: Option<i64>,
    content: &Statement,
    content_sha256: &str,
) -> Result<StatementRecord, StoreError> {
    let now = Utc::now();
    let mut active = statement::ActiveModel {
        statement_id: Default::default(),
        bank_id: Set(content.bank.to_string()),
        period: Set(content.period.to_string()),
        status: Set("DRAFT".to_owned()),
        compensation_total_fen: Set(content.compensation_total.fen()),
        recoveries_total_fen: Set(content.recoveries_total.fen()),
        contributions_due_total_fen: Set(content.contributions_due_total.fen()),
        shortfall_total_fen: Set(content.shortfall_total.fen()),
        net_fen: Set(content.net.fen()),
        direction: Set(content.direction.as_str().to_owned()),
        content_sha256: Set(content_sha256.to_owned()),
        built_at: Set(now),
        confirmed_at: Set(None),
    };
    let row = match existing {
        Some(id) => {
            statement_line::Entity::delete_many()
                .filter(statement_line::Column::StatementId.eq(id))
                .exec(connection)
                .await?;
            active.statement_id = Set(id);
            active.update(connection).await?
        }
        None => active
            .insert(connection)
            .await
            .map_err(|e| StoreError::from_insert(e, format!("statement of {} for {}", content.bank, content.period)))?,
    };
    let lines: Vec<statement_line::ActiveModel> = content
        .lines
        .iter()
        .enumerate()
        .map(|(index, line)| statement_line::ActiveModel {
            statement_id: Set(row.statement_id),
            line_number: Set(i32::try_from(index + 1).unwrap_or(i32::MAX)),
            kind: Set(line.kind.as_str().to_owned()),
            source: Set(line.source.clone()),
            description: Set(line.description.clone()),
            amount_fen: Set(line.amount.fen()),
        })
        .collect();
    if !lines.is_empty() {
        statement_line::Entity::insert_many(lines).exec(connection).await?;
    }
    load(connection, row).await
}

/// Marks a statement confirmed.
pub async fn confirm(connection: &impl ConnectionTrait, statement_id: i64) -> Result<StatementRecord, StoreError> {
    let row = statement::ActiveModel {
        statement_id: Set(statement_id),
        status: Set("CONFIRMED".to_owned()),
        confirmed_at: Set(Some(Utc::now())),
        ..Default::default()
    }
    .update(connection)
    .await?;
    load(connection, row).await
}
