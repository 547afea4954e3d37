//! Remembered responses of successful mutating calls, keyed by (principal, method,
//! request id) and guarded by a hash of the request.

use std::collections::{BTreeSet, HashMap};

use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, Iterable, Set, StatementBuilder};

use crate::entities::idempotency_record;
use crate::{StoreError, union_all};

/// The key of one remembered call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey<'a> {
    /// Whose request ids these are: `bank:{bank_id}` or `key:{key_id}` (`Principal::idempotency_scope`).
    pub principal: &'a str,
    /// Full gRPC method name.
    pub method: &'a str,
    /// The client's request id.
    pub request_id: &'a str,
}

/// What was remembered for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// SHA-256 of the original request, hex.
    pub request_sha256: String,
    /// The encoded original response.
    pub response: Vec<u8>,
}

/// The remembered call for `key`, if any.
pub async fn find(
    connection: &impl ConnectionTrait,
    key: &IdempotencyKey<'_>,
) -> Result<Option<Remembered>, StoreError> {
    let row = idempotency_record::Entity::find_by_id((
        key.principal.to_owned(),
        key.method.to_owned(),
        key.request_id.to_owned(),
    ))
    .one(connection)
    .await?;
    Ok(row.map(|row| Remembered { request_sha256: row.request_sha256, response: row.response }))
}

/// Remembers the response of a call in one `INSERT`; `AlreadyExists` when the key is
/// remembered already (on PostgreSQL, after waiting for a concurrent call that holds it to
/// commit or roll back).
pub async fn remember(
    connection: &impl ConnectionTrait,
    key: &IdempotencyKey<'_>,
    request_sha256: &str,
    response: Vec<u8>,
) -> Result<(), StoreError> {
    let call = Remember {
        principal: key.principal.to_owned(),
        request_id: key.request_id.to_owned(),
        request_sha256: request_sha256.to_owned(),
        response,
    };
    remember_many(connection, key.method, vec![call]).await
}

/// [`remember`], and the call's audit record with it. On PostgreSQL both rows go in one
/// statement (a data-modifying `WITH`): one round trip less on every mutating call. A key
/// remembered already fails the whole statement, so neither row is written.
pub async fn remember_recorded(
    connection: &impl ConnectionTrait,
    key: &IdempotencyKey<'_>,
    request_sha256: &str,
    response: Vec<u8>,
    record: &domain::trail::Entry,
) -> Result<(), StoreError> {
    if connection.get_database_backend() != sea_orm::DbBackend::Postgres {
        remember(connection, key, request_sha256, response).await?;
        return crate::audit::append(connection, std::slice::from_ref(record)).await;
    }
    let sql = "WITH audited AS (INSERT INTO audit_records \
        (recorded_at, key_id, role, bank_id, method, request_id, outcome, status, reason, resources) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)) \
        INSERT INTO idempotency_records (principal, method, request_id, request_sha256, response, created_at) \
        VALUES ($11, $12, $13, $14, $15, $16)";
    let values: Vec<sea_orm::Value> = vec![
        crate::audit::to_micros(record.recorded_at).into(),
        record.key_id.clone().into(),
        record.role.clone().into(),
        record.bank.clone().into(),
        record.method.clone().into(),
        record.request_id.clone().into(),
        record.outcome.as_str().to_owned().into(),
        record.status.clone().into(),
        record.reason.clone().into(),
        record.resources.join("\n").into(),
        key.principal.to_owned().into(),
        key.method.to_owned().into(),
        key.request_id.to_owned().into(),
        request_sha256.to_owned().into(),
        response.into(),
        crate::clock::instant().into(),
    ];
    connection
        .execute_raw(sea_orm::Statement::from_sql_and_values(sea_orm::DbBackend::Postgres, sql, values))
        .await
        .map_err(|e| StoreError::from_insert(e, "a call with this request_id"))?;
    Ok(())
}

/// One response to remember.
#[derive(Debug, Clone)]
pub struct Remember {
    /// Whose request ids these are: `bank:{bank_id}` or `key:{key_id}` (`Principal::idempotency_scope`).
    pub principal: String,
    /// The client's request id.
    pub request_id: String,
    /// SHA-256 of the request, hex.
    pub request_sha256: String,
    /// The encoded response.
    pub response: Vec<u8>,
}

/// Remembers the responses of successful calls of `method`, in one statement. A key stored
/// meanwhile by another process fails the statement (unique violation), and so the batch.
pub async fn remember_many(
    connection: &impl ConnectionTrait,
    method: &str,
    calls: Vec<Remember>,
) -> Result<(), StoreError> {
    if calls.is_empty() {
        return Ok(());
    }
    let now = crate::clock::instant();
    idempotency_record::Entity::insert_many(calls.into_iter().map(|call| idempotency_record::ActiveModel {
        principal: Set(call.principal),
        method: Set(method.to_owned()),
        request_id: Set(call.request_id),
        request_sha256: Set(call.request_sha256),
        response: Set(call.response),
        created_at: Set(now),
    }))
    .exec_without_returning(connection)
    .await
    .map_err(|e| StoreError::from_insert(e, "a call with this request_id"))?;
    Ok(())
}

/// The responses remembered for `method` under these (key id, request id) pairs.
pub async fn find_many(
    connection: &impl ConnectionTrait,
    method: &str,
    keys: &BTreeSet<(String, String)>,
) -> Result<HashMap<(String, String), Remembered>, StoreError> {
    let probes = keys.iter().map(|(principal, request_id)| {
        Query::select()
            .columns(idempotency_record::Column::iter())
            .from(idempotency_record::Entity)
            .and_where(idempotency_record::Column::Principal.eq(principal.as_str()))
            .and_where(idempotency_record::Column::Method.eq(method))
            .and_where(idempotency_record::Column::RequestId.eq(request_id.as_str()))
            .to_owned()
    });
    let Some(query) = union_all(probes) else { return Ok(HashMap::new()) };
    let statement = StatementBuilder::build(&query, &connection.get_database_backend());
    let rows = idempotency_record::Entity::find().from_raw_sql(statement).all(connection).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            ((row.principal, row.request_id), Remembered { request_sha256: row.request_sha256, response: row.response })
        })
        .collect())
}
