//! Tracing: a `techcredit-server` process with `otlp_endpoint` set exports one span per
//! call to an OTLP/gRPC collector (here a real tonic collector in the test), as a child of
//! the W3C trace context the caller sent, and flushes what it holds when it stops.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use proto::v1 as pb;
use tests::{TestDatabase, fresh_database};

/// A collector that keeps every export it receives.
#[derive(Debug, Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.received.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_SPAN_ID: &str = "b7ad6b7169203331";

#[tokio::test]
async fn calls_are_exported_as_spans_of_the_callers_trace() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_address = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_e2e-server"));
    command
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("TECHCREDIT__OTLP_ENDPOINT", format!("http://{collector_address}"))
        .env("RUST_LOG", "info")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let TestDatabase::Postgres { url } = fresh_database().await {
        command.env("DATABASE_URL", url);
    }
    let mut child = command.spawn().expect("start server process");
    let address = tests::process_address(&mut child);
    let admin_key = std::fs::read_to_string(dir.path().join("bootstrap-admin.key")).unwrap();

    let channel = tonic::transport::Channel::from_shared(format!("http://{address}")).unwrap().connect().await.unwrap();
    let mut admin = proto::v1::admin_service_client::AdminServiceClient::new(channel);
    let mut request = tonic::Request::new(pb::ListBanksRequest::default());
    request.metadata_mut().insert("authorization", format!("Bearer {}", admin_key.trim()).parse().unwrap());
    request.metadata_mut().insert("traceparent", format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01").parse().unwrap());
    admin.list_banks(request).await.expect("list banks");

    // SIGTERM: the server drains, stops, and flushes the spans it still holds.
    let stopped = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");

    let received = collector.received.lock().unwrap().clone();
    let resource_spans: Vec<_> = received.iter().flat_map(|r| r.resource_spans.iter()).collect();
    let service_names: Vec<String> = resource_spans
        .iter()
        .filter_map(|r| r.resource.as_ref())
        .flat_map(|resource| resource.attributes.iter())
        .filter(|attribute| attribute.key == "service.name")
        .filter_map(|attribute| match attribute.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(name)) => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert!(service_names.iter().all(|name| name == "techcredit-server") && !service_names.is_empty());
    let spans: Vec<_> = resource_spans.iter().flat_map(|r| r.scope_spans.iter()).flat_map(|s| s.spans.iter()).collect();
    let call = spans
        .iter()
        .find(|span| span.name == "/techcredit.v1.AdminService/ListBanks")
        .unwrap_or_else(|| panic!("no span of the call among {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>()));
    assert_eq!(hex(&call.trace_id), TRACE_ID, "the call continues the caller's trace");
    assert_eq!(hex(&call.parent_span_id), PARENT_SPAN_ID, "the caller's span is its parent");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
