//! A tiny in-process upstream and a raw HTTP/1 client for the tests.
#![allow(dead_code)]

use std::convert::Infallible;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::HeaderMap;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the fake saw of one `_bulk` request.
#[derive(Debug, Clone)]
pub struct BulkSeen {
    pub path: String,
    pub headers: HeaderMap,
    /// The body as it arrived (still compressed if it was).
    pub raw: Bytes,
    /// The NDJSON after gzip decoding.
    pub body: Vec<u8>,
}

#[derive(Default)]
struct FakeState {
    bulks: Vec<BulkSeen>,
    ids: Vec<String>,
    other: u64,
}

/// An OpenSearch stand-in: `POST .../_bulk` answers 201 for every action and remembers the `_id`s
/// and bodies; any other request is echoed back as JSON (method, path, query, body) with the status
/// given by a `status=NNN` query parameter (200 without one).
pub struct FakeUpstream {
    pub endpoint: String,
    state: Arc<Mutex<FakeState>>,
    task: JoinHandle<()>,
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeUpstream {
    pub async fn start() -> FakeUpstream {
        Self::start_with(true).await
    }

    /// `keep_alive: false` closes every connection after one answer, as a server under load may.
    pub async fn start_with(keep_alive: bool) -> FakeUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(FakeState::default()));
        let for_server = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = for_server.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| answer(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(keep_alive)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        FakeUpstream {
            endpoint,
            state,
            task,
        }
    }

    pub fn ids(&self) -> Vec<String> {
        self.state.lock().unwrap().ids.clone()
    }

    pub fn bulks(&self) -> Vec<BulkSeen> {
        self.state.lock().unwrap().bulks.clone()
    }

    /// Non-bulk requests received.
    pub fn other_requests(&self) -> u64 {
        self.state.lock().unwrap().other
    }
}

pub fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn is_gzip(headers: &HeaderMap) -> bool {
    headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"))
}

async fn answer(
    state: Arc<Mutex<FakeState>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let raw = body.collect().await.unwrap().to_bytes();
    let path = parts.uri.path().to_string();
    if parts.method == hyper::Method::POST && path.ends_with("/_bulk") {
        let body = if is_gzip(&parts.headers) {
            gunzip(&raw)
        } else {
            raw.to_vec()
        };
        let mut items = Vec::new();
        let mut lines = body.split(|&b| b == b'\n').filter(|l| !l.is_empty());
        let mut ids = Vec::new();
        while let Some(line) = lines.next() {
            let action: Value = serde_json::from_slice(line).unwrap();
            let (op, meta) = action.as_object().unwrap().iter().next().unwrap();
            if op != "delete" {
                lines.next().expect("source line");
            }
            let id = meta["_id"].as_str().unwrap_or("auto").to_string();
            let index = meta
                .get("_index")
                .cloned()
                .unwrap_or_else(|| json!(path.trim_start_matches('/').split('/').next()));
            items.push(
                json!({op.clone(): {"_index": index, "_id": id, "_version": 1,
                "result": "created", "_seq_no": ids.len(), "status": 201}}),
            );
            ids.push(id);
        }
        let mut st = state.lock().unwrap();
        st.ids.extend(ids);
        st.bulks.push(BulkSeen {
            path,
            headers: parts.headers,
            raw,
            body,
        });
        let out = json!({"took": 3, "errors": false, "items": items});
        return Ok(Response::builder()
            .header("content-type", "application/json")
            .header("x-fake", "bulk")
            .body(Full::new(out.to_string().into()))
            .unwrap());
    }
    state.lock().unwrap().other += 1;
    let query = parts.uri.query().unwrap_or("").to_string();
    let status = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("status="))
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let echo = json!({
        "method": parts.method.as_str(), "path": path, "query": query,
        "body": String::from_utf8_lossy(&raw),
        "content_type": parts.headers.get("content-type").map(|v| v.to_str().unwrap()),
    });
    Ok(Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json")
        .header("x-echo", "yes")
        .body(Full::new(echo.to_string().into()))
        .unwrap())
}

/// One HTTP/1 connection to an endpoint.
pub struct Client {
    sender: SendRequest<Full<Bytes>>,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

pub fn addr_of(endpoint: &str) -> String {
    endpoint.strip_prefix("http://").unwrap().to_string()
}

impl Client {
    pub async fn connect(endpoint: &str) -> Client {
        let stream = TcpStream::connect(addr_of(endpoint)).await.unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        Client { sender }
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Reply, hyper::Error> {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body.into())).unwrap();
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    pub async fn bulk(&mut self, path: &str, body: &str) -> Result<Reply, hyper::Error> {
        let headers = [("content-type", "application/x-ndjson")];
        self.send("POST", path, &headers, body.to_string()).await
    }
}

/// `n` index actions with ids `<prefix>1..=n`, one small source each.
pub fn index_actions(prefix: &str, n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!("{{\"index\":{{\"_index\":\"idx\",\"_id\":\"{prefix}{i}\"}}}}\n{{\"n\":{i}}}\n")
        })
        .collect()
}
