//! One client connection of the proxy: which fault a request gets, and forwarding upstream.

use std::borrow::Cow;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed, Ordering::Release};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{
    HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, EXPECT, HOST,
};
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;

use crate::aws_errors::{self, AwsCall, AwsProtocol};
use crate::bulk::{
    merge_response, server_error_body, split_actions, synthesized_response, throttled_body,
    throttled_item,
};
use crate::net::{
    full, gunzip, is_gzip, json_response, percent_decode, streamed, strip_hop_by_hop, Body,
    BoxError, DropConnection,
};
use crate::observe::Seen;
use crate::proxy::{bump, hits, RequestFault, Shared};
use crate::random::{BulkPick, DynamoPick, S3Pick};
use crate::s3_faults;

#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    #[error("cannot connect: {0}")]
    Connect(#[source] io::Error),
    #[error("bad request target: {0}")]
    Target(#[from] hyper::http::Error),
    #[error("{0}")]
    Http(#[from] hyper::Error),
    #[error("reading a body: {0}")]
    Body(BoxError),
    /// The observer dropped the request: the client's connection is reset.
    #[error("dropped by the observer")]
    Dropped,
}

fn bad_gateway(e: UpstreamError) -> Response<Body> {
    let body = serde_json::json!({"error": format!("fault-proxy: upstream: {e}"), "status": 502});
    json_response(StatusCode::BAD_GATEWAY, body.to_string())
}

/// Which actions of a forwarded `_bulk` get a 429 item.
#[derive(Clone, Copy)]
enum ItemPick {
    /// Every Nth action, counted across requests.
    Every(u32),
    /// Each by the random plan's share.
    Random,
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

/// The body as sent, decompressed when gzip (and left as it is if that fails).
fn decoded<'a>(headers: &hyper::HeaderMap, bytes: &'a [u8]) -> Cow<'a, [u8]> {
    if is_gzip(headers) {
        gunzip(bytes).map_or(Cow::Borrowed(bytes), Cow::Owned)
    } else {
        Cow::Borrowed(bytes)
    }
}

fn server_error(status: u16) -> Response<Body> {
    let (content_type, body) = server_error_body(status);
    let mut r = json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        body,
    );
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// One client connection, with its own upstream connection (opened on first use, reopened when
/// upstream closes it): HTTP/1 serves one request at a time, so one upstream connection suffices.
pub(crate) struct Conn {
    pub(crate) shared: Arc<Shared>,
    pub(crate) reset: Arc<AtomicBool>,
    pub(crate) upstream: tokio::sync::Mutex<Option<SendRequest<Body>>>,
}

impl Conn {
    pub(crate) async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, DropConnection> {
        let c = &self.shared.counters;
        bump(&c.requests);
        let plan = self.shared.plan();
        if !is_bulk(&req) {
            let resp = self.handle_aws(req).await;
            pause(plan.latency).await;
            return resp;
        }
        let n = bump(&c.bulk_requests);
        if let Some(capacity) = plan.capacity_bytes_per_sec.filter(|c| *c > 0) {
            let bytes = req
                .headers()
                .get(CONTENT_LENGTH)
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
        let mut items = match plan.item_throttle_every {
            Some(k) if k > 0 => Some(ItemPick::Every(k)),
            _ => None,
        };
        let mut fault = plan.request_fault(n);
        if matches!(fault, RequestFault::None) {
            match self.shared.roll(|d| d.bulk()) {
                Some(BulkPick::Throttle) => fault = RequestFault::Throttle,
                Some(BulkPick::ServerError(status)) => fault = RequestFault::ServerError(status),
                Some(BulkPick::Reset) => fault = RequestFault::Reset,
                Some(BulkPick::ResetAfterForward) => fault = RequestFault::ResetAfterForward,
                Some(BulkPick::ItemThrottle) => items = Some(ItemPick::Random),
                None => {}
            }
        }
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
            RequestFault::ServerError(status) => {
                drain(req.into_body()).await;
                bump(&c.unavailable);
                pause(plan.latency).await;
                Ok(server_error(status))
            }
            RequestFault::ResetAfterForward | RequestFault::None => {
                let resp = match items {
                    Some(pick) => self.forward_bulk_items(req, pick).await,
                    None => self.forward(req.map(streamed)).await,
                };
                let resp = match (resp, fault) {
                    (Ok(resp), RequestFault::ResetAfterForward) => {
                        // Upstream has answered in full: it has processed the request.
                        drain(resp.into_body()).await;
                        bump(&c.resets_after_forward);
                        pause(plan.latency).await;
                        return Err(self.drop_connection());
                    }
                    (resp, _) => self.answer(resp)?,
                };
                pause(plan.latency).await;
                Ok(resp)
            }
        }
    }

    /// An AWS API call (or any request that is not `_bulk`): AWS's errors in its protocol, by
    /// the every-Nth plan or the random one; S3 reads may come slowly or be cut.
    async fn handle_aws(
        self: &Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, DropConnection> {
        let c = &self.shared.counters;
        let call = AwsCall::of(&req);
        if hits(bump(&c.aws_requests), self.shared.plan().aws_throttle_every) {
            bump(&c.aws_throttled);
            drain(req.into_body()).await;
            return Ok(aws_errors::throttled(&call));
        }
        if call.is_dynamodb() {
            let write = call.is_dynamodb_write();
            match self.shared.roll(|d| d.dynamodb(write)) {
                Some(DynamoPick::ThroughputExceeded) => {
                    drain(req.into_body()).await;
                    bump(&c.throughput_exceeded);
                    return Ok(aws_errors::throughput_exceeded(&call));
                }
                Some(DynamoPick::Throttling) => {
                    drain(req.into_body()).await;
                    bump(&c.aws_throttled);
                    return Ok(aws_errors::throttled(&call));
                }
                Some(DynamoPick::Conflict) => {
                    let body = req.into_body().collect().await;
                    let actions = body
                        .map(|b| aws_errors::transact_actions(&b.to_bytes()))
                        .unwrap_or(1);
                    let conflicting = self.shared.roll(|d| Some(d.conflicting(actions)));
                    bump(&c.transaction_conflicts);
                    return Ok(aws_errors::transaction_conflict(
                        &call,
                        actions,
                        conflicting.unwrap_or(0),
                    ));
                }
                None => {}
            }
        }
        let s3 = if call.protocol == AwsProtocol::RestXml {
            self.shared.roll(|d| d.s3())
        } else {
            None
        };
        match s3 {
            Some(S3Pick::InternalError) => {
                drain(req.into_body()).await;
                bump(&c.aws_internal_errors);
                return Ok(aws_errors::s3_internal_error());
            }
            Some(S3Pick::SlowDown) => {
                drain(req.into_body()).await;
                bump(&c.aws_throttled);
                return Ok(aws_errors::throttled(&call));
            }
            _ => {}
        }
        let resp = self.answer(self.forward(req.map(streamed)).await)?;
        let Some(len) = s3.and_then(|_| s3_faults::body_length(&resp)) else {
            return Ok(resp);
        };
        let at = self
            .shared
            .roll(|d| Some(d.point_in(len)))
            .unwrap_or(len / 2);
        let (parts, body) = resp.into_parts();
        let body = if s3 == Some(S3Pick::SlowBody) {
            bump(&c.slow_bodies);
            let stall = self.shared.s3_stall();
            s3_faults::stalled(body, at, stall)
        } else {
            bump(&c.cut_bodies);
            s3_faults::cut(body, at)
        };
        Ok(Response::from_parts(parts, body))
    }

    /// Upstream's answer, a 502 when upstream failed, or a reset when the observer dropped the
    /// request.
    fn answer(
        &self,
        resp: Result<Response<Body>, UpstreamError>,
    ) -> Result<Response<Body>, DropConnection> {
        match resp {
            Ok(resp) => Ok(resp),
            Err(UpstreamError::Dropped) => Err(self.drop_connection()),
            Err(e) => Ok(bad_gateway(e)),
        }
    }

    fn drop_connection(&self) -> DropConnection {
        self.reset.store(true, Release);
        DropConnection
    }

    /// Forwards a `_bulk` request minus the actions `pick` chooses, and merges their 429 items
    /// into upstream's answer. A gzip body is decompressed to be split; if any action is
    /// dropped the rest goes upstream uncompressed (else the original bytes go).
    async fn forward_bulk_items(
        self: &Arc<Self>,
        req: Request<Incoming>,
        pick: ItemPick,
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
        let picked: Vec<bool> = match pick {
            ItemPick::Every(every) => {
                let base = counters.actions.fetch_add(actions.len() as u64, Relaxed);
                (1..=actions.len() as u64)
                    .map(|i| hits(base + i, Some(every)))
                    .collect()
            }
            ItemPick::Random => self
                .shared
                .roll(|d| Some(d.item_slots(actions.len())))
                .unwrap_or_default(),
        };
        let default_index = default_index_json(parts.uri.path());
        let slots: Vec<Option<String>> = actions
            .iter()
            .zip(picked.iter().chain(std::iter::repeat(&false)))
            .map(|(a, &p)| p.then(|| throttled_item(&a.meta, default_index.as_deref())))
            .collect();
        let dropped = slots.iter().filter(|s| s.is_some()).count();
        if dropped == 0 {
            return self.forward(untouched(parts, raw)).await;
        }
        counters.items_throttled.fetch_add(dropped as u64, Relaxed);
        bump(&counters.item_throttled_requests);
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
        let bytes = body
            .collect()
            .await
            .map_err(UpstreamError::Body)?
            .to_bytes();
        match merge_response(&decoded(&parts.headers, &bytes), &slots) {
            Some(merged) => {
                parts.headers.remove(CONTENT_LENGTH);
                parts.headers.remove(CONTENT_ENCODING);
                Ok(Response::from_parts(parts, full(merged)))
            }
            // Not a bulk response we understand: the client gets upstream's as it is.
            None => Ok(Response::from_parts(parts, full(bytes))),
        }
    }

    /// Forwards a request: as it is, or, with an observer, read whole, shown to the observer,
    /// and finished on a task of its own, so that the observer learns upstream's answer even
    /// when the client goes away meanwhile (a killed client's last request still lands).
    async fn forward(
        self: &Arc<Self>,
        req: Request<Body>,
    ) -> Result<Response<Body>, UpstreamError> {
        let Some(observer) = self.shared.observer() else {
            return self.send_upstream(req).await;
        };
        let (parts, body) = req.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(UpstreamError::Body)?
            .to_bytes();
        let method = parts.method.clone();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = decoded(&parts.headers, &bytes).into_owned();
        let seen = Seen {
            method: &method,
            path: &path,
            aws_target: target.as_deref(),
            body: &body,
        };
        if !observer.forwarding(&seen) {
            return Err(UpstreamError::Dropped);
        }
        let this = self.clone();
        let task = tokio::spawn(async move {
            let resp = this
                .send_upstream(Request::from_parts(parts, full(bytes)))
                .await?;
            let (parts, answer) = resp.into_parts();
            let answer = answer
                .collect()
                .await
                .map_err(UpstreamError::Body)?
                .to_bytes();
            let seen = Seen {
                method: &method,
                path: &path,
                aws_target: target.as_deref(),
                body: &body,
            };
            let status = parts.status.as_u16();
            observer.answered(&seen, status, &decoded(&parts.headers, &answer));
            Ok(Response::from_parts(parts, full(answer)))
        });
        task.await.unwrap_or_else(|e| {
            Err(UpstreamError::Connect(io::Error::other(format!(
                "forwarding task: {e}"
            ))))
        })
    }

    /// Sends a request upstream as it is (minus hop-by-hop headers) and streams the answer back.
    async fn send_upstream(&self, req: Request<Body>) -> Result<Response<Body>, UpstreamError> {
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
                    return Ok(Response::from_parts(parts, streamed(body)));
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
    fn default_index_from_path() {
        assert_eq!(default_index_json("/_bulk"), None);
        assert_eq!(
            default_index_json("/logs%2D1/_bulk").as_deref(),
            Some("\"logs-1\"")
        );
        assert_eq!(default_index_json("/a/doc/_bulk").as_deref(), Some("\"a\""));
    }
}
