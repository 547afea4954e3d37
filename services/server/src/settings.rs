//! Typed settings: defaults → TOML file → environment → command-line flags.
//!
//! Environment variables are `TECHCREDIT__<SETTING>` (e.g. `TECHCREDIT__LISTEN`), plus the
//! conventional `DATABASE_URL`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A database URL; its `Debug` hides the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    /// The URL itself, to connect with. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&store::redact_url(&self.0))
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Every setting of the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the gRPC server listens on.
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite database and the bootstrap key file.
    pub data_dir: PathBuf,
    /// PostgreSQL (or SQLite) URL; when absent, SQLite in `data_dir`.
    pub database_url: Option<DatabaseUrl>,
    /// Largest number of pooled database connections.
    pub database_max_connections: u32,
    /// A PostgreSQL hot standby of `database_url` (streaming replication) for the reads that
    /// may lag: the pool's position and history, the list RPCs, the dashboard, the metrics.
    /// Reads that decide a change or that a caller needs to see its own writes stay on the
    /// primary. When absent, every read goes to the primary.
    pub database_read_url: Option<DatabaseUrl>,
    /// `database_url` (and `database_read_url`) lead to a transaction-pooling proxy such as
    /// PgBouncer in `pool_mode = transaction`: every statement then runs inside a
    /// transaction and the driver caches no prepared statement. The proxy must reset each
    /// server connection it takes back (`server_reset_query = DEALLOCATE ALL`,
    /// `server_reset_query_always = 1`). Run `migrate` against the database itself.
    pub database_transaction_pooling: bool,
    /// Policy file; when absent, the built-in default policy.
    pub policy_file: Option<PathBuf>,
    /// Apply pending migrations at start-up.
    pub migrate_on_start: bool,
    /// Log format.
    pub log_format: LogFormat,
    /// Seconds in-flight calls get to finish after SIGTERM or Ctrl-C.
    pub shutdown_grace_seconds: u64,
    /// OTLP/gRPC collector to export spans and metrics to (e.g. `http://otel-collector:4317`);
    /// when absent (and no `OTEL_EXPORTER_OTLP_*ENDPOINT`), nothing is exported (logs only).
    pub otlp_endpoint: Option<String>,
    /// The business clock: `system` (production) or `simulated:YYYY-MM-DD` (demos and tests
    /// of date rules; moved forward with `AdminService.AdvanceBusinessDate`).
    pub clock: String,
    /// Address the web dashboard listens on (HTTP); when absent, no dashboard.
    pub dashboard_listen: Option<SocketAddr>,
    /// Address of the Prometheus endpoint (`GET /metrics`, HTTP, no authentication: keep it
    /// on the cluster network); when absent, none.
    pub metrics_listen: Option<SocketAddr>,
    /// Minutes a dashboard session lasts after its last use.
    pub dashboard_session_minutes: u64,
    /// Calls served at once by this process, across connections; more are refused at once
    /// with RESOURCE_EXHAUSTED (retry with back-off) instead of queueing without bound.
    pub max_in_flight_calls: usize,
    /// The largest request message accepted, in bytes (answers may be four times that).
    pub max_message_bytes: usize,
    /// Seconds a call may run when its client set no shorter deadline; then it is cancelled.
    pub call_timeout_seconds: u64,
    /// Seconds between two sealings of the audit trail's new records into its hash chain.
    pub audit_seal_seconds: u64,
    /// The server's certificate chain (PEM); with `tls_key_file`, the gRPC listener and the
    /// dashboard serve TLS only. Reloaded on SIGHUP and when the file changes.
    pub tls_cert_file: Option<PathBuf>,
    /// The server's private key (PEM).
    pub tls_key_file: Option<PathBuf>,
    /// CA bundle (PEM) client certificates are verified against; with it a BANK key works
    /// only over its bank's certificate (subject CN = the bank id).
    pub tls_client_ca_file: Option<PathBuf>,
    /// Refuse every connection without a client certificate (needs `tls_client_ca_file`).
    pub tls_require_client_cert: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_max_connections: 16,
            database_read_url: None,
            database_transaction_pooling: false,
            policy_file: None,
            migrate_on_start: true,
            log_format: LogFormat::Text,
            shutdown_grace_seconds: 20,
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
}

