//! An in-process fake of the target on 127.0.0.1: a hyper server that records every request and
//! answers with a scripted handler (optionally over TLS), and raw TCP servers that misbehave.

#![allow(dead_code)] // each test binary uses a different part

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lowercase names, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

type Handler = dyn Fn(&Recorded) -> (u16, String) + Send + Sync;

pub struct FakeServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(
        handler: impl Fn(&Recorded) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        Self::start_with_tls(None, handler).await
    }

    pub async fn start_with_tls(
        tls: Option<tokio_rustls::TlsAcceptor>,
        handler: impl Fn(&Recorded) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (reqs, conns) = (requests.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                conns.fetch_add(1, Ordering::SeqCst);
                let (reqs, handler, tls) = (reqs.clone(), handler.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(TokioIo::new(stream), reqs, handler).await
                            }
                        }
                        None => serve(TokioIo::new(stream), reqs, handler).await,
                    }
                });
            }
        });
        FakeServer {
            addr,
            requests,
            connections,
            task,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests().pop().expect("no request arrived")
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve<I>(io: TokioIo<I>, reqs: Arc<Mutex<Vec<Recorded>>>, handler: Arc<Handler>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let (reqs, handler) = (reqs.clone(), handler.clone());
        async move {
            let (parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let recorded = Recorded {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                headers: parts
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect(),
                body: body.to_vec(),
            };
            let (status, text) = handler(&recorded);
            reqs.lock().unwrap().push(recorded);
            let response = hyper::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(text)))
                .unwrap();
            Ok::<_, Infallible>(response)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

/// What a raw server does with each connection once the request's first bytes arrived.
#[derive(Debug, Clone, Copy)]
pub enum Misbehaviour {
    /// Closes with RST (zero linger): "connection reset by peer".
    Reset,
    /// Closes with FIN without a byte of answer: EOF before a response.
    CloseWithoutAnswer,
    /// Keeps the connection open and never answers.
    NeverAnswer,
}

/// Serves every connection with `how`; returns its address.
pub async fn misbehaving_server(how: Misbehaviour) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(misbehave(stream, how));
        }
    });
    addr
}

async fn misbehave(mut stream: TcpStream, how: Misbehaviour) {
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf).await;
    match how {
        Misbehaviour::Reset => {
            stream.set_zero_linger().unwrap();
            drop(stream);
        }
        Misbehaviour::CloseWithoutAnswer => drop(stream),
        Misbehaviour::NeverAnswer => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(stream);
        }
    }
}

/// A loopback port on which nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A `_bulk` answer with one item per status.
pub fn bulk_answer(statuses: &[u16]) -> String {
    let items: Vec<String> = statuses
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            if s < 300 {
                format!(r#"{{"index":{{"_index":"i","_id":"{i}","status":{s},"result":"created"}}}}"#)
            } else {
                format!(
                    r#"{{"index":{{"_index":"i","_id":"{i}","status":{s},"error":{{"type":"mapper_parsing_exception","reason":"bad {i}"}}}}}}"#
                )
            }
        })
        .collect();
    format!(
        r#"{{"took":1,"errors":{},"items":[{}]}}"#,
        statuses.iter().any(|&s| s >= 300),
        items.join(",")
    )
}
