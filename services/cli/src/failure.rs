//! How a command ends when it does not succeed: one line on stderr and an exit code scripts
//! can rely on.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | done |
//! | 1 | the server refused (its gRPC code, reason and bad fields on one line) |
//! | 2 | usage: bad flags or arguments, a file that cannot be read |
//! | 3 | the server cannot be reached, did not answer within the deadline, or is busy (try again later) |
//! | 4 | `reconcile` found discrepancies, or `ledger verify` found differences |

use std::fmt;
use std::process::ExitCode;

use tonic::Code;
use tonic_types::StatusExt;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The server answered with an error.
    Refused(tonic::Status),
    /// The command line or a file it names is wrong.
    Usage(String),
    /// No answer from the server.
    Unreachable(String),
    /// The check ran and found something (discrepancies, differences).
    Found(String),
}

impl Failure {
    /// The exit code.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Refused(status) if is_unreachable(status) => 3,
            Failure::Refused(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Unreachable(_) => 3,
            Failure::Found(_) => 4,
        }
    }

    /// Prints the line and returns the exit code.
    pub fn exit(self) -> ExitCode {
        eprintln!("techcredit: {self}");
        ExitCode::from(self.code())
    }
}

/// A status that means no answer came, rather than a refusal.
fn is_unreachable(status: &tonic::Status) -> bool {
    match status.code() {
        // A deadline passed: the server's own, or this client's (tonic cancels the call with
        // "Timeout expired").
        Code::DeadlineExceeded | Code::Cancelled => true,
        // tonic reports a broken or refused connection as UNAVAILABLE without ErrorInfo; the
        // server's own UNAVAILABLE (database away) carries one.
        Code::Unavailable => status.get_details_error_info().is_none(),
        // The server shed the call: too many in flight; the same command later will do.
        Code::ResourceExhausted => true,
        _ => false,
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(status) if matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled) => {
                write!(f, "no answer within the deadline (--timeout): {}", status.message())
            }
            Failure::Refused(status) if status.code() == Code::ResourceExhausted => {
                write!(f, "the server is busy, try again later: {}", status.message())
            }
            Failure::Refused(status) if is_unreachable(status) => {
                write!(f, "cannot reach the server: {}", status.message())
            }
            Failure::Refused(status) => f.write_str(&status_line(status)),
            Failure::Usage(message) | Failure::Unreachable(message) | Failure::Found(message) => f.write_str(message),
        }
    }
}

impl From<tonic::Status> for Failure {
    fn from(status: tonic::Status) -> Failure {
        Failure::Refused(status)
    }
}

/// The server's refusal on one line: code, reason, message, and every bad field.
pub fn status_line(status: &tonic::Status) -> String {
    let code = code_name(status.code());
    let reason = status.get_details_error_info().map(|info| info.reason).unwrap_or_default();
    let mut line = if reason.is_empty() || reason == code { code.to_owned() } else { format!("{code} {reason}") };
    let violations = status.get_details_bad_request().map(|b| b.field_violations).unwrap_or_default();
    if violations.is_empty() {
        line.push_str(": ");
        line.push_str(status.message());
    } else {
        let fields: Vec<String> = violations.iter().map(|v| format!("{}: {}", v.field, v.description)).collect();
        line.push(' ');
        line.push_str(&fields.join("; "));
    }
    line
}

/// A gRPC code as the specification names it (`INVALID_ARGUMENT`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
