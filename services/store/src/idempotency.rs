//! Remembered responses of successful mutating calls, keyed by (principal, method,
//! request id) and guarded by a hash of the request.

use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

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

/// Remembers the response of a call in one `INSERT`; `AlreadyExists` when the key is
/// remembered already (on PostgreSQL, after waiting for a concurrent call that holds it to
/// commit or roll back).
pub async fn remember(
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
    idempotency_record::Entity::insert(row)
        .exec_without_returning(connection)
        .await
        .map_err(|e| StoreError::from_insert(e, "a call with this request_id"))?;
    Ok(())
}
