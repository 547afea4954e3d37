//! The risk officers' web dashboard, in Chinese first: server-rendered pages on their own
//! HTTP port, over the very gRPC services the banks call (every read and action goes through
//! them with the signed-in key, so roles, a bank's view of only its own records, four eyes
//! and every rule are the service's own — there is no second implementation of a rule).
//!
//! A key signs in once; the session (an unguessable id in an HttpOnly, SameSite=Strict
//! cookie) keeps it server-side until it expires or the user signs out. Every form that
//! changes something carries the session's CSRF token.

// A handler's early answer (a redirect to the login, a refusal page) is an axum Response, the
// framework's own error type for handlers: boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

mod i18n;
mod pages;
mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tonic::transport::Channel;

pub use session::Sessions;

/// What the dashboard needs.
#[derive(Clone)]
pub struct Dashboard {
    /// The gRPC services (the server's own listener).
    pub grpc: Channel,
    /// Signed-in sessions.
    pub sessions: Arc<Sessions>,
    /// Mark cookies Secure (when the dashboard is served over TLS).
    pub secure_cookies: bool,
    /// The policy's leverage limit, once read.
    max_leverage: Arc<std::sync::OnceLock<f64>>,
}

impl Dashboard {
    /// A dashboard over `grpc` whose sessions last `session_ttl` after their last use.
    pub fn new(grpc: Channel, session_ttl: Duration, secure_cookies: bool) -> Dashboard {
        Dashboard {
            grpc,
            sessions: Arc::new(Sessions::new(session_ttl)),
            secure_cookies,
            max_leverage: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// The pages.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(pages::overview))
            .route("/login", get(pages::login_form).post(pages::login))
            .route("/logout", post(pages::logout))
            .route("/lang/{lang}", get(pages::language))
            .route("/history", get(pages::history))
            .route("/assets/echarts.min.js", get(pages::echarts))
            .route("/banks", get(pages::banks))
            .route("/banks/{bank}", get(pages::bank))
            .route("/queues", get(pages::queues))
            .route("/queues/applications/{id}", post(pages::review))
            .route("/queues/claims/{id}", post(pages::decide_claim))
            .route("/stress", get(pages::stress_form).post(pages::stress))
            .route("/statements", get(pages::statements))
            .route("/statements/{id}", get(pages::statement))
            .route("/statements/{id}/csv", get(pages::statement_csv))
            .route("/statements/{id}/print", get(pages::statement_print))
            .route("/reconciliation", get(pages::reconciliation))
            .route("/reconciliation/{id}", get(pages::report))
            .route("/audit", get(pages::audit))
            .with_state(self)
    }

    /// Serves on `listener` until `shutdown` resolves.
    pub async fn serve<L>(
        self,
        listener: L,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()>
    where
        L: axum::serve::Listener,
        L::Addr: std::fmt::Debug,
    {
        axum::serve(listener, self.router()).with_graceful_shutdown(shutdown).await
    }
}
