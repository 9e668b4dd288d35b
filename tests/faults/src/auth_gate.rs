//! A Basic-auth gate in front of a target that checks no credentials (osmem-server): requests
//! without the expected `Authorization: Basic …` get a 401, as a cluster with the security
//! plugin answers; the others are forwarded without the header. Its counts prove that a client
//! sent the credentials, and sent them nowhere else.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, HOST};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;

use crate::net::{
    bind_loopback, endpoint_of, json_response, spawn_server, strip_hop_by_hop, Body, Upstream,
};

/// Requests seen by the gate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateCounts {
    /// With the expected credentials, forwarded.
    pub accepted: u64,
    /// Without them (none, or others): answered 401.
    pub refused: u64,
}

struct Shared {
    upstream: Upstream,
    expected: String,
    accepted: AtomicU64,
    refused: AtomicU64,
}

pub struct BasicAuthGate {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl BasicAuthGate {
    /// Starts on `127.0.0.1:0`, forwarding to `upstream` (loopback only) what carries
    /// `username:password`.
    pub async fn start(upstream: &str, username: &str, password: &str) -> io::Result<Self> {
        let upstream = Upstream::resolve(upstream).await?;
        let listener = bind_loopback((Ipv4Addr::LOCALHOST, 0).into()).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            expected: format!(
                "Basic {}",
                base64(format!("{username}:{password}").as_bytes())
            ),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        let for_server = shared.clone();
        let task = spawn_server(listener, move |_reset| {
            let shared = for_server.clone();
            service_fn(move |req| handle(shared.clone(), req))
        });
        Ok(BasicAuthGate { addr, shared, task })
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> String {
        endpoint_of(self.addr)
    }

    pub fn counts(&self) -> GateCounts {
        GateCounts {
            accepted: self.shared.accepted.load(Relaxed),
            refused: self.shared.refused.load(Relaxed),
        }
    }
}

impl Drop for BasicAuthGate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, io::Error> {
    let authorized = req
        .headers()
        .get(AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == shared.expected.as_bytes());
    if !authorized {
        shared.refused.fetch_add(1, Relaxed);
        let mut r = json_response(
            StatusCode::UNAUTHORIZED,
            r#"{"error":{"type":"security_exception","reason":"missing or wrong credentials"},"status":401}"#,
        );
        r.headers_mut()
            .insert("www-authenticate", "Basic realm=\"test\"".parse().unwrap());
        return Ok(r);
    }
    shared.accepted.fetch_add(1, Relaxed);
    let (mut parts, body) = req.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(AUTHORIZATION);
    parts
        .headers
        .insert(HOST, shared.upstream.authority().clone());
    parts.uri = shared
        .upstream
        .target(&parts.uri)
        .map_err(io::Error::other)?;
    parts.version = Version::HTTP_11;
    let body = body.collect().await.map_err(io::Error::other)?.to_bytes();
    // One upstream connection per request: simple, and plenty for a test.
    let stream = shared.upstream.connect().await?;
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender
        .send_request(Request::from_parts(parts, crate::net::full(body)))
        .await
        .map_err(io::Error::other)?;
    let (mut parts, body) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, crate::net::streamed(body)))
}

/// Standard base64 with padding (the crate needs nothing more).
fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_as_rfc_4648_says() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("user:p4ss", "dXNlcjpwNHNz"),
        ] {
            assert_eq!(super::base64(plain.as_bytes()), encoded);
        }
    }
}
