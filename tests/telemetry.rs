//! Tracing: a `techcredit-server` process with `otlp_endpoint` set exports one span per
//! call to an OTLP/gRPC collector (here a real tonic collector in the test), as a child of
//! the W3C trace context the caller sent, and flushes what it holds when it stops.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{Metric, NumberDataPoint, metric::Data, number_data_point};
use proto::v1 as pb;
use tests::{TestDatabase, fresh_database};

/// A collector that keeps every export it receives (of spans or of metrics).
#[derive(Debug, Clone, Default)]
struct Collector<R> {
    received: Arc<Mutex<Vec<R>>>,
}

/// Serves `router` on an ephemeral loopback port; its address.
async fn serve(router: tonic::transport::server::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(router.serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)));
    address
}

#[tonic::async_trait]
impl TraceService for Collector<ExportTraceServiceRequest> {
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

/// A server process with JSON logs, with `env` set (and `unset` removed), running with its
/// address, admin key and a channel to it.
struct ServerProcess {
    child: std::process::Child,
    address: String,
    admin_key: String,
    channel: tonic::transport::Channel,
    _dir: Option<tempfile::TempDir>,
}

/// A server process on a fresh database and data directory.
async fn server_process(env: &[(&str, String)], unset: &[&str]) -> ServerProcess {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database().await;
    let mut server = server_process_on(dir.path(), &database, env, unset).await;
    server._dir = Some(dir);
    server
}

/// A server process on `database` with the data directory `dir` (the SQLite file's home).
async fn server_process_on(
    dir: &std::path::Path,
    database: &TestDatabase,
    env: &[(&str, String)],
    unset: &[&str],
) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_e2e-server"));
    command
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("TECHCREDIT__LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    for name in unset {
        command.env_remove(name);
    }
    if let TestDatabase::Postgres { url, .. } = database {
        command.env("DATABASE_URL", url);
    }
    let mut child = command.spawn().expect("start server process");
    let address = tests::process_address(&mut child);
    let admin_key = std::fs::read_to_string(dir.join("bootstrap-admin.key")).unwrap().trim().to_owned();
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}")).unwrap().connect().await.unwrap();
    ServerProcess { child, address, admin_key, channel, _dir: None }
}

/// SIGTERM, then the process's exit and what it wrote.
async fn stop(child: std::process::Child) -> std::process::Output {
    let stopped = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    output
}

