//! The backfill's domain, free of AWS: what a backfill and its work items are, the lease
//! protocol's rules, the worker engine that moves a shard's documents to the target, and the
//! ports (small traits) that adapters implement: the work-item store (DynamoDB, in memory), the
//! target cluster (OpenSearch `_bulk`), the snapshot's blobs and the failed-documents report.
//!
//! Depends on the snapshot reader and the ASL interpreter only: no AWS SDK, no HTTP client, no
//! processes (`tests/dependency_direction.rs` checks it).

pub mod control;
pub mod lease;
pub mod logging;
pub mod memory;
pub mod model;
pub mod outgoing;
pub mod parallel;
pub mod port_error;
pub mod retry;
pub mod split;
pub mod store;
pub mod target;
pub mod transition;
pub mod type_mapping;
pub mod worker;

pub use lease::LeasePolicy;
pub use model::{BackfillRecord, BackfillState, Counters, ItemKey, WorkItem};
pub use port_error::{ErrorKind, PortError};
pub use store::{Claim, StoreError, WorkStore};
pub use target::{BulkItemResult, Target, TargetError};
