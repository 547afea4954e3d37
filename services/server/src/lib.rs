//! The techcredit server: settings, telemetry and start-up around the gRPC services.

pub mod cli;
pub mod metrics;
pub mod settings;
pub mod startup;
pub mod telemetry;
pub mod tls;

pub use settings::{DatabaseUrl, FlagOverrides, LogFormat, Settings};
pub use startup::{Application, StartupError};
