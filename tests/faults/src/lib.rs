//! Test and benchmark tools for the `_bulk` path of the backfill, on loopback only:
//!
//! - [`FaultProxy`] forwards to an OpenSearch-compatible server (`osmem-server`, a test fake) and
//!   injects the faults a real cluster produces: whole-request 429 and 503, connections reset
//!   before or after the target indexed a request, per-item 429 rejections, latency.
//! - [`BulkSink`] accepts `_bulk` and discards the documents, fast enough for benchmarks.
//! - [`BasicAuthGate`] answers 401 to requests without the expected Basic credentials and
//!   forwards the others, so a test can prove a client authenticated.
//!
//! Gzip request bodies (`Content-Encoding: gzip`) are understood by both. When the proxy drops
//! some actions of a gzip request, it forwards the rest uncompressed (header removed); otherwise
//! it forwards the original bytes.

mod auth_gate;
mod bulk;
mod error;
mod net;
mod proxy;
mod sink;

pub use auth_gate::{BasicAuthGate, GateCounts};
pub use error::FaultError;
pub use proxy::{FaultCounts, FaultPlan, FaultProxy};
pub use sink::BulkSink;
