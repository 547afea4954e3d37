//! The one idempotency mechanism of every mutating RPC (AIP-155).
//!
//! The key is (caller's scope, full method name, `request_id`) — the scope is the bank for a
//! BANK key, whichever of its keys calls (so rotating a key does not duplicate a retried
//! call), and the key itself for the pool's staff and jobs —; the request's SHA-256
//! guards it. The work runs in a write transaction and the response is remembered by one
//! `INSERT` of the key in that same transaction, just before it commits: change and memory
//! commit together or not at all, and survive restarts.
//!
//! A call whose key is remembered already learns so at that `INSERT` (the primary key
//! refuses it; on PostgreSQL a concurrent duplicate waits there until the first commits),
//! or earlier when its work fails because the first call changed what it works on (a
//! second review of the same application, say). Either way its transaction is rolled back,
//! so the work of a duplicate never lands, and the remembered response is replayed — or
//! IDEMPOTENCY_KEY_REUSED returned when the key was used for a different request. Failed
//! calls leave nothing, so they may be retried with the same `request_id`.

use prost::Message;
use sha2::{Digest, Sha256};
use store::idempotency::{self, IdempotencyKey, Remembered};
use store::{Store, StoreError, WriteTxn};

use domain::{Principal, RequestId};

use crate::error::ApiError;

/// A write transaction for a mutating call, with the key its response will be remembered
/// under.
#[derive(Debug)]
pub struct IdempotentTxn {
    store: Store,
    txn: WriteTxn,
    caller: Principal,
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

/// Opens the write transaction of a mutating call.
pub async fn begin<Req: Message>(
    store: &Store,
    principal: &Principal,
    method: &'static str,
    request_id: RequestId,
    request: &Req,
) -> Result<IdempotentTxn, ApiError> {
    let request_sha256 = request_sha256(request);
    let txn = store.begin_write().await?;
    Ok(IdempotentTxn {
        store: store.clone(),
        txn,
        caller: principal.clone(),
        principal: principal.idempotency_scope(),
        method,
        request_id,
        request_sha256,
    })
}

impl IdempotentTxn {
    /// The transaction to do the work in.
    pub fn txn(&self) -> &WriteTxn {
        &self.txn
    }

    /// Remembers `response` and commits the change with it and its audit record; replays
    /// instead when the key is remembered already (the change is then rolled back).
    pub async fn commit<Resp: Message + Default>(self, response: Resp) -> Result<Resp, ApiError> {
        let this_key = key(&self.principal, self.method, &self.request_id);
        let encoded = response.encode_to_vec();
        let record = crate::audit::accepted(&self.caller, self.method, self.request_id.as_str(), &encoded);
        match idempotency::remember_recorded(&self.txn, &this_key, &self.request_sha256, encoded, &record).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists(_)) => {
                let fallback = ApiError::Internal("idempotency record vanished".to_owned());
                return self.recall(fallback).await;
            }
            Err(error) => return Err(error.into()),
        }
        self.txn.commit().await.map_err(StoreError::from)?;
        crate::audit::mark_recorded(crate::audit::current().as_ref());
        Ok(response)
    }

    /// Rolls the work back after it failed with `error`, and answers with the remembered
    /// response if the key was used before (the failure was then the earlier call's doing),
    /// else with `error`.
    pub async fn recall<Resp: Message + Default>(self, error: ApiError) -> Result<Resp, ApiError> {
        let IdempotentTxn { store, txn, principal, method, request_id, request_sha256, .. } = self;
        txn.rollback().await.map_err(StoreError::from)?;
        let key = key(&principal, method, &request_id);
        match store.reading(async |db| idempotency::find(db, &key).await).await? {
            Some(remembered) => {
                let replayed = replay(remembered, &request_sha256, &request_id);
                if replayed.is_ok() {
                    crate::audit::mark_replayed(crate::audit::current().as_ref());
                }
                replayed
            }
            None => Err(error),
        }
    }
}

/// Runs a mutating call idempotently: runs `work` in a write transaction and commits its
/// response with the memory of it, or replays what an earlier call with the same key
/// answered. `work` gets the transaction and evaluates to the response; `?` and
/// `return Err(…)` inside it fail the work (and roll it back), not the handler directly.
#[macro_export]
macro_rules! idempotent {
    ($state:expr, $principal:expr, $method:expr, $request_id:expr, $request:expr, |$txn:ident| $work:block) => {{
        let fresh = $crate::idempotency::begin(&$state.store, $principal, $method, $request_id, $request).await?;
        let outcome: ::std::result::Result<_, $crate::ApiError> = async {
            let $txn = fresh.txn();
            Ok($work)
        }
        .await;
        match outcome {
            Ok(response) => fresh.commit(response).await,
            Err(error) => fresh.recall(error).await,
        }
    }};
}
