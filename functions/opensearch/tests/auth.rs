//! Basic auth and SigV4 as they arrive at the server. The SigV4 signature is recomputed here
//! from the received request with an independent implementation of the algorithm (AWS's
//! "Create a signed AWS API request" steps), so the test does not trust aws-sigv4.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use backfill_core::Target;
use backfill_opensearch::{Auth, OpenSearchTarget, TargetConfig, TargetConfigError};
use base64::Engine;
use common::{bulk_answer, FakeServer, Recorded};
use sha2::{Digest, Sha256};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn sigv4(region: &str, token: Option<&str>) -> Auth {
    Auth::SigV4 {
        region: region.into(),
        service: "es".into(),
        credentials: SharedCredentialsProvider::new(Credentials::new(
            "AKID",
            SECRET,
            token.map(str::to_string),
            None,
            "test",
        )),
    }
}

fn target(endpoint: String, auth: Auth, gzip: bool) -> OpenSearchTarget {
    let mut cfg = TargetConfig::new(endpoint);
    cfg.auth = auth;
    cfg.gzip = gzip;
    cfg.request_timeout = Duration::from_secs(10);
    OpenSearchTarget::new(cfg).unwrap()
}

#[tokio::test]
async fn basic_auth_sends_the_encoded_user_and_password() {
    let server = FakeServer::start(|_| (200, bulk_answer(&[201]))).await;
    let auth = Auth::Basic {
        username: "admin".into(),
        password: "pä:ss".into(),
    };
    let t = target(server.endpoint(), auth, false);
    t.bulk_body(Arc::new(b"{\"index\":{}}\n{}\n".to_vec()), 1)
        .await
        .unwrap();
    let expected = base64::engine::general_purpose::STANDARD.encode("admin:pä:ss");
    assert_eq!(
        server.last().header("authorization"),
        Some(format!("Basic {expected}").as_str())
    );
    assert!(!format!("{t:?}").contains("pä:ss"));
}

#[test]
fn bad_auth_settings_are_refused_up_front() {
    let mut cfg = TargetConfig::new("http://127.0.0.1:9200");
    cfg.auth = Auth::Basic {
        username: "a:b".into(),
        password: "p".into(),
    };
    assert!(matches!(
        OpenSearchTarget::new(cfg.clone()),
        Err(TargetConfigError::Auth(_))
    ));
    cfg.auth = sigv4("eu-west-1", None);
    if let Auth::SigV4 { service, .. } = &mut cfg.auth {
        *service = "s3".into();
    }
    assert!(matches!(
        OpenSearchTarget::new(cfg),
        Err(TargetConfigError::Auth(_))
    ));
}

#[tokio::test]
async fn sigv4_signs_bulk_plain_and_gzip_and_head_and_put() {
    let server = FakeServer::start(|r| match r.method.as_str() {
        "POST" => (200, bulk_answer(&[201])),
        "HEAD" => (404, String::new()),
        _ => (200, r#"{"acknowledged":true}"#.into()),
    })
    .await;
    let body = Arc::new(b"{\"index\":{\"_index\":\"i\"}}\n{\"a\":1}\n".to_vec());
    for gzip in [false, true] {
        let t = target(server.endpoint(), sigv4("eu-west-1", None), gzip);
        t.bulk_body(body.clone(), 1).await.unwrap();
        let r = server.last();
        check_signature(&r, "eu-west-1", SECRET);
        let signed = signed_headers(&r);
        assert!(signed.contains(&"content-type".to_string()), "{signed:?}");
        assert_eq!(signed.contains(&"content-encoding".to_string()), gzip);
    }
    let t = target(
        server.endpoint(),
        sigv4("eu-west-1", Some("SESSION")),
        false,
    );
    assert!(!t.index_exists("logs 2024").await.unwrap());
    let head = server.last();
    assert_eq!(head.header("x-amz-security-token"), Some("SESSION"));
    check_signature(&head, "eu-west-1", SECRET);
    t.create_index("logs", &serde_json::json!({"settings": {}}))
        .await
        .unwrap();
    check_signature(&server.last(), "eu-west-1", SECRET);
}

/// Counts how often the client asks for credentials; they expire `valid_for` from now.
#[derive(Debug)]
struct CountingProvider {
    calls: Arc<AtomicUsize>,
    valid_for: Duration,
}

impl ProvideCredentials for CountingProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        future::ProvideCredentials::ready(Ok(Credentials::new(
            format!("AKID{n}"),
            SECRET,
            None,
            Some(SystemTime::now() + self.valid_for),
            "counting",
        )))
    }
}

#[tokio::test]
async fn credentials_are_fetched_once_and_renewed_before_they_expire() {
    let server = FakeServer::start(|_| (200, bulk_answer(&[201]))).await;
    let body = Arc::new(b"{\"index\":{}}\n{}\n".to_vec());
    for (valid_for, expected_calls) in
        [(Duration::from_secs(3600), 1), (Duration::from_secs(60), 3)]
    {
        let calls = Arc::new(AtomicUsize::new(0));
        let auth = Auth::SigV4 {
            region: "eu-west-1".into(),
            service: "es".into(),
            credentials: SharedCredentialsProvider::new(CountingProvider {
                calls: calls.clone(),
                valid_for,
            }),
        };
        let t = target(server.endpoint(), auth, false);
        for _ in 0..3 {
            t.bulk_body(body.clone(), 1).await.unwrap();
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            expected_calls,
            "valid for {valid_for:?}"
        );
    }
}

/// Checks the SigV4 headers of a received request and recomputes its signature.
fn check_signature(r: &Recorded, region: &str, secret: &str) {
    let auth = r.header("authorization").expect("no authorization header");
    let amz_date = r.header("x-amz-date").expect("no x-amz-date");
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/es/aws4_request");
    let prefix = format!("AWS4-HMAC-SHA256 Credential=AKID/{scope}, SignedHeaders=");
    assert!(auth.starts_with(&prefix), "{auth}");
    let payload_hash = hex(&Sha256::digest(&r.body));
    assert_eq!(
        r.header("x-amz-content-sha256"),
        Some(payload_hash.as_str())
    );

    let signed = signed_headers(r);
    for required in ["host", "x-amz-content-sha256", "x-amz-date"] {
        assert!(
            signed.iter().any(|h| h == required),
            "{required} not signed: {auth}"
        );
    }
    let canonical_headers: String = signed
        .iter()
        .map(|name| format!("{name}:{}\n", r.header(name).unwrap().trim()))
        .collect();
    let canonical_request = format!(
        "{}\n{}\n\n{canonical_headers}\n{}\n{payload_hash}",
        r.method,
        encode_again(&r.path),
        signed.join(";"),
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, "es", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
    assert_eq!(
        auth.rsplit("Signature=").next(),
        Some(expected.as_str()),
        "canonical request:\n{canonical_request}"
    );
}

fn signed_headers(r: &Recorded) -> Vec<String> {
    let auth = r.header("authorization").unwrap();
    let list = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap();
    list.split(';').map(str::to_string).collect()
}

/// SigV4 (other than S3) URI-encodes the already encoded path once more.
fn encode_again(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |x: u8| block.iter().map(|b| b ^ x).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(data)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_test_hmac_matches_rfc_4231() {
    // RFC 4231, test case 2.
    assert_eq!(
        hex(&hmac(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}
