//! Logging, tracing and the metrics' export. Structured `tracing` events go to stderr, as
//! text (coloured only on a terminal) or JSON lines; the filter comes from `RUST_LOG` (default
//! `info`, with the database driver's notices at `warn`). Spans are exported over OTLP/gRPC
//! (batched), and metrics pushed over OTLP/gRPC (every `OTEL_METRIC_EXPORT_INTERVAL`
//! milliseconds, default 60 000), when an endpoint is configured: `otlp_endpoint`
//! (`TECHCREDIT__OTLP_ENDPOINT`, for both), or the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
//! / `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`; `https://` endpoints
//! speak TLS with the system's roots; `OTEL_TRACES_EXPORTER=none` or `OTEL_METRICS_EXPORTER=none`
//! turns one signal off. The rest of the standard configuration is the SDK's:
//! `OTEL_SERVICE_NAME` (default here `techcredit-server`), `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`. A collector that cannot be reached
//! is logged as a warning, at most once a minute per signal, and never stops the server. Every
//! authenticated call is one span, a child of the caller's trace when the call carries W3C
//! trace context (`traceparent`), see `rpc::auth`. The metrics exported are the Prometheus
//! endpoint's (`crate::metrics`), under OpenTelemetry's names.

use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{SdkMeterProvider, Temporality};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::settings::LogFormat;

/// The tracer of database spans, once a subscriber with an exporter is installed.
static DATABASE_TRACER: std::sync::OnceLock<opentelemetry_sdk::trace::SdkTracer> = std::sync::OnceLock::new();

/// What the store tells of every statement: its latency into the `db.client.operation.duration`
/// histogram and, when the call is traced, a CLIENT span under the call's span with
/// `db.system.name`, `db.operation.name` and `db.query.text` (the SQL with placeholders,
/// never the values), timed as the statement ran, ERROR when it failed.
pub fn statement_observer() -> store::StatementObserver {
    Arc::new(|timing: &store::StatementTiming<'_>| {
        rpc::metrics::record_statement(timing.system, timing.operation, timing.failed, timing.elapsed.as_secs_f64());
        if let Some(tracer) = DATABASE_TRACER.get() {
            database_span(tracer, timing);
        }
    })
}

fn database_span(tracer: &opentelemetry_sdk::trace::SdkTracer, timing: &store::StatementTiming<'_>) {
    use opentelemetry::KeyValue;
    use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let parent = tracing::Span::current().context();
    if !parent.span().span_context().is_sampled() {
        return;
    }
    let end = SystemTime::now();
    let start = end.checked_sub(timing.elapsed).unwrap_or(end);
    let mut text = timing.sql;
    if text.len() > 2000 {
        let mut cut = 2000;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text = &text[..cut];
    }
    let mut span = tracer
        .span_builder(format!("{} {}", timing.operation, timing.system))
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes([
            KeyValue::new("db.system.name", timing.system),
            KeyValue::new("db.operation.name", timing.operation),
            KeyValue::new("db.query.text", text.to_owned()),
        ])
        .start_with_context(tracer, &parent);
    if timing.failed {
        span.set_status(Status::error("the statement failed"));
    }
    span.end_with_timestamp(end);
}

/// The meter of the OTLP metrics' export, once a subscriber with an exporter is installed.
static METER: std::sync::OnceLock<opentelemetry::metrics::Meter> = std::sync::OnceLock::new();

/// The running telemetry; [`Telemetry::shutdown`] flushes the spans and metrics not yet exported.
#[must_use = "keep it until the end, then call shutdown to flush the spans and metrics"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    meters: Option<SdkMeterProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and the metrics' last figures, and stops the
    /// exporters. Call it from outside the runtime's worker threads (the exports run on them),
    /// with the runtime still alive.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            eprintln!("techcredit-server: flushing spans: {error}");
        }
        if let Some(meters) = self.meters
            && let Err(error) = meters.shutdown()
        {
            eprintln!("techcredit-server: the last metrics were not exported: {error}");
        }
    }
}

/// Exports the pool's figures of `state` over OTLP as well, when metrics are exported (once
/// per process). Call it inside the runtime: the figures are read on it.
pub fn export_pool_figures(state: &rpc::AppState) {
    static EXPORTED: std::sync::Once = std::sync::Once::new();
    if let Some(meter) = METER.get() {
        EXPORTED.call_once(|| crate::metrics::export(meter, state.clone(), tokio::runtime::Handle::current()));
    }
}

/// Installs the global subscriber once (later calls only get a `Telemetry` without an
/// exporter: tests start many servers in one process). With an OTLP endpoint, call it inside
/// the tokio runtime.
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> Result<Telemetry, String> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let endpoint = |signal: &str| {
        let off = std::env::var(format!("OTEL_{signal}_EXPORTER")).is_ok_and(|v| v.trim() == "none");
        (!off).then(|| otlp_endpoint.map(str::to_owned).or_else(|| standard_endpoint(signal))).flatten()
    };
    let provider = endpoint("TRACES").as_deref().map(exporting_provider).transpose()?;
    let meters = endpoint("METRICS").as_deref().map(metering_provider).transpose()?;
    // One filter for every layer: what is logged is what is traced.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let text = (format == LogFormat::Text).then(|| {
        tracing_subscriber::fmt::layer().with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr)
    });
    let json = (format == LogFormat::Json)
        .then(|| tracing_subscriber::fmt::layer().json().flatten_event(true).with_writer(std::io::stderr));
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .with(
            provider.as_ref().map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("techcredit"))),
        )
        .try_init();
    if installed.is_err() {
        // A subscriber was installed before (another server in this process): its spans go
        // wherever that one sends them.
        if let Some(provider) = provider {
            let _ = provider.shutdown();
        }
        if let Some(meters) = meters {
            let _ = meters.shutdown();
        }
        return Ok(Telemetry { provider: None, meters: None });
    }
    if let Some(provider) = &provider {
        let _ = DATABASE_TRACER.set(provider.tracer("techcredit-database"));
    }
    if let Some(meters) = &meters {
        let meter = meters.meter("techcredit");
        rpc::metrics::export_to(&meter);
        let _ = METER.set(meter);
    }
    Ok(Telemetry { provider, meters })
}