/// Settings given as command-line flags; unset flags leave lower layers alone.
#[derive(Debug, Default, Clone, Serialize)]
pub struct FlagOverrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--policy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_file: Option<PathBuf>,
    /// `--no-migrate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_on_start: Option<bool>,
    /// `--log-format`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// `--clock`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    /// `--dashboard-listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard_listen: Option<SocketAddr>,
    /// `--tls-cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert_file: Option<PathBuf>,
    /// `--tls-key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key_file: Option<PathBuf>,
    /// `--tls-client-ca`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_client_ca_file: Option<PathBuf>,
}

/// A setting that cannot be used; start-up stops with this one line.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings: {0}")]
pub struct SettingsError(String);

impl Settings {
    /// Loads the layers in order. `config_file` must exist when given; without it,
    /// `./techcredit.toml` is read if present.
    pub fn load(config_file: Option<&Path>, flags: &FlagOverrides) -> Result<Settings, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match config_file {
            Some(path) if !path.exists() => {
                return Err(SettingsError(format!("config file {} does not exist", path.display())));
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("techcredit.toml")),
        }
        let figment = figment
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database_url".into()))
            .merge(Env::prefixed("TECHCREDIT__").split("__"))
            .merge(Serialized::defaults(flags));
        let settings: Settings = figment.extract().map_err(|e| SettingsError(e.to_string()))?;
        settings.clock_mode().map_err(SettingsError)?;
        settings.tls_files().map_err(SettingsError)?;
        Ok(settings)
    }

    /// The TLS files, when TLS is configured; an incomplete configuration is an error.
    pub fn tls_files(&self) -> Result<Option<crate::tls::TlsFiles>, String> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Ok(Some(crate::tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca_file.clone(),
                require_client_cert: self.tls_require_client_cert,
            })),
            (None, None) if self.tls_client_ca_file.is_some() || self.tls_require_client_cert => {
                Err("tls_client_ca_file and tls_require_client_cert need tls_cert_file and tls_key_file".to_owned())
            }
            (None, None) => Ok(None),
            (Some(_), None) => Err("tls_cert_file is set but tls_key_file is not".to_owned()),
            (None, Some(_)) => Err("tls_key_file is set but tls_cert_file is not".to_owned()),
        }
        .and_then(|files| match files {
            Some(files) if files.require_client_cert && files.client_ca.is_none() => {
                Err("tls_require_client_cert needs tls_client_ca_file".to_owned())
            }
            files => Ok(files),
        })
    }

    /// The business clock the `clock` setting names.
    pub fn clock_mode(&self) -> Result<store::clock::ClockMode, String> {
        store::clock::ClockMode::parse(&self.clock)
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error.
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("techcredit.toml", "listen = \"127.0.0.1:6000\"\nshutdown_grace_seconds = 5\n")?;
            jail.set_env("TECHCREDIT__SHUTDOWN_GRACE_SECONDS", "7");
            jail.set_env("DATABASE_URL", "postgres://app:hunter2@db/techcredit");
            let flags = FlagOverrides { data_dir: Some(PathBuf::from("/srv/data")), ..FlagOverrides::default() };
            let settings = Settings::load(None, &flags).map_err(|e| e.to_string())?;
            assert_eq!(settings.listen, SocketAddr::from(([127, 0, 0, 1], 6000)));
            assert_eq!(settings.shutdown_grace_seconds, 7);
            assert_eq!(settings.data_dir, PathBuf::from("/srv/data"));
            let shown = format!("{settings:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            Ok(())
        });
    }

    #[test]
    fn a_bad_setting_is_named() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TECHCREDIT__LISTEN", "not-an-address");
            let error = Settings::load(None, &FlagOverrides::default()).unwrap_err().to_string();
            assert!(error.to_lowercase().contains("listen"), "{error}");
            Ok(())
        });
    }
}
