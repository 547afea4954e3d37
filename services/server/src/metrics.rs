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
//!
//! When metrics are exported over OTLP (`crate::telemetry`), the same figures go there too:
//! `rpc.server.duration` (ms) and `db.client.operation.duration` (s) with OpenTelemetry's
//! attribute names, `db.client.connections.usage`, and the pool's gauges under the names
//! above, read once per collection ([`export`]).

use std::sync::atomic::{AtomicI64, AtomicU64};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::Datelike;
use opentelemetry::KeyValue;
use opentelemetry::metrics::AsyncInstrument;
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

/// The pool's figures the gauges show, read together from the running totals.
#[derive(Clone, Debug)]
pub struct PoolFigures {
    /// Cash + receivables − payables.
    pub net_pool_assets: domain::Money,
    /// Covered outstanding principal.
    pub covered_outstanding: domain::Money,
    /// Outstanding × the pool's share.
    pub pool_exposure: domain::Money,
    /// Covered outstanding the pool can still take.
    pub headroom: domain::Money,
    /// Covered outstanding ÷ net pool assets.
    pub leverage: Option<rust_decimal::Decimal>,
    /// Net pool assets ÷ covered outstanding.
    pub coverage_ratio: Option<rust_decimal::Decimal>,
    /// Each bank's, in the order of their identifiers.
    pub banks: Vec<BankFigures>,
}

/// One bank's figures.
#[derive(Clone, Debug)]
pub struct BankFigures {
    /// `nbcb`.
    pub bank: String,
    /// Its covered outstanding.
    pub quota_used: domain::Money,
    /// Non-performing ÷ covered outstanding.
    pub npl_ratio: Option<rust_decimal::Decimal>,
    /// Compensation approved for it in the business year.
    pub compensation_this_year: domain::Money,
}

/// A gauge: its name, its help, and how its figure is read off `F`.
pub type Series<F, T> = (&'static str, &'static str, fn(&F) -> T);

/// The pool's money gauges: name, help, figure. The same names on the Prometheus endpoint
/// and over OTLP.
pub const POOL_MONEY: [Series<PoolFigures, domain::Money>; 4] = [
    ("techcredit_net_pool_assets_fen", "Net pool assets, in fen", |f| f.net_pool_assets),
    ("techcredit_covered_outstanding_fen", "Covered outstanding principal, in fen", |f| f.covered_outstanding),
    ("techcredit_pool_exposure_fen", "Pool exposure (outstanding × pool share), in fen", |f| f.pool_exposure),
    ("techcredit_headroom_fen", "Covered outstanding the pool can still take, in fen", |f| f.headroom),
];

/// The pool's ratios.
pub const POOL_RATIOS: [Series<PoolFigures, Option<rust_decimal::Decimal>>; 2] = [
    ("techcredit_leverage", "Covered outstanding ÷ net pool assets", |f| f.leverage),
    ("techcredit_coverage_ratio", "Net pool assets ÷ covered outstanding", |f| f.coverage_ratio),
];

/// Each bank's money gauges, labelled `bank`.
pub const BANK_MONEY: [Series<BankFigures, domain::Money>; 2] = [
    ("techcredit_bank_quota_used_fen", "A bank's covered outstanding (quota used), in fen", |b| b.quota_used),
    (
        "techcredit_bank_compensation_this_year_fen",
        "Compensation approved for a bank in the business year, in fen",
        |b| b.compensation_this_year,
    ),
];

/// Each bank's ratios, labelled `bank`.
pub const BANK_RATIOS: [Series<BankFigures, Option<rust_decimal::Decimal>>; 1] =
    [("techcredit_bank_npl_ratio", "A bank's non-performing ÷ covered outstanding", |b| b.npl_ratio)];

/// A ratio as the gauges carry it (0 when there is none).
pub fn as_float(ratio: Option<rust_decimal::Decimal>) -> f64 {
    ratio.and_then(|r| r.to_f64()).unwrap_or(0.0)
}

