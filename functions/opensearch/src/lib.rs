//! The target cluster adapter: [`OpenSearchTarget`] implements [`backfill_core::Target`] over
//! pooled HTTP/1.1 connections to an OpenSearch (or Elasticsearch) cluster.
//!
//! Depends on the domain (the `Target` port) and on HTTP, TLS, SigV4 and Secrets Manager crates;
//! only the binaries and the local backend depend on it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use backfill_core::{outgoing::BulkDoc, Target};
//! use backfill_opensearch::{OpenSearchTarget, TargetConfig};
//! let target = OpenSearchTarget::new(TargetConfig::new("http://127.0.0.1:9200"))?;
//! println!("{:?}", target.info().await?);
//! let doc = BulkDoc { index: "i".into(), id: "1".into(), source: br#"{"a":1}"#.to_vec(), ..Default::default() };
//! let results = target.bulk(&[&doc]).await?;
//! # Ok(()) }
//! ```
//!
//! Answers are mapped for the worker's retry logic: a 2xx `_bulk` answer gives one
//! [`BulkItemResult`] per action; 429 is
//! [`TargetError::Throttled`]; 5xx, timeouts and connection failures are
//! [`TargetError::Unavailable`] (naming the request and what happened); any other status is
//! [`TargetError::Refused`] with the start of the answer.
//!
//! # Permissions with SigV4
//!
//! Amazon OpenSearch Service (`service: "es"`): the worker's role needs, on
//! `arn:aws:es:<region>:<account>:domain/<domain>/*`, `es:ESHttpPost` (`_bulk`), `es:ESHttpPut`
//! (create index), `es:ESHttpHead` (index exists) and `es:ESHttpGet` (`GET /`); with
//! fine-grained access control the role must also be mapped to a role that may write the
//! indices. OpenSearch Serverless (`"aoss"`): `aoss:APIAccessAll` on the collection and a data
//! access policy granting `aoss:CreateIndex`, `aoss:DescribeIndex` and `aoss:WriteDocument`.