/// The standard OpenTelemetry endpoint variables of `signal` (`TRACES`, `METRICS`), the
/// signal's own first.
fn standard_endpoint(signal: &str) -> Option<String> {
    [format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"), "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned()]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.trim().is_empty()))
}

/// The resource: the SDK reads `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`; without
/// either naming the service, it is `techcredit-server`.
fn resource() -> Resource {
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.trim().is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name="));
    let builder = Resource::builder();
    if named { builder.build() } else { builder.with_service_name("techcredit-server").build() }
}

/// A tracer provider that batches spans to the OTLP/gRPC collector at `endpoint`.
fn exporting_provider(endpoint: &str) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|error| format!("cannot set up the OTLP exporter for {endpoint}: {error}"))?;
    let on_runtime = OnRuntime {
        inner: Arc::new(exporter),
        runtime: tokio::runtime::Handle::current(),
        endpoint: endpoint.to_owned(),
        warning: Arc::new(Occasional::default()),
    };
    // The builder's default sampler follows OTEL_TRACES_SAMPLER(_ARG) (parent-based, always on
    // when unset).
    Ok(SdkTracerProvider::builder().with_batch_exporter(on_runtime).with_resource(resource()).build())
}

/// Runs the OTLP exporter's calls on the server's tokio runtime: the batch processor exports
/// from a thread of its own, where tonic (which needs a tokio reactor) cannot run.
struct OnRuntime {
    inner: Arc<opentelemetry_otlp::SpanExporter>,
    runtime: tokio::runtime::Handle,
    endpoint: String,
    warning: Arc<Occasional>,
}

/// A warning given at most once a minute.
#[derive(Debug, Default)]
pub struct Occasional {
    /// Unix seconds of the last warning (0: none yet).
    last: AtomicU64,
}

impl Occasional {
    /// Whether to warn now (and, if so, not again for a minute).
    pub fn due(&self) -> bool {
        const EVERY_SECONDS: u64 = 60;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let last = self.last.load(Ordering::Relaxed);
        now.saturating_sub(last) >= EVERY_SECONDS
            && self.last.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }
}

impl fmt::Debug for OnRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnRuntime").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl SpanExporter for OnRuntime {
    fn export(&self, batch: Vec<SpanData>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let inner = self.inner.clone();
        let spans = batch.len();
        let task = self.runtime.spawn(async move { inner.export(batch).await });
        let (endpoint, warning) = (self.endpoint.clone(), self.warning.clone());
        async move {
            let result = task.await.unwrap_or_else(|error| Err(OTelSdkError::InternalFailure(error.to_string())));
            if let Err(error) = &result
                && warning.due()
            {
                // Outside every span: this event must not become part of a trace it reports on.
                tracing::warn!(
                    parent: None,
                    endpoint = %endpoint,
                    spans,
                    error = %error,
                    "cannot export spans to the OpenTelemetry collector (the server goes on; warned at most once a minute)"
                );
            }
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}

/// A meter provider that pushes the metrics to the OTLP/gRPC collector at `endpoint`, from the
/// SDK's reader thread, every `OTEL_METRIC_EXPORT_INTERVAL` (cumulative temporality).
fn metering_provider(endpoint: &str) -> Result<SdkMeterProvider, String> {
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|error| format!("cannot set up the OTLP metrics exporter for {endpoint}: {error}"))?;
    let on_runtime = MetricsOnRuntime {
        inner: exporter,
        runtime: tokio::runtime::Handle::current(),
        endpoint: endpoint.to_owned(),
        warning: Occasional::default(),
    };
    Ok(SdkMeterProvider::builder().with_periodic_exporter(on_runtime).with_resource(resource()).build())
}

/// The OTLP metrics exporter, polled inside the server's tokio runtime: the SDK's reader
/// exports from a thread of its own, where tonic could neither reach a reactor nor spawn.
struct MetricsOnRuntime {
    inner: opentelemetry_otlp::MetricExporter,
    runtime: tokio::runtime::Handle,
    endpoint: String,
    warning: Occasional,
}

impl fmt::Debug for MetricsOnRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsOnRuntime").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

/// A future polled with `runtime` entered: what it spawns and the sockets and timers it
/// makes are the runtime's, driven by the runtime's threads.
struct InRuntime<'a> {
    runtime: &'a tokio::runtime::Handle,
    future: std::pin::Pin<Box<dyn std::future::Future<Output = OTelSdkResult> + Send + 'a>>,
}

impl std::future::Future for InRuntime<'_> {
    type Output = OTelSdkResult;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<OTelSdkResult> {
        let _inside = self.runtime.enter();
        self.future.as_mut().poll(cx)
    }
}

impl PushMetricExporter for MetricsOnRuntime {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = InRuntime { runtime: &self.runtime, future: Box::pin(self.inner.export(metrics)) }.await;
        if let Err(error) = &result
            && self.warning.due()
        {
            // Outside every span, as the spans' warning.
            tracing::warn!(
                parent: None,
                endpoint = %self.endpoint,
                error = %error,
                "cannot export metrics to the OpenTelemetry collector (the server goes on; warned at most once a minute)"
            );
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}