#[tokio::test]
async fn calls_are_exported_as_spans_of_the_callers_trace() {
    let collector = Collector::<ExportTraceServiceRequest>::default();
    let collector_address =
        serve(tonic::transport::Server::builder().add_service(TraceServiceServer::new(collector.clone()))).await;

    let server = server_process(&[("TECHCREDIT__OTLP_ENDPOINT", format!("http://{collector_address}"))], &[]).await;
    let (child, address, admin_key, channel) = (server.child, server.address, server.admin_key, server.channel);
    let mut admin = proto::v1::admin_service_client::AdminServiceClient::new(channel);
    let mut request = tonic::Request::new(pb::ListBanksRequest::default());
    request.metadata_mut().insert("authorization", format!("Bearer {admin_key}").parse().unwrap());
    request.metadata_mut().insert("traceparent", format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01").parse().unwrap());
    admin.list_banks(request).await.expect("list banks");
    // A refused call: its span has status ERROR, with the gRPC code and the reason.
    let mut refused = tonic::Request::new(pb::GetBankRequest { name: "banks/nowhere".into() });
    refused.metadata_mut().insert("authorization", format!("Bearer {admin_key}").parse().unwrap());
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
    let output = stop(child).await;

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
    assert_eq!(attribute(&call.attributes, "rpc.grpc.status_code"), Some(Value::IntValue(0)));
    assert_eq!(attribute(&call.attributes, "rpc.method"), Some(Value::StringValue("ListBanks".into())));
    assert_ne!(call.status.as_ref().map(|s| s.code), Some(2), "an answered call is not an error");
    // Its database statements are CLIENT spans under it, timed within it, with the SQL's
    // placeholders and never its values.
    let statements: Vec<_> = spans.iter().filter(|span| span.parent_span_id == call.span_id).collect();
    assert!(
        !statements.is_empty(),
        "no database span under the call among {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    for statement in &statements {
        assert_eq!(statement.kind, opentelemetry_proto::tonic::trace::v1::span::SpanKind::Client as i32);
        assert_eq!(statement.trace_id, call.trace_id);
        assert!(statement.start_time_unix_nano >= call.start_time_unix_nano);
        assert!(statement.end_time_unix_nano <= call.end_time_unix_nano);
        assert!(
            matches!(attribute(&statement.attributes, "db.system.name"), Some(Value::StringValue(s)) if s == "sqlite" || s == "postgresql")
        );
    }
    assert!(
        statements.iter().any(|s| attribute(&s.attributes, "db.operation.name") == Some(Value::StringValue("SELECT".into()))
            && matches!(attribute(&s.attributes, "db.query.text"), Some(Value::StringValue(sql)) if sql.contains("banks"))),
        "the banks are read in a SELECT span"
    );
    let by_name = |name: &str| spans.iter().filter(|s| s.name == name).copied().collect::<Vec<_>>();
    let not_found = by_name("/techcredit.v1.AdminService/GetBank");
    let not_found = not_found.first().expect("the refused call's span");
    assert_eq!(not_found.status.as_ref().map(|s| s.code), Some(2), "span status ERROR");
    assert_eq!(attribute(&not_found.attributes, "rpc.grpc.status_code"), Some(Value::IntValue(5)));
    assert_eq!(attribute(&not_found.attributes, "error.reason"), Some(Value::StringValue("NOT_FOUND".into())));
    let unauthenticated = by_name("/techcredit.v1.AdminService/ListBanks");
    assert!(
        unauthenticated.iter().any(|s| attribute(&s.attributes, "rpc.grpc.status_code") == Some(Value::IntValue(16))
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
fn attribute(attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Option<Value> {
    attributes.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref()).and_then(|v| v.value.clone())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The standard `OTEL_EXPORTER_OTLP_ENDPOINT` turns the export on; a collector that cannot
/// be reached is a warning in the log, and the server serves and stops as usual.
#[tokio::test]
async fn an_unreachable_collector_is_a_warning_not_a_failure() {
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9".to_owned()),
        ("OTEL_SERVICE_NAME", "techcredit-test".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200".to_owned()),
    ];
    let server = server_process(&env, &["TECHCREDIT__OTLP_ENDPOINT"]).await;
    let (child, admin_key, channel) = (server.child, server.admin_key, server.channel);
    let mut admin = proto::v1::admin_service_client::AdminServiceClient::new(channel);
    let mut request = tonic::Request::new(pb::ListBanksRequest::default());
    request.metadata_mut().insert("authorization", format!("Bearer {admin_key}").parse().unwrap());
    admin.list_banks(request).await.expect("the server serves without its collector");
    let output = stop(child).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings: Vec<&str> =
        stderr.lines().filter(|line| line.contains("cannot export spans to the OpenTelemetry collector")).collect();
    assert_eq!(warnings.len(), 1, "warned once: {stderr}");
    assert!(warnings[0].contains("127.0.0.1:9") && warnings[0].contains("WARN"), "{}", warnings[0]);
    // The metrics, pushed every 200 ms and once more on the way out, fail as often: one warning.
    let warnings: Vec<&str> =
        stderr.lines().filter(|line| line.contains("cannot export metrics to the OpenTelemetry collector")).collect();
    assert_eq!(warnings.len(), 1, "warned once: {stderr}");
    assert!(warnings[0].contains("127.0.0.1:9"), "{}", warnings[0]);
}

/// `GET /metrics` with a plain HTTP/1.1 request; the body.
async fn scrape(address: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The value of the sample `name{labels}` (labels as written, empty for none).
fn sample(text: &str, series: &str) -> Option<String> {
    text.lines().find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).map(str::to_owned))
}

/// fen as the position's money text ("8400000.00").
fn yuan(fen: &str) -> String {
    let fen: i64 = fen.parse().unwrap();
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// A book with figures in every gauge: the pool funded with 10,000,000.00, nbcb's two loans of
/// 2,400,000.00 and 3,000,000.00 covered, the first defaulted and its claim of 1,680,000.00
/// approved by two officers. The position as the auditor reads it, and the auditor's key.
async fn claimed_book(app: &tests::TestApp) -> (pb::PoolPosition, String) {
    let actors = crate::support::actors(app, "nbcb", "100000000.00").await;
    crate::support::fund_pool(app, &actors.finance, "10000000.00").await;
    let loan = crate::support::enrolled_pure_credit_loan(app, &actors, 401).await;
    crate::support::enrolled_pure_credit_loan(app, &actors, 402).await;
    crate::support::default_loan(app, &actors, &loan).await;
    let claim = crate::support::file(app, &actors, &loan).await;
    let second = crate::support::issue_key(app, pb::Role::RiskOfficer, "").await;
    app.settlement_as(&actors.officer).approve_claim(crate::support::approve(&claim, "m1")).await.unwrap();
    app.settlement_as(&second).approve_claim(crate::support::approve(&claim, "m2")).await.unwrap();
    (crate::support::position(app, &actors.auditor).await, actors.auditor)
}

#[tokio::test]
async fn the_metrics_endpoint_serves_call_durations_and_the_pool_s_figures_as_get_pool_position_has_them() {
    let app = tests::spawn_app_with(|s| s.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let (position, _) = claimed_book(&app).await;
    let text = scrape(app.metrics.expect("the endpoint is configured")).await;

    for (series, figure) in [
        ("techcredit_net_pool_assets_fen", &position.net_pool_assets),
        ("techcredit_covered_outstanding_fen", &position.covered_outstanding),
        ("techcredit_pool_exposure_fen", &position.pool_exposure),
        ("techcredit_headroom_fen", &position.headroom),
    ] {
        let value = sample(&text, series).unwrap_or_else(|| panic!("{series} missing in\n{text}"));
        assert_eq!(&yuan(&value), figure, "{series}");
    }
    let leverage: f64 = sample(&text, "techcredit_leverage").unwrap().parse().unwrap();
    assert!((leverage - position.leverage.parse::<f64>().unwrap()).abs() < 1e-6, "{leverage} vs {}", position.leverage);
    // The bank's own figures: 2,400,000.00 + 3,000,000.00 covered, 1,680,000.00 compensated this year.
    assert_eq!(sample(&text, "techcredit_bank_quota_used_fen{bank=\"nbcb\"}").as_deref(), Some("540000000"));
    assert_eq!(
        sample(&text, "techcredit_bank_compensation_this_year_fen{bank=\"nbcb\"}").as_deref(),
        Some("168000000")
    );
    let npl: f64 = sample(&text, "techcredit_bank_npl_ratio{bank=\"nbcb\"}").unwrap().parse().unwrap();
    assert!((npl - 2_400_000.0 / 5_400_000.0).abs() < 1e-9, "{npl}");
    // Calls by method and status: the two approvals answered OK.
    let approvals = "rpc_server_duration_milliseconds_count{rpc_service=\"techcredit.v1.SettlementService\",rpc_method=\"ApproveClaim\",rpc_grpc_status_code=\"0\"}";
    let count: u64 = sample(&text, approvals).unwrap_or_else(|| panic!("no {approvals} in\n{text}")).parse().unwrap();
    assert!(count >= 2, "{count}");
    assert!(text.contains("db_client_connections_usage{state=\"used\"}"), "{text}");
    // Every statement's latency, by operation: the calls above ran SELECTs and UPDATEs.
    for operation in ["SELECT", "UPDATE"] {
        let line = text
            .lines()
            .find(|l| {
                l.starts_with("db_client_operation_duration_seconds_count{")
                    && l.contains(&format!("db_operation_name=\"{operation}\""))
            })
            .unwrap_or_else(|| panic!("no {operation} statements in\n{text}"));
        let count: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(count >= 1, "{line}");
    }
}

#[tonic::async_trait]
impl MetricsService for Collector<ExportMetricsServiceRequest> {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.received.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse { partial_success: None }))
    }
}

/// The metrics of one export, by name.
fn metrics_of(export: &ExportMetricsServiceRequest) -> Vec<&Metric> {
    export.resource_metrics.iter().flat_map(|r| r.scope_metrics.iter()).flat_map(|s| s.metrics.iter()).collect()
}

/// A data point's attribute as text (strings as they are, integers in decimal).
fn text_attribute(attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Option<String> {
    match attribute(attributes, key)? {
        Value::StringValue(s) => Some(s),
        Value::IntValue(i) => Some(i.to_string()),
        _ => None,
    }
}

/// The gauge's or sum's data points.
fn points(metric: &Metric) -> &[NumberDataPoint] {
    match &metric.data {
        Some(Data::Gauge(gauge)) => &gauge.data_points,
        Some(Data::Sum(sum)) => &sum.data_points,
        _ => &[],
    }
}

/// The count of the histogram `name`'s data point whose attributes include `with`.
fn histogram_count(export: &ExportMetricsServiceRequest, name: &str, with: &[(&str, &str)]) -> u64 {
    metrics_of(export)
        .into_iter()
        .filter(|m| m.name == name)
        .filter_map(|m| match &m.data {
            Some(Data::Histogram(histogram)) => Some(histogram),
            _ => None,
        })
        .flat_map(|h| h.data_points.iter())
        .filter(|p| with.iter().all(|(key, value)| text_attribute(&p.attributes, key).as_deref() == Some(*value)))
        .map(|p| p.count)
        .sum()
}

/// The value of the gauge `name` (with the attribute `bank` when given), as integer or float.
fn gauge(export: &ExportMetricsServiceRequest, name: &str, bank: Option<&str>) -> Option<number_data_point::Value> {
    metrics_of(export)
        .into_iter()
        .filter(|m| m.name == name)
        .flat_map(points)
        .find(|p| text_attribute(&p.attributes, "bank").as_deref() == bank)
        .and_then(|p| p.value)
}

fn whole(value: Option<number_data_point::Value>) -> i64 {
    match value {
        Some(number_data_point::Value::AsInt(i)) => i,
        other => panic!("not an integer gauge: {other:?}"),
    }
}

fn float(value: Option<number_data_point::Value>) -> f64 {
    match value {
        Some(number_data_point::Value::AsDouble(f)) => f,
        other => panic!("not a float gauge: {other:?}"),
    }
}

#[tokio::test]
async fn metrics_are_pushed_over_otlp_with_the_calls_the_statements_and_the_pool_s_figures() {
    let mut app = tests::spawn_app().await;
    let (position, auditor) = claimed_book(&app).await;
    app.stop_server().await;

    let collector = Collector::<ExportMetricsServiceRequest>::default();
    let collector_address =
        serve(tonic::transport::Server::builder().add_service(MetricsServiceServer::new(collector.clone()))).await;
    // The same database, now served by a process of its own that pushes its metrics (the
    // signal's own endpoint variable; traces off) every 300 ms.
    let env = [
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", format!("http://{collector_address}")),
        ("OTEL_METRIC_EXPORT_INTERVAL", "300".to_owned()),
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
    ];
    let server = server_process_on(
        &app.settings.data_dir,
        &app.database,
        &env,
        &["TECHCREDIT__OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"],
    )
    .await;
    let (child, channel) = (server.child, server.channel);
    let mut pool = proto::v1::risk_pool_service_client::RiskPoolServiceClient::new(channel);
    let mut request = tonic::Request::new(pb::GetPoolPositionRequest::default());
    request.metadata_mut().insert("authorization", format!("Bearer {auditor}").parse().unwrap());
    assert_eq!(pool.get_pool_position(request).await.unwrap().into_inner().position.as_ref(), Some(&position));

    // Pushed while the server runs, not only when it stops.
    let call = [
        ("rpc.service", "techcredit.v1.RiskPoolService"),
        ("rpc.method", "GetPoolPosition"),
        ("rpc.grpc.status_code", "0"),
    ];
    let pushed = async {
        loop {
            let received = collector.received.lock().unwrap().clone();
            if let Some(export) = received.iter().find(|e| histogram_count(e, "rpc.server.duration", &call) >= 1) {
                return export.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    let export = tokio::time::timeout(std::time::Duration::from_secs(30), pushed)
        .await
        .expect("the call's duration is pushed within 30 s");
    let service = export.resource_metrics[0].resource.as_ref().unwrap();
    assert_eq!(text_attribute(&service.attributes, "service.name").as_deref(), Some("techcredit-server"));
    let units: Vec<(&str, &str)> = metrics_of(&export).iter().map(|m| (m.name.as_str(), m.unit.as_str())).collect();
    assert!(units.contains(&("rpc.server.duration", "ms")), "{units:?}");
    assert!(units.contains(&("db.client.operation.duration", "s")), "{units:?}");
    // The call read the position: its SELECTs are there, by the database's name.
    let system = if app.settings.database_url.is_some() { "postgresql" } else { "sqlite" };
    assert!(
        histogram_count(
            &export,
            "db.client.operation.duration",
            &[("db.operation.name", "SELECT"), ("db.system.name", system)]
        ) >= 1
    );
    let connections: Vec<String> = metrics_of(&export)
        .into_iter()
        .filter(|m| m.name == "db.client.connections.usage")
        .flat_map(points)
        .filter_map(|p| text_attribute(&p.attributes, "state"))
        .collect();
    assert!(connections.contains(&"used".to_owned()) && connections.contains(&"idle".to_owned()), "{connections:?}");

    // SIGTERM: the last figures are pushed as the server stops; they are the position's.
    let output = stop(child).await;
    let last = collector.received.lock().unwrap().last().cloned().unwrap();
    for (name, figure) in [
        ("techcredit_net_pool_assets_fen", &position.net_pool_assets),
        ("techcredit_covered_outstanding_fen", &position.covered_outstanding),
        ("techcredit_pool_exposure_fen", &position.pool_exposure),
        ("techcredit_headroom_fen", &position.headroom),
    ] {
        assert_eq!(&yuan(&whole(gauge(&last, name, None)).to_string()), figure, "{name}");
    }
    let leverage = float(gauge(&last, "techcredit_leverage", None));
    assert!((leverage - position.leverage.parse::<f64>().unwrap()).abs() < 1e-6, "{leverage} vs {}", position.leverage);
    assert_eq!(whole(gauge(&last, "techcredit_bank_quota_used_fen", Some("nbcb"))), 540_000_000);
    assert_eq!(whole(gauge(&last, "techcredit_bank_compensation_this_year_fen", Some("nbcb"))), 168_000_000);
    let npl = float(gauge(&last, "techcredit_bank_npl_ratio", Some("nbcb")));
    assert!((npl - 2_400_000.0 / 5_400_000.0).abs() < 1e-9, "{npl}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("cannot export"), "{stderr}");
}
