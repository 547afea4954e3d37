//! Where the server is and who is calling: flags, then the environment, then the profile in
//! the config file (`~/.config/techcredit/config.toml`), then defaults.
//!
//! ```toml
//! default_profile = "local"
//!
//! [profiles.local]
//! address = "127.0.0.1:50051"
//! key_file = "./data/bootstrap-admin.key"
//!
//! [profiles.bank]
//! address = "https://pool.example:50051"   # https:// is TLS, and never falls back
//! key_file = "bank.key"
//! ca_file = "pool-ca.pem"                  # default: the system's trusted CAs
//! cert_file = "bank.pem"                   # for a server that verifies banks (mTLS)
//! cert_key_file = "bank-key.pem"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proto::v1 as pb;
use serde::Deserialize;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::failure::Failure;

/// The address the server listens on by default.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:50051";

/// The config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The profile used without `--profile`.
    pub default_profile: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One server and one key.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The server's address (`127.0.0.1:50051`, `http://…`).
    pub address: Option<String>,
    /// A file holding the API key (relative paths from the config file's folder).
    pub key_file: Option<PathBuf>,
    /// CA bundle (PEM) the server's certificate is checked against (default: the system's).
    pub ca_file: Option<PathBuf>,
    /// This client's certificate (PEM), for servers that verify clients (mTLS).
    pub cert_file: Option<PathBuf>,
    /// The private key (PEM) of `cert_file`.
    pub cert_key_file: Option<PathBuf>,
}

/// TLS material of the client: where to find the CA and, for mTLS, its own certificate.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// CA bundle for the server's certificate; none: the system's trusted CAs.
    pub ca_file: Option<PathBuf>,
    /// Client certificate and its key.
    pub identity: Option<(PathBuf, PathBuf)>,
}

impl TlsOptions {
    fn is_set(&self) -> bool {
        self.ca_file.is_some() || self.identity.is_some()
    }

    fn client_config(&self) -> Result<ClientTlsConfig, Failure> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))
        };
        let mut config = ClientTlsConfig::new();
        config = match &self.ca_file {
            Some(path) => config.ca_certificate(Certificate::from_pem(read(path)?)),
            None => config.with_native_roots(),
        };
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        Ok(config)
    }
}