mod auth_source;
mod bulk;
mod clusters;
mod config;
mod endpoint;
mod secret;
mod sign;
mod tls;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use backfill_core::outgoing::BulkDoc;
use backfill_core::{BulkItemResult, Target, TargetError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::Request;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub use auth_source::{AuthSetting, AuthSource};
pub use clusters::OpenSearchClusters;
pub use config::{Auth, IndexRow, ServerInfo, TargetConfig, TargetConfigError};
pub use hyper::Method;
pub use secret::basic_auth_from_secret;

use endpoint::{index_path, Endpoint};

/// Idle pooled connections are closed before the usual 60 s idle timeout of load balancers in
/// front of clusters, so a request rarely meets a connection the other side is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(50);
/// How much of an error answer is kept in [`TargetError::Refused`] and messages.
const ERROR_BODY_LIMIT: usize = 2048;
/// Bodies above this are compressed and hashed on the blocking pool: tens of milliseconds of
/// CPU for a multi-megabyte `_bulk` body would otherwise stall other requests on the runtime.
const BLOCKING_BODY_SIZE: usize = 256 * 1024;

/// An OpenSearch cluster reached over HTTP(S); cheap to share (`Arc`) between tasks, which then
/// share its connection pool.
pub struct OpenSearchTarget {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    endpoint: Endpoint,
    auth: Auth,
    /// With SigV4: the provider's credentials, kept until shortly before they expire.
    credentials: Option<sign::CredentialsCache>,
    gzip: bool,
    request_timeout: Duration,
}

impl std::fmt::Debug for OpenSearchTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenSearchTarget")
            .field("endpoint", &self.endpoint.base)
            .field("auth", &self.auth)
            .field("gzip", &self.gzip)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// A status and the whole answer body.
struct Answer {
    status: u16,
    body: Bytes,
}

/// `Arc<Vec<u8>>` as a `Bytes` without copying: retries of one `_bulk` body share it.
struct SharedBody(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBody {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl OpenSearchTarget {
    /// Sends a `_bulk` body already in the wire format, of `actions` actions; one result per
    /// action. The worker goes through [`Target::bulk`]; this is for bodies built elsewhere.
    pub async fn bulk_body(
        &self,
        body: Arc<Vec<u8>>,
        actions: usize,
    ) -> Result<Vec<BulkItemResult>, TargetError> {
        let body = Bytes::from_owner(SharedBody(body));
        let answer = self
            .send(
                Method::POST,
                "/_bulk",
                Some("application/x-ndjson"),
                body,
                self.gzip,
            )
            .await?;
        self.expect_success(&Method::POST, "/_bulk", &answer)?;
        bulk::parse_response(&answer.body, actions)
    }

    /// Checks the configuration and sets up TLS; connects lazily, on the first request.
    pub fn new(cfg: TargetConfig) -> Result<Self, TargetConfigError> {
        let endpoint = Endpoint::parse(&cfg.endpoint)?;
        match &cfg.auth {
            Auth::Basic { username, .. } if username.is_empty() || username.contains(':') => {
                return Err(TargetConfigError::Auth(
                    "a Basic auth user name must be non-empty and without ':'".into(),
                ))
            }
            Auth::SigV4 {
                region, service, ..
            } => {
                if region.is_empty() {
                    return Err(TargetConfigError::Auth("SigV4 needs a region".into()));
                }
                // `execute-api`: the control plane's API Gateway, which the CLI calls with this client.
                if !["es", "aoss", "execute-api"].contains(&service.as_str()) {
                    return Err(TargetConfigError::Auth(format!(
                        "SigV4 service {service:?}: \"es\" (OpenSearch Service), \"aoss\" (Serverless) or \"execute-api\" (API Gateway)"
                    )));
                }
            }
            _ => {}
        }
        let connector = tls::connector(&endpoint, cfg.connect_timeout, cfg.insecure_skip_verify)?;
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        let credentials = match &cfg.auth {
            Auth::SigV4 { credentials, .. } => {
                Some(sign::CredentialsCache::new(credentials.clone()))
            }
            _ => None,
        };
        Ok(OpenSearchTarget {
            client,
            endpoint,
            auth: cfg.auth,
            credentials,
            gzip: cfg.gzip,
            request_timeout: cfg.request_timeout,
        })
    }

    /// `GET /`: the distribution and version of the cluster.
    pub async fn info(&self) -> Result<ServerInfo, TargetError> {
        let answer = self
            .send(Method::GET, "/", None, Bytes::new(), false)
            .await?;
        self.expect_success(&Method::GET, "/", &answer)?;
        ServerInfo::parse(&answer.body).ok_or_else(|| {
            TargetError::Protocol(format!(
                "GET {}: not a cluster's main answer: {}",
                self.endpoint.url("/"),
                snippet(&answer.body)
            ))
        })
    }

    /// Any JSON request (`GET /_cat/indices`, the control plane's API routes): the status and
    /// the body, whatever the status; an error only when there is no answer.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        json_body: Option<Vec<u8>>,
    ) -> Result<(u16, Bytes), TargetError> {
        let content_type = json_body.as_ref().map(|_| "application/json");
        let answer = self
            .send(
                method,
                path,
                content_type,
                Bytes::from(json_body.unwrap_or_default()),
                false,
            )
            .await?;
        Ok((answer.status, answer.body))
    }

    /// `POST /_refresh`: makes every indexed document visible to counts.
    pub async fn refresh(&self) -> Result<(), TargetError> {
        let answer = self
            .send(Method::POST, "/_refresh", None, Bytes::new(), false)
            .await?;
        self.expect_success(&Method::POST, "/_refresh", &answer)
    }

    /// `GET /_cat/indices?format=json`: one row per index (name, health, document count…).
    pub async fn cat_indices(&self) -> Result<Vec<IndexRow>, TargetError> {
        let path = "/_cat/indices?format=json&bytes=b";
        let answer = self
            .send(Method::GET, path, None, Bytes::new(), false)
            .await?;
        self.expect_success(&Method::GET, path, &answer)?;
        config::parse_cat_indices(&answer.body).ok_or_else(|| {
            TargetError::Protocol(format!(
                "GET {}: not a _cat/indices answer: {}",
                self.endpoint.url(path),
                snippet(&answer.body)
            ))
        })
    }

    /// `GET /<index>/_count`: the index's top-level documents (nested children, which
    /// `_cat/indices` counts too, are not documents of their own).
    pub async fn count(&self, index: &str) -> Result<u64, TargetError> {
        let path = format!("{}/_count", endpoint::index_path(index));
        let answer = self
            .send(Method::GET, &path, None, Bytes::new(), false)
            .await?;
        self.expect_success(&Method::GET, &path, &answer)?;
        serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["count"].as_u64())
            .ok_or_else(|| {
                TargetError::Protocol(format!(
                    "GET {}: not a _count answer: {}",
                    self.endpoint.url(&path),
                    snippet(&answer.body)
                ))
            })
    }

    /// Sends one request; the answer whatever its status, or why there is none.
    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&'static str>,
        body: Bytes,
        gzip: bool,
    ) -> Result<Answer, TargetError> {
        let url = self.endpoint.url(path);
        let signing = matches!(self.auth, Auth::SigV4 { .. });
        let (body, payload_sha256) = prepare_body(body, gzip, signing).await;

        let mut headers: Vec<(HeaderName, HeaderValue)> = vec![
            (header::HOST, self.endpoint.host.clone()),
            (header::ACCEPT, HeaderValue::from_static("application/json")),
        ];
        if let Some(ct) = content_type {
            headers.push((header::CONTENT_TYPE, HeaderValue::from_static(ct)));
        }
        if gzip {
            headers.push((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
        }
        self.authenticate(&method, &url, &mut headers, payload_sha256)
            .await?;

        let mut request = Request::builder().method(method.clone()).uri(&url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| TargetError::Protocol(format!("{method} {url}: {e}")))?;

        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                let what = if e.is_connect() {
                    "could not connect"
                } else {
                    "no answer"
                };
                format!("{what}: {}", error_chain(&e))
            })?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| {
                    format!(
                        "HTTP {status}, then the answer broke off: {}",
                        error_chain(&e)
                    )
                })?
                .to_bytes();
            Ok::<_, String>(Answer { status, body })
        };
        match tokio::time::timeout(self.request_timeout, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(what)) => Err(TargetError::Unavailable(format!("{method} {url}: {what}"))),
            Err(_) => Err(TargetError::Unavailable(format!(
                "{method} {url}: no complete answer within {:?}",
                self.request_timeout
            ))),
        }
    }

    /// Adds `Authorization` (and with SigV4 its `x-amz-*` companions), computed over the other
    /// headers, which must all be in place.
    async fn authenticate(
        &self,
        method: &Method,
        url: &str,
        headers: &mut Vec<(HeaderName, HeaderValue)>,
        payload_sha256: Option<String>,
    ) -> Result<(), TargetError> {
        let (region, service) = match &self.auth {
            Auth::None => return Ok(()),
            Auth::Basic { username, password } => {
                headers.push((
                    header::AUTHORIZATION,
                    sign::basic_header(username, password),
                ));
                return Ok(());
            }
            Auth::SigV4 {
                region, service, ..
            } => (region, service),
        };
        let cache = self
            .credentials
            .as_ref()
            .expect("set up for SigV4 by new()");
        let creds = cache.get().await.map_err(|e| {
            TargetError::Unavailable(format!(
                "{method} {url}: no AWS credentials to sign with: {e}"
            ))
        })?;
        let failed = |e: String| TargetError::Protocol(format!("{method} {url}: signing: {e}"));
        let to_sign: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap_or_default()))
            .collect();
        let signed = sign::sigv4_headers(
            sign::ToSign {
                method: method.as_str(),
                url,
                headers: &to_sign,
                payload_sha256: payload_sha256.unwrap_or_default(),
            },
            creds,
            region,
            service,
            SystemTime::now(),
        )
        .map_err(failed)?;
        for (name, value) in signed {
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|e| failed(e.to_string()))?;
            let mut value = HeaderValue::from_str(&value).map_err(|e| failed(e.to_string()))?;
            value.set_sensitive(name == header::AUTHORIZATION || name == "x-amz-security-token");
            headers.push((name, value));
        }
        Ok(())
    }

    /// A non-2xx answer as the error the worker acts on.
    fn expect_success(
        &self,
        method: &Method,
        path: &str,
        answer: &Answer,
    ) -> Result<(), TargetError> {
        match answer.status {
            200..=299 => Ok(()),
            429 => Err(TargetError::Throttled {
                status: answer.status,
            }),
            status @ 500.. => Err(TargetError::Unavailable(format!(
                "{method} {}: HTTP {status}: {}",
                self.endpoint.url(path),
                snippet(&answer.body)
            ))),
            status => Err(TargetError::Refused {
                status,
                body: snippet(&answer.body),
            }),
        }
    }
}

