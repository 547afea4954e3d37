//! What the audit trail learns of a call, and when it is written.
//!
//! Every mutating call (every method whose request has a `request_id`) by an authenticated
//! caller gets one record:
//!
//! * **accepted** — written by [`crate::IdempotentTxn::commit`] (or the enrolment batch, or
//!   the tape reconciliation) in the transaction that makes the change, so the change and its
//!   record commit together or not at all;
//! * **replayed** — a retry answered from the idempotency memory, written after the answer;
//! * **refused** — anything else that failed, written by the auth layer after the answer,
//!   with the status code, the reason and the message.
//!
//! The auth layer reads the request's `request_id` and the resources it names from the
//! request's first message as it goes by to the handler (its fields are read off the wire
//! against the contract's descriptors, without building a message), and keeps them in a task-local [`Call`] for the
//! handler's side to complete. Calls refused before authentication (no or a bad key) are
//! logged, not recorded: recording them would let anyone write to the database.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use domain::Principal;
use domain::trail::{Entry, Outcome};
use http_body::{Body as HttpBody, Frame, SizeHint};
use prost_reflect::{DescriptorPool, Kind, MessageDescriptor};

/// The largest first message read for the trail (the server's own message limit).
const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// The request and response descriptors of a mutating method.
#[derive(Debug, Clone)]
pub struct Mutating {
    input: MessageDescriptor,
    output: MessageDescriptor,
}

fn mutating_methods() -> &'static HashMap<String, Mutating> {
    static METHODS: OnceLock<HashMap<String, Mutating>> = OnceLock::new();
    METHODS.get_or_init(|| {
        let Ok(pool) = DescriptorPool::decode(proto::FILE_DESCRIPTOR_SET) else {
            return HashMap::new();
        };
        pool.services()
            .flat_map(|service| service.methods().collect::<Vec<_>>())
            .filter(|method| method.input().get_field_by_name("request_id").is_some())
            .map(|method| {
                let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
                (path, Mutating { input: method.input(), output: method.output() })
            })
            .collect()
    })
}

/// The descriptors of `path` when it is a mutating method.
pub fn mutating(path: &str) -> Option<&'static Mutating> {
    mutating_methods().get(path)
}

/// What is known of the call being served.
#[derive(Debug, Default)]
pub struct Call {
    /// The request id as sent.
    pub request_id: String,
    /// Resources the request names.
    pub targets: Vec<String>,
    /// Its record is written (in the change's transaction).
    pub recorded: bool,
    /// It was answered from the idempotency memory.
    pub replayed: bool,
}

/// A call's audit state, shared by the auth layer and the handler's side.
pub type CallHandle = Arc<Mutex<Call>>;

tokio::task_local! {
    static CALL: CallHandle;
}

/// Runs `work` as the call `handle` describes.
pub async fn scope<F: std::future::Future>(handle: CallHandle, work: F) -> F::Output {
    CALL.scope(handle, work).await
}

/// The call being served, if it is audited.
pub fn current() -> Option<CallHandle> {
    CALL.try_with(Clone::clone).ok()
}

