//! The audit trail's records and its chain (see `domain::trail`).
//!
//! A call's record is one `INSERT` without a link, in the call's own transaction when the
//! call changed something: writers never touch a shared row, so the trail is no hot spot.
//! [`seal`] then links unsealed records into the chain in record order, one sealer at a time
//! (it locks the head row; only sealers touch it) — every server process runs one every
//! second, and [`verify`] seals what is pending before it walks.

use chrono::{DateTime, Utc};
use domain::trail::{self, Break, Entry, Outcome, Sealed, Walk};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, Statement,
};

use crate::entities::{audit_chain, audit_record};
use crate::{Store, StoreError};

/// Records sealed per transaction.
const SEAL_BATCH: u64 = 500;
/// Records read per page when verifying.
const VERIFY_PAGE: u64 = 2_000;

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Its id.
    pub id: i64,
    /// What it says.
    pub entry: Entry,
    /// Its place in the chain, once sealed: (sequence, previous link, link).
    pub seal: Option<(i64, String, String)>,
}

/// `recorded_at` as both databases keep it: whole microseconds.
pub fn to_micros(instant: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(instant.timestamp_micros()).unwrap_or(instant)
}

fn entry_of(row: &audit_record::Model) -> Result<Entry, StoreError> {
    Ok(Entry {
        recorded_at: to_micros(row.recorded_at),
        key_id: row.key_id.clone(),
        role: row.role.clone(),
        bank: row.bank_id.clone(),
        method: row.method.clone(),
        request_id: row.request_id.clone(),
        outcome: Outcome::parse(&row.outcome)
            .ok_or_else(|| StoreError::Corrupt(format!("audit outcome {:?}", row.outcome)))?,
        status: row.status.clone(),
        reason: row.reason.clone(),
        resources: row.resources.lines().map(str::to_owned).filter(|r| !r.is_empty()).collect(),
    })
}

fn record_of(row: audit_record::Model) -> Result<AuditRecord, StoreError> {
    let entry = entry_of(&row)?;
    let seal = match (row.sequence, row.previous_hash, row.hash) {
        (Some(sequence), Some(previous), Some(hash)) => Some((sequence, previous, hash)),
        _ => None,
    };
    Ok(AuditRecord { id: row.record_id, entry, seal })
}

fn active(entry: &Entry) -> audit_record::ActiveModel {
    audit_record::ActiveModel {
        recorded_at: Set(to_micros(entry.recorded_at)),
        key_id: Set(entry.key_id.clone()),
        role: Set(entry.role.clone()),
        bank_id: Set(entry.bank.clone()),
        method: Set(entry.method.clone()),
        request_id: Set(entry.request_id.clone()),
        outcome: Set(entry.outcome.as_str().to_owned()),
        status: Set(entry.status.clone()),
        reason: Set(entry.reason.clone()),
        resources: Set(entry.resources.join("\n")),
        ..Default::default()
    }
}

/// Appends records (unsealed), in the caller's transaction or on their own.
pub async fn append(connection: &impl ConnectionTrait, entries: &[Entry]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    audit_record::Entity::insert_many(entries.iter().map(active)).exec_without_returning(connection).await?;
    Ok(())
}

/// Seals pending records into the chain, oldest first, until none is left; returns how many.
pub async fn seal(store: &Store) -> Result<u64, StoreError> {
    let mut sealed = 0;
    loop {
        let txn = store.begin_write().await?;
        let head = audit_chain::Entity::find_by_id(1)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the audit chain's head row is missing".to_owned()))?;
        let pending = audit_record::Entity::find()
            .filter(audit_record::Column::Sequence.is_null())
            .order_by_asc(audit_record::Column::RecordId)
            .limit(SEAL_BATCH)
            .all(&txn)
            .await?;
        if pending.is_empty() {
            txn.rollback().await?;
            return Ok(sealed);
        }
        let (mut sequence, mut previous) = (head.sequence, head.hash.clone());
        let mut links = Vec::with_capacity(pending.len());
        for row in &pending {
            sequence += 1;
            let hash = trail::link(&previous, sequence, &entry_of(row)?.content());
            let previous_hash = std::mem::replace(&mut previous, hash.clone());
            links.push(Seal { record_id: row.record_id, sequence, previous_hash, hash });
        }
        txn.execute_raw(Statement::from_string(txn.get_database_backend(), seal_statement(&links))).await?;
        audit_chain::ActiveModel { id: Set(1), sequence: Set(sequence), hash: Set(previous) }.update(&txn).await?;
        txn.commit().await?;
        sealed += pending.len() as u64;
        if (pending.len() as u64) < SEAL_BATCH {
            return Ok(sealed);
        }
    }
}

/// Where one record goes in the chain.
struct Seal {
    record_id: i64,
    sequence: i64,
    previous_hash: String,
    hash: String,
}

