//! Authentication headers: Basic, and SigV4 for Amazon OpenSearch Service / Serverless.
//!
//! SigV4 signs the method, the path, the `host`, `content-type` and `content-encoding` headers
//! and the SHA-256 of the body exactly as sent (the gzip bytes when compressing). The hash also
//! travels in `x-amz-content-sha256`, which Amazon OpenSearch Service requires on signed requests
//! with a body and OpenSearch Serverless on every request.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use base64::Engine;
use hyper::header::HeaderValue;

/// `Basic base64(user:password)`, marked sensitive so hyper never prints it.
pub(crate) fn basic_header(username: &str, password: &str) -> HeaderValue {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let mut value =
        HeaderValue::from_str(&format!("Basic {token}")).expect("base64 is a valid header value");
    value.set_sensitive(true);
    value
}

/// Lowercase hex SHA-256, as SigV4 wants the payload hash.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut hex = String::with_capacity(64);
    for b in digest.as_ref() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Credentials are renewed this long before they expire, so that no request is signed with
/// credentials that expire while it waits for its answer.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// Keeps the credentials between requests. The SDK's providers (ECS task role, IMDS, web
/// identity) do not cache: the SDK clients cache above them. Without this, every `_bulk` would
/// fetch credentials from the container or instance metadata endpoint.
pub(crate) struct CredentialsCache {
    provider: SharedCredentialsProvider,
    // An async mutex: concurrent requests wait for the one fetch instead of each starting one.
    current: tokio::sync::Mutex<Option<Credentials>>,
}

impl CredentialsCache {
    pub fn new(provider: SharedCredentialsProvider) -> Self {
        CredentialsCache {
            provider,
            current: tokio::sync::Mutex::new(None),
        }
    }

    pub async fn get(&self) -> Result<Credentials, String> {
        let mut current = self.current.lock().await;
        let now = SystemTime::now();
        let fresh = |c: &Credentials, margin: Duration| c.expiry().is_none_or(|e| e > now + margin);
        if let Some(c) = current.as_ref().filter(|c| fresh(c, RENEW_BEFORE_EXPIRY)) {
            return Ok(c.clone());
        }
        match self.provider.provide_credentials().await {
            Ok(c) => {
                *current = Some(c.clone());
                Ok(c)
            }
            // A failed renewal while the old credentials still work: use them, retry next time.
            Err(_) if current.as_ref().is_some_and(|c| fresh(c, Duration::ZERO)) => {
                Ok(current.clone().expect("checked"))
            }
            Err(e) => Err(crate::error_chain(&e)),
        }
    }
}

/// What to sign: the request as it will be sent.
pub(crate) struct ToSign<'a> {
    pub method: &'a str,
    /// The full URL, path already percent-encoded once (SigV4 encodes it again).
    pub url: &'a str,
    /// Lowercase names; `host` must be among them.
    pub headers: &'a [(&'a str, &'a str)],
    pub payload_sha256: String,
}

/// The headers to add: `authorization`, `x-amz-date`, `x-amz-content-sha256` and, with
/// temporary credentials, `x-amz-security-token`.
pub(crate) fn sigv4_headers(
    request: ToSign<'_>,
    credentials: Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.url,
        request.headers.iter().copied(),
        SignableBody::Precomputed(request.payload_sha256),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fixed_time() -> SystemTime {
        // 2015-08-30T12:36:00Z, the date of AWS's published SigV4 examples.
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    fn signed(body: &[u8], token: Option<&str>) -> Vec<(String, String)> {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_string),
            None,
            "test",
        );
        sigv4_headers(
            ToSign {
                method: "POST",
                url: "https://search-d.us-east-1.es.amazonaws.com/_bulk",
                headers: &[
                    ("host", "search-d.us-east-1.es.amazonaws.com"),
                    ("content-type", "application/x-ndjson"),
                ],
                payload_sha256: sha256_hex(body),
            },
            creds,
            "us-east-1",
            "es",
            fixed_time(),
        )
        .unwrap()
    }

    fn get<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
    }

    #[test]
    fn signing_is_deterministic_and_has_the_expected_shape() {
        let a = signed(b"{}\n", None);
        assert_eq!(a, signed(b"{}\n", None));
        assert_eq!(get(&a, "x-amz-date"), "20150830T123600Z");
        assert_eq!(get(&a, "x-amz-content-sha256"), sha256_hex(b"{}\n"));
        let auth = get(&a, "authorization");
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/es/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature="
            ),
            "{auth}"
        );
        assert_eq!(auth.rsplit('=').next().unwrap().len(), 64);
        // Another body, another signature.
        assert_ne!(get(&signed(b"[]\n", None), "authorization"), auth);
    }

    #[test]
    fn session_tokens_are_sent_and_signed() {
        let h = signed(b"", Some("TOKEN"));
        assert_eq!(get(&h, "x-amz-security-token"), "TOKEN");
        assert!(get(&h, "authorization").contains("x-amz-security-token"));
    }

    #[test]
    fn basic_header_is_base64_of_user_colon_password() {
        let h = basic_header("admin", "p:ss");
        assert_eq!(h, "Basic YWRtaW46cDpzcw==");
        assert!(h.is_sensitive());
    }
}
