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
        .env("TECHCREDIT__LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
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
    // A refused call: its span has status ERROR, with the gRPC code and the reason.
    let mut refused = tonic::Request::new(pb::GetBankRequest { name: "banks/nowhere".into() });
    refused.metadata_mut().insert("authorization", format!("Bearer {}", admin_key.trim()).parse().unwrap());
    let missing = admin.get_bank(refused).await.unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let mut stranger = tonic::Request::new(pb::ListBanksRequest::default());
    stranger.metadata_mut().insert("authorization", "Bearer not-a-key".parse().unwrap());
    assert_eq!(admin.list_banks(stranger).await.unwrap_err().code(), tonic::Code::Unauthenticated);

    // The container health check: the running server answers SERVING; nothing listening, exit 1.
    let probe = |target: &str| {
        Command::new(env!("CARGO_BIN_EXE_e2e-server"))
            .args(["health", "--address", target])
            .env_remove("TECHCREDIT__OTLP_ENDPOINT")
            .output()
            .unwrap()
    };
    let healthy = probe(&address);
    assert!(healthy.status.success(), "{healthy:?}");
    assert!(String::from_utf8_lossy(&healthy.stdout).contains("SERVING"));
    let nobody = probe("127.0.0.1:9");
    assert_eq!(nobody.status.code(), Some(1), "{nobody:?}");

    // SIGTERM: the server drains, stops, and flushes the spans it still holds.
    let stopped = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    assert!(output.status.success(), "{:?}", output.status);

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
    assert_eq!(attribute(call, "rpc.grpc.status_code"), Some(Value::IntValue(0)));
    assert_eq!(attribute(call, "rpc.method"), Some(Value::StringValue("ListBanks".into())));
    assert_ne!(call.status.as_ref().map(|s| s.code), Some(2), "an answered call is not an error");
    let by_name = |name: &str| spans.iter().filter(|s| s.name == name).copied().collect::<Vec<_>>();
    let not_found = by_name("/techcredit.v1.AdminService/GetBank");
    let not_found = not_found.first().expect("the refused call's span");
    assert_eq!(not_found.status.as_ref().map(|s| s.code), Some(2), "span status ERROR");
    assert_eq!(attribute(not_found, "rpc.grpc.status_code"), Some(Value::IntValue(5)));
    assert_eq!(attribute(not_found, "error.reason"), Some(Value::StringValue("NOT_FOUND".into())));
    let unauthenticated = by_name("/techcredit.v1.AdminService/ListBanks");
    assert!(
        unauthenticated.iter().any(|s| attribute(s, "rpc.grpc.status_code") == Some(Value::IntValue(16))
            && s.status.as_ref().map(|s| s.code) == Some(2)),
        "the call without a valid key is an ERROR span too"
    );

    // The call's log event carries the real status and the trace id.
    let stderr = String::from_utf8_lossy(&output.stderr);
    let calls: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["message"] == "call")
        .collect();
    let listed = calls
        .iter()
        .find(|event| event["method"] == "/techcredit.v1.AdminService/ListBanks" && event["grpc_status"] == "OK")
        .unwrap_or_else(|| panic!("no call event for ListBanks with OK in {calls:?}"));
    assert_eq!(listed["trace_id"], TRACE_ID);
    assert!(calls.iter().any(|e| e["grpc_status"] == "NOT_FOUND" && e["reason"] == "NOT_FOUND"), "{calls:?}");
    assert!(calls.iter().any(|e| e["grpc_status"] == "UNAUTHENTICATED"), "{calls:?}");
    assert!(!stderr.contains("\u{1b}["), "no colours in a log that is not a terminal");
}

/// The value of a span's attribute.
fn attribute(span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str) -> Option<Value> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref()).and_then(|v| v.value.clone())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The standard `OTEL_EXPORTER_OTLP_ENDPOINT` turns the export on; a collector that cannot
/// be reached is a warning in the log, and the server serves and stops as usual.
#[tokio::test]
async fn an_unreachable_collector_is_a_warning_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_e2e-server"));
    command
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
        .env("OTEL_SERVICE_NAME", "techcredit-test")
        .env("TECHCREDIT__LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env_remove("TECHCREDIT__OTLP_ENDPOINT")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
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
    admin.list_banks(request).await.expect("the server serves without its collector");
    let stopped = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings: Vec<&str> =
        stderr.lines().filter(|line| line.contains("cannot export spans to the OpenTelemetry collector")).collect();
    assert_eq!(warnings.len(), 1, "warned once: {stderr}");
    assert!(warnings[0].contains("127.0.0.1:9") && warnings[0].contains("WARN"), "{}", warnings[0]);
}
