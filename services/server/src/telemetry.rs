//! Logging and tracing. Structured `tracing` events go to stderr, as text or JSON lines; the
//! filter comes from `RUST_LOG` (default `info`, with the database driver's notices at
//! `warn`). When `otlp_endpoint` is set, spans are also exported over OTLP/gRPC (batched) to
//! that collector, as service `techcredit-server`; every authenticated call is one span, a
//! child of the caller's trace when the call carries W3C trace context (`traceparent`), see
//! `rpc::auth`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

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
    let provider = otlp_endpoint.map(exporting_provider).transpose()?;
    // One filter for every layer: what is logged is what is traced.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let text = (format == LogFormat::Text).then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
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
    Ok(Telemetry { provider })
}

/// A tracer provider that batches spans to the OTLP/gRPC collector at `endpoint`.
fn exporting_provider(endpoint: &str) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|error| format!("cannot set up the OTLP exporter for {endpoint}: {error}"))?;
    let on_runtime = OnRuntime { inner: Arc::new(exporter), runtime: tokio::runtime::Handle::current() };
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(on_runtime)
        .with_resource(Resource::builder().with_service_name("techcredit-server").build())
        .build())
}

/// Runs the OTLP exporter's calls on the server's tokio runtime: the batch processor exports
/// from a thread of its own, where tonic (which needs a tokio reactor) cannot run.
struct OnRuntime {
    inner: Arc<opentelemetry_otlp::SpanExporter>,
    runtime: tokio::runtime::Handle,
}

impl fmt::Debug for OnRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnRuntime").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl SpanExporter for OnRuntime {
    fn export(&self, batch: Vec<SpanData>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let inner = self.inner.clone();
        let task = self.runtime.spawn(async move { inner.export(batch).await });
        async move { task.await.unwrap_or_else(|error| Err(OTelSdkError::InternalFailure(error.to_string()))) }
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
