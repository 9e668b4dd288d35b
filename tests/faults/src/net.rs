//! Plumbing shared by the proxy and the sink: loopback-only sockets, the accept loop, a socket that
//! can be closed with a reset, body types and header helpers.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::service::Service;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::error::FaultError;

/// A body's error: upstream's (hyper's), or one of ours (a body cut on purpose).
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every body the proxy and the sink produce: upstream bodies stream through, ours are `Full`.
pub(crate) type Body = BoxBody<Bytes, BoxError>;

/// An upstream body as one of ours.
pub(crate) fn streamed(body: Incoming) -> Body {
    body.map_err(BoxError::from).boxed()
}

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

pub(crate) fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    resp
}

/// A service error that makes hyper close the connection without writing a response; the socket
/// is then closed with a reset (see [`ResettableStream`]).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped on purpose")]
pub(crate) struct DropConnection;

pub(crate) async fn bind_loopback(addr: SocketAddr) -> io::Result<TcpListener> {
    if !addr.ip().is_loopback() {
        return Err(FaultError::ListenNotLoopback(addr).into());
    }
    TcpListener::bind(addr).await
}

pub(crate) fn endpoint_of(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// A TCP stream that closes with RST instead of FIN when `reset` is set before it is dropped, so
/// that a client sees "connection reset" as it would behind a failing load balancer.
pub(crate) struct ResettableStream {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Acquire) {
            // Best effort: if it fails the peer still sees an EOF without a response.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Accepts connections until the returned task is aborted; aborting it also ends every connection
/// (they live in its `JoinSet`). `make_service` gets the connection's reset flag.
pub(crate) fn spawn_server<F, S>(listener: TcpListener, make_service: F) -> JoinHandle<()>
where
    F: Fn(Arc<AtomicBool>) -> S + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<Body>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(_) => {
                            // Out of descriptors or an aborted handshake: try again shortly.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let reset = Arc::new(AtomicBool::new(false));
                    let service = make_service(reset.clone());
                    let io = TokioIo::new(ResettableStream { stream, reset });
                    conns.spawn(async move {
                        // Errors here are client disconnects or deliberate drops: nothing to report.
                        let _ = hyper::server::conn::http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(io, service)
                            .await;
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    })
}

/// Where the proxy forwards to: loopback addresses only, resolved once at start.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    addrs: Vec<SocketAddr>,
    authority: HeaderValue,
    /// Path of the base URL without its trailing slash ("" for `http://host:port`).
    prefix: String,
}

impl Upstream {
    pub(crate) async fn resolve(url: &str) -> io::Result<Upstream> {
        let invalid = |reason| FaultError::InvalidUpstream {
            url: url.to_string(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(invalid("only http:// is supported").into());
        }
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        if uri.query().is_some() {
            return Err(invalid("a query is not allowed in the base URL").into());
        }
        let port = authority.port_u16().unwrap_or(80);
        // An IP literal (brackets of IPv6 removed) needs no resolver; a name is looked up.
        let bare = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match bare.parse() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|_| invalid("cannot resolve the host"))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(FaultError::UpstreamUnresolved {
                url: url.to_string(),
            }
            .into());
        }
        if let Some(addr) = addrs.iter().find(|a| !a.ip().is_loopback()) {
            return Err(FaultError::UpstreamNotLoopback {
                url: url.to_string(),
                addr: *addr,
            }
            .into());
        }
        Ok(Upstream {
            addrs,
            authority: HeaderValue::from_str(authority.as_str())
                .map_err(|_| invalid("bad host"))?,
            prefix: uri.path().trim_end_matches('/').to_string(),
        })
    }

    pub(crate) async fn connect(&self) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in &self.addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrNotAvailable)))
    }

    pub(crate) fn authority(&self) -> &HeaderValue {
        &self.authority
    }

    /// The request target upstream: the base URL's path, then the client's path and query.
    pub(crate) fn target(&self, uri: &Uri) -> Result<Uri, hyper::http::Error> {
        let pq = uri.path_and_query().map_or("/", |pq| pq.as_str());
        Ok(Uri::try_from(format!("{}{pq}", self.prefix))?)
    }
}

/// Removes the hop-by-hop headers (RFC 9110 §7.6.1), including those the Connection header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

pub(crate) fn is_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"))
}

pub(crate) fn gunzip(data: &[u8]) -> io::Result<Vec<u8>> {
    use std::io::Read;
    // Room for typical NDJSON ratios, capped: capacity is only a hint.
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(256 << 20));
    flate2::read::MultiGzDecoder::new(data).read_to_end(&mut out)?;
    Ok(out)
}

/// Percent-decodes a path segment (an index name in `/<index>/_bulk`).
pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
