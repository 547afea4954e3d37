//! The command line of `techcredit-server`: serve, migrate, check a policy file.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{Application, FlagOverrides, LogFormat, Settings, startup, telemetry};
use clap::{Parser, Subcommand};

/// The techcredit risk-pool gRPC server.
#[derive(Debug, Parser)]
#[command(name = "techcredit-server", version)]
struct Cli {
    /// TOML settings file (default: ./techcredit.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:50051).
    #[arg(long, global = true)]
    listen: Option<std::net::SocketAddr>,
    /// Directory of the embedded SQLite database and the bootstrap key (default ./data).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL (default: SQLite in the data directory; also DATABASE_URL).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Policy file (default: the built-in policy).
    #[arg(long = "policy", global = true)]
    policy_file: Option<PathBuf>,
    /// Do not apply pending migrations at start; refuse to start if any are pending.
    #[arg(long, global = true)]
    no_migrate: bool,
    /// Log format: text or json.
    #[arg(long, global = true, value_parser = parse_log_format)]
    log_format: Option<LogFormat>,
    /// Business clock: system (the default) or simulated:YYYY-MM-DD (demos, tests).
    #[arg(long, global = true)]
    clock: Option<String>,
    /// Serve the web dashboard (HTTP) on this address, e.g. 127.0.0.1:8080.
    #[arg(long, global = true)]
    dashboard_listen: Option<std::net::SocketAddr>,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, global = true, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM).
    #[arg(long, global = true, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Verify client certificates against this CA bundle (PEM); a bank key then works only
    /// over its bank's certificate (subject CN = bank id).
    #[arg(long, global = true, value_name = "FILE")]
    tls_client_ca: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve gRPC (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Recompute every balance and running total from the journal and the loan registry;
    /// print the differences and exit non-zero if there are any.
    VerifyLedger,
    /// Walk the audit trail's hash chain from its first record to its head; print the first
    /// broken link and exit non-zero if there is one. Reads only (records of the last second
    /// that are not sealed yet are counted, not checked).
    VerifyAudit,
    /// Ask the running server's gRPC health service (grpc.health.v1, which follows the
    /// database) whether it is SERVING; exit 0 if so, 1 otherwise. For container health
    /// checks. Speaks TLS when the settings name a certificate (`tls_cert_file`) or when
    /// `--ca-file` is given.
    Health {
        /// The server's address (default: the listen address, 127.0.0.1 for an unspecified one).
        #[arg(long)]
        address: Option<std::net::SocketAddr>,
        /// CA bundle (PEM) the server's certificate is checked against (default, when the
        /// server serves TLS: its own certificate file, for a self-signed certificate or a
        /// chain that ends in its CA).
        #[arg(long, value_name = "FILE")]
        ca_file: Option<PathBuf>,
        /// The name the server's certificate is checked for (default: "localhost").
        #[arg(long, default_value = "localhost")]
        domain: String,
        /// The health service to ask ("" is the server with its database; "liveness" the
        /// process only).
        #[arg(long, default_value = "")]
        service: String,
    },
    /// Wait until the database has no pending migrations (another process — a Kubernetes
    /// Job, compose's migrate service — applies them), then exit 0; exit 1 after
    /// `--timeout-seconds`. For an init container, so that servers never crash-loop on a
    /// database that is still being migrated.
    WaitForMigrations {
        /// How long to wait.
        #[arg(long, default_value_t = 600)]
        timeout_seconds: u64,
    },
    /// Validate a policy file and print its version.
    CheckPolicy {
        /// The policy file.
        file: PathBuf,
    },
    /// Issue a new ADMIN key straight into the database (offline: the operator's way back
    /// in when no administrator key is at hand) and print it once.
    CreateAdminKey {
        /// Who holds it.
        #[arg(long, default_value = "administrator key made offline by create-admin-key")]
        description: String,
    },
}

fn parse_log_format(text: &str) -> Result<LogFormat, String> {
    match text {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("unknown log format {other:?}; use text or json")),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("techcredit-server: {message}");
    ExitCode::from(1)
}