/// Where the config file is: `--config`, `TECHCREDIT_CONFIG`, `$XDG_CONFIG_HOME/techcredit/
/// config.toml` or `~/.config/techcredit/config.toml`.
pub fn config_path(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = flag {
        return Some(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("TECHCREDIT_CONFIG") {
        return Some(PathBuf::from(path));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("techcredit").join("config.toml"))
}

/// The profile to use: `name`, else the file's default, else none. A named profile that is
/// not in the file is a usage error; a missing file is no profile at all.
pub fn profile(path: Option<&Path>, name: Option<&str>, explicit_path: bool) -> Result<Profile, Failure> {
    let Some(path) = path else {
        return Ok(Profile::default());
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !explicit_path && name.is_none() => {
            return Ok(Profile::default());
        }
        Err(error) => return Err(Failure::Usage(format!("cannot read the config file {}: {error}", path.display()))),
    };
    let config: Config = toml::from_str(&text)
        .map_err(|e| Failure::Usage(format!("the config file {} is not valid: {}", path.display(), e.message())))?;
    let Some(name) = name.map(str::to_owned).or(config.default_profile.clone()) else {
        return Ok(Profile::default());
    };
    let mut profile = config.profiles.get(&name).cloned().ok_or_else(|| {
        let known: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
        Failure::Usage(format!("no profile {name:?} in {} (it has: {})", path.display(), known.join(", ")))
    })?;
    if let Some(folder) = path.parent() {
        for file in [&mut profile.key_file, &mut profile.ca_file, &mut profile.cert_file, &mut profile.cert_key_file] {
            if let Some(relative) = file.as_ref().filter(|f| f.is_relative()) {
                *file = Some(folder.join(relative));
            }
        }
    }
    Ok(profile)
}

/// The URI to connect to. `host:port` (as the server prints it) means plaintext HTTP/2;
/// `https://` means TLS, never anything else.
pub fn endpoint_uri(address: &str) -> Result<String, Failure> {
    let address = address.trim();
    if address.starts_with("https://") || address.starts_with("http://") {
        return Ok(address.to_owned());
    }
    if address.contains("://") {
        return Err(Failure::Usage(format!(
            "{address}: the address must be host:port, http://host:port or https://host:port"
        )));
    }
    if address.is_empty() {
        return Err(Failure::Usage("the server address is empty".to_owned()));
    }
    Ok(format!("http://{address}"))
}

/// Reads a key from a file: its first line, trimmed.
pub fn read_key_file(path: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read the key file {}: {e}", path.display())))?;
    let key = text.lines().next().unwrap_or_default().trim().to_owned();
    if key.is_empty() {
        return Err(Failure::Usage(format!("the key file {} is empty", path.display())));
    }
    Ok(key)
}

/// Adds the bearer key to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// A channel that carries the key.
pub type Authed = InterceptedService<Channel, Bearer>;

/// The four services' clients over one connection.
#[derive(Clone)]
pub struct Clients {
    /// AdminService.
    pub admin: pb::admin_service_client::AdminServiceClient<Authed>,
    /// LoanApplicationService.
    pub loans: pb::loan_application_service_client::LoanApplicationServiceClient<Authed>,
    /// RiskPoolService.
    pub pool: pb::risk_pool_service_client::RiskPoolServiceClient<Authed>,
    /// SettlementService.
    pub settlement: pb::settlement_service_client::SettlementServiceClient<Authed>,
    /// AuditService.
    pub audit: pb::audit_service_client::AuditServiceClient<Authed>,
}

/// How long to wait.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// For the connection.
    pub connect: Duration,
    /// For each call.
    pub call: Duration,
}

/// A server and how to reach it: enough to connect again with another key.
#[derive(Debug, Clone)]
pub struct Target {
    /// The address.
    pub address: String,
    /// Deadlines.
    pub deadlines: Deadlines,
    /// TLS material.
    pub tls: TlsOptions,
}

impl Target {
    /// Connects with `key`.
    pub async fn connect(&self, key: &str) -> Result<Clients, Failure> {
        connect(&self.address, key, self.deadlines, &self.tls).await
    }
}

/// Connects to `address` with `key`; no answer within the connect deadline is exit 3. An
/// `https://` address is TLS (a failed handshake is an error, never a plaintext retry); TLS
/// files with a plaintext address are a usage error rather than ignored.
pub async fn connect(address: &str, key: &str, deadlines: Deadlines, tls: &TlsOptions) -> Result<Clients, Failure> {
    let uri = endpoint_uri(address)?;
    let secure = uri.starts_with("https://");
    if !secure && tls.is_set() {
        return Err(Failure::Usage(format!(
            "{address} is a plaintext address but TLS files were given (--ca-file, --cert): use https://"
        )));
    }
    let header: MetadataValue<Ascii> = format!("Bearer {key}")
        .parse()
        .map_err(|_| Failure::Usage("the API key has characters that cannot be sent".to_owned()))?;
    let endpoint = Endpoint::from_shared(uri.clone())
        .map_err(|e| Failure::Usage(format!("{address} is not a server address: {e}")))?
        .connect_timeout(deadlines.connect)
        .timeout(deadlines.call);
    let endpoint = if secure {
        endpoint.tls_config(tls.client_config()?).map_err(|e| Failure::Usage(format!("TLS: {e}")))?
    } else {
        endpoint
    };
    let channel = match tokio::time::timeout(deadlines.connect, endpoint.connect()).await {
        Ok(Ok(channel)) => channel,
        Ok(Err(error)) => {
            let cause = std::error::Error::source(&error).map(|s| format!(": {s}")).unwrap_or_default();
            return Err(Failure::Unreachable(format!("cannot reach the server at {address}: {error}{cause}")));
        }
        Err(_) => {
            return Err(Failure::Unreachable(format!(
                "the server at {address} did not answer within {:?} (--connect-timeout)",
                deadlines.connect
            )));
        }
    };
    let authed = InterceptedService::new(channel, Bearer(header));
    Ok(Clients {
        admin: pb::admin_service_client::AdminServiceClient::new(authed.clone()),
        loans: pb::loan_application_service_client::LoanApplicationServiceClient::new(authed.clone()),
        pool: pb::risk_pool_service_client::RiskPoolServiceClient::new(authed.clone()),
        settlement: pb::settlement_service_client::SettlementServiceClient::new(authed.clone()),
        audit: pb::audit_service_client::AuditServiceClient::new(authed),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_the_server_prints_them_work_and_https_is_never_downgraded() {
        assert_eq!(endpoint_uri("127.0.0.1:50051").unwrap(), "http://127.0.0.1:50051");
        assert_eq!(endpoint_uri("http://pool.example:443").unwrap(), "http://pool.example:443");
        assert_eq!(endpoint_uri("https://pool.example").unwrap(), "https://pool.example");
        assert!(matches!(endpoint_uri("ftp://x"), Err(Failure::Usage(_))));
    }

    #[test]
    fn profiles_come_from_the_config_file_with_key_files_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "default_profile = \"bank\"\n[profiles.bank]\naddress = \"10.0.0.5:50051\"\nkey_file = \"bank.key\"\n",
        )
        .unwrap();
        let chosen = profile(Some(&path), None, true).unwrap();
        assert_eq!(chosen.address.as_deref(), Some("10.0.0.5:50051"));
        assert_eq!(chosen.key_file, Some(dir.path().join("bank.key")));
        assert!(matches!(profile(Some(&path), Some("nope"), true), Err(Failure::Usage(_))));
        assert!(profile(Some(&dir.path().join("absent.toml")), None, false).unwrap().address.is_none());
    }
}
