//! Settlement statements and their lines.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use domain::statement::{Direction, Line, LineKind, Memo, Period, Statement, Status};
use domain::{BankId, Money};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::StoreError;
use crate::entities::{settlement_allocation, statement, statement_line, statement_payment};

/// A stored statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRecord {
    /// Id.
    pub statement_id: i64,
    /// Content.
    pub statement: Statement,
    /// Where it stands.
    pub status: Status,
    /// Agreed at confirmation: the net left to transfer after netting.
    pub amount_due: Money,
    /// Σ payments recorded against it.
    pub amount_paid: Money,
    /// The later statement carrying its unpaid remainder.
    pub carried_to: Option<i64>,
    /// SHA-256 of the canonical CSV.
    pub content_sha256: String,
    /// When (re)built.
    pub built_at: DateTime<Utc>,
    /// When confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// The stored kind of a memo line (numbered after the statement's lines).
const MEMO_KIND: &str = "CO_SHARER_MEMO";

async fn load(connection: &impl ConnectionTrait, row: statement::Model) -> Result<StatementRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("statement {}: {what}", row.statement_id));
    let rows = statement_line::Entity::find()
        .filter(statement_line::Column::StatementId.eq(row.statement_id))
        .order_by_asc(statement_line::Column::LineNumber)
        .all(connection)
        .await?;
    let (memo_rows, line_rows): (Vec<_>, Vec<_>) = rows.into_iter().partition(|line| line.kind == MEMO_KIND);
    let lines = line_rows
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
    let memos = memo_rows
        .into_iter()
        .map(|line| {
            Ok(Memo {
                party: line.party_id.ok_or_else(|| corrupt("memo line without a party"))?,
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
            clawbacks_total: Money::from_fen(row.clawbacks_total_fen),
            memos,
            net: Money::from_fen(row.net_fen),
            direction: Direction::parse(&row.direction).ok_or_else(|| corrupt("direction"))?,
        },
        status: Status::parse(&row.status).ok_or_else(|| corrupt("status"))?,
        amount_due: Money::from_fen(row.amount_due_fen),
        amount_paid: Money::from_fen(row.amount_paid_fen),
        carried_to: row.carried_to_statement_id,
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
    let now = crate::clock::instant();
    let mut active = statement::ActiveModel {
        statement_id: Default::default(),
        bank_id: Set(content.bank.to_string()),
        period: Set(content.period.to_string()),
        status: Set("DRAFT".to_owned()),
        compensation_total_fen: Set(content.compensation_total.fen()),
        recoveries_total_fen: Set(content.recoveries_total.fen()),
        contributions_due_total_fen: Set(content.contributions_due_total.fen()),
        shortfall_total_fen: Set(content.shortfall_total.fen()),
        clawbacks_total_fen: Set(content.clawbacks_total.fen()),
        net_fen: Set(content.net.fen()),
        direction: Set(content.direction.as_str().to_owned()),
        content_sha256: Set(content_sha256.to_owned()),
        built_at: Set(now),
        confirmed_at: Set(None),
        amount_due_fen: Set(0),
        amount_paid_fen: Set(0),
        carried_to_statement_id: Set(None),
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
            party_id: Set(None),
        })
        .chain(content.memos.iter().enumerate().map(|(index, memo)| statement_line::ActiveModel {
            statement_id: Set(row.statement_id),
            line_number: Set(i32::try_from(content.lines.len() + index + 1).unwrap_or(i32::MAX)),
            kind: Set(MEMO_KIND.to_owned()),
            source: Set(memo.source.clone()),
            description: Set(memo.description.clone()),
            amount_fen: Set(memo.amount.fen()),
            party_id: Set(Some(memo.party.clone())),
        }))
        .collect();
    if !lines.is_empty() {
        statement_line::Entity::insert_many(lines).exec(connection).await?;
    }
    load(connection, row).await
}

/// Marks a statement confirmed with the amount left to transfer after netting.
pub async fn confirm(
    connection: &impl ConnectionTrait,
    statement_id: i64,
    amount_due: Money,
) -> Result<StatementRecord, StoreError> {
    let status = Status::after_payment(amount_due, Money::ZERO);
    let row = statement::ActiveModel {
        statement_id: Set(statement_id),
        status: Set(status.as_str().to_owned()),
        confirmed_at: Set(Some(crate::clock::instant())),
        amount_due_fen: Set(amount_due.fen()),
        ..Default::default()
    }
    .update(connection)
    .await?;
    load(connection, row).await
}

/// Adds a payment to a statement's paid amount and sets its status (the caller holds its lock).
pub async fn add_paid(
    connection: &impl ConnectionTrait,
    record: &StatementRecord,
    amount: Money,
) -> Result<StatementRecord, StoreError> {
    let paid = record.amount_paid.checked_add(amount).ok_or_else(|| StoreError::Corrupt("paid overflows".into()))?;
    let row = statement::ActiveModel {
        statement_id: Set(record.statement_id),
        status: Set(Status::after_payment(record.amount_due, paid).as_str().to_owned()),
        amount_paid_fen: Set(paid.fen()),
        ..Default::default()
    }
    .update(connection)
    .await?;
    load(connection, row).await
}

/// Marks every earlier statement of `bank` that still had something outstanding as carried
/// forward to `statement_id` (confirmed now, it carries what they left unpaid).
pub async fn carry_forward(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    period: Period,
    statement_id: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = statement::Entity::find()
        .filter(statement::Column::BankId.eq(bank.as_str()))
        .filter(statement::Column::Period.lt(period.to_string()))
        .filter(statement::Column::Status.is_in([Status::Confirmed.as_str(), Status::PartiallyPaid.as_str()]))
        .all(connection)
        .await?;
    let mut carried = Vec::new();
    for row in rows {
        carried.push(row.statement_id);
        statement::ActiveModel {
            statement_id: Set(row.statement_id),
            status: Set(Status::CarriedForward.as_str().to_owned()),
            carried_to_statement_id: Set(Some(statement_id)),
            ..Default::default()
        }
        .update(connection)
        .await?;
    }
    Ok(carried)
}

/// The latest confirmed statement of `bank` for a month after `period`, if any.
pub async fn later_confirmed(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    period: Period,
) -> Result<Option<(i64, Period)>, StoreError> {
    let row = statement::Entity::find()
        .filter(statement::Column::BankId.eq(bank.as_str()))
        .filter(statement::Column::Period.gt(period.to_string()))
        .filter(statement::Column::Status.ne(Status::Draft.as_str()))
        .order_by_desc(statement::Column::Period)
        .one(connection)
        .await?;
    Ok(row.and_then(|row| Period::parse(&row.period).map(|p| (row.statement_id, p))))
}

/// The sources (`claims/3`, …) listed on confirmed statements of `bank` for months before `period`.
pub async fn confirmed_sources_before(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    period: Period,
) -> Result<BTreeSet<String>, StoreError> {
    let ids: Vec<i64> = statement::Entity::find()
        .select_only()
        .column(statement::Column::StatementId)
        .filter(statement::Column::BankId.eq(bank.as_str()))
        .filter(statement::Column::Period.lt(period.to_string()))
        .filter(statement::Column::Status.ne(Status::Draft.as_str()))
        .into_tuple()
        .all(connection)
        .await?;
    if ids.is_empty() {
        return Ok(BTreeSet::new());
    }
    let sources: Vec<String> = statement_line::Entity::find()
        .select_only()
        .column(statement_line::Column::Source)
        .filter(statement_line::Column::StatementId.is_in(ids))
        .into_tuple()
        .all(connection)
        .await?;
    Ok(sources.into_iter().collect())
}

/// Records that `amount` of the item `source` was settled by a statement's netting
/// (`payment_id` None) or by one of its payments, effective on `date`.
pub async fn allocate(
    connection: &impl ConnectionTrait,
    statement_id: i64,
    payment_id: Option<i64>,
    bank: &BankId,
    source: &str,
    amount: Money,
    date: NaiveDate,
) -> Result<(), StoreError> {
    settlement_allocation::ActiveModel {
        allocation_id: Default::default(),
        statement_id: Set(statement_id),
        payment_id: Set(payment_id),
        bank_id: Set(bank.to_string()),
        source: Set(source.to_owned()),
        amount_fen: Set(amount.fen()),
        effective_date: Set(date),
    }
    .insert(connection)
    .await?;
    Ok(())
}

/// Σ settled per item of `bank`: on or before `until` when given, else ever; only by
/// statement `statement_id` when given.
pub async fn settled(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    until: Option<NaiveDate>,
    statement_id: Option<i64>,
) -> Result<HashMap<String, Money>, StoreError> {
    let mut query =
        settlement_allocation::Entity::find().filter(settlement_allocation::Column::BankId.eq(bank.as_str()));
    if let Some(until) = until {
        query = query.filter(settlement_allocation::Column::EffectiveDate.lte(until));
    }
    if let Some(statement_id) = statement_id {
        query = query.filter(settlement_allocation::Column::StatementId.eq(statement_id));
    }
    let mut result: HashMap<String, Money> = HashMap::new();
    for row in query.all(connection).await? {
        let entry = result.entry(row.source).or_default();
        *entry = entry
            .checked_add(Money::from_fen(row.amount_fen))
            .ok_or_else(|| StoreError::Corrupt("settled amount overflows".into()))?;
    }
    Ok(result)
}

/// A recorded payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    /// Id.
    pub payment_id: i64,
    /// Statement.
    pub statement_id: i64,
    /// Who paid whom.
    pub direction: Direction,
    /// Amount.
    pub amount: Money,
    /// Value date.
    pub value_date: NaiveDate,
    /// The transfer's reference.
    pub reference: String,
    /// Key id of who recorded it.
    pub recorded_by: String,
    /// When recorded.
    pub created_at: DateTime<Utc>,
}

