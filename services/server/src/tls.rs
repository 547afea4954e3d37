//! TLS for the gRPC listener and the dashboard, with rustls (ring provider).
//!
//! - The server's certificate chain and key come from PEM files (`tls_cert_file`,
//!   `tls_key_file`); they are read again on SIGHUP and when one of the files changes (checked
//!   every two seconds), so a renewed certificate is served without a restart. A reload that
//!   fails (a half-written file, a key that does not match) is logged and the certificate in
//!   force stays.
//! - With `tls_client_ca_file`, client certificates are verified against that CA bundle: the
//!   subject's common name of a bank's certificate is its bank id, and a BANK key works only
//!   over a connection with its own bank's certificate (checked by the auth layer). Other
//!   roles may connect without a certificate unless `tls_require_client_cert` is set.
//! - Handshakes run beside the accept loop with a deadline, so a slow or silent client holds
//!   up nobody else.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use rpc::auth::Peer;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

/// How long a client has to finish its TLS handshake.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);
/// How often the files are checked for a change.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Where the TLS material is, from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain (PEM, leaf first).
    pub cert: PathBuf,
    /// The server's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA bundle (PEM) that client certificates are verified against.
    pub client_ca: Option<PathBuf>,
    /// Refuse connections without a client certificate.
    pub require_client_cert: bool,
}

/// The TLS configuration in force; a reload replaces it for the connections that follow.
#[derive(Clone)]
pub struct Tls {
    files: Arc<TlsFiles>,
    current: Arc<RwLock<Arc<ServerConfig>>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("files", &self.files).finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads the files; an error names the file and what is wrong with it.
    pub fn load(files: TlsFiles) -> Result<Tls, String> {
        let config = server_config(&files)?;
        Ok(Tls { files: Arc::new(files), current: Arc::new(RwLock::new(config)) })
    }

    /// Whether client certificates are verified (a bank's certificate names its bank).
    pub fn verifies_clients(&self) -> bool {
        self.files.client_ca.is_some()
    }

    /// Reads the files again; on an error the configuration in force stays.
    pub fn reload(&self) -> Result<(), String> {
        let config = server_config(&self.files)?;
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = config;
        Ok(())
    }

    fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone())
    }

    /// Reloads on SIGHUP and when a file changes, until the task is aborted.
    pub fn watch(&self) -> tokio::task::JoinHandle<()> {
        let tls = self.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            let mut seen = tls.stamps();
            loop {
                #[cfg(unix)]
                let signalled = async {
                    match hangup.as_mut() {
                        Some(signal) => signal.recv().await.is_some(),
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let signalled = std::future::pending::<bool>();
                let why = tokio::select! {
                    _ = signalled => "SIGHUP",
                    () = tokio::time::sleep(WATCH_EVERY) => {
                        let now = tls.stamps();
                        if now == seen { continue; }
                        seen = now;
                        "a file changed"
                    }
                };
                match tls.reload() {
                    Ok(()) => tracing::info!(why, cert = %tls.files.cert.display(), "TLS certificate reloaded"),
                    Err(error) => tracing::error!(why, %error, "TLS reload failed; the certificate in force stays"),
                }
            }
        })
    }

    /// The files' modification times and sizes, to notice a change.
    fn stamps(&self) -> Vec<Option<(SystemTime, u64)>> {
        let files = [Some(&self.files.cert), Some(&self.files.key), self.files.client_ca.as_ref()];
        files
            .into_iter()
            .flatten()
            .map(|path| std::fs::metadata(path).ok().and_then(|m| Some((m.modified().ok()?, m.len()))))
            .collect()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path)?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate file: {e}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("{}: holds no certificate", path.display()));
    }
    Ok(certificates)
}

fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, String> {
    let chain = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_slice(&read(&files.key)?)
        .map_err(|e| format!("{}: not a PEM private key: {e}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for certificate in certificates(path)? {
                roots.add(certificate).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if files.require_client_cert { verifier } else { verifier.allow_unauthenticated() };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| format!("{}: {e}", path.display()))?)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("{} and {}: {e}", files.cert.display(), files.key.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The common name of the subject of the client's certificate, when it sent one.
fn client_common_name(stream: &tokio_rustls::server::TlsStream<TcpStream>) -> Option<String> {
    let leaf = stream.get_ref().1.peer_certificates()?.first()?;
    let (_, certificate) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    let common_name = certificate.subject().iter_common_name().next()?.as_str().ok()?.to_owned();
    Some(common_name)
}

/// One accepted connection: plain TCP, TLS, or in-process (the dashboard's own calls).
pub enum Conn {
    /// Plain TCP (no TLS configured).
    Plain(TcpStream, SocketAddr),
    /// TLS over TCP.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>, Peer),
    /// A pipe inside the process.
    Local(DuplexStream),
}

impl Conn {
    /// The peer, as the auth layer sees it.
    pub fn peer(&self) -> Peer {
        match self {
            Conn::Plain(_, address) => Peer { address: Some(*address), ..Peer::default() },
            Conn::Tls(_, peer) => peer.clone(),
            Conn::Local(_) => Peer::default(),
        }
    }
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = Peer;

    fn connect_info(&self) -> Peer {
        self.peer()
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(stream, _) => Pin::new(stream).poll_read(cx, buf),
            Conn::Tls(stream, _) => Pin::new(stream.as_mut()).poll_read(cx, buf),
            Conn::Local(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(stream, _) => Pin::new(stream).poll_write(cx, buf),
            Conn::Tls(stream, _) => Pin::new(stream.as_mut()).poll_write(cx, buf),
            Conn::Local(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(stream, _) => Pin::new(stream).poll_flush(cx),
            Conn::Tls(stream, _) => Pin::new(stream.as_mut()).poll_flush(cx),
            Conn::Local(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(stream, _) => Pin::new(stream).poll_shutdown(cx),
            Conn::Tls(stream, _) => Pin::new(stream.as_mut()).poll_shutdown(cx),
            Conn::Local(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}

/// Accepts connections on `listener` (completing TLS handshakes when `tls` is set) and hands
/// them to `connections` until its receiver is dropped.
pub fn accept(listener: TcpListener, tls: Option<Tls>, connections: mpsc::Sender<Conn>) {
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = connections.closed() => return,
            };
            let (tcp, address) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Without TCP_NODELAY small responses wait for delayed ACKs (~40 ms each).
            let _ = tcp.set_nodelay(true);
            match &tls {
                None => {
                    if connections.send(Conn::Plain(tcp, address)).await.is_err() {
                        return;
                    }
                }
                Some(tls) => {
                    let acceptor = tls.acceptor();
                    let connections = connections.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(tcp)).await {
                            Ok(Ok(stream)) => {
                                let peer =
                                    Peer { address: Some(address), client_common_name: client_common_name(&stream) };
                                let _ = connections.send(Conn::Tls(Box::new(stream), peer)).await;
                            }
                            Ok(Err(error)) => tracing::info!(%address, %error, "TLS handshake failed"),
                            Err(_) => tracing::info!(%address, "TLS handshake not finished in time"),
                        }
                    });
                }
            }
        }
    });
}

/// The dashboard's listener: connections accepted (and TLS-wrapped) by [`accept`].
pub struct DashboardListener {
    connections: mpsc::Receiver<Conn>,
    address: SocketAddr,
}

impl DashboardListener {
    /// Starts accepting on `listener`.
    pub fn start(listener: TcpListener, address: SocketAddr, tls: Option<Tls>) -> DashboardListener {
        let (sender, connections) = mpsc::channel(64);
        accept(listener, tls, sender);
        DashboardListener { connections, address }
    }
}

impl axum::serve::Listener for DashboardListener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        match self.connections.recv().await {
            Some(connection) => {
                let address = connection.peer().address.unwrap_or(self.address);
                (connection, address)
            }
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.address)
    }
}