/// The pool's figures, read now from the running totals (the read replica when there is one).
pub async fn read(state: &AppState) -> Result<PoolFigures, String> {
    let store = &state.store;
    let fail = |e: store::StoreError| e.to_string();
    let now = store.now().await.map_err(|e| e.to_string())?;
    let reader = store.read_replica_snapshot().await.map_err(fail)?;
    let connection = &reader;
    let pool = store::pool::read(connection).await.map_err(fail)?;
    let balances = store::ledger::balances(connection).await.map_err(fail)?;
    let figures = domain::position::figures(&state.policy, &balances, &pool.cover);
    let mut banks = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store::banks::list(connection, after.as_deref(), 500).await.map_err(fail)?;
        for bank in &page {
            banks.push(BankFigures {
                bank: bank.bank_id.to_string(),
                quota_used: bank.quota_used,
                npl_ratio: domain::bank::npl_ratio(bank.quota_used, bank.npl_outstanding),
                compensation_this_year: store::claims::compensation_in_year(
                    connection,
                    &bank.bank_id,
                    now.today.year(),
                )
                .await
                .map_err(fail)?,
            });
        }
        match page.last() {
            Some(last) if page.len() == 500 => after = Some(last.bank_id.to_string()),
            _ => break,
        }
    }
    reader.finish().await.map_err(fail)?;
    Ok(PoolFigures {
        net_pool_assets: figures.net_pool_assets,
        covered_outstanding: pool.cover.covered_outstanding,
        pool_exposure: pool.cover.pool_exposure,
        headroom: figures.headroom,
        leverage: figures.leverage,
        coverage_ratio: figures.coverage_ratio,
        banks,
    })
}

/// The whole exposition, read now.
pub async fn render(state: &AppState) -> Result<String, String> {
    let figures = read(state).await?;
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
    let (open, idle) = state.store.pool_usage();
    let connections = Family::<ConnectionState, Gauge>::default();
    connections.get_or_create(&ConnectionState { state: "used" }).set(i64::from(open.saturating_sub(idle)));
    connections.get_or_create(&ConnectionState { state: "idle" }).set(i64::from(idle));
    registry.register(
        "db_client_connections_usage",
        "Database connections of this process by state (OpenTelemetry db.client.connections.usage)",
        connections,
    );
    for (name, help, figure) in POOL_MONEY {
        let gauge = Gauge::<i64, AtomicI64>::default();
        gauge.set(figure(&figures).fen());
        registry.register(name, help, gauge);
    }
    for (name, help, figure) in POOL_RATIOS {
        let gauge = Gauge::<f64, AtomicU64>::default();
        gauge.set(as_float(figure(&figures)));
        registry.register(name, help, gauge);
    }
    for (name, help, figure) in BANK_MONEY {
        let family = Family::<BankLabel, Gauge>::default();
        for bank in &figures.banks {
            family.get_or_create(&BankLabel { bank: bank.bank.clone() }).set(figure(bank).fen());
        }
        registry.register(name, help, family);
    }
    for (name, help, figure) in BANK_RATIOS {
        let family = Family::<BankLabel, Gauge<f64, AtomicU64>>::default();
        for bank in &figures.banks {
            family.get_or_create(&BankLabel { bank: bank.bank.clone() }).set(as_float(figure(bank)));
        }
        registry.register(name, help, family);
    }
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

/// How long one read of the pool's figures serves the gauges' callbacks: the instruments of
/// one collection share a read.
const FRESH: std::time::Duration = std::time::Duration::from_secs(2);

/// The pool's figures for the OpenTelemetry callbacks: read on the runtime (`handle`) from
/// the SDK's reader thread by the first callback of a collection, reused by the others.
struct Latest {
    state: AppState,
    handle: tokio::runtime::Handle,
    read: std::sync::Mutex<Option<(std::time::Instant, Option<std::sync::Arc<PoolFigures>>)>>,
    warning: crate::telemetry::Occasional,
}

impl Latest {
    fn figures(&self) -> Option<std::sync::Arc<PoolFigures>> {
        let mut cached = self.read.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, figures)) = cached.as_ref()
            && at.elapsed() < FRESH
        {
            return figures.clone();
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            // A collection forced from inside the runtime cannot wait on it: no figures this time.
            return None;
        }
        let read = self.handle.block_on(async { tokio::time::timeout(FRESH * 5, read(&self.state)).await });
        let figures = match read {
            Ok(Ok(figures)) => Some(std::sync::Arc::new(figures)),
            Ok(Err(error)) => self.warn(&error),
            Err(_) => self.warn("the read took longer than ten seconds"),
        };
        *cached = Some((std::time::Instant::now(), figures.clone()));
        figures
    }

    /// An instrument's callback: `observe` gets the figures of this collection's read.
    fn observing<T>(
        self: &std::sync::Arc<Self>,
        observe: impl Fn(&PoolFigures, &dyn AsyncInstrument<T>) + Send + Sync + 'static,
    ) -> impl Fn(&dyn AsyncInstrument<T>) + Send + Sync + 'static {
        let latest = self.clone();
        move |observer| {
            if let Some(figures) = latest.figures() {
                observe(&figures, observer);
            }
        }
    }

    fn warn(&self, error: &str) -> Option<std::sync::Arc<PoolFigures>> {
        if self.warning.due() {
            tracing::warn!(parent: None, %error, "cannot read the pool's figures for the metrics' export (warned at most once a minute)");
        }
        None
    }
}

