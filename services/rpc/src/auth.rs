//! Authentication: every call except health and reflection must carry
//! `authorization: Bearer <secret>` of a valid, unrevoked API key. The layer puts the
//! caller's `Principal` into the request's extensions; handlers check roles with
//! [`principal`] and the `require_*` helpers.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use domain::{BankId, Principal, Role};
use store::Store;
use tonic::Status;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::error::ApiError;

/// Paths served without a key: health checks and reflection.
fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/grpc.reflection.v1.ServerReflection/")
        || path.starts_with("/grpc.reflection.v1alpha.ServerReflection/")
}

/// What the server knows of a connection's other end; the listener puts it into every
/// request's extensions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peer {
    /// The remote address (none for a connection inside the process).
    pub address: Option<std::net::SocketAddr>,
    /// The subject's common name of the client certificate, verified against the client CA.
    pub client_common_name: Option<String>,
}

/// Tower layer that authenticates calls against the store's API keys.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    store: Store,
    bank_certificates: bool,
}

impl AuthLayer {
    /// A layer that looks keys up in `store`.
    pub fn new(store: Store) -> AuthLayer {
        AuthLayer { store, bank_certificates: false }
    }

    /// A BANK key works only over a connection with its bank's client certificate (the
    /// certificate's subject common name is the bank id).
    pub fn with_bank_certificates(mut self, required: bool) -> AuthLayer {
        self.bank_certificates = required;
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService { inner, store: self.store.clone(), bank_certificates: self.bank_certificates }
    }
}

/// The service [`AuthLayer`] wraps around the gRPC router.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    store: Store,
    bank_certificates: bool,
}

