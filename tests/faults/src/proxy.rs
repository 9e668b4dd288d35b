//! The fault-injecting proxy.

use std::borrow::Cow;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::Release};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, EXPECT, HOST};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;

use crate::bulk::{
    merge_response, split_actions, synthesized_response, throttled_body, throttled_item,
    unavailable_body,
};
use crate::net::{
    bind_loopback, endpoint_of, full, gunzip, is_gzip, json_response, percent_decode, spawn_server,
    strip_hop_by_hop, Body, DropConnection, Upstream,
};

/// Which faults to inject. Every counter starts at 1 with the proxy: `throttle_every: Some(2)`
/// answers the 2nd, 4th, ... `_bulk` request. When one request is picked by several request-level
/// faults, the first of `reset`, `throttle`, `unavailable`, `reset_after_forward` wins.
/// `Some(0)` is the same as `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Every Nth `_bulk` request: 429 with an OpenSearch-style error body, not forwarded.
    pub throttle_every: Option<u32>,
    /// Every Nth `_bulk` request: 503, not forwarded.
    pub unavailable_every: Option<u32>,
    /// Every Nth `_bulk` request: read it, then reset the connection without a response.
    pub reset_every: Option<u32>,
    /// Every Nth `_bulk` request: forward it, wait for upstream's whole answer, then reset the
    /// connection without a response (the target did index it).
    pub reset_after_forward_every: Option<u32>,
    /// Every Nth action of forwarded `_bulk` requests (counted across requests) is not forwarded
    /// and gets a 429 item merged into the response at its position.
    pub item_throttle_every: Option<u32>,
    /// Added before answering (or dropping) each request.
    pub latency: Option<Duration>,
    /// Every Nth request that is not `_bulk` (an AWS API call, with an emulator behind the
    /// proxy): AWS's throttling error in the request's protocol, not forwarded.
    pub aws_throttle_every: Option<u32>,
    /// A target that indexes at most this many bytes of `_bulk` body per second (a token bucket
    /// holding one second's worth): a request beyond it gets a whole-request 429
    /// (`es_rejected_execution_exception`, as a full write queue answers) and is not forwarded.
    pub capacity_bytes_per_sec: Option<u64>,
}

/// What the proxy saw and did since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Every request received.
    pub requests: u64,
    /// Every `_bulk` request received.
    pub bulk_requests: u64,
    pub throttled: u64,
    pub unavailable: u64,
    pub resets: u64,
    pub resets_after_forward: u64,
    pub items_throttled: u64,
    /// `_bulk` requests answered 429 because they were over the capacity.
    pub over_capacity: u64,
    /// Bytes of `_bulk` bodies let through under the capacity.
    pub bytes_admitted: u64,
    /// AWS API calls answered with a throttling error.
    pub aws_throttled: u64,
    /// Requests sent upstream, `_bulk` or not.
    pub forwarded: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    bulk_requests: AtomicU64,
    throttled: AtomicU64,
    unavailable: AtomicU64,
    resets: AtomicU64,
    resets_after_forward: AtomicU64,
    items_throttled: AtomicU64,
    over_capacity: AtomicU64,
    bytes_admitted: AtomicU64,
    aws_requests: AtomicU64,
    aws_throttled: AtomicU64,
    forwarded: AtomicU64,
    /// Actions of forwarded bulk requests seen so far (the item-throttle counter).
    actions: AtomicU64,
}

fn bump(counter: &AtomicU64) -> u64 {
    counter.fetch_add(1, Relaxed) + 1
}

struct Shared {
    upstream: Upstream,
    plan: Mutex<FaultPlan>,
    counters: Counters,
    /// The capacity's token bucket: bytes available, and when it was last filled.
    bucket: Mutex<Option<(f64, std::time::Instant)>>,
}

