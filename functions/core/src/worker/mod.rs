//! The worker engine: claim a work item → stream its shard's documents from the snapshot →
//! `_bulk` them to the target → checkpoint → complete → next, until no work is left.
//!
//! The engine knows nothing about AWS: the store, the target, the snapshot's blobs, the
//! failed-documents report and the metrics are ports.

mod index;
mod limiter;
mod mapping_upgrade;
mod open;
mod reader;
mod sender;
mod shard;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::watch;

pub use crate::retry::RetryPolicy;
pub use index::{create_index_body, typeless_mappings};
pub use limiter::{AdaptiveLimit, ByteRate};
pub use reader::BatchLimits;

use crate::lease::{now_ms, LeasePolicy};
use crate::model::{BackfillState, ItemKey};
use crate::retry::Jitter;
use crate::store::{ClaimOutcome, StoreError, WorkStore};
use crate::target::Target;

/// Opens the snapshot a backfill reads (a blocking call: it reads repository metadata).
pub trait SnapshotSource: Send + Sync {
    fn open(&self, repository: &str, snapshot: &str)
        -> Result<snapshot::Snapshot, snapshot::Error>;
}

/// A local directory repository (tests, single-machine runs).
pub struct LocalSnapshots;

impl SnapshotSource for LocalSnapshots {
    fn open(
        &self,
        repository: &str,
        snapshot: &str,
    ) -> Result<snapshot::Snapshot, snapshot::Error> {
        let store = Arc::new(snapshot::LocalDirectory::new(repository));
        snapshot::Repository::open(store)?.snapshot(snapshot)
    }
}

/// A document the target refused for good, or that could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub index: String,
    pub id: String,
    /// The document's mapping type in the snapshot (ES 5.x indices).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub doc_type: Option<String>,
    /// HTTP status of the item (0: never sent).
    pub status: u16,
    pub error_type: Option<String>,
    pub reason: Option<String>,
}

/// Where rejected documents are reported (an S3 object per report on AWS).
#[async_trait]
pub trait RejectionSink: Send + Sync {
    /// Writes one report; must be durable before the checkpoint that covers these documents.
    async fn write(
        &self,
        backfill: &str,
        item: &ItemKey,
        rejections: &[Rejection],
    ) -> Result<(), String>;
}

/// Reports as NDJSON files in a local directory (single-machine runs):
/// `<dir>/failed-documents/<backfill>/<index>/<shard>/<time>-<worker>.ndjson`.
pub struct LocalReports {
    dir: std::path::PathBuf,
    worker: String,
}

impl LocalReports {
    pub fn new(dir: impl Into<std::path::PathBuf>, worker: &str) -> LocalReports {
        LocalReports {
            dir: dir.into(),
            worker: worker.to_string(),
        }
    }
}

/// One failed-documents report: its key under the reports location
/// (`failed-documents/<backfill>/<index>/<shard>/<time>-<worker>.ndjson`) and its NDJSON body,
/// one line per document. Every sink writes this, so reports look the same wherever they are.
pub fn failed_documents_report(
    backfill: &str,
    item: &ItemKey,
    worker: &str,
    rejections: &[Rejection],
) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for r in rejections {
        serde_json::to_writer(&mut body, r).expect("a rejection serialises");
        body.push(b'\n');
    }
    let key = format!(
        "failed-documents/{backfill}/{}/{}/{}-{worker}.ndjson",
        item.index,
        item.shard,
        now_ms()
    );
    (key, body)
}

#[async_trait]
impl RejectionSink for LocalReports {
    async fn write(
        &self,
        backfill: &str,
        item: &ItemKey,
        rejections: &[Rejection],
    ) -> Result<(), String> {
        let (key, body) = failed_documents_report(backfill, item, &self.worker, rejections);
        let path = self.dir.join(key);
        let io = |e: std::io::Error| format!("writing {}: {e}", path.display());
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        tokio::fs::write(&path, body).await.map_err(io)
    }
}

/// What the engine reports for dashboards.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    DocumentsIndexed { docs: u64, bytes: u64 },
    BulkLatency { seconds: f64 },
    BulkRetries { count: u64 },
    Throttled,
    DocumentsRejected { count: u64 },
    LeaseClaimed,
    LeaseLost,
    ShardCompleted { seconds: f64 },
    ShardFailed,
}

pub trait Metrics: Send + Sync {
    fn record(&self, event: Event);
}

/// Drops every event.
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn record(&self, _: Event) {}
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub backfill: String,
    /// This worker's name in leases.
    pub worker_id: String,
    pub lease: LeasePolicy,
    /// Checkpoint after this many documents …
    pub checkpoint_docs: u64,
    /// … or this much time, whichever comes first.
    pub checkpoint_interval: Duration,
    pub batch: BatchLimits,
    /// Upper bound of `_bulk` requests in flight (the adaptive limit moves below it).
    pub max_in_flight: usize,
    pub retry: RetryPolicy,
    /// Non-retryable failures before an item is failed for good.
    pub max_failures: u32,
    pub read: snapshot::ReadOptions,
    /// How long to wait before asking again when every open item is leased.
    pub idle_poll: Duration,
    /// After a stop request, how long in-flight `_bulk` requests may take before they are
    /// abandoned (their documents are sent again by the next holder; `_id`s make that
    /// harmless). Well under the fleet's kill timeout (ECS: 30 s), so the lease is released.
    pub stop_grace: Duration,
    /// At most this many bytes of `_source` per second from this worker (`None`: no cap); the
    /// fleet's rate is this times the workers.
    pub max_bytes_per_second: Option<u64>,
}

