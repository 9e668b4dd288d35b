//! Fakes and helpers of the type-mapping tests: a target that answers like OpenSearch, the
//! control plane over in-memory ports, and the ground truth Elasticsearch 5.6 returned.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use backfill_core::control::ports::{
    ArchiveStore, ExecutionStatus, Fleet, FleetState, Gauge, IndexRow, PortError, ProgressSink,
    StopWorkflow, TargetClusters,
};
use backfill_core::control::*;
use backfill_core::memory::MemoryStore;
use backfill_core::model::ItemKey;
use backfill_core::outgoing::BulkDoc;
use backfill_core::type_mapping::TypeRule;
use backfill_core::worker::{
    Engine, EngineConfig, LocalSnapshots, NoMetrics, Rejection, RejectionSink, Stop,
};
use backfill_core::{BulkItemResult, Target, TargetError};
use serde_json::Value;
use tokio::sync::watch;

pub fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/es5")
        .join(path)
}

pub use snapshot_testkit::fixture_repository as shared_fixture;

/// One live document as Elasticsearch 5.6 returned it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Truth {
    pub index: String,
    #[serde(rename = "type")]
    pub doc_type: String,
    pub id: String,
    pub routing: Option<String>,
    pub source: String,
}

pub fn truth() -> Vec<Truth> {
    std::fs::read_to_string(data("multitype.expected.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn es_mappings() -> Value {
    serde_json::from_str(&std::fs::read_to_string(data("multitype.mappings.json")).unwrap())
        .unwrap()
}

/// A stored document: routing and `_source`.
pub type Stored = (Option<String>, Vec<u8>);

/// A target that answers `_bulk` like one-shard OpenSearch indices: `index` overwrites, `create`
/// of an `_id` already there is a 409 `version_conflict_engine_exception`.
#[derive(Default)]
pub struct OsLikeTarget {
    pub docs: Mutex<BTreeMap<(String, String), Stored>>,
    pub created: Mutex<BTreeMap<String, Value>>,
    pub requests: AtomicU64,
    /// This request (1-based; 0: none) is applied, but its answer is lost (a timeout).
    pub lose_answer_of: u64,
}

#[async_trait]
impl Target for OsLikeTarget {
    async fn bulk(&self, docs: &[&BulkDoc]) -> Result<Vec<BulkItemResult>, TargetError> {
        let n = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let mut results = Vec::new();
        for doc in docs {
            let index = doc.index.clone();
            assert!(
                self.created.lock().unwrap().contains_key(&index),
                "no index {index}"
            );
            let key = (index, doc.id.clone());
            let routing = doc.routing.clone();
            let mut docs = self.docs.lock().unwrap();
            if doc.create && docs.contains_key(&key) {
                results.push(BulkItemResult {
                    status: 409,
                    error_type: Some("version_conflict_engine_exception".into()),
                    reason: Some(format!(
                        "[{}]: version conflict, document already exists",
                        key.1
                    )),
                });
                continue;
            }
            docs.insert(key, (routing, doc.source.clone()));
            results.push(BulkItemResult::ok(201));
        }
        if n == self.lose_answer_of {
            return Err(TargetError::Unavailable(
                "timed out (the writes were applied)".into(),
            ));
        }
        Ok(results)
    }

    async fn index_exists(&self, index: &str) -> Result<bool, TargetError> {
        Ok(self.created.lock().unwrap().contains_key(index))
    }

    async fn create_index(&self, index: &str, body: &Value) -> Result<(), TargetError> {
        self.created
            .lock()
            .unwrap()
            .insert(index.into(), body.clone());
        Ok(())
    }

    async fn get_source(
        &self,
        index: &str,
        id: &str,
        _: Option<&str>,
    ) -> Result<Option<Vec<u8>>, TargetError> {
        Ok(self
            .docs
            .lock()
            .unwrap()
            .get(&(index.into(), id.into()))
            .map(|d| d.1.clone()))
    }
}

#[derive(Default)]
pub struct Reports(pub Mutex<Vec<Rejection>>);

#[async_trait]
impl RejectionSink for Reports {
    async fn write(&self, _: &str, _: &ItemKey, r: &[Rejection]) -> Result<(), String> {
        // As the report files hold them: one JSON line per document.
        for x in r {
            let line = serde_json::to_value(x).unwrap();
            assert_eq!(
                line.get("type").and_then(Value::as_str),
                x.doc_type.as_deref()
            );
        }
        self.0.lock().unwrap().extend_from_slice(r);
        Ok(())
    }
}

pub struct Ports;

#[async_trait]
impl Fleet for Ports {
    async fn set_desired(&self, workers: u32) -> Result<FleetState, PortError> {
        Ok(FleetState {
            desired: workers,
            running: workers,
            ..FleetState::default()
        })
    }
    async fn state(&self) -> Result<FleetState, PortError> {
        Ok(FleetState::default())
    }
}

#[async_trait]
impl StopWorkflow for Ports {
    async fn start(&self, backfill: &str) -> Result<String, PortError> {
        Ok(backfill.into())
    }
    async fn status(&self, _: &str) -> Result<ExecutionStatus, PortError> {
        Ok(ExecutionStatus::Running)
    }
}

#[async_trait]
impl ArchiveStore for Ports {
    async fn put(&self, key: &str, _: Vec<u8>) -> Result<String, PortError> {
        Ok(key.into())
    }
}

#[async_trait]
impl ProgressSink for Ports {
    async fn publish(&self, _: &str, _: &[Gauge]) -> Result<(), PortError> {
        Ok(())
    }
}

/// `_cat/indices` of the fake target: its documents per index.
pub struct Cat(pub Arc<OsLikeTarget>);

#[async_trait]
impl TargetClusters for Cat {
    async fn indices(&self, _: &str, _: bool) -> Result<Vec<IndexRow>, PortError> {
        let docs = self.0.docs.lock().unwrap();
        Ok(self
            .0
            .created
            .lock()
            .unwrap()
            .keys()
            .map(|i| IndexRow {
                index: i.clone(),
                health: Some("green".into()),
                status: Some("open".into()),
                primaries: Some(1),
                replicas: Some(0),
                docs_count: Some(docs.keys().filter(|(x, _)| x == i).count() as u64),
                docs_deleted: Some(0),
                store_size: None,
                documents: None,
            })
            .collect())
    }

    async fn count(&self, _: &str, index: &str) -> Result<u64, PortError> {
        let docs = self.0.docs.lock().unwrap();
        Ok(docs.keys().filter(|(x, _)| x == index).count() as u64)
    }
}

pub struct Setup {
    pub control: Control,
    pub store: Arc<MemoryStore>,
    pub target: Arc<OsLikeTarget>,
    pub reports: Arc<Reports>,
}

pub fn setup(target: OsLikeTarget) -> Setup {
    setup_on(target, &data("multitype").display().to_string(), "snap")
}

pub fn setup_on(target: OsLikeTarget, repository: &str, snapshot: &str) -> Setup {
    let store = Arc::new(MemoryStore::new());
    let target = Arc::new(target);
    let control = Control {
        config: ControlConfig {
            snapshot_repository: Some(repository.into()),
            snapshot_name: Some(snapshot.into()),
            target_endpoint: Some("http://target:9200".into()),
            create_missing_indices: true,
            ..ControlConfig::default()
        },
        store: store.clone(),
        fleet: Arc::new(Ports),
        snapshots: Arc::new(LocalSnapshots),
        stop_workflow: Arc::new(Ports),
        archive: Arc::new(Ports),
        progress: Arc::new(Ports),
        clusters: Arc::new(Cat(target.clone())),
    };
    Setup {
        control,
        store,
        target,
        reports: Arc::default(),
    }
}

pub fn rules(flags: &[&str]) -> Vec<TypeRule> {
    flags.iter().map(|f| f.parse().unwrap()).collect()
}

pub async fn start(
    s: &Setup,
    id: &str,
    indices: &[&str],
    flags: &[&str],
) -> Result<ActionResponse, ControlError> {
    s.control
        .start(StartRequest {
            backfill_id: Some(id.into()),
            indices: indices.iter().map(|i| i.to_string()).collect(),
            type_mappings: rules(flags),
            workers: Some(1),
            ..StartRequest::default()
        })
        .await
}

/// Runs one worker on backfill `id` until no work is left.
pub async fn work(s: &Setup, id: &str) {
    let mut cfg = EngineConfig::new(id, "w1");
    cfg.retry.initial_backoff = Duration::from_millis(1);
    cfg.retry.max_backoff = Duration::from_millis(5);
    // Small batches: several requests per shard, so that documents of one _id can travel apart.
    cfg.batch.max_docs = 4;
    cfg.max_in_flight = 1;
    let engine = Engine::new(
        cfg,
        s.store.clone(),
        s.target.clone(),
        Arc::new(LocalSnapshots),
        s.reports.clone(),
        Arc::new(NoMetrics),
    );
    let (tx, rx) = watch::channel(false);
    let (stop, _) = engine.run(rx).await.unwrap();
    drop(tx);
    assert_eq!(stop, Stop::NoWorkLeft);
}

/// The target's documents of one index: id → (routing, source as JSON).
pub fn target_docs(s: &Setup, index: &str) -> BTreeMap<String, (Option<String>, Value)> {
    s.target
        .docs
        .lock()
        .unwrap()
        .iter()
        .filter(|((i, _), _)| i == index)
        .map(|((_, id), (r, src))| {
            (
                id.clone(),
                (r.clone(), serde_json::from_slice(src).unwrap()),
            )
        })
        .collect()
}

pub fn source(t: &Truth) -> Value {
    serde_json::from_str(&t.source).unwrap()
}

pub async fn cat(s: &Setup, id: &str) -> CatIndicesReport {
    s.control
        .cat_indices(CatIndicesRequest {
            backfill_id: Some(id.into()),
            ..Default::default()
        })
        .await
        .unwrap()
}
