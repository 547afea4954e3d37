//! Call metrics: OpenTelemetry's `rpc.server.duration` (milliseconds) by service, method and
//! gRPC status code, recorded when each call's final status is known (`auth`), and
//! `db.client.operation.duration` (seconds) of every statement. Served with the pool's figures
//! on the Prometheus endpoint (`server::metrics`) and, once [`export_to`] is given a meter,
//! recorded into OpenTelemetry instruments of the same names too (the OTLP export). One set
//! per process.

use std::sync::{LazyLock, OnceLock};

use opentelemetry::KeyValue;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// The labels of a call: OpenTelemetry's attribute names with `_` for `.`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// `techcredit.v1.LoanApplicationService`.
    pub rpc_service: String,
    /// `EnrollLoan`.
    pub rpc_method: String,
    /// The gRPC status code, `0` for OK.
    pub rpc_grpc_status_code: String,
}

fn duration_histogram() -> Histogram {
    // 0.25 ms … about 8 s.
    Histogram::new(exponential_buckets(0.25, 2.0, 16))
}

/// Call durations, by labels.
pub type CallDurations = Family<CallLabels, Histogram, fn() -> Histogram>;

static CALL_DURATIONS: LazyLock<CallDurations> =
    LazyLock::new(|| Family::new_with_constructor(duration_histogram as fn() -> Histogram));

/// This process's call durations (a handle onto the same figures).
pub fn call_durations() -> CallDurations {
    CALL_DURATIONS.clone()
}

/// The OpenTelemetry instruments the figures are recorded into too, once exported.
struct Exported {
    calls: opentelemetry::metrics::Histogram<f64>,
    statements: opentelemetry::metrics::Histogram<f64>,
}

static EXPORTED: OnceLock<Exported> = OnceLock::new();

/// Records calls and statements into instruments of `meter` from now on, beside the
/// Prometheus figures (the first meter given is kept: one export per process). The
/// statements' buckets are OpenTelemetry's recommended ones for `db.client.operation.duration`.
pub fn export_to(meter: &opentelemetry::metrics::Meter) {
    let _ = EXPORTED.set(Exported {
        calls: meter
            .f64_histogram("rpc.server.duration")
            .with_unit("ms")
            .with_description("Duration of calls served")
            .build(),
        statements: meter
            .f64_histogram("db.client.operation.duration")
            .with_unit("s")
            .with_description("Duration of database statements")
            .with_boundaries(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0])
            .build(),
    });
}

/// Records one finished call of `path` (`/service/method`).
pub(crate) fn record_call(path: &str, code: tonic::Code, milliseconds: f64) {
    let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or((path, ""));
    let labels = CallLabels {
        rpc_service: service.to_owned(),
        rpc_method: method.to_owned(),
        rpc_grpc_status_code: (code as i32).to_string(),
    };
    CALL_DURATIONS.get_or_create(&labels).observe(milliseconds);
    if let Some(exported) = EXPORTED.get() {
        exported.calls.record(
            milliseconds,
            &[
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.service", labels.rpc_service),
                KeyValue::new("rpc.method", labels.rpc_method),
                KeyValue::new("rpc.grpc.status_code", i64::from(code as i32)),
            ],
        );
    }
}

/// The labels of a database statement: OpenTelemetry's attribute names with `_` for `.`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatementLabels {
    /// `postgresql` or `sqlite`.
    pub db_system_name: &'static str,
    /// The statement's first keyword: `SELECT`, `INSERT`, `UPDATE`, …
    pub db_operation_name: &'static str,
    /// Empty for a statement that succeeded, `database_error` for one that failed.
    pub error_type: &'static str,
}

fn statement_histogram() -> Histogram {
    // 50 µs … about 1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// Statement durations in seconds, by labels.
pub type StatementDurations = Family<StatementLabels, Histogram, fn() -> Histogram>;

static STATEMENT_DURATIONS: LazyLock<StatementDurations> =
    LazyLock::new(|| Family::new_with_constructor(statement_histogram as fn() -> Histogram));

/// This process's database statement durations (OpenTelemetry `db.client.operation.duration`).
pub fn statement_durations() -> StatementDurations {
    STATEMENT_DURATIONS.clone()
}

/// Records one statement the database ran (labels borrowed: nothing allocated per statement).
pub fn record_statement(system: &'static str, operation: &'static str, failed: bool, seconds: f64) {
    let labels = StatementLabels {
        db_system_name: system,
        db_operation_name: operation,
        error_type: if failed { "database_error" } else { "" },
    };
    STATEMENT_DURATIONS.get_or_create(&labels).observe(seconds);
    if let Some(exported) = EXPORTED.get() {
        let attributes = [
            KeyValue::new("db.system.name", system),
            KeyValue::new("db.operation.name", operation),
            KeyValue::new("error.type", "database_error"),
        ];
        let attributes = if failed { &attributes[..] } else { &attributes[..2] };
        exported.statements.record(seconds, attributes);
    }
}
