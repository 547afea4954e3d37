//! Certificates made at test time (rcgen): a CA, server and client certificates.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};

/// A certificate authority of the test.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, PEM.
pub struct Issued {
    /// The certificate.
    pub cert: String,
    /// Its private key.
    pub key: String,
}

impl Authority {
    /// A new self-signed CA named `name`.
    pub fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        Authority { issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap() }
    }

    /// Its certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `common_name` and the subject alternative `names`.
    pub fn issue(&self, common_name: &str, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Issued {
        let mut params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let issuer: &Issuer<'_, KeyPair> = &self.issuer;
        let cert = params.signed_by(&key, issuer).unwrap();
        Issued { cert: cert.pem(), key: key.serialize_pem() }
    }

    /// A server certificate for localhost and 127.0.0.1.
    pub fn server(&self) -> Issued {
        self.issue("techcredit test server", &["localhost", "127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate with subject CN=`common_name`.
    pub fn client(&self, common_name: &str) -> Issued {
        self.issue(common_name, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// Writes `server`'s certificate and key into `dir` (beside, then renamed, as a certificate
/// manager does, so that no half-written file is ever read).
pub fn write_server_files(dir: &Path, server: &Issued) {
    for (name, text) in [("server.pem", &server.cert), ("server-key.pem", &server.key)] {
        std::fs::write(dir.join(format!("{name}.new")), text).unwrap();
        std::fs::rename(dir.join(format!("{name}.new")), dir.join(name)).unwrap();
    }
}

impl Authority {
    /// Settings for a TLS server with a certificate of this CA (files in `dir`); with
    /// `verify_clients`, client certificates of this CA are verified too.
    pub fn serve_tls(&self, settings: &mut server::Settings, dir: &Path, verify_clients: bool) {
        write_server_files(dir, &self.server());
        settings.tls_cert_file = Some(dir.join("server.pem"));
        settings.tls_key_file = Some(dir.join("server-key.pem"));
        if verify_clients {
            std::fs::write(dir.join("clients-ca.pem"), self.pem()).unwrap();
            settings.tls_client_ca_file = Some(dir.join("clients-ca.pem"));
        }
    }
}
