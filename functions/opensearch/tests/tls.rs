//! HTTPS through the rustls + aws-lc-rs stack: certificate verification against the roots of
//! the system store (here replaced through `SSL_CERT_FILE`, which the client honours), and
//! `insecure_skip_verify` for self-signed test clusters.
//!
//! One test in its own binary: it changes `SSL_CERT_FILE`, which is process-wide.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use backfill_core::TargetError;
use backfill_opensearch::{OpenSearchTarget, TargetConfig};
use common::{bulk_answer, FakeServer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn acceptor() -> tokio_rustls::TlsAcceptor {
    let certs = vec![CertificateDer::from_pem_file(data("server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(data("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

fn https_target(endpoint: &str, insecure: bool) -> OpenSearchTarget {
    let mut cfg = TargetConfig::new(endpoint);
    cfg.insecure_skip_verify = insecure;
    cfg.request_timeout = Duration::from_secs(10);
    OpenSearchTarget::new(cfg).unwrap()
}

#[tokio::test]
async fn https_verifies_the_server_certificate_unless_told_not_to() {
    let server = FakeServer::start_with_tls(Some(acceptor()), |_| (200, bulk_answer(&[201]))).await;
    let body = Arc::new(b"{\"index\":{\"_index\":\"i\"}}\n{}\n".to_vec());
    let by_ip = format!("https://127.0.0.1:{}", server.addr.port());
    let by_name = format!("https://localhost:{}", server.addr.port());

    // Trusting only an unrelated certificate: the handshake fails, as Unavailable naming it.
    std::env::set_var("SSL_CERT_FILE", data("server.pem"));
    match https_target(&by_ip, false).bulk_body(body.clone(), 1).await {
        Err(TargetError::Unavailable(msg)) => {
            assert!(msg.contains(&by_ip) && msg.contains("certificate"), "{msg}")
        }
        other => panic!("{other:?}"),
    }

    // Trusting the CA that signed it: by IP address and by name.
    std::env::set_var("SSL_CERT_FILE", data("ca.pem"));
    for endpoint in [&by_ip, &by_name] {
        let results = https_target(endpoint, false)
            .bulk_body(body.clone(), 1)
            .await
            .unwrap();
        assert!(results[0].is_ok());
    }

    // insecure_skip_verify: accepted although nothing trusts it.
    std::env::set_var("SSL_CERT_FILE", data("server.pem"));
    let results = https_target(&by_ip, true)
        .bulk_body(body.clone(), 1)
        .await
        .unwrap();
    assert!(results[0].is_ok());
    std::env::remove_var("SSL_CERT_FILE");

    assert_eq!(server.requests().len(), 3);
    assert_eq!(server.last().path, "/_bulk");
}