fn payment(row: statement_payment::Model) -> Result<PaymentRecord, StoreError> {
    Ok(PaymentRecord {
        payment_id: row.payment_id,
        statement_id: row.statement_id,
        direction: Direction::parse(&row.direction)
            .ok_or_else(|| StoreError::Corrupt(format!("payment {}: direction", row.payment_id)))?,
        amount: Money::from_fen(row.amount_fen),
        value_date: row.value_date,
        reference: row.reference,
        recorded_by: row.recorded_by,
        created_at: row.created_at,
    })
}

/// Records a payment.
pub async fn insert_payment(
    connection: &impl ConnectionTrait,
    record: &StatementRecord,
    amount: Money,
    value_date: NaiveDate,
    reference: &str,
    recorded_by: &str,
) -> Result<PaymentRecord, StoreError> {
    let row = statement_payment::ActiveModel {
        payment_id: Default::default(),
        statement_id: Set(record.statement_id),
        bank_id: Set(record.statement.bank.to_string()),
        direction: Set(record.statement.direction.as_str().to_owned()),
        amount_fen: Set(amount.fen()),
        value_date: Set(value_date),
        reference: Set(reference.to_owned()),
        recorded_by: Set(recorded_by.to_owned()),
        created_at: Set(crate::clock::instant()),
    }
    .insert(connection)
    .await?;
    payment(row)
}

