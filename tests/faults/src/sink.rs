//! A minimal OpenSearch-like server that accepts `_bulk` and throws the documents away.

use std::io::{self, Write};
use std::mem;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use memchr::memchr;
use serde_json::value::RawValue;
use tokio::task::JoinHandle;

use crate::bulk::{parse_action, Op};
use crate::net::{
    bind_loopback, endpoint_of, full, gunzip, is_gzip, json_response, percent_decode, spawn_server,
    Body, DropConnection,
};

const INFO: &str = r#"{"name":"bulk-sink","cluster_name":"bulk-sink","cluster_uuid":"bulk-sink-0000000000000","version":{"distribution":"opensearch","number":"2.19.0","build_type":"tar","lucene_version":"9.12.1","minimum_wire_compatibility_version":"7.10.0","minimum_index_compatibility_version":"7.0.0"},"tagline":"The OpenSearch Project: https://opensearch.org/"}"#;

#[derive(Default)]
struct Stats {
    docs: AtomicU64,
    bytes: AtomicU64,
    bulk_requests: AtomicU64,
    /// For the `_id`s of actions that name none.
    generated_ids: AtomicU64,
}

/// A discarding `_bulk` target for benchmarks. Bodies are scanned as they arrive (only line
/// boundaries are looked for; source lines are never parsed), so memory stays at one frame.
pub struct BulkSink {
    addr: SocketAddr,
    stats: Arc<Stats>,
    task: Option<JoinHandle<()>>,
}

impl BulkSink {
    /// Starts on `127.0.0.1:0`.
    pub async fn start() -> io::Result<BulkSink> {
        Self::start_on((Ipv4Addr::LOCALHOST, 0).into()).await
    }

