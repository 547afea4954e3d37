//! End-to-end suite: a real server on an ephemeral port, a fresh database per test
//! (SQLite, or PostgreSQL when `TEST_DATABASE_URL` is set), real tonic clients.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod access;
mod audit;
mod claims;
mod concurrency;
mod dates;
mod foundation;
mod hostile;
mod loans;
mod pool;
mod reconcile;
mod scaling;
mod settlement;
mod sharing;
mod support;
mod telemetry;
mod tls;
