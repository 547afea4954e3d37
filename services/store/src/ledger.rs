//! The ledger's storage: accounts with running debit/credit totals, immutable journal
//! entries and their postings. Every posting first locks the pool's totals row, so all
//! money movements are serialised and the guards (no negative cash, receivable or payable)
//! are checked against balances no one else can change before commit.

use std::collections::BTreeMap;

use chrono::Datelike;
use chrono::{DateTime, NaiveDate, Utc};
use domain::Money;
use domain::ledger::{Account, Balances, EntryDraft, EntryKind, LedgerError, Posting};
use sea_orm::sea_query::{Alias, Expr, Func, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    StatementBuilder,
};

use crate::StoreError;
use crate::entities::{account, journal_entry, pool_totals, posting};

/// A posted entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRecord {
    /// Id.
    pub entry_id: i64,
    /// Event.
    pub kind: EntryKind,
    /// Date in the books.
    pub effective_date: NaiveDate,
    /// Free text.
    pub memo: String,
    /// Source record.
    pub source: String,
    /// Key id of who recorded it.
    pub recorded_by: String,
    /// When recorded.
    pub recorded_at: DateTime<Utc>,
    /// Postings.
    pub postings: Vec<Posting>,
    /// The entry it reverses.
    pub reverses: Option<i64>,
    /// The entry that reversed it.
    pub reversed_by: Option<i64>,
}

/// Why posting failed.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The entry breaks a ledger rule.
    #[error(transparent)]
    Rule(#[from] LedgerError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for PostError {
    fn from(error: sea_orm::DbErr) -> PostError {
        PostError::Store(StoreError::Database(error))
    }
}

fn parse_account(code: &str) -> Result<Account, StoreError> {
    Account::parse(code).ok_or_else(|| StoreError::Corrupt(format!("unknown account {code:?}")))
}

/// Balances of every account now, from the running totals.
pub async fn balances(connection: &impl ConnectionTrait) -> Result<Balances, StoreError> {
    let mut balances = BTreeMap::new();
    for row in account::Entity::find().all(connection).await? {
        let account = parse_account(&row.code)?;
        let balance = account.balance(Money::from_fen(row.debit_total_fen), Money::from_fen(row.credit_total_fen));
        balances.insert(account, balance);
    }
    Ok(Balances(balances))
}

/// Debit and credit totals per account from the postings effective on or before `as_of`
/// (every posting when `None`): the journal's own answer, independent of running totals.
pub async fn totals_from_journal(
    connection: &impl ConnectionTrait,
    as_of: Option<NaiveDate>,
) -> Result<BTreeMap<Account, (Money, Money)>, StoreError> {
    let sum = |column: &str| Func::cast_as(Func::sum(Expr::col(Alias::new(column))), Alias::new("BIGINT"));
    let mut query = Query::select();
    query
        .from(posting::Entity)
        .column(posting::Column::AccountCode)
        .expr_as(sum("debit_fen"), Alias::new("debits"))
        .expr_as(sum("credit_fen"), Alias::new("credits"))
        .group_by_col(posting::Column::AccountCode);
    if let Some(date) = as_of {
        query.and_where(posting::Column::EffectiveDate.lte(date));
    }
    let statement = StatementBuilder::build(&query, &connection.get_database_backend());
    let mut totals = BTreeMap::new();
    for row in connection.query_all_raw(statement).await? {
        let code: String = row.try_get("", "account_code")?;
        let debits: i64 = row.try_get("", "debits")?;
        let credits: i64 = row.try_get("", "credits")?;
        totals.insert(parse_account(&code)?, (Money::from_fen(debits), Money::from_fen(credits)));
    }
    Ok(totals)
}

/// Balances as of the end of `date`, from the journal.
pub async fn balances_as_of(connection: &impl ConnectionTrait, date: NaiveDate) -> Result<Balances, StoreError> {
    let totals = totals_from_journal(connection, Some(date)).await?;
    Ok(Balances(
        totals
            .into_iter()
            .map(|(account, (debits, credits))| {
                let balance = account.balance(debits, credits);
                (account, balance)
            })
            .collect(),
    ))
}

