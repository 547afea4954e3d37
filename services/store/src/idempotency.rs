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

/// Remembers a call. A concurrent duplicate that committed first makes this fail with
/// `AlreadyExists`; the caller then rolls back and answers from the winner's record.
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
    row.insert(connection).await.map_err(|e| StoreError::from_insert(e, format!("request {}", key.request_id)))?;
    Ok(())
}

/// Stores the response of a claimed key (see `remember` with an empty response).
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