/// With bank certificates required: PERMISSION_DENIED for a BANK key that did not come over
/// its own bank's client certificate.
fn check_bank_certificate(principal: &Principal, peer: Option<&Peer>) -> Result<(), ApiError> {
    let Some(bank) = principal.bank.as_ref().filter(|_| principal.role == Role::Bank) else {
        return Ok(());
    };
    match peer.and_then(|peer| peer.client_common_name.as_deref()) {
        Some(name) if name == bank.as_str() => Ok(()),
        Some(name) => Err(ApiError::permission_denied(format!(
            "this key belongs to bank {bank} but the connection's client certificate is for {name:?}; a bank key works only over its own bank's certificate"
        ))),
        None => Err(ApiError::permission_denied(format!(
            "a bank key works only over a TLS connection with its bank's client certificate (subject CN={bank})"
        ))),
    }
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

fn bearer(request: &http::Request<tonic::body::Body>) -> Option<String> {
    let value = request.headers().get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

impl<S> Service<http::Request<tonic::body::Body>> for AuthService<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<tonic::body::Body>) -> Self::Future {
        // Take the service that was polled ready and leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let store = self.store.clone();
        let bank_certificates = self.bank_certificates;
        let path = request.uri().path().to_owned();
        if is_public(&path) {
            return Box::pin(async move { inner.call(request).await });
        }
        // One span per call, a child of the caller's trace when it sent W3C trace context,
        // with OpenTelemetry's RPC attributes; the status is recorded when the call ends.
        let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or((&path, ""));
        let span = tracing::info_span!(
            "grpc",
            otel.name = %path,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_message = tracing::field::Empty,
            error.reason = tracing::field::Empty,
            techcredit.key_id = tracing::field::Empty,
            techcredit.bank = tracing::field::Empty,
            techcredit.request_id = tracing::field::Empty,
        );
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderExtractor(request.headers()))
        });
        let _ = span.set_parent(parent);
        Box::pin(
            async move {
                let started = Instant::now();
                // One reading of the business clock for the whole call, the key's expiry included.
                let now = match store.now().await {
                    Ok(now) => now,
                    Err(error) => {
                        let response = Status::from(ApiError::from(error)).into_http();
                        return Ok(crate::observe::Observed::wrap(response, finish_call(path, started, None)));
                    }
                };
                let principal = match bearer(&request) {
                    None => Err(ApiError::Unauthenticated(
                        "missing credentials: send \"authorization: Bearer <api key>\"".to_owned(),
                    )),
                    Some(secret) => {
                        let check = store.reading(async |db| store::api_keys::authenticate(db, &secret).await);
                        match store::clock::scope(now, check).await {
                            Ok(Some(principal)) => Ok(principal),
                            Ok(None) => Err(ApiError::Unauthenticated("invalid or revoked api key".to_owned())),
                            Err(error) => Err(ApiError::from(error)),
                        }
                    }
                };
                let principal = principal.and_then(|principal| {
                    if bank_certificates {
                        check_bank_certificate(&principal, request.extensions().get::<Peer>())?;
                    }
                    Ok(principal)
                });
                let principal = match principal {
                    Ok(principal) => principal,
                    Err(error) => {
                        let response = Status::from(error).into_http();
                        return Ok(crate::observe::Observed::wrap(response, finish_call(path, started, None)));
                    }
                };
                let key_id = principal.key_id.clone();
                let current = tracing::Span::current();
                current.record("techcredit.key_id", key_id.as_str());
                if let Some(bank) = &principal.bank {
                    current.record("techcredit.bank", bank.as_str());
                }
                // A mutating call is audited: its request's first message is read on its way.
                let audited = crate::audit::mutating(&path).map(|descriptors| {
                    let handle = crate::audit::CallHandle::default();
                    let call = handle.clone();
                    let (parts, body) = std::mem::take(&mut request).into_parts();
                    request = http::Request::from_parts(
                        parts,
                        tonic::body::Body::new(crate::audit::Tee::new(body, descriptors, call)),
                    );
                    handle
                });
                let caller = principal.clone();
                request.extensions_mut().insert(principal);
                let work = store::clock::scope(now, inner.call(request));
                let response = match &audited {
                    Some(handle) => crate::audit::scope(handle.clone(), work).await,
                    None => work.await,
                };
                if let (Some(handle), Ok(response)) = (&audited, &response) {
                    store::clock::scope(now, record_unrecorded(&store, &caller, &path, handle, response.headers()))
                        .await;
                }
                if let Some(request_id) = audited
                    .as_ref()
                    .map(|handle| handle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).request_id.clone())
                    && !request_id.is_empty()
                {
                    tracing::Span::current().record("techcredit.request_id", request_id.as_str());
                }
                response
                    .map(|response| crate::observe::Observed::wrap(response, finish_call(path, started, Some(key_id))))
            }
            .instrument(span),
        )
    }
}

/// What happens when a call's final status is known: the span gets the gRPC status (span
/// status ERROR for every code but OK, with the error's reason), and the call's one log
/// event says method, key, status, reason, duration and the trace id.
fn finish_call(path: String, started: Instant, key_id: Option<String>) -> crate::observe::Finish {
    let span = tracing::Span::current();
    Box::new(move |ending: crate::observe::Ending<'_>| {
        let elapsed = started.elapsed();
        let elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        crate::metrics::record_call(&path, ending.code, elapsed.as_secs_f64() * 1000.0);
        let status = crate::audit::code_name(ending.code);
        span.record("rpc.grpc.status_code", ending.code as i32);
        if ending.code != tonic::Code::Ok {
            span.record("otel.status_code", "ERROR");
            span.record("otel.status_message", ending.message);
            span.record("error.reason", ending.reason.as_str());
        }
        let trace_id = {
            use opentelemetry::trace::TraceContextExt as _;
            let context = span.context();
            let span_context = context.span().span_context().clone();
            if span_context.is_valid() { span_context.trace_id().to_string() } else { String::new() }
        };
        span.in_scope(|| {
            tracing::info!(
                method = %path,
                key_id = key_id.as_deref().unwrap_or(""),
                grpc_status = status.as_str(),
                reason = ending.reason.as_str(),
                elapsed_us,
                trace_id = trace_id.as_str(),
                "call"
            );
        });
    })
}