impl EngineConfig {
    pub fn new(backfill: &str, worker_id: &str) -> EngineConfig {
        EngineConfig {
            backfill: backfill.to_string(),
            worker_id: worker_id.to_string(),
            lease: LeasePolicy::default(),
            checkpoint_docs: 20_000,
            checkpoint_interval: Duration::from_secs(30),
            batch: BatchLimits {
                max_docs: 2_000,
                max_bytes: 8 << 20,
            },
            max_in_flight: 4,
            retry: RetryPolicy::default(),
            max_failures: 3,
            read: snapshot::ReadOptions::default(),
            idle_poll: Duration::from_secs(5),
            stop_grace: Duration::from_secs(10),
            max_bytes_per_second: None,
        }
    }
}

pub struct Engine {
    pub config: EngineConfig,
    pub store: Arc<dyn WorkStore>,
    pub target: Arc<dyn Target>,
    pub snapshots: Arc<dyn SnapshotSource>,
    pub rejections: Arc<dyn RejectionSink>,
    pub metrics: Arc<dyn Metrics>,
    limit: Arc<AdaptiveLimit>,
    /// The cap on bytes sent per second, when there is one.
    rate: Option<Arc<ByteRate>>,
    /// Target indices known to exist.
    known_indices: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Why the engine stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Every item is completed or failed.
    NoWorkLeft,
    /// Asked to stop (SIGTERM): the current item was checkpointed and released.
    Interrupted,
    /// The backfill is not running (paused, stopped, …).
    NotRunning(BackfillState),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Checkpoints written (one store request each).
    pub checkpoints: u64,
    pub items_completed: u64,
    pub items_failed: u64,
    pub items_released: u64,
    pub leases_lost: u64,
    pub docs: u64,
    pub bytes: u64,
    pub rejected: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("backfill {0} does not exist")]
    NoSuchBackfill(String),
}

impl Engine {
    pub fn new(
        config: EngineConfig,
        store: Arc<dyn WorkStore>,
        target: Arc<dyn Target>,
        snapshots: Arc<dyn SnapshotSource>,
        rejections: Arc<dyn RejectionSink>,
        metrics: Arc<dyn Metrics>,
    ) -> Engine {
        let limit = Arc::new(AdaptiveLimit::new(
            config.max_in_flight,
            config.max_in_flight,
        ));
        let rate = config
            .max_bytes_per_second
            .filter(|&b| b > 0)
            .map(|b| Arc::new(ByteRate::new(b)));
        Engine {
            config,
            store,
            target,
            snapshots,
            rejections,
            metrics,
            limit,
            rate,
            known_indices: Default::default(),
        }
    }

    pub fn limit(&self) -> &AdaptiveLimit {
        &self.limit
    }

    /// Works until no work is left, the backfill stops running, or `shutdown` turns true.
    pub async fn run(
        &self,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(Stop, Summary), EngineError> {
        let mut summary = Summary::default();
        let id = self.config.backfill.clone();
        loop {
            if *shutdown.borrow() {
                return Ok((Stop::Interrupted, summary));
            }
            let record = retry_store(|| self.store.backfill(&id))
                .await?
                .ok_or_else(|| EngineError::NoSuchBackfill(id.clone()))?;
            if record.state != BackfillState::Running {
                return Ok((Stop::NotRunning(record.state), summary));
            }
            let outcome = retry_store(|| {
                self.store
                    .claim(&id, &self.config.worker_id, now_ms(), &self.config.lease)
            })
            .await?;
            match outcome {
                ClaimOutcome::Claimed(claim) => {
                    self.metrics.record(Event::LeaseClaimed);
                    tracing::info!(item = %claim.item.key, position = %claim.item.position, attempts = claim.item.attempts, "claimed");
                    let end = self
                        .process(&record, *claim, shutdown.clone(), &mut summary)
                        .await?;
                    if end == shard::ItemEnd::Interrupted {
                        return Ok((Stop::Interrupted, summary));
                    }
                }
                ClaimOutcome::AllLeased => {
                    tokio::select! {
                        _ = tokio::time::sleep(Jitter::Quarter.apply(self.config.idle_poll)) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                ClaimOutcome::NothingOpen => return Ok((Stop::NoWorkLeft, summary)),
            }
        }
    }
}

/// Store calls ride out passing failures (throttling, network) for up to a minute.
const STORE_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: u32::MAX,
    initial_backoff: Duration::from_millis(100),
    max_backoff: Duration::from_secs(10),
    max_elapsed: Some(Duration::from_secs(60)),
    jitter: Jitter::Quarter,
};

async fn retry_store<T, F, Fut>(call: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    STORE_RETRY
        .run(call, StoreError::is_transient, |_, e| {
            tracing::warn!(error = %e, "work-item store call failed; retrying");
        })
        .await
}
