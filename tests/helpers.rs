#![allow(clippy::expect_used, clippy::unwrap_used)]

//! Test harness: `spawn_app` starts a real server on an ephemeral port with a fresh
//! database — a SQLite file in a temporary directory, or a new PostgreSQL database when
//! `TEST_DATABASE_URL` names a server — and hands out authenticated tonic clients.
//! Quiet unless `TEST_LOG` is set.

pub mod certs;

use std::path::{Path, PathBuf};

use proto::v1::admin_service_client::AdminServiceClient;
use proto::v1::loan_application_service_client::LoanApplicationServiceClient;
use proto::v1::risk_pool_service_client::RiskPoolServiceClient;
use proto::v1::settlement_service_client::SettlementServiceClient;
use sea_orm::{ConnectionTrait, Database};
use server::{Application, LogFormat, Settings};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Adds `authorization: Bearer <key>` to every call (or nothing, for `None`).
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<tonic::metadata::Ascii>>);

impl Bearer {
    /// Sends `value` as the authorization header.
    pub fn new(value: MetadataValue<tonic::metadata::Ascii>) -> Bearer {
        Bearer(Some(value))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A client channel with credentials.
pub type Authed = InterceptedService<Channel, Bearer>;

/// Where a test's database lives.
#[derive(Debug, Clone)]
pub enum TestDatabase {
    /// A SQLite file inside the test's data directory.
    Sqlite,
    /// A PostgreSQL database made for this test.
    Postgres {
        /// Its URL.
        url: String,
        /// The same database through a transaction-pooling PgBouncer, which the test's
        /// servers use when `TEST_DATABASE_POOLER` (host:port) is set.
        pooled: Option<String>,
    },
}

impl TestDatabase {
    /// The database's URL: the PostgreSQL database's, or the SQLite file in `data_dir`.
    pub fn url(&self, data_dir: &std::path::Path) -> String {
        match self {
            TestDatabase::Sqlite => store::sqlite_url(data_dir),
            TestDatabase::Postgres { url, .. } => url.clone(),
        }
    }
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// Address the server listens on.
    pub address: std::net::SocketAddr,
    /// The bootstrap administrator key.
    pub admin_key: String,
    /// The settings it runs with (data dir, database URL).
    pub settings: Settings,
    /// The database behind it.
    pub database: TestDatabase,
    /// Where the web dashboard listens, when started with one.
    pub dashboard: Option<std::net::SocketAddr>,
    /// Where the Prometheus endpoint listens, when started with one.
    pub metrics: Option<std::net::SocketAddr>,
    channel: Channel,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    _data_dir: std::sync::Arc<TempDir>,
}

/// Makes a fresh database for a test: SQLite by default, PostgreSQL with `TEST_DATABASE_URL`.
pub async fn fresh_database() -> TestDatabase {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        return TestDatabase::Sqlite;
    };
    let name = format!("techcredit_test_{}", random_hex(8));
    let admin = Database::connect(admin_url.as_str()).await.expect("connect to TEST_DATABASE_URL");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
    admin.close().await.ok();
    let (base, _) = admin_url.rsplit_once('/').expect("TEST_DATABASE_URL ends with /dbname");
    let pooled = std::env::var("TEST_DATABASE_POOLER").ok().map(|pooler| {
        let (scheme, rest) = base.split_once("://").expect("TEST_DATABASE_URL is a URL");
        let user = rest.rsplit_once('@').map_or("", |(user, _)| user);
        format!("{scheme}://{user}@{pooler}/{name}")
    });
    TestDatabase::Postgres { url: format!("{base}/{name}"), pooled }
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("randomness");
    hex::encode(buffer)
}

/// Settings of a test server on port 0 with `database` and `data_dir`.
pub fn test_settings(database: &TestDatabase, data_dir: PathBuf) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir,
        database_url: match database {
            TestDatabase::Sqlite => None,
            TestDatabase::Postgres { url, pooled } => {
                Some(server::DatabaseUrl::new(pooled.clone().unwrap_or_else(|| url.clone())))
            }
        },
        database_max_connections: 8,
        database_read_url: None,
        database_transaction_pooling: matches!(database, TestDatabase::Postgres { pooled: Some(_), .. }),
        policy_file: None,
        migrate_on_start: true,
        log_format: LogFormat::Text,
        shutdown_grace_seconds: 5,
        otlp_endpoint: None,
        clock: "system".to_owned(),
        dashboard_listen: None,
        metrics_listen: None,
        dashboard_session_minutes: 30,
        max_in_flight_calls: 512,
        max_message_bytes: 4 * 1024 * 1024,
        call_timeout_seconds: 120,
        audit_seal_seconds: 1,
        tls_cert_file: None,
        tls_key_file: None,
        tls_client_ca_file: None,
        tls_require_client_cert: false,
    }
}