/// Runs the command line given in the process arguments; the exit code says how it went.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let flags = FlagOverrides {
        listen: cli.listen,
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        policy_file: cli.policy_file.clone(),
        migrate_on_start: cli.no_migrate.then_some(false),
        log_format: cli.log_format,
        clock: cli.clock.clone(),
        dashboard_listen: cli.dashboard_listen,
        tls_cert_file: cli.tls_cert.clone(),
        tls_key_file: cli.tls_key.clone(),
        tls_client_ca_file: cli.tls_client_ca.clone(),
    };
    let settings = match Settings::load(cli.config.as_deref(), &flags) {
        Ok(settings) => settings,
        Err(error) => return fail(error),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(format!("cannot start the async runtime: {error}")),
    };
    let telemetry = {
        let _inside = runtime.enter();
        match telemetry::init(settings.log_format, settings.otlp_endpoint.as_deref()) {
            Ok(telemetry) => telemetry,
            Err(error) => return fail(error),
        }
    };
    let code = runtime.block_on(run(cli, settings));
    // Here, off the runtime's worker threads, which do the last exports.
    telemetry.shutdown();
    code
}

async fn run(cli: Cli, settings: Settings) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            let result = async {
                let store = startup::connect(&settings).await?;
                startup::migrate(&settings, &store).await
            }
            .await;
            match result {
                Ok(()) => {
                    println!("migrations applied");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(error),
            }
        }
        Command::VerifyLedger => verify_ledger(settings).await,
        Command::Health { address, ca_file, domain, service } => {
            let tls = match ca_file.or_else(|| settings.tls_cert_file.clone()) {
                None => None,
                Some(file) => match std::fs::read(&file) {
                    Ok(pem) => Some(
                        tonic::transport::ClientTlsConfig::new()
                            .ca_certificate(tonic::transport::Certificate::from_pem(pem))
                            .domain_name(domain),
                    ),
                    Err(error) => return fail(format!("cannot read {}: {error}", file.display())),
                },
            };
            health(address.unwrap_or(settings.listen), tls, service).await
        }
        Command::WaitForMigrations { timeout_seconds } => wait_for_migrations(&settings, timeout_seconds).await,
        Command::VerifyAudit => verify_audit(settings).await,
        Command::CreateAdminKey { description } => {
            let result = async {
                let store = startup::connect(&settings).await?;
                let fail = |e: store::StoreError| startup::StartupError::Serve(e.to_string());
                let txn = store.begin_write().await.map_err(fail)?;
                let created =
                    store::api_keys::create(&txn, domain::Role::Admin, None, &description, None).await.map_err(fail)?;
                txn.commit().await.map_err(|e| fail(e.into()))?;
                Ok::<_, startup::StartupError>(created)
            }
            .await;
            match result {
                Ok((key, secret)) => {
                    tracing::warn!(key_id = %key.key_id, "administrator key created offline");
                    println!("administrator key {} (shown once):", key.key_id);
                    println!("{}", secret.expose());
                    ExitCode::SUCCESS
                }
                Err(error) => fail(error),
            }
        }
        Command::CheckPolicy { file } => {
            let settings = Settings { policy_file: Some(file), ..settings };
            match startup::load_policy(&settings) {
                Ok((policy, _)) => {
                    println!("policy {} is valid", policy.version);
                    ExitCode::SUCCESS
                }
                Err(error) => fail(error),
            }
        }
    }
}

async fn serve(settings: Settings) -> ExitCode {
    let application = match Application::build(&settings).await {
        Ok(application) => application,
        Err(error) => return fail(error),
    };
    if let Some(key) = application.bootstrap_key() {
        // Printed once, to stdout and not to the log, so log shipping never carries it.
        println!(
            "bootstrap admin key (shown once; also saved to {}):",
            startup::bootstrap_key_path(&settings.data_dir).display()
        );
        println!("{key}");
    }
    if application.state().store.clock_mode().is_simulated() {
        match application.state().store.now().await {
            Ok(now) => println!("business clock simulated: today is {}", now.today),
            Err(error) => return fail(error),
        }
    }
    if let Some(address) = application.dashboard_addr() {
        let scheme = if application.serves_tls() { "https" } else { "http" };
        println!("techcredit dashboard on {scheme}://{address}");
    }
    if application.serves_tls() {
        println!("serving TLS only: clients connect with https://");
    }
    println!("techcredit-server listening on {}", application.local_addr());
    match application.run_until_stopped(startup::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(error),
    }
}

