//! Shared gRPC plumbing of the techcredit services: authentication, load shedding, the idempotency
//! mechanism, the one mapping of errors to `tonic::Status`, and conversions between wire
//! values and domain types. Only this crate and the service crates know tonic.

pub mod audit;
pub mod auth;
pub mod convert;
pub mod error;
pub mod idempotency;
pub mod metrics;
mod observe;
pub mod shed;
pub mod state;
pub mod wire;

pub use auth::{AuthLayer, principal};
pub use convert::{Page, Violations};
pub use error::ApiError;
pub use idempotency::IdempotentTxn;
pub use shed::ShedLayer;
pub use state::AppState;
pub use wire::WireEnum;
