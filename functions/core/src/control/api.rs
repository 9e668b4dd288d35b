//! What callers send to the control plane and what they get back, whatever carries it (API
//! Gateway, a plain Lambda payload, Step Functions, the CLI).

use serde::{Deserialize, Serialize};

use super::ports::{ExecutionStatus, FleetState};
use crate::model::{BackfillState, SnapshotRef};

/// Names a backfill; absent means the deployment's default backfill.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillRef {
    #[serde(default, alias = "backfill")]
    pub backfill_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartRequest {
    #[serde(default, alias = "backfill")]
    pub backfill_id: Option<String>,
    /// `s3://bucket/prefix` of the snapshot repository (first start only; else the default).
    #[serde(default)]
    pub snapshot_repository: Option<String>,
    #[serde(default)]
    pub snapshot_name: Option<String>,
    /// The target cluster's endpoint (first start only; else the default).
    #[serde(default)]
    pub target_endpoint: Option<String>,
    /// Only these indices (exact names or `prefix*`); empty: every index but system ones.
    #[serde(default)]
    pub indices: Vec<String>,
    /// Also indices whose name starts with `.`.
    #[serde(default)]
    pub include_system_indices: bool,
    /// Create missing target indices from the snapshot's metadata.
    #[serde(default)]
    pub create_missing_indices: Option<bool>,
    /// Workers to run (default: the configured default).
    #[serde(default)]
    pub workers: Option<i64>,
    /// Where each (index, mapping type) of ES 5.x multi-type indices goes (first start only):
    /// `[{"index": "logs", "type": "error", "target": "logs_error"}, …]`.
    #[serde(default)]
    pub type_mappings: Vec<crate::type_mapping::TypeRule>,
    /// Split shards with more live documents than this into ranges for several workers (first
    /// start only; 0: never by documents; default [`crate::split::RangeSplit::default`]).
    #[serde(default)]
    pub split_docs: Option<u64>,
    /// … or with more bytes in the snapshot than this (0: never by bytes).
    #[serde(default)]
    pub split_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleRequest {
    #[serde(default, alias = "backfill")]
    pub backfill_id: Option<String>,
    /// Signed, so that a negative number is reported as such rather than failing to parse.
    #[serde(alias = "units", alias = "desired_count")]
    pub workers: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRequest {
    #[serde(default, alias = "backfill")]
    pub backfill_id: Option<String>,
    /// Add the shard counts (the seed's `--deep-check`).
    #[serde(default)]
    pub deep_check: bool,
}

/// The result of start, scale, pause and stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResponse {
    pub backfill_id: String,
    pub state: BackfillState,
    pub fleet: FleetState,
    /// What the seed's console prints, e.g. `Backfill started successfully.\nService … set to 5
    /// desired count. Currently 0 running and 0 pending.`
    pub message: String,
    /// The stop workflow's execution (stop only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_execution: Option<String>,
    /// Work items created by this call (start only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_created: Option<u64>,
}

/// The seed's backfill status values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BackfillStatus {
    NotStarted,
    Starting,
    Running,
    Terminating,
    Stopped,
    Failed,
}

impl BackfillStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BackfillStatus::NotStarted => "NOT_STARTED",
            BackfillStatus::Starting => "STARTING",
            BackfillStatus::Running => "RUNNING",
            BackfillStatus::Terminating => "TERMINATING",
            BackfillStatus::Stopped => "STOPPED",
            BackfillStatus::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardCounts {
    pub total: u64,
    pub completed: u64,
    /// Not completed (failed ones included, as the seed counts them).
    pub incomplete: u64,
    /// Not completed and held by a live lease.
    pub in_progress: u64,
    /// Not completed and not held (never claimed, released, or its lease expired).
    pub unclaimed: u64,
    pub failed: u64,
}

/// The ranges of split shards: how a large shard is shared between workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeCounts {
    pub total: u64,
    pub completed: u64,
    /// Held by a live lease.
    pub in_progress: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedShard {
    pub index: String,
    pub shard: u32,
    /// The range of a split shard that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<u32>,
    pub failures: u32,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub backfill_id: String,
    pub status: BackfillStatus,
    /// The backfill's own state (`None` when it does not exist).
    pub state: Option<BackfillState>,
    pub fleet: FleetState,
    pub shards: Option<ShardCounts>,
    /// Ranges of the shards that were split between workers (none split: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranges: Option<RangeCounts>,
    pub documents: u64,
    pub bytes: u64,
    pub rejected: u64,
    /// Live documents the shards hold, as far as workers have counted them.
    pub documents_expected: u64,
    pub percent: f64,
    /// Documents per second since the backfill started.
    pub rate: Option<f64>,
    pub eta_seconds: Option<f64>,
    pub failed_shards: Vec<FailedShard>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub stop_execution: Option<String>,
    /// Where the stop workflow is, while the backfill is stopping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_status: Option<ExecutionStatus>,
    pub archive_uri: Option<String>,
    /// What the backfill reads and writes (absent before the first start).
    #[serde(default)]
    pub snapshot: Option<SnapshotRef>,
    #[serde(default)]
    pub target_endpoint: Option<String>,
}