#[async_trait]
impl Target for OpenSearchTarget {
    async fn bulk(&self, docs: &[&BulkDoc]) -> Result<Vec<BulkItemResult>, TargetError> {
        self.bulk_body(Arc::new(bulk::encode(docs)), docs.len())
            .await
    }

    async fn index_exists(&self, index: &str) -> Result<bool, TargetError> {
        let path = index_path(index);
        let answer = self
            .send(Method::HEAD, &path, None, Bytes::new(), false)
            .await?;
        match answer.status {
            404 => Ok(false),
            _ => self
                .expect_success(&Method::HEAD, &path, &answer)
                .map(|()| true),
        }
    }

    async fn create_index(&self, index: &str, body: &serde_json::Value) -> Result<(), TargetError> {
        let path = index_path(index);
        let json = serde_json::to_vec(body).expect("a JSON value always serialises");
        let answer = self
            .send(
                Method::PUT,
                &path,
                Some("application/json"),
                Bytes::from(json),
                false,
            )
            .await?;
        // Another worker may have created it first: that is what we wanted.
        if answer.status == 400
            && error_type(&answer.body) == Some("resource_already_exists_exception")
        {
            return Ok(());
        }
        self.expect_success(&Method::PUT, &path, &answer)
    }

    /// `_mget` with one document: the id and routing travel in the body (no query string to
    /// encode or sign), and `_mget` is realtime like GET.
    async fn get_source(
        &self,
        index: &str,
        id: &str,
        routing: Option<&str>,
    ) -> Result<Option<Vec<u8>>, TargetError> {
        let path = format!("{}/_mget", index_path(index));
        let mut doc = serde_json::json!({"_id": id});
        if let Some(r) = routing {
            doc["routing"] = r.into();
        }
        let body = serde_json::to_vec(&serde_json::json!({"docs": [doc]}))
            .expect("a JSON value always serialises");
        let answer = self
            .send(
                Method::POST,
                &path,
                Some("application/json"),
                Bytes::from(body),
                false,
            )
            .await?;
        self.expect_success(&Method::POST, &path, &answer)?;
        // `_source` as the node sent it, byte for byte: a `Value` would re-serialise it (and
        // sort its keys).
        #[derive(serde::Deserialize)]
        struct Answer<'a> {
            #[serde(borrow)]
            docs: Vec<Doc<'a>>,
        }
        #[derive(serde::Deserialize)]
        struct Doc<'a> {
            #[serde(default)]
            found: bool,
            #[serde(borrow, rename = "_source")]
            source: Option<&'a serde_json::value::RawValue>,
        }
        let a: Answer = serde_json::from_slice(&answer.body).map_err(|e| {
            TargetError::Protocol(format!(
                "_mget answer is not what _mget returns ({e}): {}",
                snippet(&answer.body)
            ))
        })?;
        Ok(a.docs
            .first()
            .filter(|d| d.found)
            .and_then(|d| d.source)
            .map(|raw| raw.get().as_bytes().to_vec()))
    }
}