    /// Starts on a given loopback address.
    pub async fn start_on(listen: SocketAddr) -> io::Result<BulkSink> {
        let listener = bind_loopback(listen).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let for_server = stats.clone();
        let task = spawn_server(listener, move |_reset| {
            let stats = for_server.clone();
            service_fn(move |req| handle(stats.clone(), req))
        });
        Ok(BulkSink {
            addr,
            stats,
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

    /// Actions with a source line (`index`, `create`, `update`) received so far.
    pub fn docs(&self) -> u64 {
        self.stats.docs.load(Relaxed)
    }

    /// Bytes of source lines received so far (after gzip decoding, newlines excluded).
    pub fn bytes(&self) -> u64 {
        self.stats.bytes.load(Relaxed)
    }

    pub fn bulk_requests(&self) -> u64 {
        self.stats.bulk_requests.load(Relaxed)
    }

    pub async fn shutdown(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for BulkSink {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn handle(
    stats: Arc<Stats>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let single_index = match segments.as_slice() {
        [name] if !name.starts_with('_') => Some(percent_decode(name)),
        _ => None,
    };
    let method = req.method().clone();
    if method == Method::POST && path.ends_with("/_bulk") {
        let index = match segments.as_slice() {
            [first, ..] if *first != "_bulk" => serde_json::to_string(&percent_decode(first)).ok(),
            _ => None,
        };
        return bulk(&stats, index, req).await;
    }
    // Every other request: read the body (keeps the connection reusable), answer success.
    let _ = req.into_body().collect().await;
    let ok = |body: String| Ok(json_response(StatusCode::OK, body));
    match (method, single_index) {
        (Method::HEAD, _) => {
            let mut resp = Response::new(full(""));
            *resp.status_mut() = StatusCode::OK;
            Ok(resp)
        }
        (Method::GET, None) if segments.is_empty() => ok(INFO.to_string()),
        (Method::GET, Some(name)) => ok(serde_json::json!({
            name: {"aliases": {}, "mappings": {}, "settings": {"index": {
                "number_of_shards": "1", "number_of_replicas": "0"}}}
        })
        .to_string()),
        (Method::PUT, Some(name)) => ok(serde_json::json!({
            "acknowledged": true, "shards_acknowledged": true, "index": name
        })
        .to_string()),
        _ => ok(r#"{"acknowledged":true}"#.to_string()),
    }
}

async fn bulk(
    stats: &Stats,
    default_index: Option<String>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    stats.bulk_requests.fetch_add(1, Relaxed);
    let gzip = is_gzip(req.headers());
    let mut scanner = Scanner::new(stats, default_index);
    let mut body = req.into_body();
    if gzip {
        let raw = body.collect().await.map_err(|_| DropConnection)?.to_bytes();
        match gunzip(&raw) {
            Ok(plain) => scanner.feed(&plain),
            Err(e) => {
                let reason =
                    serde_json::to_string(&format!("bad gzip body: {e}")).unwrap_or_default();
                let body = format!(
                    r#"{{"error":{{"type":"parse_exception","reason":{reason}}},"status":400}}"#
                );
                return Ok(json_response(StatusCode::BAD_REQUEST, body));
            }
        }
    } else {
        while let Some(frame) = body.frame().await {
            // A broken client connection: nobody to answer.
            let frame = frame.map_err(|_| DropConnection)?;
            if let Ok(data) = frame.into_data() {
                scanner.feed(&data);
            }
        }
    }
    let (status, body) = scanner.finish();
    Ok(json_response(status, body))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Action,
    Source,
    /// After a malformed action line: the request fails as a whole, the rest is skipped.
    Invalid,
}

/// Splits a bulk body arriving in chunks into lines and writes one item per action.
struct Scanner<'s> {
    stats: &'s Stats,
    default_index: Option<String>,
    expect: Expect,
    /// The start of an action line that continues in the next chunk.
    carry: Vec<u8>,
    out: Vec<u8>,
    items: u64,
    docs: u64,
    bytes: u64,
}

impl<'s> Scanner<'s> {
    fn new(stats: &'s Stats, default_index: Option<String>) -> Self {
        let mut out = Vec::with_capacity(64 * 1024);
        out.extend_from_slice(br#"{"took":0,"errors":false,"items":["#);
        Scanner {
            stats,
            default_index,
            expect: Expect::Action,
            carry: Vec::new(),
            out,
            items: 0,
            docs: 0,
            bytes: 0,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let mut pos = 0;
        while pos < chunk.len() {
            let rest = &chunk[pos..];
            let newline = memchr(b'\n', rest);
            match self.expect {
                Expect::Invalid => return,
                Expect::Source => match newline {
                    Some(i) => {
                        self.bytes += i as u64;
                        self.expect = Expect::Action;
                        pos += i + 1;
                    }
                    None => {
                        self.bytes += rest.len() as u64;
                        pos = chunk.len();
                    }
                },
                Expect::Action => match newline {
                    Some(i) if self.carry.is_empty() => {
                        self.action(&rest[..i]);
                        pos += i + 1;
                    }
                    Some(i) => {
                        self.carry.extend_from_slice(&rest[..i]);
                        let line = mem::take(&mut self.carry);
                        self.action(&line);
                        self.carry = line;
                        self.carry.clear();
                        pos += i + 1;
                    }
                    None => {
                        self.carry.extend_from_slice(rest);
                        pos = chunk.len();
                    }
                },
            }
        }
    }

    fn action(&mut self, line: &[u8]) {
        if line.trim_ascii().is_empty() {
            return;
        }
        let Some(meta) = parse_action(line) else {
            self.expect = Expect::Invalid;
            return;
        };
        if self.items > 0 {
            self.out.push(b',');
        }
        self.items += 1;
        if meta.op.has_source() {
            self.docs += 1;
            self.expect = Expect::Source;
        }
        let (result, status) = match meta.op {
            Op::Index | Op::Create => ("created", 201),
            Op::Update => ("updated", 200),
            Op::Delete => ("deleted", 200),
        };
        let index = meta
            .index
            .map(RawValue::get)
            .or(self.default_index.as_deref())
            .unwrap_or("null");
        let out = &mut self.out;
        let _ = write!(out, r#"{{"{}":{{"_index":{index},"_id":"#, meta.op.name());
        match meta.id {
            Some(id) => out.extend_from_slice(id.get().as_bytes()),
            None => {
                let n = self.stats.generated_ids.fetch_add(1, Relaxed);
                let _ = write!(out, r#""sink-{n}""#);
            }
        }
        let _ = write!(
            out,
            r#","_version":1,"result":"{result}","_shards":{{"total":1,"successful":1,"failed":0}},"_seq_no":{},"_primary_term":1,"status":{status}}}}}"#,
            self.items - 1
        );
    }

    fn finish(mut self) -> (StatusCode, Vec<u8>) {
        if self.expect == Expect::Action && !self.carry.is_empty() {
            // The last line had no newline; OpenSearch would want one, a sink can be lenient.
            let line = mem::take(&mut self.carry);
            self.action(&line);
        }
        if self.expect == Expect::Invalid {
            let body = br#"{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Malformed action/metadata line"}],"type":"illegal_argument_exception","reason":"Malformed action/metadata line"},"status":400}"#;
            return (StatusCode::BAD_REQUEST, body.to_vec());
        }
        self.out.extend_from_slice(b"]}");
        self.stats.docs.fetch_add(self.docs, Relaxed);
        self.stats.bytes.fetch_add(self.bytes, Relaxed);
        (StatusCode::OK, self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> (StatusCode, serde_json::Value, u64, u64) {
        let stats = Stats::default();
        let mut scanner = Scanner::new(&stats, Some("\"dflt\"".into()));
        for chunk in chunks {
            scanner.feed(chunk);
        }
        let (status, body) = scanner.finish();
        let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (
            status,
            json,
            stats.docs.load(Relaxed),
            stats.bytes.load(Relaxed),
        )
    }

    #[test]
    fn lines_split_across_chunks() {
        let body = b"{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"x\":1}\n{\"delete\":{\"_id\":\"2\"}}\n{\"create\":{}}\n{}\n";
        let whole = scan(&[body]);
        for cut in 1..body.len() {
            let (a, b) = body.split_at(cut);
            assert_eq!(scan(&[a, b]).1, whole.1, "cut at {cut}");
            assert_eq!(scan(&[a, b]).2..=scan(&[a, b]).3, whole.2..=whole.3);
        }
        let (status, json, docs, bytes) = whole;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((docs, bytes), (2, 9));
        let items = json["items"].as_array().unwrap();
        assert_eq!(items[0]["index"]["_id"], "1");
        assert_eq!(items[1]["delete"]["_index"], "dflt");
        assert_eq!(items[2]["create"]["_id"], "sink-0");
    }

    #[test]
    fn malformed_action_is_a_400() {
        assert_eq!(scan(&[b"{\"nope\":{}}\n{}\n"]).0, StatusCode::BAD_REQUEST);
    }
}