/// Posts a balanced entry: locks the pool row, checks the guards, updates the running
/// totals and writes the entry and its postings. Nothing is written if any check fails.
pub async fn post(
    connection: &impl ConnectionTrait,
    draft: &EntryDraft,
    recorded_by: &str,
    reverses: Option<i64>,
) -> Result<EntryRecord, PostError> {
    draft.validate()?;
    crate::pool::lock(connection).await?;
    // Dated into a month that has ended: its month-end snapshot (and every later one) no
    // longer holds; they are computed again when the history is next read.
    let today = crate::clock::today();
    let month_start = today.with_day(1).unwrap_or(today);
    if draft.effective_date < month_start {
        crate::history::invalidate_from(connection, draft.effective_date).await?;
    }
    let codes: Vec<String> = draft.postings.iter().map(|p| p.account.code().to_owned()).collect();
    let existing: BTreeMap<String, account::Model> = account::Entity::find()
        .filter(account::Column::Code.is_in(codes))
        .all(connection)
        .await?
        .into_iter()
        .map(|row| (row.code.clone(), row))
        .collect();
    draft.check_guards(|account| {
        existing.get(account.code()).map_or(Money::ZERO, |row| {
            account.balance(Money::from_fen(row.debit_total_fen), Money::from_fen(row.credit_total_fen))
        })
    })?;

    let mut sums: BTreeMap<&Account, (i64, i64)> = BTreeMap::new();
    for posting in &draft.postings {
        let entry = sums.entry(&posting.account).or_default();
        entry.0 += posting.debit.fen();
        entry.1 += posting.credit.fen();
    }
    for (account, (debits, credits)) in sums {
        match existing.get(account.code()) {
            Some(row) => {
                let mut active: account::ActiveModel = row.clone().into();
                let overflow = || StoreError::Corrupt(format!("the totals of account {} overflow", row.code));
                active.debit_total_fen = Set(row.debit_total_fen.checked_add(debits).ok_or_else(overflow)?);
                active.credit_total_fen = Set(row.credit_total_fen.checked_add(credits).ok_or_else(overflow)?);
                active.update(connection).await?;
            }
            None => {
                account::ActiveModel {
                    code: Set(account.code().to_owned()),
                    kind: Set(account.kind().as_str().to_owned()),
                    debit_total_fen: Set(debits),
                    credit_total_fen: Set(credits),
                }
                .insert(connection)
                .await?;
            }
        }
    }

    let (net_change, committed_change) = (draft.net_pool_assets_change(), draft.committed_capital_change());
    if net_change != 0 || committed_change != 0 {
        use sea_orm::sea_query::{Alias, Expr, ExprTrait};
        let add = |column: &str, value: i64| Expr::col(Alias::new(column)).add(value);
        pool_totals::Entity::update_many()
            .col_expr(pool_totals::Column::NetPoolAssetsFen, add("net_pool_assets_fen", net_change))
            .col_expr(pool_totals::Column::CommittedCapitalFen, add("committed_capital_fen", committed_change))
            .filter(pool_totals::Column::Id.eq(1))
            .exec(connection)
            .await?;
    }
    let now = crate::clock::instant();
    let entry = journal_entry::ActiveModel {
        entry_id: Default::default(),
        kind: Set(draft.kind.as_str().to_owned()),
        effective_date: Set(draft.effective_date),
        memo: Set(draft.memo.clone()),
        reverses_entry_id: Set(reverses),
        source: Set(draft.source.clone()),
        recorded_by: Set(recorded_by.to_owned()),
        recorded_at: Set(now),
    }
    .insert(connection)
    .await
    .map_err(|e| StoreError::from_insert(e, "a reversal of that entry"))?;
    let rows: Vec<posting::ActiveModel> = draft
        .postings
        .iter()
        .map(|p| posting::ActiveModel {
            posting_id: Default::default(),
            entry_id: Set(entry.entry_id),
            account_code: Set(p.account.code().to_owned()),
            debit_fen: Set(p.debit.fen()),
            credit_fen: Set(p.credit.fen()),
            effective_date: Set(draft.effective_date),
        })
        .collect();
    posting::Entity::insert_many(rows).exec(connection).await?;
    Ok(EntryRecord {
        entry_id: entry.entry_id,
        kind: draft.kind,
        effective_date: draft.effective_date,
        memo: draft.memo.clone(),
        source: draft.source.clone(),
        recorded_by: recorded_by.to_owned(),
        recorded_at: now,
        postings: draft.postings.clone(),
        reverses,
        reversed_by: None,
    })
}