/// Starts a server with a fresh database.
pub async fn spawn_app() -> TestApp {
    let database = fresh_database().await;
    let data_dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let settings = test_settings(&database, data_dir.path().to_path_buf());
    start(settings, database, data_dir, None).await
}

/// Starts a server with a fresh database and a simulated business clock starting on `date`
/// ("YYYY-MM-DD"), moved with `AdminService.AdvanceBusinessDate`.
pub async fn spawn_app_on(date: &str) -> TestApp {
    let database = fresh_database().await;
    let data_dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut settings = test_settings(&database, data_dir.path().to_path_buf());
    settings.clock = format!("simulated:{date}");
    start(settings, database, data_dir, None).await
}

/// Starts a server with a fresh database and settings changed by `change`.
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    let database = fresh_database().await;
    let data_dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut settings = test_settings(&database, data_dir.path().to_path_buf());
    change(&mut settings);
    start(settings, database, data_dir, None).await
}

/// Starts a server on `database` (made by the caller) with settings changed by `change`.
pub async fn spawn_app_on_database(database: TestDatabase, change: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut settings = test_settings(&database, data_dir.path().to_path_buf());
    change(&mut settings);
    start(settings, database, data_dir, None).await
}

/// Starts a TLS server: `change` names the certificate files (written under `data_dir`, which
/// it is given); the harness's own channel speaks TLS with `client`.
pub async fn spawn_tls_app(
    change: impl FnOnce(&mut Settings, &Path),
    client: tonic::transport::ClientTlsConfig,
) -> TestApp {
    let database = fresh_database().await;
    let data_dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut settings = test_settings(&database, data_dir.path().to_path_buf());
    change(&mut settings, data_dir.path());
    start_with(settings, database, data_dir, None, Some(client)).await
}

/// `channel` with `key` on every call.
pub fn with_key(channel: Channel, key: &str) -> Authed {
    InterceptedService::new(channel, Bearer(Some(format!("Bearer {key}").parse().expect("ascii key"))))
}

/// Starts a server with a fresh database, a simulated clock starting on `date`, and the web
/// dashboard on an ephemeral port (`TestApp::dashboard`).
pub async fn spawn_app_with_dashboard_on(date: &str) -> TestApp {
    let database = fresh_database().await;
    let data_dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut settings = test_settings(&database, data_dir.path().to_path_buf());
    settings.clock = format!("simulated:{date}");
    settings.dashboard_listen = Some("127.0.0.1:0".parse().expect("address"));
    start(settings, database, data_dir, None).await
}

/// Starts a server with a fresh database, the policy document `policy` (TOML) and a
/// simulated business clock starting on `date`.
pub async fn spawn_app_with_policy_on(policy: &str, date: &str) -> TestApp {
    let database = fresh_database().await;
    let data_dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let path = data_dir.path().join("policy.toml");
    std::fs::write(&path, policy).expect("write policy");
    let mut settings = test_settings(&database, data_dir.path().to_path_buf());
    settings.policy_file = Some(path);
    settings.clock = format!("simulated:{date}");
    start(settings, database, data_dir, None).await
}

/// Starts a server with a fresh database and the policy document `policy` (TOML).
pub async fn spawn_app_with_policy(policy: &str) -> TestApp {
    let database = fresh_database().await;
    let data_dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let path = data_dir.path().join("policy.toml");
    std::fs::write(&path, policy).expect("write policy");
    let mut settings = test_settings(&database, data_dir.path().to_path_buf());
    settings.policy_file = Some(path);
    start(settings, database, data_dir, None).await
}

