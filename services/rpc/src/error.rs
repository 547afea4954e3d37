//! The one mapping from service errors to `tonic::Status`, with `google.rpc.ErrorInfo`
//! (domain `techcredit`, an UPPER_SNAKE reason) and `BadRequest` field violations.

use std::collections::HashMap;

use store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every error this service returns.
pub const ERROR_DOMAIN: &str = "techcredit";

/// One bad request field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Field path, e.g. `enterprise.uscc`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

/// Every error a techcredit RPC can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// One or more request fields are invalid.
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// A business rule refuses the change.
    #[error("{message}")]
    FailedPrecondition {
        /// Stable UPPER_SNAKE reason code.
        reason: String,
        /// Sentence with the figures involved.
        message: String,
        /// Figures, by name.
        metadata: Vec<(String, String)>,
    },
    /// The named resource does not exist (or the caller may not see it).
    #[error("{resource} not found")]
    NotFound {
        /// Resource name, e.g. `banks/nbcb`.
        resource: String,
    },
    /// The resource exists already, or an idempotency key was reused.
    #[error("{message}")]
    AlreadyExists {
        /// Reason code.
        reason: String,
        /// Sentence.
        message: String,
    },
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller's role may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// The server is shutting down or the database is out of reach.
    #[error("{0}")]
    Unavailable(String),
    /// A defect or an infrastructure failure; logged, answered opaquely.
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations.iter().map(|v| format!("{} {}", v.field, v.description)).collect::<Vec<_>>().join("; ")
}

impl ApiError {
    /// INVALID_ARGUMENT for one field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> ApiError {
        ApiError::InvalidArgument(vec![FieldViolation { field: field.into(), description: description.into() }])
    }

    /// FAILED_PRECONDITION for a business rule's refusal: its reason, words and figures.
    pub fn refused(rule: &impl domain::Rule) -> ApiError {
        ApiError::FailedPrecondition {
            reason: rule.reason().to_owned(),
            message: rule.to_string(),
            metadata: rule.figures().into_iter().map(|(name, value)| (name.to_owned(), value)).collect(),
        }
    }

    /// [`ApiError::refused`] with `figure` added to the rule's own figures (unless it names it).
    pub fn refused_with(rule: &impl domain::Rule, figure: (&str, String)) -> ApiError {
        let mut error = ApiError::refused(rule);
        if let ApiError::FailedPrecondition { metadata, .. } = &mut error
            && metadata.iter().all(|(name, _)| name != figure.0)
        {
            metadata.push((figure.0.to_owned(), figure.1));
        }
        error
    }

    /// NOT_FOUND for a resource name.
    pub fn not_found(resource: impl Into<String>) -> ApiError {
        ApiError::NotFound { resource: resource.into() }
    }

    /// PERMISSION_DENIED.
    pub fn permission_denied(message: impl Into<String>) -> ApiError {
        ApiError::PermissionDenied(message.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::AlreadyExists(what) => ApiError::AlreadyExists {
                reason: "ALREADY_EXISTS".to_owned(),
                message: format!("{what} already exists"),
            },
            StoreError::Corrupt(detail) => ApiError::Internal(format!("corrupt data: {detail}")),
            StoreError::Connect(detail) => ApiError::Unavailable(format!("database unavailable: {detail}")),
            StoreError::Database(db) => ApiError::Internal(format!("database: {db}")),
        }
    }
}

impl From<store::ledger::PostError> for ApiError {
    /// A ledger rule becomes FAILED_PRECONDITION with its reason and the balances involved.
    fn from(error: store::ledger::PostError) -> ApiError {
        match error {
            store::ledger::PostError::Rule(rule) => ApiError::refused(&rule),
            store::ledger::PostError::Store(store) => store.into(),
        }
    }
}

fn with_info(code: Code, message: String, reason: &str, metadata: HashMap<String, String>) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, ERROR_DOMAIN, metadata);
    Status::with_error_details(code, message, details)
}

/// The longest status message sent, in characters.
const MAX_MESSAGE: usize = 1_000;
/// The longest field name, description or metadata value sent, in bytes.
const MAX_DETAIL: usize = 200;
/// The most bad fields listed.
const MAX_VIOLATIONS: usize = 50;
/// The most bytes of bad-field names and descriptions listed together.
const MAX_VIOLATION_BYTES: usize = 4_000;

/// `text` cut to at most `max` bytes of UTF-8, on a character boundary (an ellipsis says
/// so). A refusal that echoes what it was sent — a 100,000-character name — must still fit
/// in the response's HTTP/2 headers: beyond their limit the client's connection is torn
/// down, with every call on it. Bytes, not characters: the message travels twice, once
/// percent-encoded (`grpc-message`, three characters per byte outside ASCII) and once in the
/// base64 details, so 1,000 Chinese characters would be 13 KB of headers.
fn shorten(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = text[..end].to_owned();
    cut.push('…');
    cut
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Status {
        let message = shorten(error.to_string(), MAX_MESSAGE);
        match error {
            ApiError::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                details.set_error_info("INVALID_ARGUMENT", ERROR_DOMAIN, HashMap::new());
                let total = violations.len();
                let (mut listed, mut bytes) = (0usize, 0usize);
                for violation in violations {
                    let field = shorten(violation.field, MAX_DETAIL);
                    let description = shorten(violation.description, MAX_DETAIL);
                    bytes += field.len() + description.len();
                    if listed == MAX_VIOLATIONS || bytes > MAX_VIOLATION_BYTES {
                        break;
                    }
                    details.add_bad_request_violation(field, description);
                    listed += 1;
                }
                let more = total - listed;
                if more > 0 {
                    details.add_bad_request_violation("…", format!("and {more} more bad fields"));
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            ApiError::FailedPrecondition { reason, metadata, .. } => with_info(
                Code::FailedPrecondition,
                message,
                &reason,
                metadata.into_iter().map(|(k, v)| (k, shorten(v, MAX_DETAIL))).collect(),
            ),
            ApiError::NotFound { resource } => with_info(
                Code::NotFound,
                message,
                "NOT_FOUND",
                HashMap::from([("resource".to_owned(), shorten(resource, MAX_DETAIL))]),
            ),
            ApiError::AlreadyExists { reason, .. } => with_info(Code::AlreadyExists, message, &reason, HashMap::new()),
            ApiError::Unauthenticated(_) => {
                with_info(Code::Unauthenticated, message, "UNAUTHENTICATED", HashMap::new())
            }
            ApiError::PermissionDenied(_) => {
                with_info(Code::PermissionDenied, message, "PERMISSION_DENIED", HashMap::new())
            }
            ApiError::Unavailable(_) => with_info(Code::Unavailable, message, "UNAVAILABLE", HashMap::new()),
            ApiError::Internal(detail) => {
                // Internal details stay in the log; the caller gets an opaque answer.
                tracing::error!(error = %detail, "internal error");
                with_info(Code::Internal, "internal error".to_owned(), "INTERNAL", HashMap::new())
            }
        }
    }
}
