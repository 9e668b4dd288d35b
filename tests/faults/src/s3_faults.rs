//! What S3 does to a read in flight, applied to an upstream answer's body: a stall part-way (a
//! slow read) or a cut (the headers promised the full `Content-Length`; part of the body comes,
//! then the connection closes), as a client sees them from a real endpoint under load.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use hyper::header::CONTENT_LENGTH;
use hyper::Response;

use crate::net::{Body, BoxError};

/// The `Content-Length` of a successful answer with a body worth mangling (at least 2 bytes).
pub(crate) fn body_length(resp: &Response<Body>) -> Option<u64> {
    if !resp.status().is_success() {
        return None;
    }
    resp.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
        .filter(|len| *len >= 2)
}

/// The body passes `before` bytes, then stalls for `stall`, then passes the rest.
pub(crate) fn stalled(body: Body, before: u64, stall: Duration) -> Body {
    Stall {
        inner: body,
        before,
        stall,
        held: None,
        sleep: None,
    }
    .boxed()
}

/// The body passes `keep` bytes, then fails: hyper closes the connection, and the client
/// reads fewer bytes than the `Content-Length` it was promised.
pub(crate) fn cut(body: Body, keep: u64) -> Body {
    Cut {
        inner: body,
        remaining: keep,
        close: None,
    }
    .boxed()
}

#[derive(Debug, thiserror::Error)]
#[error("connection cut mid-body on purpose (fault proxy)")]
struct CutOnPurpose;

struct Cut {
    inner: Body,
    remaining: u64,
    /// Set once the kept bytes are out: a moment for hyper to flush them (it writes what it
    /// holds when the body is pending), then the error that closes the connection.
    close: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// Long enough for hyper to write out the head and the kept bytes.
const FLUSH: Duration = Duration::from_millis(50);

impl HttpBody for Cut {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(close) = self.close.as_mut() {
            ready!(close.as_mut().poll(cx));
            return Poll::Ready(Some(Err(Box::new(CutOnPurpose))));
        }
        let frame = match ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            other => return Poll::Ready(other),
        };
        let Some(data) = frame.data_ref() else {
            return Poll::Ready(Some(Ok(frame)));
        };
        let len = data.len() as u64;
        if len < self.remaining {
            self.remaining -= len;
            return Poll::Ready(Some(Ok(frame)));
        }
        let part = data.slice(..self.remaining as usize);
        self.close = Some(Box::pin(tokio::time::sleep(FLUSH)));
        if part.is_empty() {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(Some(Ok(Frame::data(part))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

struct Stall {
    inner: Body,
    /// Bytes still to pass before the stall (none left: the stall is over or under way).
    before: u64,
    stall: Duration,
    /// The rest of the frame that reached the stall point, sent once it is over.
    held: Option<Bytes>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl HttpBody for Stall {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(sleep) = self.sleep.as_mut() {
            ready!(sleep.as_mut().poll(cx));
            self.sleep = None;
            if let Some(rest) = self.held.take() {
                return Poll::Ready(Some(Ok(Frame::data(rest))));
            }
        }
        let frame = match ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            other => return Poll::Ready(other),
        };
        let Some(data) = frame.data_ref() else {
            return Poll::Ready(Some(Ok(frame)));
        };
        if self.before == 0 {
            return Poll::Ready(Some(Ok(frame)));
        }
        let len = data.len() as u64;
        if len < self.before {
            self.before -= len;
            return Poll::Ready(Some(Ok(frame)));
        }
        let at = self.before as usize;
        let (first, rest) = (data.slice(..at), data.slice(at..));
        self.before = 0;
        self.sleep = Some(Box::pin(tokio::time::sleep(self.stall)));
        if !rest.is_empty() {
            self.held = Some(rest);
        }
        if first.is_empty() {
            // The stall comes first: poll again to start sleeping.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(Some(Ok(Frame::data(first))))
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::full;
    use std::time::Instant;

    #[tokio::test]
    async fn a_cut_body_fails_after_the_kept_bytes() {
        let body = cut(full(Bytes::from_static(b"0123456789")), 4);
        let mut body = std::pin::pin!(body);
        let mut got = Vec::new();
        let mut failed = false;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => got.extend_from_slice(f.data_ref().unwrap()),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        assert_eq!((got.as_slice(), failed), (&b"0123"[..], true));
    }

    #[tokio::test]
    async fn a_stalled_body_arrives_whole_and_late() {
        let started = Instant::now();
        let body = stalled(
            full(Bytes::from_static(b"0123456789")),
            3,
            Duration::from_millis(120),
        );
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"0123456789");
        assert!(started.elapsed() >= Duration::from_millis(120));
    }
}