/// Writes the record of an audited call that its change's transaction did not: a refusal
/// (with its code, reason and message) or a replay.
async fn record_unrecorded(
    store: &Store,
    caller: &Principal,
    method: &str,
    handle: &crate::audit::CallHandle,
    headers: &http::HeaderMap,
) {
    use domain::trail::Outcome;
    use tonic_types::StatusExt;
    let (request_id, targets, recorded, replayed) = {
        let call = handle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        (call.request_id.clone(), call.targets.clone(), call.recorded, call.replayed)
    };
    if recorded {
        return;
    }
    let entry = match Status::from_header_map(headers) {
        _ if replayed => {
            crate::audit::entry(caller, method, &request_id, Outcome::Replayed, "OK", String::new(), targets)
        }
        Some(status) if status.code() != tonic::Code::Ok => {
            let code = crate::audit::code_name(status.code());
            let reason = status.get_details_error_info().map(|info| info.reason).unwrap_or_else(|| code.clone());
            let text: String = format!("{reason}: {}", status.message()).chars().take(2000).collect();
            crate::audit::entry(caller, method, &request_id, Outcome::Refused, &code, text, targets)
        }
        _ => {
            tracing::warn!(%method, "a mutating call succeeded without an audit record in its transaction; recorded after it");
            let why = "recorded after the change, not with it".to_owned();
            crate::audit::entry(caller, method, &request_id, Outcome::Accepted, "OK", why, targets)
        }
    };
    let written = async {
        let txn = store.begin_write().await?;
        store::audit::append(&txn, &[entry]).await?;
        txn.commit().await.map_err(store::StoreError::from)
    }
    .await;
    if let Err(error) = written {
        tracing::error!(%method, %error, "the audit record of a call could not be written");
    }
}

/// Reads W3C trace context (`traceparent`, `tracestate`) from a call's HTTP/2 headers.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The authenticated caller of a request.
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Principal, ApiError> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| ApiError::Unauthenticated("missing credentials".to_owned()))
}

/// PERMISSION_DENIED unless the caller has one of `roles`.
pub fn require_role(principal: &Principal, roles: &[Role]) -> Result<(), ApiError> {
    if principal.has_any(roles) {
        return Ok(());
    }
    let allowed = roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    Err(ApiError::permission_denied(format!("role {} may not do this; allowed: {allowed}", principal.role)))
}

/// NOT_FOUND unless the caller may see `bank`'s records: a bank caller asking about
/// another bank learns nothing, not even that it exists.
pub fn require_bank_visible(principal: &Principal, bank: &BankId, resource: &str) -> Result<(), ApiError> {
    if principal.may_see_bank(bank) { Ok(()) } else { Err(ApiError::not_found(resource)) }
}

/// A record the caller may see: NOT_FOUND (`resource`) when it does not exist or belongs
/// to another bank than the caller's.
pub fn visible<T>(
    principal: &Principal,
    record: Option<T>,
    bank: impl Fn(&T) -> &BankId,
    resource: &str,
) -> Result<T, ApiError> {
    let record = record.ok_or_else(|| ApiError::not_found(resource))?;
    require_bank_visible(principal, bank(&record), resource)?;
    Ok(record)
}

/// The bank a listing is limited to: a bank caller always its own (asking for another bank
/// is NOT_FOUND), other roles the bank they filter by, if any.
pub fn bank_scope(principal: &Principal, filter: Option<BankId>, name: &str) -> Result<Option<BankId>, ApiError> {
    match (principal.role, filter) {
        (Role::Bank, Some(bank)) => {
            require_bank_visible(principal, &bank, name)?;
            Ok(Some(bank))
        }
        (Role::Bank, None) => principal
            .bank
            .clone()
            .map(Some)
            .ok_or_else(|| ApiError::permission_denied("this key is not bound to a bank")),
        (_, filter) => Ok(filter),
    }
}
