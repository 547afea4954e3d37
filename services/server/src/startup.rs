//! Building and running the server: policy, database, bootstrap key, listener, services,
//! health, reflection and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use domain::{Policy, PolicyError};
use proto::v1::{
    admin_service_server::AdminServiceServer, audit_service_server::AuditServiceServer,
    loan_application_service_server::LoanApplicationServiceServer, risk_pool_service_server::RiskPoolServiceServer,
    settlement_service_server::SettlementServiceServer,
};
use rpc::{AppState, AuthLayer, ShedLayer};
use store::{Store, StoreError};
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::settings::Settings;
use crate::tls::{Conn, DashboardListener, Tls};

/// Why the server could not start or run. Each prints as one line naming the problem.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The policy file is missing or invalid.
    #[error("policy file {path}: {source}")]
    Policy {
        /// The file.
        path: String,
        /// What is wrong.
        source: PolicyError,
    },
    /// The policy file cannot be read.
    #[error("policy file {path}: {source}")]
    PolicyUnreadable {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database cannot be reached or migrated.
    #[error("database {url}: {source}")]
    Database {
        /// Redacted URL.
        url: String,
        /// The failure.
        source: StoreError,
    },
    /// Migrations are pending and the server was told not to apply them.
    #[error("database {url} has {count} pending migration(s); run `techcredit-server migrate` first")]
    PendingMigrations {
        /// Redacted URL.
        url: String,
        /// How many.
        count: usize,
    },
    /// Another server process serves this SQLite data directory.
    #[error(
        "data directory {path} is in use by another techcredit-server (its lock file is held); one server per SQLite database"
    )]
    DataDirInUse {
        /// The data directory.
        path: String,
    },
    /// A file in the data directory cannot be written.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The listen address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The business clock cannot start.
    #[error("clock: {0}")]
    Clock(String),
    /// An offline check was pointed at a data directory without a database.
    #[error("there is no techcredit database in {path} (set --data-dir or DATABASE_URL to the server's database)")]
    NoDatabase {
        /// The data directory.
        path: String,
    },
    /// The TLS certificate, key or client CA cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The gRPC server failed.
    #[error("server failed: {0}")]
    Serve(String),
}

/// Loads the policy named by the settings, or the built-in default.
pub fn load_policy(settings: &Settings) -> Result<(Policy, String), StartupError> {
    match &settings.policy_file {
        None => Ok((Policy::default_policy(), domain::policy::DEFAULT_POLICY_TOML.to_owned())),
        Some(path) => {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|source| StartupError::PolicyUnreadable { path: shown.clone(), source })?;
            let policy = Policy::from_toml(&text).map_err(|source| StartupError::Policy { path: shown, source })?;
            Ok((policy, text))
        }
    }
}

fn database_url(settings: &Settings) -> Result<String, StartupError> {
    match &settings.database_url {
        Some(url) => Ok(url.expose().to_owned()),
        None => {
            std::fs::create_dir_all(&settings.data_dir)
                .map_err(|source| StartupError::DataDir { path: settings.data_dir.display().to_string(), source })?;
            Ok(store::sqlite_url(&settings.data_dir))
        }
    }
}

/// Connects to a database that must exist already (the offline checks): with the embedded
/// SQLite database, a data directory without one is an error, never a new empty database.
pub async fn connect_existing(settings: &Settings) -> Result<Store, StartupError> {
    if settings.database_url.is_none() {
        let file = settings.data_dir.join("techcredit.db");
        if !file.exists() {
            return Err(StartupError::NoDatabase { path: settings.data_dir.display().to_string() });
        }
    }
    connect(settings).await
}

/// Connects to the configured database.
pub async fn connect(settings: &Settings) -> Result<Store, StartupError> {
    let url = database_url(settings)?;
    let options = store::StoreOptions {
        max_connections: settings.database_max_connections,
        read_url: settings.database_read_url.as_ref().map(|url| url.expose().to_owned()),
        transaction_pooling: settings.database_transaction_pooling,
        observer: Some(crate::telemetry::statement_observer()),
    };
    Store::connect_with(&url, &options)
        .await
        .map_err(|source| StartupError::Database { url: store::redact_url(&url), source })
}

/// Applies pending migrations.
pub async fn migrate(settings: &Settings, store: &Store) -> Result<(), StartupError> {
    let url = store::redact_url(&database_url(settings)?);
    store.migrate().await.map_err(|source| StartupError::Database { url, source })
}

/// Where the bootstrap administrator key is written.
pub fn bootstrap_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("bootstrap-admin.key")
}

fn write_secret_file(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")
}

