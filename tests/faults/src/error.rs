//! Errors of the library. The public API speaks `std::io::Result` (what a test or a benchmark
//! awaits anyway); these are the reasons carried inside those `io::Error`s.

use std::io;
use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("invalid upstream URL {url:?}: {reason}")]
    InvalidUpstream { url: String, reason: &'static str },

    #[error("upstream {url:?} resolves to {addr}, which is not a loopback address")]
    UpstreamNotLoopback { url: String, addr: SocketAddr },

    #[error("upstream {url:?} does not resolve to any address")]
    UpstreamUnresolved { url: String },

    #[error("refusing to listen on {0}: only loopback addresses are allowed")]
    ListenNotLoopback(SocketAddr),

    #[error("bulk body: {0}")]
    Bulk(&'static str),
}

impl From<FaultError> for io::Error {
    fn from(e: FaultError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}