impl StatusReport {
    /// The seed's text form: `BackfillStatus.RUNNING`, the fleet line, and with a deep check
    /// the shard lines.
    pub fn seed_text(&self, deep_check: bool) -> String {
        let f = &self.fleet;
        // As the seed prints it: the status, then one `Name=count` line per fleet count.
        let mut out = format!(
            "BackfillStatus.{}\nRunning={}\nPending={}\nDesired={}",
            self.status.as_str(),
            f.running,
            f.pending,
            f.desired
        );
        if deep_check {
            match &self.shards {
                Some(s) => out.push_str(&format!(
                    "\nShards total: {}\nShards completed: {}\nShards incomplete: {}\nShards in progress: {}\nShards unclaimed: {}",
                    s.total, s.completed, s.incomplete, s.in_progress, s.unclaimed
                )),
                None => out.push_str("\nShards are initializing"),
            }
        }
        out
    }
}

/// What the stop workflow's drain check reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainReport {
    pub backfill_id: String,
    pub drained: bool,
    pub fleet: FleetState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveReport {
    pub backfill_id: String,
    pub archive_uri: String,
    pub items: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizeRequest {
    #[serde(default, alias = "backfill")]
    pub backfill_id: Option<String>,
    pub archive_uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollReport {
    pub backfill_id: String,
    pub state: Option<BackfillState>,
    /// The poller marked the backfill completed (and scaled the fleet to 0) this time.
    pub completed_now: bool,
    /// Items whose holder's lease expired without progress.
    pub stale_leases: Vec<String>,
    pub published: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatIndicesRequest {
    #[serde(default, alias = "backfill")]
    pub backfill_id: Option<String>,
    /// `_refresh` the target first, so that every indexed document is counted.
    #[serde(default)]
    pub refresh: bool,
    /// Only these indices (names or `prefix*`); empty: the backfill's selection. A list, or
    /// one comma-separated string (a query parameter: `?indices=logs-*,users`).
    #[serde(default, deserialize_with = "list_or_commas")]
    pub indices: Vec<String>,
    #[serde(default)]
    pub include_system_indices: bool,
}

/// One index of the snapshot: shards and live top-level documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceIndex {
    pub index: String,
    pub shards: u32,
    pub documents: u64,
    /// Of `documents`, those whose `_source` is not in the snapshot: they cannot be migrated.
    #[serde(default)]
    pub without_source: u64,
    /// Of `documents`, those of a k-NN derived-source index whose vectors cannot be put back.
    #[serde(default)]
    pub not_rebuilt: u64,
}

/// An index whose counts differ; `target` is `None` when the target lacks the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    pub index: String,
    pub source: u64,
    pub target: Option<u64>,
}

/// `clusters cat-indices`: the snapshot's and the target's indices, and where they differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatIndicesReport {
    pub backfill_id: String,
    pub snapshot: SnapshotRef,
    pub target_endpoint: String,
    pub source: Vec<SourceIndex>,
    pub target: Vec<super::ports::IndexRow>,
    pub mismatches: Vec<Mismatch>,
    /// The two tables and the verdicts, as the CLI prints them.
    pub text: String,
}

fn list_or_commas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrCommas {
        List(Vec<String>),
        Commas(String),
    }
    Ok(match ListOrCommas::deserialize(d)? {
        ListOrCommas::List(l) => l,
        ListOrCommas::Commas(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// Why a control call failed, and whether trying again can help.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ControlError {
    /// The request itself is wrong, or another system refused it as invalid (400).
    #[error("{0}")]
    BadRequest(String),
    /// Access denied: a refused override, or an AWS permission missing (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such backfill, or a resource the deployment names does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// Not possible in the backfill's current state, or a concurrent call changed it first (409).
    #[error("{0}")]
    Conflict(String),
    /// A dependency failed in a passing way (503): retrying may succeed.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (500).
    #[error("{0}")]
    Internal(String),
}

impl ControlError {
    pub fn http_status(&self) -> u16 {
        match self {
            ControlError::BadRequest(_) => 400,
            ControlError::Forbidden(_) => 403,
            ControlError::NotFound(_) => 404,
            ControlError::Conflict(_) => 409,
            ControlError::Unavailable(_) => 503,
            ControlError::Internal(_) => 500,
        }
    }

    /// The error type Lambda reports, which the stop state machine's `Retry` matches.
    pub fn error_type(&self) -> &'static str {
        match self {
            ControlError::Unavailable(_) => "Retryable",
            _ => "NonRetryable",
        }
    }
}

impl From<crate::store::StoreError> for ControlError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::NoSuchBackfill(id) => {
                ControlError::NotFound(format!("backfill {id} does not exist"))
            }
            e @ StoreError::StateConflict { .. } => ControlError::Conflict(format!(
                "{e}: a concurrent call changed it first; nothing was changed by this one"
            )),
            StoreError::Backend(e) => e.context("work-item store").into(),
            e => ControlError::Internal(e.to_string()),
        }
    }
}

impl From<crate::port_error::PortError> for ControlError {
    fn from(e: crate::port_error::PortError) -> Self {
        use crate::port_error::ErrorKind;
        let text = e.to_string();
        match e.kind {
            ErrorKind::Retryable => ControlError::Unavailable(text),
            ErrorKind::Denied => ControlError::Forbidden(text),
            ErrorKind::NotFound => ControlError::NotFound(text),
            ErrorKind::Invalid => ControlError::BadRequest(text),
            ErrorKind::Failed => ControlError::Internal(text),
        }
    }
}
