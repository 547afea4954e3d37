//! Logging and tracing. Structured `tracing` events go to stderr, as text (coloured only on
//! a terminal) or JSON lines; the filter comes from `RUST_LOG` (default `info`, with the
//! database driver's notices at `warn`). Spans are exported over OTLP/gRPC (batched) when an
//! endpoint is configured: `otlp_endpoint` (`TECHCREDIT__OTLP_ENDPOINT`), or the standard
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`; `https://` endpoints
//! speak TLS with the system's roots. The rest of the standard configuration is the SDK's:
//! `OTEL_SERVICE_NAME` (default here `techcredit-server`), `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`. A collector that cannot be reached
//! is logged as a warning, at most once a minute, and never stops the server. Every
//! authenticated call is one span, a child of the caller's trace when the call carries W3C
//! trace context (`traceparent`), see `rpc::auth`.

use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
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

/// The running telemetry; [`Telemetry::shutdown`] flushes the spans not yet exported.
#[must_use = "keep it until the end, then call shutdown to flush the spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter. Call it from outside the
    /// runtime's worker threads (the export runs on them), with the runtime still alive.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            eprintln!("techcredit-server: flushing spans: {error}");
        }
    }
}

/// Installs the global subscriber once (later calls only get a `Telemetry` without an
/// exporter: tests start many servers in one process). With an OTLP endpoint, call it inside
/// the tokio runtime.
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> Result<Telemetry, String> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let endpoint = otlp_endpoint.map(str::to_owned).or_else(standard_endpoint);
    let provider = endpoint.as_deref().map(exporting_provider).transpose()?;
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
        return Ok(Telemetry { provider: None });
    }
    if let Some(provider) = &provider {
        let _ = DATABASE_TRACER.set(provider.tracer("techcredit-database"));
    }
    Ok(Telemetry { provider })
}

/// The standard OpenTelemetry endpoint variables, the signal's own first.
fn standard_endpoint() -> Option<String> {
    ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"]
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
        last_warned: Arc::new(AtomicU64::new(0)),
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
    /// Unix seconds of the last warning about a failed export (0: none yet).
    last_warned: Arc<AtomicU64>,
}

/// How often a failing collector is warned about.
const WARN_EVERY_SECONDS: u64 = 60;

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
        let (endpoint, last_warned) = (self.endpoint.clone(), self.last_warned.clone());
        async move {
            let result = task.await.unwrap_or_else(|error| Err(OTelSdkError::InternalFailure(error.to_string())));
            if let Err(error) = &result {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                let last = last_warned.load(Ordering::Relaxed);
                if now.saturating_sub(last) >= WARN_EVERY_SECONDS
                    && last_warned.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
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