/// With the embedded SQLite database (no `database_url`, or a `sqlite:` one in the data
/// directory), takes the data directory's lock file for the life of the process: a second
/// server on the same directory stops at start-up instead of sharing the file.
fn lock_sqlite_data_dir(settings: &Settings) -> Result<Option<std::fs::File>, StartupError> {
    let embedded = settings.database_url.as_ref().is_none_or(|url| url.expose().starts_with("sqlite:"));
    if !embedded {
        return Ok(None);
    }
    let dir = &settings.data_dir;
    std::fs::create_dir_all(dir).map_err(|source| StartupError::DataDir { path: dir.display().to_string(), source })?;
    let path = dir.join("techcredit.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StartupError::DataDir { path: path.display().to_string(), source })?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(StartupError::DataDirInUse { path: dir.display().to_string() }),
        Err(std::fs::TryLockError::Error(source)) => {
            Err(StartupError::DataDir { path: path.display().to_string(), source })
        }
    }
}

/// On an empty key table, the bootstrap administrator key: stored in the same transaction
/// that writes its file, so that a file that cannot be written leaves nothing stored (and the
/// next start tries again), never a key nobody holds.
async fn bootstrap(settings: &Settings, store: &store::Store) -> Result<Option<String>, StartupError> {
    let database_error = |source| -> StartupError {
        match database_url(settings) {
            Ok(url) => StartupError::Database { url: store::redact_url(&url), source },
            Err(error) => error,
        }
    };
    let txn = store.begin_write().await.map_err(database_error)?;
    let Some((_, secret)) = store::api_keys::bootstrap_admin(&txn).await.map_err(database_error)? else {
        return Ok(None);
    };
    let dir = &settings.data_dir;
    std::fs::create_dir_all(dir).map_err(|source| StartupError::DataDir { path: dir.display().to_string(), source })?;
    let path = bootstrap_key_path(dir);
    // Written beside, then moved in place: a half-written file is never the key file.
    let partial = path.with_extension("key.partial");
    write_secret_file(&partial, secret.expose())
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|source| StartupError::DataDir { path: path.display().to_string(), source })?;
    txn.commit().await.map_err(|e| database_error(store::StoreError::from(e)))?;
    tracing::info!(path = %path.display(), "bootstrap admin key created");
    Ok(Some(secret.expose().to_owned()))
}

/// A built server, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    dashboard: Option<(TcpListener, SocketAddr)>,
    metrics: Option<(TcpListener, SocketAddr)>,
    session_ttl: Duration,
    max_in_flight: usize,
    max_message_bytes: usize,
    call_timeout: Duration,
    seal_every: Duration,
    tls: Option<Tls>,
    /// Held while serving an embedded SQLite database: one server per data directory.
    _data_dir_lock: Option<std::fs::File>,
    state: AppState,
    grace: Duration,
    bootstrap_key: Option<String>,
}

