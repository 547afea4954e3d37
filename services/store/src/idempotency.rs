//! Remembered responses of successful mutating calls, keyed by (principal, method,
//! request id) and guarded by a hash of the request.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::StoreError;
use crate::entities::idempotency_record;

/// The key of one remembered call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey<'a> {
    /// Key id of the caller.
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

/// Stores the response of a key claimed with `claim`.
pub async fn complete(
    connection: &impl ConnectionTrait,
    key: &IdempotencyKey<'_>,
    request_sha256: &str,
    response: Vec<u8>,
) -> Result<(), StoreError> {
    let row = idempotency_record::ActiveModel {
        principal: Set(key.principal.to_owned()),
        method: Set(key.method.to_owned()),
        request_id: Set(key.request_id.to_owned()),
        request_sha256: Set(request_sha256.to_owned()),
        response: Set(response),
        created_at: Set(Utc::now()),
    };
    row.update(connection).await?;
    Ok(())
}

/// Claims a key by inserting its placeholder record unless one exists: `true` when this
/// call claimed it, `false` when a record was already there (committed by an earlier or a
/// concurrent call, which PostgreSQL waits for before answering). One statement either way.
pub async fn claim(
    connection: &impl ConnectionTrait,
    key: &IdempotencyKey<'_>,
    request_sha256: &str,
) -> Result<bool, StoreError> {
    use sea_orm::sea_query::OnConflict;
    let row = idempotency_record::ActiveModel {
        principal: Set(key.principal.to_owned()),
        method: Set(key.method.to_owned()),
        request_id: Set(key.request_id.to_owned()),
        request_sha256: Set(request_sha256.to_owned()),
        response: Set(Vec::new()),
        created_at: Set(Utc::now()),
    };
    let inserted = idempotency_record::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                idempotency_record::Column::Principal,
                idempotency_record::Column::Method,
                idempotency_record::Column::RequestId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(connection)
        .await?;
    Ok(inserted == 1)
}
