//! Test and benchmark tools for the `_bulk` path and the AWS calls of the backfill, on loopback
//! only:
//!
//! - [`FaultProxy`] forwards to an OpenSearch-compatible server (a real node, a test fake) and
//!   injects the faults a real cluster produces: whole-request 429 and 5xx, connections reset
//!   before or after the target indexed a request, per-item 429 rejections, latency. In front of
//!   an AWS emulator it answers AWS's own errors: throttling in each protocol, DynamoDB's
//!   `ProvisionedThroughputExceededException` and transaction conflicts, S3's `InternalError`
//!   and `SlowDown`, and S3 reads that stall or are cut mid-body. Faults come every Nth request
//!   ([`FaultPlan`]) or at random from a seed ([`RandomFaults`]); an [`Observer`] sees what is
//!   forwarded and what upstream answered.
//! - [`BulkSink`] accepts `_bulk` and discards the documents, fast enough for benchmarks.
//! - [`BasicAuthGate`] answers 401 to requests without the expected Basic credentials and
//!   forwards the others, so a test can prove a client authenticated.
//!
//! Gzip request bodies (`Content-Encoding: gzip`) are understood by both. When the proxy drops
//! some actions of a gzip request, it forwards the rest uncompressed (header removed); otherwise
//! it forwards the original bytes.

mod auth_gate;
mod aws_errors;
mod bulk;
mod conn;
mod error;
mod net;
mod observe;
mod proxy;
mod random;
mod s3_faults;
mod sink;

pub use auth_gate::{BasicAuthGate, GateCounts};
pub use error::FaultError;
pub use observe::{bulk_outcomes, BulkOutcome, Observer, Seen};
pub use proxy::{FaultCounts, FaultPlan, FaultProxy};
pub use random::{BulkFaults, DynamoFaults, RandomFaults, S3Faults};
pub use sink::BulkSink;
