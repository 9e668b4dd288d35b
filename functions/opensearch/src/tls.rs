//! The connector: TCP with a connect timeout, then TLS for https endpoints.
//!
//! TLS is rustls with the aws-lc-rs provider, the stack the AWS SDK's default HTTPS client
//! already compiles into every binary of this workspace, so the target client adds no crypto
//! library (no ring, no OpenSSL). The provider is passed explicitly rather than taken from the
//! process default, which panics when two providers end up enabled in one build.
//!
//! Trust comes from the system's certificate store (`rustls-native-certs`, also already in the
//! build for the SDK) rather than a compiled-in Mozilla list: Lambda and container images ship
//! and update `ca-certificates`, and a cluster behind a private CA is trusted by adding that CA
//! to the image or pointing `SSL_CERT_FILE` at it, without a rebuild.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::endpoint::Endpoint;
use crate::TargetConfigError;

/// Probes idle pooled connections so that a peer that vanished (a replaced node behind a load
/// balancer) is noticed by the kernel rather than by a request.
const TCP_KEEPALIVE: Duration = Duration::from_secs(30);

pub(crate) fn connector(
    endpoint: &Endpoint,
    connect_timeout: Duration,
    insecure_skip_verify: bool,
) -> Result<HttpsConnector<HttpConnector>, TargetConfigError> {
    let tls_err = |reason: String| TargetConfigError::Tls {
        endpoint: endpoint.base.clone(),
        reason,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?;
    let tls = if insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    } else if endpoint.https {
        builder
            .with_root_certificates(native_roots().map_err(tls_err)?)
            .with_no_client_auth()
    } else {
        // Plain http: no handshake will happen, so do not depend on the system's store.
        builder
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth()
    };

    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(connect_timeout));
    // _bulk answers are awaited, not streamed: small writes (headers, HEAD) must not wait for ACKs.
    tcp.set_nodelay(true);
    tcp.set_keepalive(Some(TCP_KEEPALIVE));
    Ok(HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp))
}

fn native_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _unparsable) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let errors: Vec<String> = found.errors.iter().map(|e| e.to_string()).collect();
        return Err(format!(
            "no trusted root certificates in the system store ({}); install ca-certificates or \
             set SSL_CERT_FILE to a PEM bundle",
            if errors.is_empty() {
                "it is empty".to_string()
            } else {
                errors.join("; ")
            }
        ));
    }
    Ok(roots)
}

/// `insecure_skip_verify`: any certificate and host name is accepted, but the handshake's
/// signatures are still checked (with the provider's algorithms), so the connection is at least
/// encrypted to whoever holds the presented certificate's key.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