/// One health check of the server at `address` (an unspecified IP means this host).
async fn health(
    mut address: std::net::SocketAddr,
    tls: Option<tonic::transport::ClientTlsConfig>,
    service: String,
) -> ExitCode {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let check = async {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut endpoint = tonic::transport::Endpoint::from_shared(format!("{scheme}://{address}"))
            .map_err(|e| e.to_string())?
            .connect_timeout(std::time::Duration::from_secs(2));
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls).map_err(|e| format!("TLS: {e}"))?;
        }
        let channel = endpoint.connect().await.map_err(|e| format!("cannot reach {address}: {e}"))?;
        let answer = HealthClient::new(channel)
            .check(HealthCheckRequest { service })
            .await
            .map_err(|status| format!("{address} answered {:?}: {}", status.code(), status.message()))?;
        Ok::<_, String>(answer.into_inner().status())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), check).await {
        Ok(Ok(ServingStatus::Serving)) => {
            println!("{address}: SERVING");
            ExitCode::SUCCESS
        }
        Ok(Ok(status)) => fail(format!("{address}: {}", status.as_str_name())),
        Ok(Err(error)) => fail(error),
        Err(_) => fail(format!("{address}: no answer within 3 s")),
    }
}

async fn wait_for_migrations(settings: &Settings, timeout_seconds: u64) -> ExitCode {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout_seconds);
    let mut last_said = None::<std::time::Instant>;
    loop {
        let state = match startup::connect(settings).await {
            Ok(store) => store.pending_migrations().await.map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        match state {
            Ok(pending) if pending.is_empty() => {
                println!("the database has every migration");
                return ExitCode::SUCCESS;
            }
            other if last_said.is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(10)) => {
                match other {
                    Ok(pending) => println!("waiting: {} migrations pending", pending.len()),
                    Err(error) => println!("waiting: {error}"),
                }
                last_said = Some(std::time::Instant::now());
            }
            _ => {}
        }
        if std::time::Instant::now() >= deadline {
            return fail(format!("migrations still pending after {timeout_seconds} s"));
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

async fn verify_audit(settings: Settings) -> ExitCode {
    let result = async {
        let store = startup::connect_existing(&settings).await?;
        store
            .reading(async |db| store::audit::verify(db).await)
            .await
            .map_err(|e| startup::StartupError::Serve(e.to_string()))
    }
    .await;
    match result {
        Ok(verdict) => {
            let pending = if verdict.unsealed > 0 {
                format!(" ({} record(s) of the last moments not sealed yet)", verdict.unsealed)
            } else {
                String::new()
            };
            match &verdict.broken {
                None => {
                    println!(
                        "checked {} audit records up to the head {} ({}): the chain is unbroken{pending}",
                        verdict.checked, verdict.head.0, verdict.head.1
                    );
                    ExitCode::SUCCESS
                }
                Some(broken) => {
                    println!("checked {} audit records: BROKEN at {}: {broken}", verdict.checked, broken.sequence);
                    ExitCode::from(2)
                }
            }
        }
        Err(error) => fail(error),
    }
}

async fn verify_ledger(settings: Settings) -> ExitCode {
    let result = async {
        let (policy, document) = startup::load_policy(&settings)?;
        let clock = settings.clock_mode().map_err(startup::StartupError::Clock)?;
        let store = startup::connect_existing(&settings).await?.with_clock(clock);
        let now = store.now().await.map_err(|e| startup::StartupError::Clock(e.to_string()))?;
        let state = rpc::AppState {
            store,
            policy: std::sync::Arc::new(policy),
            policy_document: std::sync::Arc::from(document),
        };
        store::clock::scope(now, pool::verify_ledger(&state))
            .await
            .map_err(|e| startup::StartupError::Serve(e.to_string()))
    }
    .await;
    match result {
        Ok(report) => {
            println!(
                "checked {} journal entries and {} accounts: {}",
                report.entries_checked,
                report.accounts_checked,
                if report.ok() { "the books are whole" } else { "DIFFERENCES FOUND" }
            );
            for difference in &report.differences {
                println!("{}: expected {}, stored {}", difference.subject, difference.expected, difference.actual);
            }
            if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(2) }
        }
        Err(error) => fail(error),
    }
}
