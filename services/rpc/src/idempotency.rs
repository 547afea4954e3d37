//! The one idempotency mechanism of every mutating RPC (AIP-155).
//!
//! The key is (caller's key id, full method name, `request_id`); the request's SHA-256
//! guards it. `begin` opens the write transaction and claims the key inside it with one
//! `INSERT … ON CONFLICT DO NOTHING` of a placeholder row: a concurrent duplicate on
//! PostgreSQL blocks on that primary key until the first commits, then finds the record
//! and replays it. `commit`
//! stores the encoded response in the same transaction as the change, so the change and
//! its memory of it commit together, and survive restarts. Failed calls roll back and
//! leave nothing, so they may be retried with the same `request_id`.

use prost::Message;
use sha2::{Digest, Sha256};
use store::idempotency::{self, IdempotencyKey, Remembered};
use store::sea_orm::DatabaseTransaction;
use store::{Store, StoreError};

use domain::{Principal, RequestId};

use crate::error::ApiError;

/// The outcome of claiming an idempotency key.
#[derive(Debug)]
pub enum Idempotency<Resp> {
    /// The same request succeeded before: here is its response.
    Replay(Resp),
    /// A new request: do the work in the transaction, then `commit`.
    Fresh(IdempotentTxn),
}

/// A write transaction that owns a claimed idempotency key.
#[derive(Debug)]
pub struct IdempotentTxn {
    txn: DatabaseTransaction,
    principal: String,
    method: &'static str,
    request_id: RequestId,
    request_sha256: String,
}

fn key<'a>(principal: &'a str, method: &'a str, request_id: &'a RequestId) -> IdempotencyKey<'a> {
    IdempotencyKey { principal, method, request_id: request_id.as_str() }
}

/// The hash that guards an idempotency key: SHA-256 of the encoded request, hex.
pub fn request_sha256<Req: Message>(request: &Req) -> String {
    hex::encode(Sha256::digest(request.encode_to_vec()))
}

/// The remembered response of a call, or IDEMPOTENCY_KEY_REUSED when the key was used for
/// a different request.
pub fn replay<Resp: Message + Default>(
    remembered: Remembered,
    request_sha256: &str,
    request_id: &RequestId,
) -> Result<Resp, ApiError> {
    if remembered.request_sha256 != request_sha256 {
        return Err(ApiError::AlreadyExists {
            reason: "IDEMPOTENCY_KEY_REUSED".to_owned(),
            message: format!(
                "request_id {:?} was already used for a different request; use a new request_id for a new change",
                request_id.as_str()
            ),
        });
    }
    Resp::decode(remembered.response.as_slice())
        .map_err(|e| ApiError::Internal(format!("remembered response does not decode: {e}")))
}

/// Claims the key of a mutating call and opens its write transaction.
pub async fn begin<Req: Message, Resp: Message + Default>(
    store: &Store,
    principal: &Principal,
    method: &'static str,
    request_id: RequestId,
    request: &Req,
) -> Result<Idempotency<Resp>, ApiError> {
    let request_sha256 = request_sha256(request);
    let txn = store.begin_write().await?;
    let this_key = key(&principal.key_id, method, &request_id);
    if !idempotency::claim(&txn, &this_key, &request_sha256).await? {
        // Remembered already (a retry, or a concurrent duplicate that committed first).
        let remembered = idempotency::find(&txn, &this_key)
            .await?
            .ok_or_else(|| ApiError::Internal("idempotency record vanished".to_owned()))?;
        return replay(remembered, &request_sha256, &request_id).map(Idempotency::Replay);
    }
    Ok(Idempotency::Fresh(IdempotentTxn {
        txn,
        principal: principal.key_id.clone(),
        method,
        request_id,
        request_sha256,
    }))
}

impl IdempotentTxn {
    /// The transaction to do the work in.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Remembers `response` and commits the change with it.
    pub async fn commit<Resp: Message>(self, response: Resp) -> Result<Resp, ApiError> {
        let this_key = key(&self.principal, self.method, &self.request_id);
        idempotency::complete(&self.txn, &this_key, &self.request_sha256, response.encode_to_vec()).await?;
        self.txn.commit().await.map_err(StoreError::from)?;
        Ok(response)
    }
}

/// Runs a mutating call idempotently: replays a remembered response, or runs `work` in a
/// fresh transaction and commits its response. `work` gets the transaction and returns
/// the response.
#[macro_export]
macro_rules! idempotent {
    ($state:expr, $principal:expr, $method:expr, $request_id:expr, $request:expr, |$txn:ident| $work:block) => {{
        match $crate::idempotency::begin(&$state.store, $principal, $method, $request_id, $request).await? {
            $crate::Idempotency::Replay(response) => Ok(response),
            $crate::Idempotency::Fresh(fresh) => {
                let response = {
                    let $txn = fresh.txn();
                    $work
                };
                fresh.commit(response).await
            }
        }
    }};
}