/// The payments of a statement, oldest first.
pub async fn payments(connection: &impl ConnectionTrait, statement_id: i64) -> Result<Vec<PaymentRecord>, StoreError> {
    statement_payment::Entity::find()
        .filter(statement_payment::Column::StatementId.eq(statement_id))
        .order_by_asc(statement_payment::Column::PaymentId)
        .all(connection)
        .await?
        .into_iter()
        .map(payment)
        .collect()
}

/// A confirmed statement of `bank` still owing the bank something on the item `source`
/// (a payment not yet recorded): its id and what stays open of the item on it.
pub async fn open_payable(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    source: &str,
) -> Result<Option<(i64, Money)>, StoreError> {
    let open_statements: Vec<i64> = statement::Entity::find()
        .select_only()
        .column(statement::Column::StatementId)
        .filter(statement::Column::BankId.eq(bank.as_str()))
        .filter(statement::Column::Status.is_in([Status::Confirmed.as_str(), Status::PartiallyPaid.as_str()]))
        .filter(statement::Column::Direction.eq(Direction::PoolPaysBank.as_str()))
        .into_tuple()
        .all(connection)
        .await?;
    for statement_id in open_statements {
        let listed: Option<i64> = statement_line::Entity::find()
            .select_only()
            .column(statement_line::Column::AmountFen)
            .filter(statement_line::Column::StatementId.eq(statement_id))
            .filter(statement_line::Column::Source.eq(source))
            .filter(statement_line::Column::Kind.ne(MEMO_KIND))
            .into_tuple()
            .one(connection)
            .await?;
        let Some(listed) = listed else { continue };
        let settled = settled(connection, bank, None, Some(statement_id)).await?;
        let open = Money::from_fen(listed).saturating_sub(settled.get(source).copied().unwrap_or_default());
        if open.fen() > 0 {
            return Ok(Some((statement_id, open)));
        }
    }
    Ok(None)
}