impl Application {
    /// Loads the policy, connects and migrates the database, makes the bootstrap key on an
    /// empty database, and binds the listener (port 0 picks a free port).
    pub async fn build(settings: &Settings) -> Result<Application, StartupError> {
        let (policy, policy_document) = load_policy(settings)?;
        let tls = match settings.tls_files().map_err(StartupError::Tls)? {
            Some(files) => Some(Tls::load(files).map_err(StartupError::Tls)?),
            None => None,
        };
        let data_dir_lock = lock_sqlite_data_dir(settings)?;
        let clock = settings.clock_mode().map_err(StartupError::Clock)?;
        let store = connect(settings).await?.with_clock(clock);
        if settings.migrate_on_start {
            migrate(settings, &store).await?;
        } else {
            let url = store::redact_url(&database_url(settings)?);
            let pending = store
                .pending_migrations()
                .await
                .map_err(|source| StartupError::Database { url: url.clone(), source })?;
            if !pending.is_empty() {
                return Err(StartupError::PendingMigrations { url, count: pending.len() });
            }
        }
        let bootstrap_key = bootstrap(settings, &store).await?;
        let now = start_clock(&store, clock).await.map_err(|e| StartupError::Clock(e.to_string()))?;
        if clock.is_simulated() {
            tracing::warn!(business_date = %now.today, "the business clock is simulated: dates move only by AdvanceBusinessDate");
        }
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|source| StartupError::Listen { address: settings.listen, source })?;
        let local_addr =
            listener.local_addr().map_err(|source| StartupError::Listen { address: settings.listen, source })?;
        let dashboard = match settings.dashboard_listen {
            Some(address) => {
                let listener =
                    TcpListener::bind(address).await.map_err(|source| StartupError::Listen { address, source })?;
                let bound = listener.local_addr().map_err(|source| StartupError::Listen { address, source })?;
                Some((listener, bound))
            }
            None => None,
        };
        let metrics = match settings.metrics_listen {
            Some(address) => {
                let listener =
                    TcpListener::bind(address).await.map_err(|source| StartupError::Listen { address, source })?;
                let bound = listener.local_addr().map_err(|source| StartupError::Listen { address, source })?;
                Some((listener, bound))
            }
            None => None,
        };
        tracing::info!(
            policy_version = %policy.version,
            engine = ?store.engine(),
            "server built"
        );
        Ok(Application {
            listener,
            local_addr,
            dashboard,
            metrics,
            _data_dir_lock: data_dir_lock,
            max_in_flight: settings.max_in_flight_calls.max(1),
            max_message_bytes: settings.max_message_bytes.max(64 * 1024),
            call_timeout: Duration::from_secs(settings.call_timeout_seconds.max(1)),
            seal_every: Duration::from_secs(settings.audit_seal_seconds.max(1)),
            tls,
            session_ttl: Duration::from_secs(settings.dashboard_session_minutes.saturating_mul(60)),
            state: AppState { store, policy: Arc::new(policy), policy_document: Arc::from(policy_document) },
            grace: Duration::from_secs(settings.shutdown_grace_seconds),
            bootstrap_key,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The bootstrap administrator key, when this start created it (shown once).
    pub fn bootstrap_key(&self) -> Option<&str> {
        self.bootstrap_key.as_deref()
    }

    /// Where the Prometheus endpoint listens, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, address)| *address)
    }

    /// Where the dashboard listens, when configured.
    pub fn dashboard_addr(&self) -> Option<SocketAddr> {
        self.dashboard.as_ref().map(|(_, address)| *address)
    }

    /// Whether the listeners serve TLS.
    pub fn serves_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The shared state (for tests and tools that run beside the server).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves; then reports NOT_SERVING, stops taking calls and
    /// gives in-flight calls the grace period to finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let (reporter, health_service) = tonic_health::server::health_reporter();
        set_all(&reporter, ServingStatus::Serving).await;
        // For liveness probes: SERVING while the process serves, whatever the database does
        // (readiness asks for "" or a service, which follow the database).
        reporter.set_service_status(LIVENESS, ServingStatus::Serving).await;
        // Reflection v1, and v1alpha for older clients (grpcurl before 1.8.8 asks only for it).
        let reflection_builder = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection =
            reflection_builder().build_v1().map_err(|e| StartupError::Serve(format!("reflection: {e}")))?;
        let reflection_alpha =
            reflection_builder().build_v1alpha().map_err(|e| StartupError::Serve(format!("reflection: {e}")))?;

        let state = self.state.clone();
        // Health follows the database: NOT_SERVING while it does not answer, SERVING again
        // when it does (a load balancer stops sending calls that could only fail).
        let watch_store = state.store.clone();
        let watch_reporter = reporter.clone();
        let watcher = tokio::spawn(async move {
            let mut up = true;
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let now_up = watch_store.ping().await;
                if now_up != up {
                    up = now_up;
                    if up {
                        tracing::warn!("the database answers again: SERVING");
                        set_all(&watch_reporter, ServingStatus::Serving).await;
                    } else {
                        tracing::error!("the database does not answer: NOT_SERVING");
                        set_all(&watch_reporter, ServingStatus::NotServing).await;
                    }
                }
            }
        });
        // The audit trail's sealer: links the records written since into the chain.
        let seal_store = state.store.clone();
        let seal_every = self.seal_every;
        let sealer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(seal_every).await;
                if let Err(error) = store::audit::seal(&seal_store).await {
                    tracing::warn!(%error, "sealing the audit trail failed; retrying");
                }
            }
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (dashboard_stop_tx, dashboard_stop_rx) = tokio::sync::oneshot::channel::<()>();
        // Every connection — TCP, TLS, and the dashboard's own in-process pipe — arrives here.
        let (connections, incoming) = tokio::sync::mpsc::channel::<Conn>(256);
        crate::tls::accept(self.listener, self.tls.clone(), connections.clone());
        let tls_watch = self.tls.as_ref().map(Tls::watch);
        if let Some((listener, address)) = self.dashboard {
            // The dashboard calls the services in-process, through the same layers as any
            // client (shedding, keys, roles), without a network hop or a second certificate.
            let local = connections.clone();
            let grpc = tonic::transport::Endpoint::from_static("http://in-process.techcredit")
                .connect_with_connector_lazy(tower::service_fn(move |_: tonic::transport::Uri| {
                    let local = local.clone();
                    async move {
                        let (client, server) = tokio::io::duplex(256 * 1024);
                        local
                            .send(Conn::Local(server))
                            .await
                            .map_err(|_| std::io::Error::other("the server has stopped"))?;
                        Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(client))
                    }
                }));
            let dashboard = dashboard::Dashboard::new(grpc, self.session_ttl, self.tls.is_some());
            let listener = DashboardListener::start(listener, address, self.tls.clone());
            tracing::info!(%address, tls = self.tls.is_some(), "dashboard serving");
            tokio::spawn(async move {
                let stopped = async {
                    let _ = dashboard_stop_rx.await;
                };
                if let Err(error) = dashboard.serve(listener, stopped).await {
                    tracing::error!(%error, "the dashboard stopped");
                }
            });
        }
        crate::telemetry::export_pool_figures(&self.state);
        let (metrics_stop_tx, metrics_stop_rx) = tokio::sync::oneshot::channel::<()>();
        if let Some((listener, address)) = self.metrics {
            let router = crate::metrics::router(self.state.clone());
            tracing::info!(%address, "metrics serving on /metrics");
            tokio::spawn(async move {
                let stopped = async {
                    let _ = metrics_stop_rx.await;
                };
                if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(stopped).await {
                    tracing::error!(%error, "the metrics endpoint stopped");
                }
            });
        }
        drop(connections);
        let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
        let shutdown_reporter = reporter.clone();
        tokio::spawn(async move {
            shutdown.await;
            watcher.abort();
            sealer.abort();
            if let Some(watch) = tls_watch {
                watch.abort();
            }
            tracing::info!("shutdown requested: reporting NOT_SERVING and draining");
            set_all(&shutdown_reporter, ServingStatus::NotServing).await;
            let _ = draining_tx.send(());
            let _ = dashboard_stop_tx.send(());
            let _ = metrics_stop_tx.send(());
            let _ = stop_tx.send(());
        });

        // Messages larger than the limit are refused (RESOURCE_EXHAUSTED) before they are
        // decoded; answers are bounded too.
        let max_message = self.max_message_bytes;
        macro_rules! limited {
            ($service:expr) => {
                $service.max_decoding_message_size(max_message).max_encoding_message_size(4 * max_message)
            };
        }
        // Load shedding: at most `max_in_flight` calls at once in this process; a call beyond
        // that is answered RESOURCE_EXHAUSTED at once rather than queued. A call that runs
        // past its deadline (the client's, or `call_timeout_seconds`) is cancelled.
        let server = tonic::transport::Server::builder()
            .timeout(self.call_timeout)
            .layer(ShedLayer::new(self.max_in_flight))
            .layer(
                AuthLayer::new(state.store.clone())
                    .with_bank_certificates(self.tls.as_ref().is_some_and(Tls::verifies_clients)),
            )
            .add_service(health_service)
            .add_service(reflection)
            .add_service(reflection_alpha)
            .add_service(limited!(AdminServiceServer::new(admin::Admin::new(state.clone()))))
            .add_service(limited!(AuditServiceServer::new(admin::audit::Audit::new(state.clone()))))
            .add_service(limited!(LoanApplicationServiceServer::new(loans::Loans::new(state.clone()))))
            .add_service(limited!(RiskPoolServiceServer::new(pool::Pool::new(state.clone()))))
            .add_service(limited!(SettlementServiceServer::new(settlement::Settlement::new(state.clone()))))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::ReceiverStream::new(incoming).map(Ok::<_, std::io::Error>),
                async {
                    let _ = stop_rx.await;
                },
            );
        tracing::info!(address = %self.local_addr, tls = self.tls.is_some(), "serving");

        let grace = self.grace;
        let deadline = async move {
            if draining_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            result = server => result.map_err(|e| StartupError::Serve(e.to_string()))?,
            () = deadline => tracing::warn!(grace_seconds = grace.as_secs(), "grace period over; cancelling calls still running"),
        }
        // Seal what the last second wrote, so the chain is whole when the process is gone.
        if let Err(error) = store::audit::seal(&state.store).await {
            tracing::warn!(%error, "sealing the audit trail at shutdown failed; the next start seals it");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// The health service name a liveness probe asks for: it never follows the database.
pub const LIVENESS: &str = "liveness";

async fn set_all(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in proto::SERVICE_NAMES {
        reporter.set_service_status(name, status).await;
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Starts the business clock in a transaction of its own (a simulated clock's first date is
/// written).
async fn start_clock(
    store: &Store,
    clock: store::clock::ClockMode,
) -> Result<store::clock::Now, store::clock::ClockError> {
    let txn = store.begin_write().await?;
    let now = store::clock::start(&txn, clock).await?;
    txn.commit().await.map_err(store::StoreError::from)?;
    Ok(now)
}