/// One `UPDATE` that seals a batch. Only integers and hex digits go into the text, so it is
/// built as text.
fn seal_statement(links: &[Seal]) -> String {
    let case = |value: &dyn Fn(&Seal) -> String| {
        let arms: String = links.iter().map(|l| format!(" WHEN {} THEN {}", l.record_id, value(l))).collect();
        format!("CASE record_id{arms} END")
    };
    let ids: Vec<String> = links.iter().map(|l| l.record_id.to_string()).collect();
    format!(
        "UPDATE audit_records SET sequence = {}, previous_hash = {}, hash = {} WHERE record_id IN ({})",
        case(&|l| l.sequence.to_string()),
        case(&|l| format!("'{}'", hex_only(&l.previous_hash))),
        case(&|l| format!("'{}'", hex_only(&l.hash))),
        ids.join(", ")
    )
}

/// A link as it goes into SQL: hex digits only (a link is SHA-256 hex; anything else is
/// dropped rather than quoted).
fn hex_only(link: &str) -> String {
    link.chars().filter(char::is_ascii_hexdigit).collect()
}

/// The verdict of a walk of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Records checked.
    pub checked: i64,
    /// The head: (sequence, link).
    pub head: (i64, String),
    /// Records not yet sealed (an offline walk does not seal).
    pub unsealed: u64,
    /// The first broken link, if any.
    pub broken: Option<Break>,
}

/// Walks the whole chain from its first record to its head. Reads only; seal first to
/// include the records of the last second.
pub async fn verify(connection: &impl ConnectionTrait) -> Result<Verdict, StoreError> {
    let head = audit_chain::Entity::find_by_id(1)
        .one(connection)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the audit chain's head row is missing".to_owned()))?;
    let unsealed =
        audit_record::Entity::find().filter(audit_record::Column::Sequence.is_null()).count(connection).await?;
    let mut walk = Walk::default();
    let mut after = 0i64;
    let broken = 'walk: loop {
        let page = audit_record::Entity::find()
            .filter(audit_record::Column::Sequence.gt(after))
            .order_by_asc(audit_record::Column::Sequence)
            .limit(VERIFY_PAGE)
            .all(connection)
            .await?;
        let Some(last) = page.last().and_then(|row| row.sequence) else {
            break walk.finish(head.sequence, &head.hash).err();
        };
        for row in &page {
            let record = Sealed {
                id: row.record_id,
                sequence: row.sequence.unwrap_or_default(),
                previous_hash: row.previous_hash.clone().unwrap_or_default(),
                hash: row.hash.clone().unwrap_or_default(),
                content: entry_of(row)?.content(),
            };
            if let Err(broken) = walk.check(&record) {
                break 'walk Some(broken);
            }
        }
        after = last;
    };
    Ok(Verdict { checked: walk.checked(), head: (head.sequence, head.hash), unsealed, broken })
}

/// Filters of a listing.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Calls by keys of this bank.
    pub bank: Option<String>,
    /// This method: full, or its last part.
    pub method: Option<String>,
    /// This key.
    pub key_id: Option<String>,
    /// This outcome.
    pub outcome: Option<Outcome>,
    /// Calls that named this resource.
    pub resource: Option<String>,
}

/// Records newest first, with ids below `before`, at most `limit`.
pub async fn list(
    connection: &impl ConnectionTrait,
    filter: &Filter,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut query = audit_record::Entity::find().order_by_desc(audit_record::Column::RecordId).limit(limit);
    if let Some(before) = before {
        query = query.filter(audit_record::Column::RecordId.lt(before));
    }
    if let Some(bank) = &filter.bank {
        query = query.filter(audit_record::Column::BankId.eq(bank.as_str()));
    }
    if let Some(method) = &filter.method {
        query = if method.starts_with('/') {
            query.filter(audit_record::Column::Method.eq(method.as_str()))
        } else {
            query.filter(audit_record::Column::Method.ends_with(format!("/{method}")))
        };
    }
    if let Some(key_id) = &filter.key_id {
        query = query.filter(audit_record::Column::KeyId.eq(key_id.as_str()));
    }
    if let Some(outcome) = filter.outcome {
        query = query.filter(audit_record::Column::Outcome.eq(outcome.as_str()));
    }
    if let Some(resource) = &filter.resource {
        // Resources are stored one per line: match a whole line.
        query = query.filter(
            sea_orm::Condition::any()
                .add(audit_record::Column::Resources.eq(resource.as_str()))
                .add(audit_record::Column::Resources.starts_with(format!("{resource}\n")))
                .add(audit_record::Column::Resources.ends_with(format!("\n{resource}")))
                .add(audit_record::Column::Resources.contains(format!("\n{resource}\n"))),
        );
    }
    query.all(connection).await?.into_iter().map(record_of).collect()
}