async fn start(
    settings: Settings,
    database: TestDatabase,
    data_dir: std::sync::Arc<TempDir>,
    admin_key: Option<String>,
) -> TestApp {
    start_with(settings, database, data_dir, admin_key, None).await
}

async fn start_with(
    settings: Settings,
    database: TestDatabase,
    data_dir: std::sync::Arc<TempDir>,
    admin_key: Option<String>,
    tls: Option<tonic::transport::ClientTlsConfig>,
) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = server::telemetry::init(LogFormat::Text, None);
    }
    let application = Application::build(&settings).await.expect("server builds");
    let address = application.local_addr();
    let dashboard = application.dashboard_addr();
    let metrics = application.metrics_addr();
    let admin_key = admin_key
        .or_else(|| application.bootstrap_key().map(str::to_owned))
        .expect("a fresh database makes a bootstrap key");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        application
            .run_until_stopped(async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
    });
    let channel = match tls {
        None => Channel::from_shared(format!("http://{address}")).expect("uri"),
        Some(tls) => Channel::from_shared(format!("https://{address}")).expect("uri").tls_config(tls).expect("tls"),
    }
    .connect()
    .await
    .expect("connect to test server");
    TestApp {
        address,
        admin_key,
        settings,
        database,
        dashboard,
        metrics,
        channel,
        stop: Some(stop),
        task: Some(task),
        _data_dir: data_dir,
    }
}

impl TestApp {
    /// Stops the server gracefully and starts it again on the same database.
    pub async fn restart(mut self) -> TestApp {
        self.stop_server().await;
        let mut settings = self.settings.clone();
        settings.listen = "127.0.0.1:0".parse().expect("address");
        start(settings, self.database.clone(), self._data_dir.clone(), Some(self.admin_key.clone())).await
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop_server(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task ends cleanly");
        }
    }

    /// Moves the simulated business date to `date` ("YYYY-MM-DD").
    pub async fn advance_to(&self, date: &str) {
        self.admin()
            .advance_business_date(proto::v1::AdvanceBusinessDateRequest {
                request_id: format!("advance-to-{date}"),
                business_date: date.to_owned(),
            })
            .await
            .expect("the simulated clock moves forward");
    }

    /// A raw channel without credentials.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    fn authed(&self, key: Option<&str>) -> Authed {
        let value = key.map(|k| format!("Bearer {k}").parse().expect("ascii key"));
        InterceptedService::new(self.channel.clone(), Bearer(value))
    }

    /// Admin service client using `key` (`None`: no credentials).
    pub fn admin_as(&self, key: Option<&str>) -> AdminServiceClient<Authed> {
        AdminServiceClient::new(self.authed(key))
    }

    /// Admin service client with the bootstrap admin key.
    pub fn admin(&self) -> AdminServiceClient<Authed> {
        self.admin_as(Some(&self.admin_key.clone()))
    }

    /// Loan application service client using `key`.
    pub fn loans_as(&self, key: &str) -> LoanApplicationServiceClient<Authed> {
        LoanApplicationServiceClient::new(self.authed(Some(key)))
    }

    /// Risk pool service client using `key`.
    pub fn pool_as(&self, key: &str) -> RiskPoolServiceClient<Authed> {
        RiskPoolServiceClient::new(self.authed(Some(key)))
    }

    /// Settlement service client using `key`.
    pub fn settlement_as(&self, key: &str) -> SettlementServiceClient<Authed> {
        SettlementServiceClient::new(self.authed(Some(key)))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The address a `techcredit-server` process (started with piped stdout and
/// `--listen 127.0.0.1:0`) says it listens on.
pub fn process_address(child: &mut std::process::Child) -> String {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().expect("the process's stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the process's stdout");
        if let Some(found) = line.strip_prefix("techcredit-server listening on ") {
            return found.trim().to_owned();
        }
    }
    panic!("the server process ended without printing its address")
}