/// Compresses (when asked) and hashes (when signing) the body that will be sent.
async fn prepare_body(body: Bytes, gzip: bool, hash: bool) -> (Bytes, Option<String>) {
    let blocking = (gzip || hash) && body.len() > BLOCKING_BODY_SIZE;
    let work = move || {
        let body = if gzip { gzip_bytes(&body) } else { body };
        let sha = hash.then(|| sign::sha256_hex(&body));
        (body, sha)
    };
    if blocking {
        match tokio::task::spawn_blocking(work).await {
            Ok(done) => done,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    } else {
        work()
    }
}

fn gzip_bytes(data: &[u8]) -> Bytes {
    use std::io::Write;
    // Level 1: most of the size reduction on JSON at a fraction of the default level's CPU,
    // which a worker needs for reading the snapshot.
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    gz.write_all(data).expect("writing to a Vec cannot fail");
    Bytes::from(gz.finish().expect("writing to a Vec cannot fail"))
}

/// `error.type` of an OpenSearch error answer.
fn error_type(body: &[u8]) -> Option<&str> {
    #[derive(serde::Deserialize)]
    struct ErrorAnswer<'a> {
        #[serde(borrow)]
        error: ErrorBody<'a>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorBody<'a> {
        #[serde(borrow, rename = "type")]
        kind: &'a str,
    }
    serde_json::from_slice::<ErrorAnswer<'_>>(body)
        .ok()
        .map(|a| a.error.kind)
}

/// The start of an answer body as text, for errors.
fn snippet(body: &[u8]) -> String {
    let mut end = body.len().min(ERROR_BODY_LIMIT);
    // Cut on a character boundary so the text stays valid UTF-8 where the body was.
    while end < body.len() && end > 0 && (body[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    let mut text = String::from_utf8_lossy(&body[..end]).into_owned();
    if end < body.len() {
        text.push('…');
    }
    text
}

/// An error and its sources: "client error (Connect): tcp connect error: Connection refused".
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_cut_on_character_boundaries() {
        assert_eq!(snippet(b"short"), "short");
        let long = "é".repeat(ERROR_BODY_LIMIT);
        let s = snippet(long.as_bytes());
        assert!(s.ends_with('…') && !s.contains('\u{FFFD}'));
        assert!(s.len() <= ERROR_BODY_LIMIT + '…'.len_utf8());
    }

    #[test]
    fn error_types_of_answers() {
        let b = br#"{"error":{"root_cause":[],"type":"resource_already_exists_exception","reason":"x"},"status":400}"#;
        assert_eq!(error_type(b), Some("resource_already_exists_exception"));
        assert_eq!(error_type(b"<html>"), None);
    }
}
