//! The control plane's ports: the worker fleet, the stop workflow, the archive and the progress
//! metrics. AWS adapters implement them with ECS, Step Functions, S3 and CloudWatch; a local
//! process supervisor and in-process runner implement them on one machine; unit tests use
//! in-memory versions. Every port fails with a `PortError`, whose kind says whether a retry can
//! help (the adapters map their errors once).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use crate::port_error::{ErrorKind, PortError};

/// The fleet of workers as the orchestrator sees it (ECS service counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetState {
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    /// Stopping but not gone yet.
    pub terminating: u32,
}

impl FleetState {
    /// No worker is running, starting or stopping.
    pub fn drained(&self) -> bool {
        self.running == 0 && self.pending == 0 && self.terminating == 0
    }
}

/// The worker fleet: an ECS service whose desired count is the fleet size, or local processes.
#[async_trait]
pub trait Fleet: Send + Sync {
    async fn set_desired(&self, workers: u32) -> Result<FleetState, PortError>;
    async fn state(&self) -> Result<FleetState, PortError>;
}

/// Where a stop workflow is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed { error: String, cause: String },
}

/// Runs the stop workflow (scale to zero → wait for the fleet to drain → archive → delete the
/// working state → mark stopped): Step Functions on AWS, an in-process interpreter of the same
/// definition on one machine.
#[async_trait]
pub trait StopWorkflow: Send + Sync {
    /// Starts it for a backfill; returns the execution's name or ARN.
    async fn start(&self, backfill: &str) -> Result<String, PortError>;
    async fn status(&self, execution: &str) -> Result<ExecutionStatus, PortError>;
}

/// Stores archives of the working state.
#[async_trait]
pub trait ArchiveStore: Send + Sync {
    /// Writes `body` under `key` (relative to the archive location); returns its URI.
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<String, PortError>;
}

/// One progress metric: name, value, unit (CloudWatch unit names).
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
}

/// Publishes progress metrics (CloudWatch `PutMetricData` on AWS).
#[async_trait]
pub trait ProgressSink: Send + Sync {
    async fn publish(&self, backfill: &str, gauges: &[Gauge]) -> Result<(), PortError>;
}

/// One index of the target as `_cat/indices` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexRow {
    pub index: String,
    pub health: Option<String>,
    pub status: Option<String>,
    pub primaries: Option<u32>,
    pub replicas: Option<u32>,
    pub docs_count: Option<u64>,
    pub docs_deleted: Option<u64>,
    pub store_size: Option<String>,
    /// Top-level documents (`_count`): what the snapshot side counts. `docs_count` counts
    /// every Lucene document, nested children included. Asked only where `docs_count` differs
    /// from the snapshot's count; comparisons fall back to `docs_count` where it is `None`.
    #[serde(default)]
    pub documents: Option<u64>,
}

impl IndexRow {
    /// The count that compares with the snapshot's.
    pub fn top_level_documents(&self) -> Option<u64> {
        self.documents.or(self.docs_count)
    }
}

/// The target clusters' index listings (`_cat/indices`), for validation.
#[async_trait]
pub trait TargetClusters: Send + Sync {
    /// The indices of the cluster at `endpoint`, after a `_refresh` when asked.
    async fn indices(&self, endpoint: &str, refresh: bool) -> Result<Vec<IndexRow>, PortError>;

    /// The top-level documents of one index (`_count`), for an index whose `_cat/indices`
    /// count may include nested children.
    async fn count(&self, endpoint: &str, index: &str) -> Result<u64, PortError>;
}