impl Shared {
    fn plan(&self) -> FaultPlan {
        *self.plan.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `bytes` from the capacity's bucket, or says it is over (a request larger than a
    /// second's worth passes once the bucket is full, so nothing is refused forever).
    fn admit(&self, capacity: u64, bytes: u64) -> bool {
        let now = std::time::Instant::now();
        let full = capacity as f64;
        let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = bucket.get_or_insert((full, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * full).min(full);
        *last = now;
        let need = (bytes as f64).min(full);
        if *tokens >= need {
            *tokens -= need;
            true
        } else {
            false
        }
    }
}

/// A proxy on a free loopback port in front of an OpenSearch-compatible server.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts on `127.0.0.1:0`. `upstream` is a base URL such as `http://127.0.0.1:9200` (a path
    /// is prepended to every request); it must resolve to loopback addresses only.
    pub async fn start(upstream: &str, plan: FaultPlan) -> io::Result<FaultProxy> {
        Self::start_on((Ipv4Addr::LOCALHOST, 0).into(), upstream, plan).await
    }

    /// Starts on a given loopback address.
    pub async fn start_on(
        listen: SocketAddr,
        upstream: &str,
        plan: FaultPlan,
    ) -> io::Result<FaultProxy> {
        let upstream = Upstream::resolve(upstream).await?;
        let listener = bind_loopback(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            plan: Mutex::new(plan),
            counters: Counters::default(),
            bucket: Mutex::new(None),
        });
        let for_server = shared.clone();
        let task = spawn_server(listener, move |reset| {
            let conn = Arc::new(Conn {
                shared: for_server.clone(),
                reset,
                upstream: tokio::sync::Mutex::new(None),
            });
            service_fn(move |req| conn.clone().handle(req))
        });
        Ok(FaultProxy {
            addr,
            shared,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> String {
        endpoint_of(self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Takes effect from the next request on; counters are not reset.
    pub fn set_plan(&self, plan: FaultPlan) {
        *self.shared.plan.lock().unwrap_or_else(|e| e.into_inner()) = plan;
    }

    pub fn plan(&self) -> FaultPlan {
        self.shared.plan()
    }

    pub fn counts(&self) -> FaultCounts {
        let c = &self.shared.counters;
        FaultCounts {
            requests: c.requests.load(Relaxed),
            bulk_requests: c.bulk_requests.load(Relaxed),
            throttled: c.throttled.load(Relaxed),
            unavailable: c.unavailable.load(Relaxed),
            resets: c.resets.load(Relaxed),
            resets_after_forward: c.resets_after_forward.load(Relaxed),
            items_throttled: c.items_throttled.load(Relaxed),
            over_capacity: c.over_capacity.load(Relaxed),
            bytes_admitted: c.bytes_admitted.load(Relaxed),
            aws_throttled: c.aws_throttled.load(Relaxed),
            forwarded: c.forwarded.load(Relaxed),
        }
    }

    /// Stops accepting and closes every connection.
    pub async fn shutdown(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum UpstreamError {
    #[error("cannot connect: {0}")]
    Connect(#[source] io::Error),
    #[error("bad request target: {0}")]
    Target(#[from] hyper::http::Error),
    #[error("{0}")]
    Http(#[from] hyper::Error),
}

fn bad_gateway(e: UpstreamError) -> Response<Body> {
    let body = serde_json::json!({"error": format!("fault-proxy: upstream: {e}"), "status": 502});
    json_response(StatusCode::BAD_GATEWAY, body.to_string())
}

#[derive(Clone, Copy)]
enum RequestFault {
    Reset,
    Throttle,
    Unavailable,
    ResetAfterForward,
    None,
}

fn hits(n: u64, every: Option<u32>) -> bool {
    matches!(every, Some(k) if k > 0 && n % u64::from(k) == 0)
}

impl FaultPlan {
    fn request_fault(&self, n: u64) -> RequestFault {
        if hits(n, self.reset_every) {
            RequestFault::Reset
        } else if hits(n, self.throttle_every) {
            RequestFault::Throttle
        } else if hits(n, self.unavailable_every) {
            RequestFault::Unavailable
        } else if hits(n, self.reset_after_forward_every) {
            RequestFault::ResetAfterForward
        } else {
            RequestFault::None
        }
    }
}

/// How an AWS API call is framed, which decides how its errors look.
#[derive(Clone, Copy)]
enum AwsProtocol {
    /// DynamoDB, ECS, Step Functions: JSON with an `X-Amz-Target` header.
    Json,
    /// CloudWatch (query protocol): a form POST, errors in an `<ErrorResponse>`.
    Query,
    /// S3 (REST-XML): errors in an `<Error>`.
    RestXml,
}

impl AwsProtocol {
    fn of<B>(req: &Request<B>) -> AwsProtocol {
        let form = req
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if req.headers().contains_key("x-amz-target") {
            AwsProtocol::Json
        } else if form {
            AwsProtocol::Query
        } else {
            AwsProtocol::RestXml
        }
    }
}

/// AWS's throttling answer in the request's protocol: 400 `ThrottlingException` (JSON), 400
/// `Throttling` (query), 503 `SlowDown` (S3).
fn aws_throttled(protocol: AwsProtocol) -> Response<Body> {
    let (status, content_type, body) = match protocol {
        AwsProtocol::Json => (
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.1",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded (fault proxy)"}"#,
        ),
        AwsProtocol::Query => (
            StatusCode::BAD_REQUEST,
            "text/xml",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded (fault proxy)</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>",
        ),
        AwsProtocol::RestXml => (
            StatusCode::SERVICE_UNAVAILABLE,
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate (fault proxy).</Message></Error>",
        ),
    };
    let mut r = json_response(status, body.to_string());
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    r
}

fn is_bulk<B>(req: &Request<B>) -> bool {
    req.method() == Method::POST && req.uri().path().ends_with("/_bulk")
}

/// The JSON string of the index in `/<index>/_bulk` (or `/<index>/<type>/_bulk`), if any.
fn default_index_json(path: &str) -> Option<String> {
    let first = path.trim_start_matches('/').split('/').next()?;
    if first.is_empty() || first == "_bulk" {
        return None;
    }
    serde_json::to_string(&percent_decode(first)).ok()
}

async fn pause(latency: Option<Duration>) {
    if let Some(d) = latency {
        tokio::time::sleep(d).await;
    }
}

/// Reads a body to its end, ignoring errors: the proxy only needs the request to have been sent.
async fn drain<B: hyper::body::Body>(body: B) {
    let _ = body.collect().await;
}

/// One client connection, with its own upstream connection (opened on first use, reopened when
/// upstream closes it): HTTP/1 serves one request at a time, so one upstream connection suffices.
struct Conn {
    shared: Arc<Shared>,
    reset: Arc<AtomicBool>,
    upstream: tokio::sync::Mutex<Option<SendRequest<Body>>>,
}

impl Conn {
    async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, DropConnection> {
        let c = &self.shared.counters;
        bump(&c.requests);
        let plan = self.shared.plan();
        if !is_bulk(&req) {
            if hits(bump(&c.aws_requests), plan.aws_throttle_every) {
                bump(&c.aws_throttled);
                let protocol = AwsProtocol::of(&req);
                drain(req.into_body()).await;
                pause(plan.latency).await;
                return Ok(aws_throttled(protocol));
            }
            let resp = self.forward(req.map(|b| b.boxed())).await;
            pause(plan.latency).await;
            return Ok(resp.unwrap_or_else(bad_gateway));
        }
        let n = bump(&c.bulk_requests);
        if let Some(capacity) = plan.capacity_bytes_per_sec.filter(|c| *c > 0) {
            let bytes = req
                .headers()
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .unwrap_or(0);
            if !self.shared.admit(capacity, bytes) {
                drain(req.into_body()).await;
                bump(&c.over_capacity);
                pause(plan.latency).await;
                return Ok(json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    throttled_body(),
                ));
            }
            c.bytes_admitted.fetch_add(bytes, Relaxed);
        }
        let fault = plan.request_fault(n);
        match fault {
            RequestFault::Reset => {
                drain(req.into_body()).await;
                bump(&c.resets);
                pause(plan.latency).await;
                Err(self.drop_connection())
            }
            RequestFault::Throttle => {
                drain(req.into_body()).await;
                bump(&c.throttled);
                pause(plan.latency).await;
                Ok(json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    throttled_body(),
                ))
            }
            RequestFault::Unavailable => {
                drain(req.into_body()).await;
                bump(&c.unavailable);
                pause(plan.latency).await;
                Ok(json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    unavailable_body(),
                ))
            }
            RequestFault::ResetAfterForward | RequestFault::None => {
                let resp = match plan.item_throttle_every {
                    Some(k) if k > 0 => self.forward_bulk_items(req, k).await,
                    _ => self.forward(req.map(|b| b.boxed())).await,
                };
                let resp = match (resp, fault) {
                    (Ok(resp), RequestFault::ResetAfterForward) => {
                        // Upstream has answered in full: it has processed the request.
                        drain(resp.into_body()).await;
                        bump(&c.resets_after_forward);
                        pause(plan.latency).await;
                        return Err(self.drop_connection());
                    }
                    (resp, _) => resp.unwrap_or_else(bad_gateway),
                };
                pause(plan.latency).await;
                Ok(resp)
            }
        }
    }

    fn drop_connection(&self) -> DropConnection {
        self.reset.store(true, Release);
        DropConnection
    }

    /// Forwards a `_bulk` request minus the actions the item-throttle plan picks, and merges
    /// their 429 items into upstream's answer. A gzip body is decompressed to be split; if any
    /// action is dropped the rest goes upstream uncompressed (else the original bytes go).
    async fn forward_bulk_items(
        &self,
        req: Request<Incoming>,
        every: u32,
    ) -> Result<Response<Body>, UpstreamError> {
        let (mut parts, body) = req.into_parts();
        let raw: Bytes = body.collect().await?.to_bytes();
        let untouched = |parts, raw: Bytes| Request::from_parts(parts, full(raw));

        let plain: Cow<[u8]> = if is_gzip(&parts.headers) {
            match gunzip(&raw) {
                Ok(plain) => Cow::Owned(plain),
                // Not ours to judge: upstream answers a bad body as it would without us.
                Err(_) => return self.forward(untouched(parts, raw)).await,
            }
        } else {
            Cow::Borrowed(&raw[..])
        };
        let Ok(actions) = split_actions(&plain) else {
            return self.forward(untouched(parts, raw)).await;
        };

        let counters = &self.shared.counters;
        let base = counters.actions.fetch_add(actions.len() as u64, Relaxed);
        let default_index = default_index_json(parts.uri.path());
        let slots: Vec<Option<String>> = (1..)
            .zip(&actions)
            .map(|(i, a)| {
                hits(base + i, Some(every))
                    .then(|| throttled_item(&a.meta, default_index.as_deref()))
            })
            .collect();
        let dropped = slots.iter().filter(|s| s.is_some()).count();
        if dropped == 0 {
            return self.forward(untouched(parts, raw)).await;
        }
        counters.items_throttled.fetch_add(dropped as u64, Relaxed);
        if dropped == actions.len() {
            let items: Vec<String> = slots.into_iter().flatten().collect();
            return Ok(json_response(StatusCode::OK, synthesized_response(&items)));
        }

        let mut kept = Vec::with_capacity(plain.len());
        for (action, slot) in actions.iter().zip(&slots) {
            if slot.is_none() {
                kept.extend_from_slice(&plain[action.bytes.clone()]);
            }
        }
        for name in [CONTENT_ENCODING, CONTENT_LENGTH, ACCEPT_ENCODING] {
            parts.headers.remove(name);
        }
        let resp = self.forward(Request::from_parts(parts, full(kept))).await?;
        if resp.status() != StatusCode::OK {
            return Ok(resp);
        }
        let (mut parts, body) = resp.into_parts();
        let bytes = body.collect().await?.to_bytes();
        let decoded: Cow<[u8]> = if is_gzip(&parts.headers) {
            gunzip(&bytes).map_or(Cow::Borrowed(&bytes[..]), Cow::Owned)
        } else {
            Cow::Borrowed(&bytes[..])
        };
        match merge_response(&decoded, &slots) {
            Some(merged) => {
                parts.headers.remove(CONTENT_LENGTH);
                parts.headers.remove(CONTENT_ENCODING);
                Ok(Response::from_parts(parts, full(merged)))
            }
            // Not a bulk response we understand: the client gets upstream's as it is.
            None => Ok(Response::from_parts(parts, full(bytes))),
        }
    }

    /// Sends a request upstream as it is (minus hop-by-hop headers) and streams the answer back.
    async fn forward(&self, req: Request<Body>) -> Result<Response<Body>, UpstreamError> {
        let upstream = &self.shared.upstream;
        let (mut parts, body) = req.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        // hyper already answered `100-continue` to the client; upstream gets the body at once.
        parts.headers.remove(EXPECT);
        parts.headers.insert(HOST, upstream.authority().clone());
        parts.uri = upstream.target(&parts.uri)?;
        parts.version = Version::HTTP_11;
        let mut req = Request::from_parts(parts, body);

        let mut guard = self.upstream.lock().await;
        let mut counted = false;
        // A second attempt only when hyper hands the request back unsent: upstream closed the
        // idle connection just as we picked it.
        for attempt in 0..2 {
            let sender = match guard.as_mut() {
                Some(sender) if !sender.is_closed() => sender,
                _ => guard.insert(self.connect().await?),
            };
            if sender.ready().await.is_err() {
                *guard = None;
                continue;
            }
            if !counted {
                bump(&self.shared.counters.forwarded);
                counted = true;
            }
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    let (mut parts, body) = resp.into_parts();
                    strip_hop_by_hop(&mut parts.headers);
                    return Ok(Response::from_parts(parts, body.boxed()));
                }
                Err(mut e) => {
                    *guard = None;
                    match e.take_message() {
                        Some(unsent) if attempt == 0 => req = unsent,
                        _ => return Err(e.into_error().into()),
                    }
                }
            }
        }
        // Two fresh connections that were not ready.
        Err(UpstreamError::Connect(
            io::ErrorKind::ConnectionAborted.into(),
        ))
    }

    async fn connect(&self) -> Result<SendRequest<Body>, UpstreamError> {
        let stream = self
            .shared
            .upstream
            .connect()
            .await
            .map_err(UpstreamError::Connect)?;
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await?;
        // Ends when the sender is dropped (with this client connection) or upstream closes.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_faults_take_turns() {
        let plan = FaultPlan {
            reset_every: Some(5),
            throttle_every: Some(2),
            unavailable_every: Some(3),
            ..FaultPlan::default()
        };
        let picked: Vec<u8> = (1..=6)
            .map(|n| match plan.request_fault(n) {
                RequestFault::Reset => b'R',
                RequestFault::Throttle => b'T',
                RequestFault::Unavailable => b'U',
                RequestFault::ResetAfterForward => b'A',
                RequestFault::None => b'.',
            })
            .collect();
        assert_eq!(picked, b".TUTRT");
        assert!(!hits(3, Some(0)));
    }

    #[test]
    fn default_index_from_path() {
        assert_eq!(default_index_json("/_bulk"), None);
        assert_eq!(
            default_index_json("/logs%2D1/_bulk").as_deref(),
            Some("\"logs-1\"")
        );
        assert_eq!(default_index_json("/a/doc/_bulk").as_deref(), Some("\"a\""));
    }
}