async fn records(
    connection: &impl ConnectionTrait,
    entries: Vec<journal_entry::Model>,
) -> Result<Vec<EntryRecord>, StoreError> {
    let ids: Vec<i64> = entries.iter().map(|e| e.entry_id).collect();
    let mut postings_by_entry: BTreeMap<i64, Vec<Posting>> = BTreeMap::new();
    for row in posting::Entity::find()
        .filter(posting::Column::EntryId.is_in(ids.clone()))
        .order_by_asc(posting::Column::PostingId)
        .all(connection)
        .await?
    {
        postings_by_entry.entry(row.entry_id).or_default().push(Posting {
            account: parse_account(&row.account_code)?,
            debit: Money::from_fen(row.debit_fen),
            credit: Money::from_fen(row.credit_fen),
        });
    }
    let reversals: BTreeMap<i64, i64> = journal_entry::Entity::find()
        .filter(journal_entry::Column::ReversesEntryId.is_in(ids))
        .all(connection)
        .await?
        .into_iter()
        .filter_map(|row| row.reverses_entry_id.map(|original| (original, row.entry_id)))
        .collect();
    entries
        .into_iter()
        .map(|row| {
            Ok(EntryRecord {
                entry_id: row.entry_id,
                kind: EntryKind::parse(&row.kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("entry kind {:?}", row.kind)))?,
                effective_date: row.effective_date,
                memo: row.memo,
                source: row.source,
                recorded_by: row.recorded_by,
                recorded_at: row.recorded_at,
                postings: postings_by_entry.remove(&row.entry_id).unwrap_or_default(),
                reverses: row.reverses_entry_id,
                reversed_by: reversals.get(&row.entry_id).copied(),
            })
        })
        .collect()
}

/// One entry.
pub async fn get_entry(connection: &impl ConnectionTrait, entry_id: i64) -> Result<Option<EntryRecord>, StoreError> {
    let Some(row) = journal_entry::Entity::find_by_id(entry_id).one(connection).await? else {
        return Ok(None);
    };
    Ok(records(connection, vec![row]).await?.pop())
}

/// Filters of an entry listing.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    /// Entries touching this account.
    pub account: Option<String>,
    /// Effective on or after.
    pub from: Option<NaiveDate>,
    /// Effective on or before.
    pub to: Option<NaiveDate>,
    /// Of this kind.
    pub kind: Option<EntryKind>,
    /// With ids below this (paging, newest first).
    pub before_id: Option<i64>,
}

/// Entries, newest first.
pub async fn list_entries(
    connection: &impl ConnectionTrait,
    filter: &EntryFilter,
    limit: u64,
) -> Result<Vec<EntryRecord>, StoreError> {
    let mut query = journal_entry::Entity::find().order_by_desc(journal_entry::Column::EntryId).limit(limit);
    if let Some(account) = &filter.account {
        let mut touching = Query::select();
        touching
            .column(posting::Column::EntryId)
            .from(posting::Entity)
            .and_where(posting::Column::AccountCode.eq(account.as_str()));
        query = query.filter(journal_entry::Column::EntryId.in_subquery(touching));
    }
    if let Some(from) = filter.from {
        query = query.filter(journal_entry::Column::EffectiveDate.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(journal_entry::Column::EffectiveDate.lte(to));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(journal_entry::Column::Kind.eq(kind.as_str()));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(journal_entry::Column::EntryId.lt(before));
    }
    let rows = query.all(connection).await?;
    records(connection, rows).await
}

/// Every entry with its postings, oldest first (for verification).
pub async fn all_entries(connection: &impl ConnectionTrait) -> Result<Vec<EntryRecord>, StoreError> {
    let rows = journal_entry::Entity::find().order_by_asc(journal_entry::Column::EntryId).all(connection).await?;
    records(connection, rows).await
}

/// Stored running totals per account.
pub async fn stored_totals(connection: &impl ConnectionTrait) -> Result<BTreeMap<Account, (Money, Money)>, StoreError> {
    let mut totals = BTreeMap::new();
    for row in account::Entity::find().all(connection).await? {
        totals.insert(
            parse_account(&row.code)?,
            (Money::from_fen(row.debit_total_fen), Money::from_fen(row.credit_total_fen)),
        );
    }
    Ok(totals)
}

/// Ids of the entries a record caused (e.g. `statements/3`), oldest first.
pub async fn entry_ids_by_source(connection: &impl ConnectionTrait, source: &str) -> Result<Vec<i64>, StoreError> {
    Ok(journal_entry::Entity::find()
        .select_only()
        .column(journal_entry::Column::EntryId)
        .filter(journal_entry::Column::Source.eq(source))
        .order_by_asc(journal_entry::Column::EntryId)
        .into_tuple::<i64>()
        .all(connection)
        .await?)
}