fn update(handle: Option<&CallHandle>, change: impl FnOnce(&mut Call)) {
    if let Some(handle) = handle {
        change(&mut handle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    }
}

/// The call's record was committed with its change.
pub fn mark_recorded(handle: Option<&CallHandle>) {
    update(handle, |call| call.recorded = true);
}

/// The call was answered from the idempotency memory.
pub fn mark_replayed(handle: Option<&CallHandle>) {
    update(handle, |call| call.replayed = true);
}

/// A string that names a resource: `collection/id`, e.g. `loans/12`.
fn is_resource_name(text: &str) -> bool {
    let Some((collection, id)) = text.split_once('/') else {
        return false;
    };
    !collection.is_empty()
        && collection.chars().all(|c| c.is_ascii_alphabetic())
        && !id.is_empty()
        && id.len() <= 64
        && !id.contains(char::is_whitespace)
}

/// What the trail reads of a message, straight off the wire (no message is built: this
/// runs on every mutating call): the `request_id`, and the resource names among its string
/// fields and those of its singular message fields (not inside repeated fields: a
/// statement's lines are not what a call changed).
#[derive(Debug, Default)]
struct Read {
    request_id: Option<String>,
    resources: Vec<String>,
}

fn scan(descriptor: &MessageDescriptor, mut bytes: &[u8], depth: u8, read: &mut Read) {
    use prost::bytes::Buf;
    use prost::encoding::{WireType, decode_key, decode_varint};
    while bytes.has_remaining() {
        let Ok((number, wire_type)) = decode_key(&mut bytes) else {
            return;
        };
        match wire_type {
            WireType::Varint => {
                if decode_varint(&mut bytes).is_err() {
                    return;
                }
            }
            WireType::SixtyFourBit | WireType::ThirtyTwoBit => {
                let width = if wire_type == WireType::SixtyFourBit { 8 } else { 4 };
                if bytes.remaining() < width {
                    return;
                }
                bytes.advance(width);
            }
            WireType::LengthDelimited => {
                let Ok(length) = decode_varint(&mut bytes) else {
                    return;
                };
                let Some(value) = usize::try_from(length).ok().and_then(|n| bytes.get(..n)) else {
                    return;
                };
                bytes.advance(value.len());
                let Some(field) = descriptor.get_field(number) else {
                    continue;
                };
                if field.is_list() || field.is_map() {
                    continue;
                }
                match field.kind() {
                    Kind::String => {
                        let Ok(text) = std::str::from_utf8(value) else {
                            continue;
                        };
                        if depth == 1 && field.name() == "request_id" {
                            read.request_id = Some(text.chars().take(128).collect());
                        } else if is_resource_name(text) && !read.resources.iter().any(|r| r == text) {
                            read.resources.push(text.to_owned());
                        }
                    }
                    Kind::Message(inner) if depth > 0 => scan(&inner, value, depth - 1, read),
                    _ => {}
                }
            }
            WireType::StartGroup | WireType::EndGroup => return,
        }
    }
}

/// The resources a response names (the created or changed records).
pub fn response_resources(method: &str, encoded: &[u8]) -> Vec<String> {
    let mut read = Read::default();
    if let Some(descriptors) = mutating(method) {
        scan(&descriptors.output, encoded, 1, &mut read);
    }
    read.resources
}

/// An audit entry at the call's clock reading.
pub fn entry(
    principal: &Principal,
    method: &str,
    request_id: &str,
    outcome: Outcome,
    status: &str,
    reason: String,
    resources: Vec<String>,
) -> Entry {
    Entry {
        recorded_at: store::audit::to_micros(store::clock::instant()),
        key_id: principal.key_id.clone(),
        role: principal.role.as_str().to_owned(),
        bank: principal.bank.as_ref().map(|bank| bank.as_str().to_owned()),
        method: method.to_owned(),
        request_id: request_id.to_owned(),
        outcome,
        status: status.to_owned(),
        reason,
        resources,
    }
}

/// The entry of an accepted call: what its request named, then what its response names.
pub fn accepted(principal: &Principal, method: &str, request_id: &str, response: &[u8]) -> Entry {
    let mut resources =
        current().map(|h| h.lock().unwrap_or_else(|p| p.into_inner()).targets.clone()).unwrap_or_default();
    for name in response_resources(method, response) {
        if !resources.contains(&name) {
            resources.push(name);
        }
    }
    entry(principal, method, request_id, Outcome::Accepted, "OK", String::new(), resources)
}

/// A request body that reads the first message for the trail as it passes to the handler.
pub struct Tee {
    body: tonic::body::Body,
    input: MessageDescriptor,
    call: CallHandle,
    buffer: Vec<u8>,
    done: bool,
}

impl Tee {
    /// Wraps `body` of a call to a mutating method.
    pub fn new(body: tonic::body::Body, descriptors: &Mutating, call: CallHandle) -> Tee {
        Tee { body, input: descriptors.input.clone(), call, buffer: Vec::new(), done: false }
    }

    fn take(&mut self, data: &[u8]) {
        if self.done {
            return;
        }
        self.buffer.extend_from_slice(data);
        if self.buffer.len() < 5 {
            return;
        }
        let compressed = self.buffer[0] != 0;
        let length = u32::from_be_bytes([self.buffer[1], self.buffer[2], self.buffer[3], self.buffer[4]]) as usize;
        if compressed || length > MAX_MESSAGE {
            self.finish();
            return;
        }
        if self.buffer.len() < 5 + length {
            return;
        }
        let mut read = Read::default();
        scan(&self.input, &self.buffer[5..5 + length], 1, &mut read);
        {
            let mut call = self.call.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            call.request_id = read.request_id.unwrap_or_default();
            call.targets = read.resources;
        }
        self.finish();
    }

    fn finish(&mut self) {
        self.done = true;
        self.buffer = Vec::new();
    }
}

impl HttpBody for Tee {
    type Data = <tonic::body::Body as HttpBody>::Data;
    type Error = <tonic::body::Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let bytes = data.clone();
            self.take(&bytes);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The code's name as the API documents it (`FAILED_PRECONDITION`).
pub fn code_name(code: tonic::Code) -> String {
    let camel = format!("{code:?}");
    let mut name = String::with_capacity(camel.len() + 4);
    for (index, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}
