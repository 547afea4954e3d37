//! TLS and client certificates, with certificates made at test time: the listener speaks TLS
//! only, a bank key works only over its own bank's certificate, a renewed certificate is
//! served without a restart.

use std::time::Duration;

use proto::v1 as pb;
use tests::certs::{Authority, write_server_files};
use tests::{spawn_tls_app, with_key};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::support::{create_bank, issue_key};

fn trusting(ca: &Authority) -> ClientTlsConfig {
    ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.pem())).domain_name("localhost")
}

async fn channel(address: std::net::SocketAddr, tls: ClientTlsConfig) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("https://{address}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

/// The call never reached a service: the connection itself was refused.
fn assert_turned_away(result: Result<pb::GetServerInfoResponse, tonic::Status>, what: &str) {
    let status = result.expect_err(what);
    assert!(
        matches!(status.code(), Code::Unavailable | Code::Unknown) && std::error::Error::source(&status).is_some(),
        "{what}: {status:?}"
    );
}

async fn server_info(channel: Channel, key: &str) -> Result<pb::GetServerInfoResponse, tonic::Status> {
    pb::admin_service_client::AdminServiceClient::new(with_key(channel, key))
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .map(tonic::Response::into_inner)
}

/// TLS only; with a client CA a BANK key works over its own bank's certificate and no other,
/// while other roles need none; a certificate from another CA does not get in.
#[tokio::test]
async fn tls_only_and_a_bank_key_needs_its_own_banks_certificate() {
    let ca = Authority::new("techcredit test CA");
    let app = spawn_tls_app(|settings, dir| ca.serve_tls(settings, dir, true), trusting(&ca)).await;

    // Plaintext to the TLS port gets nowhere.
    let plain = Channel::from_shared(format!("http://{}", app.address)).unwrap().connect().await;
    if let Ok(plain) = plain {
        assert_turned_away(server_info(plain, &app.admin_key).await, "plaintext is not served");
    }
    // A client that does not trust the server's CA refuses it.
    let stranger = Authority::new("another CA");
    assert!(channel(app.address, trusting(&stranger)).await.is_err(), "the server's certificate is checked");

    // The container health check speaks TLS to a TLS-only server (health needs no client
    // certificate) and checks the server's certificate against the CA it is given.
    let address = app.address.to_string();
    let probe = async |ca_file: &std::path::Path| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_e2e-server"));
        command.args(["health", "--address", &address, "--ca-file"]).arg(ca_file);
        // Off the test's thread: the server under test answers on it.
        tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
    };
    let ca_file = app.settings.data_dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let healthy = probe(&ca_file).await;
    assert!(healthy.status.success(), "{healthy:?}");
    assert!(String::from_utf8_lossy(&healthy.stdout).contains("SERVING"));
    let other_ca = app.settings.data_dir.join("other-ca.pem");
    std::fs::write(&other_ca, Authority::new("another CA").pem()).unwrap();
    assert_eq!(probe(&other_ca).await.status.code(), Some(1), "a certificate of another CA is not trusted");
    // The administrator needs no client certificate.
    let admin = channel(app.address, trusting(&ca)).await.unwrap();
    server_info(admin.clone(), &app.admin_key).await.expect("admin over TLS without a client certificate");

    create_bank(&app, "nbcb", "1000000.00").await;
    create_bank(&app, "hzbank", "1000000.00").await;
    let bank_key = issue_key(&app, pb::Role::Bank, "banks/nbcb").await;

    let denied = server_info(admin.clone(), &bank_key).await.expect_err("a bank key without a certificate");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(denied.message().contains("CN=nbcb"), "{}", denied.message());

    let other = ca.client("hzbank");
    let over_other =
        channel(app.address, trusting(&ca).identity(Identity::from_pem(&other.cert, &other.key))).await.unwrap();
    let denied = server_info(over_other, &bank_key).await.expect_err("a bank key over another bank's certificate");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(denied.message().contains("hzbank"), "{}", denied.message());

    let own = ca.client("nbcb");
    let over_own = channel(app.address, trusting(&ca).identity(Identity::from_pem(&own.cert, &own.key))).await.unwrap();
    let info = server_info(over_own, &bank_key).await.expect("a bank key over its own certificate");
    assert_eq!(info.caller_bank, "banks/nbcb");

    // A client certificate from a CA the server does not trust ends the handshake.
    let forged = stranger.client("nbcb");
    let forged = channel(app.address, trusting(&ca).identity(Identity::from_pem(&forged.cert, &forged.key))).await;
    if let Ok(forged) = forged {
        assert_turned_away(server_info(forged, &bank_key).await, "a certificate of another CA");
    }
}

/// With tls_require_client_cert every connection needs a client certificate.
#[tokio::test]
async fn required_client_certificates_turn_away_a_client_without_one() {
    let ca = Authority::new("techcredit test CA");
    let admin_cert = ca.client("operations desk");
    let app = spawn_tls_app(
        |settings, dir| {
            ca.serve_tls(settings, dir, true);
            settings.tls_require_client_cert = true;
        },
        trusting(&ca).identity(Identity::from_pem(&admin_cert.cert, &admin_cert.key)),
    )
    .await;
    server_info(app.channel(), &app.admin_key).await.expect("with a certificate");
    match channel(app.address, trusting(&ca)).await {
        Err(_) => {}
        Ok(without) => {
            assert_turned_away(server_info(without, &app.admin_key).await, "without a certificate");
        }
    }
}

/// A renewed certificate (here from a new CA) is served once its files change, without a
/// restart; a bad file keeps the certificate in force.
#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart() {
    let first = Authority::new("first CA");
    let mut dir = None;
    let app = spawn_tls_app(
        |settings, data_dir| {
            first.serve_tls(settings, data_dir, false);
            dir = Some(data_dir.to_path_buf());
        },
        trusting(&first),
    )
    .await;
    let dir = dir.unwrap();
    server_info(app.channel(), &app.admin_key).await.unwrap();

    // A broken key file: logged, and the certificate in force stays.
    std::fs::write(dir.join("server-key.pem"), "not a key").unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = channel(app.address, trusting(&first)).await.expect("the old certificate is still served");
    server_info(still, &app.admin_key).await.unwrap();

    let second = Authority::new("second CA");
    write_server_files(&dir, &second.server());
    let mut renewed = None;
    for _ in 0..50 {
        if let Ok(channel) = channel(app.address, trusting(&second)).await {
            renewed = Some(channel);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let renewed = renewed.expect("the renewed certificate is served within seconds");
    server_info(renewed, &app.admin_key).await.expect("calls over the renewed certificate");
    assert!(channel(app.address, trusting(&first)).await.is_err(), "the old certificate is no longer served");
}
