//! The Prometheus endpoint (`metrics_listen`, off unless configured): `GET /metrics` in the
//! text exposition format. What it serves:
//!
//! * `rpc_server_duration_milliseconds` — OpenTelemetry's `rpc.server.duration`, a histogram
//!   by `rpc_service`, `rpc_method` and `rpc_grpc_status_code` (its `_count` is the calls);
//! * `db_client_connections_usage{state="used"|"idle"}` — the database pool;
//! * `db_client_operation_duration_seconds` — OpenTelemetry's `db.client.operation.duration`,
//!   a histogram of every statement by `db_system_name`, `db_operation_name` and `error_type`;
//! * the pool's own gauges, read at each scrape from the running totals (the pool's totals
//!   row, the accounts' totals, each bank's row and its compensation row of the year — never
//!   the loan book): `techcredit_net_pool_assets_fen`, `techcredit_covered_outstanding_fen`,
//!   `techcredit_pool_exposure_fen`, `techcredit_headroom_fen`, `techcredit_leverage`,
//!   `techcredit_coverage_ratio`, and per bank `techcredit_bank_quota_used_fen`,
//!   `techcredit_bank_npl_ratio`, `techcredit_bank_compensation_this_year_fen`.
//!
//! Money is exported in whole fen (integers: exact); ratios are the only floating-point
//! values, for display and alerting.

use std::sync::atomic::{AtomicI64, AtomicU64};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::Datelike;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use rpc::AppState;
use rust_decimal::prelude::ToPrimitive;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionState {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BankLabel {
    bank: String,
}

fn fen(value: domain::Money) -> Gauge<i64, AtomicI64> {
    let gauge = Gauge::<i64, AtomicI64>::default();
    gauge.set(value.fen());
    gauge
}

fn ratio(value: Option<rust_decimal::Decimal>) -> Gauge<f64, AtomicU64> {
    let gauge = Gauge::<f64, AtomicU64>::default();
    gauge.set(value.and_then(|v| v.to_f64()).unwrap_or(0.0));
    gauge
}

/// The whole exposition, read now.
pub async fn render(state: &AppState) -> Result<String, String> {
    let store = &state.store;
    let fail = |e: store::StoreError| e.to_string();
    let now = store.now().await.map_err(|e| e.to_string())?;
    let reader = store.read_replica().await.map_err(fail)?;
    let connection = &reader;
    let pool = store::pool::read(connection).await.map_err(fail)?;
    let balances = store::ledger::balances(connection).await.map_err(fail)?;
    let figures = domain::position::figures(&state.policy, &balances, &pool.cover);

    let mut registry = Registry::default();
    registry.register_with_unit(
        "rpc_server_duration",
        "Duration of calls served (OpenTelemetry rpc.server.duration)",
        Unit::Other("milliseconds".to_owned()),
        rpc::metrics::call_durations(),
    );
    registry.register_with_unit(
        "db_client_operation_duration",
        "Duration of database statements (OpenTelemetry db.client.operation.duration)",
        Unit::Seconds,
        rpc::metrics::statement_durations(),
    );
    let (open, idle) = store.pool_usage();
    let connections = Family::<ConnectionState, Gauge>::default();
    connections.get_or_create(&ConnectionState { state: "used" }).set(i64::from(open.saturating_sub(idle)));
    connections.get_or_create(&ConnectionState { state: "idle" }).set(i64::from(idle));
    registry.register(
        "db_client_connections_usage",
        "Database connections of this process by state (OpenTelemetry db.client.connections.usage)",
        connections,
    );
    let pool_gauges = [
        ("techcredit_net_pool_assets_fen", "Net pool assets, in fen", figures.net_pool_assets),
        ("techcredit_covered_outstanding_fen", "Covered outstanding principal, in fen", pool.cover.covered_outstanding),
        ("techcredit_pool_exposure_fen", "Pool exposure (outstanding × pool share), in fen", pool.cover.pool_exposure),
        ("techcredit_headroom_fen", "Covered outstanding the pool can still take, in fen", figures.headroom),
    ];
    for (name, help, value) in pool_gauges {
        registry.register(name, help, fen(value));
    }
    registry.register("techcredit_leverage", "Covered outstanding ÷ net pool assets", ratio(figures.leverage));
    registry.register(
        "techcredit_coverage_ratio",
        "Net pool assets ÷ covered outstanding",
        ratio(figures.coverage_ratio),
    );

    let used = Family::<BankLabel, Gauge>::default();
    let npl = Family::<BankLabel, Gauge<f64, AtomicU64>>::default();
    let compensation = Family::<BankLabel, Gauge>::default();
    let mut after: Option<String> = None;
    loop {
        let banks = store::banks::list(connection, after.as_deref(), 500).await.map_err(fail)?;
        for bank in &banks {
            let label = BankLabel { bank: bank.bank_id.to_string() };
            used.get_or_create(&label).set(bank.quota_used.fen());
            let ratio = domain::bank::npl_ratio(bank.quota_used, bank.npl_outstanding);
            npl.get_or_create(&label).set(ratio.and_then(|r| r.to_f64()).unwrap_or(0.0));
            let this_year =
                store::claims::compensation_in_year(connection, &bank.bank_id, now.today.year()).await.map_err(fail)?;
            compensation.get_or_create(&label).set(this_year.fen());
        }
        match banks.last() {
            Some(last) if banks.len() == 500 => after = Some(last.bank_id.to_string()),
            _ => break,
        }
    }
    reader.finish().await.map_err(fail)?;
    registry.register("techcredit_bank_quota_used_fen", "A bank's covered outstanding (quota used), in fen", used);
    registry.register("techcredit_bank_npl_ratio", "A bank's non-performing ÷ covered outstanding", npl);
    registry.register(
        "techcredit_bank_compensation_this_year_fen",
        "Compensation approved for a bank in the business year, in fen",
        compensation,
    );

    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).map_err(|e| e.to_string())?;
    Ok(text)
}

async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    match render(&state).await {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "metrics scrape failed");
            (StatusCode::SERVICE_UNAVAILABLE, error).into_response()
        }
    }
}

/// The endpoint's router.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new().route("/metrics", get(scrape)).with_state(state)
}