/// Registers the Prometheus endpoint's other figures as OpenTelemetry observable instruments
/// on `meter`, for the OTLP export: `db.client.connections.usage` by `state`, and the pool's
/// gauges under the endpoint's names (per bank with the attribute `bank`), read from the
/// running totals once per collection. Once per process.
pub fn export(meter: &opentelemetry::metrics::Meter, state: AppState, handle: tokio::runtime::Handle) {
    let store = state.store.clone();
    meter
        .i64_observable_up_down_counter("db.client.connections.usage")
        .with_unit("{connection}")
        .with_description("Database connections of this process by state")
        .with_callback(move |observer| {
            let (open, idle) = store.pool_usage();
            observer.observe(i64::from(open.saturating_sub(idle)), &[KeyValue::new("state", "used")]);
            observer.observe(i64::from(idle), &[KeyValue::new("state", "idle")]);
        })
        .build();
    let latest = std::sync::Arc::new(Latest {
        state,
        handle,
        read: std::sync::Mutex::new(None),
        warning: crate::telemetry::Occasional::default(),
    });
    let bank = |figures: &BankFigures| [KeyValue::new("bank", figures.bank.clone())];
    for (name, help, figure) in POOL_MONEY {
        let callback = latest.observing(move |figures, observer| observer.observe(figure(figures).fen(), &[]));
        meter.i64_observable_gauge(name).with_description(help).with_callback(callback).build();
    }
    for (name, help, figure) in POOL_RATIOS {
        let callback = latest.observing(move |figures, observer| observer.observe(as_float(figure(figures)), &[]));
        meter.f64_observable_gauge(name).with_description(help).with_callback(callback).build();
    }
    for (name, help, figure) in BANK_MONEY {
        let callback = latest.observing(move |figures, observer| {
            figures.banks.iter().for_each(|b| observer.observe(figure(b).fen(), &bank(b)));
        });
        meter.i64_observable_gauge(name).with_description(help).with_callback(callback).build();
    }
    for (name, help, figure) in BANK_RATIOS {
        let callback = latest.observing(move |figures, observer| {
            figures.banks.iter().for_each(|b| observer.observe(as_float(figure(b)), &bank(b)));
        });
        meter.f64_observable_gauge(name).with_description(help).with_callback(callback).build();
    }
}
