//! The end of a call as its client sees it. A successful gRPC call's status travels in the
//! trailers after the response body, not in the response headers; [`Observed`] watches the
//! body and hands the final status to a callback once: from the trailers, from the headers
//! of a trailers-only (error) response, or CANCELLED when the body ends early or is dropped.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// A call's final status: its code, its message and the reason of its `ErrorInfo` (empty
/// when it carries none).
pub(crate) struct Ending<'a> {
    /// The code.
    pub(crate) code: Code,
    /// The message (empty for OK).
    pub(crate) message: &'a str,
    /// The error's UPPER_SNAKE reason, e.g. `CAP_EXCEEDED`.
    pub(crate) reason: String,
}

/// What is done with a call's final status.
pub(crate) type Finish = Box<dyn FnOnce(Ending<'_>) + Send>;

fn ending(status: &Status) -> Ending<'_> {
    let reason = status.get_details_error_info().map(|info| info.reason).unwrap_or_default();
    Ending { code: status.code(), message: status.message(), reason }
}

/// The gRPC status carried by `headers` (trailers, or a trailers-only response's headers).
pub(crate) fn status_of(headers: &http::HeaderMap) -> Option<Status> {
    headers.contains_key("grpc-status").then(|| Status::from_header_map(headers)).flatten()
}

/// A response body that reports its call's final status once.
pub(crate) struct Observed {
    body: tonic::body::Body,
    finish: Option<Finish>,
}

impl Observed {
    /// Watches `response`: a trailers-only response reports at once, any other when its
    /// trailers come (or it ends or is dropped without them).
    pub(crate) fn wrap(
        response: http::Response<tonic::body::Body>,
        finish: Finish,
    ) -> http::Response<tonic::body::Body> {
        if let Some(status) = status_of(response.headers()) {
            finish(ending(&status));
            return response;
        }
        response.map(|body| tonic::body::Body::new(Observed { body, finish: Some(finish) }))
    }

    fn report(&mut self, status: &Status) {
        if let Some(finish) = self.finish.take() {
            finish(ending(status));
        }
    }
}

impl HttpBody for Observed {
    type Data = <tonic::body::Body as HttpBody>::Data;
    type Error = <tonic::body::Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(status) = frame.trailers_ref().and_then(status_of) {
                    self.report(&status);
                }
            }
            Poll::Ready(Some(Err(status))) => {
                let status = status.clone();
                self.report(&status);
            }
            Poll::Ready(None) => self.report(&Status::cancelled("the response ended without a status")),
            Poll::Pending => {}
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

impl Drop for Observed {
    fn drop(&mut self) {
        self.report(&Status::cancelled("the client went away before the response ended"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_read_from_trailers_with_its_message_and_reason() {
        assert!(status_of(&http::HeaderMap::new()).is_none());
        let refused = Status::with_error_details(
            Code::FailedPrecondition,
            "cap is used: 0.00 left",
            tonic_types::ErrorDetails::with_error_info("CAP_EXCEEDED", "techcredit", std::collections::HashMap::new()),
        );
        let mut headers = http::HeaderMap::new();
        refused.add_header(&mut headers).unwrap();
        let read = status_of(&headers).unwrap();
        let ending = ending(&read);
        assert_eq!(
            (ending.code, ending.message, ending.reason.as_str()),
            (Code::FailedPrecondition, "cap is used: 0.00 left", "CAP_EXCEEDED")
        );
    }
}
