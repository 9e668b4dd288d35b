//! The stop workflow's archive under a race the control-plane race test found (round 27 of
//! seed 20261207): a second run of the archive task reads a `stopping` record, then the first
//! run's finalize marks the backfill stopped and deletes the items, then the second run reads
//! the items. Whatever it then writes must not be a partial archive, and no backfill's archive
//! may overwrite another's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use backfill_core::control::ports::{
    ArchiveStore, ExecutionStatus, Fleet, FleetState, Gauge, IndexRow, PortError, ProgressSink,
    StopWorkflow, TargetClusters,
};
use backfill_core::control::*;
use backfill_core::lease::{now_ms, LeasePolicy};
use backfill_core::memory::MemoryStore;
use backfill_core::model::{BackfillRecord, BackfillState, Counters, NewItem, NewRange, WorkItem};
use backfill_core::store::{
    Claim, ClaimOutcome, InProgress, Progress, StateChange, StoreError, WorkStore,
};
use backfill_core::worker::LocalSnapshots;
use snapshot_testkit::fixture_repository as fixture;

/// The memory store, except that the first `items` read of an armed store is preceded by what
/// another workflow's finalize does: mark stopped with its archive, delete the working state.
struct FinalizedMeanwhile {
    inner: MemoryStore,
    armed: AtomicBool,
    other_archive: Mutex<Option<String>>,
}

#[async_trait]
impl WorkStore for FinalizedMeanwhile {
    async fn create_backfill(&self, r: &BackfillRecord) -> Result<bool, StoreError> {
        self.inner.create_backfill(r).await
    }
    async fn backfill(&self, id: &str) -> Result<Option<BackfillRecord>, StoreError> {
        self.inner.backfill(id).await
    }
    async fn set_state(
        &self,
        id: &str,
        change: &StateChange<'_>,
        now: i64,
    ) -> Result<BackfillRecord, StoreError> {
        self.inner.set_state(id, change, now).await
    }
    async fn create_items(&self, id: &str, items: &[NewItem]) -> Result<u64, StoreError> {
        self.inner.create_items(id, items).await
    }
    async fn claim(
        &self,
        id: &str,
        holder: &str,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<ClaimOutcome, StoreError> {
        self.inner.claim(id, holder, now, policy).await
    }
    async fn checkpoint(
        &self,
        claim: &mut Claim,
        p: &Progress,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<(), StoreError> {
        self.inner.checkpoint(claim, p, now, policy).await
    }
    async fn record_expected(&self, claim: &Claim, docs: u64) -> Result<(), StoreError> {
        self.inner.record_expected(claim, docs).await
    }
    async fn split(&self, claim: &mut Claim, ranges: &[NewRange]) -> Result<(), StoreError> {
        self.inner.split(claim, ranges).await
    }
    async fn complete(&self, claim: &Claim, p: &Progress, now: i64) -> Result<(), StoreError> {
        self.inner.complete(claim, p, now).await
    }
    async fn release(&self, claim: &Claim, p: &Progress) -> Result<(), StoreError> {
        self.inner.release(claim, p).await
    }
    async fn fail(
        &self,
        claim: &Claim,
        p: &Progress,
        reason: &str,
        max: u32,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.inner.fail(claim, p, reason, max, now).await
    }
    async fn counters(&self, id: &str) -> Result<Counters, StoreError> {
        self.inner.counters(id).await
    }
    async fn in_progress(
        &self,
        id: &str,
        now: i64,
        p: &LeasePolicy,
    ) -> Result<InProgress, StoreError> {
        self.inner.in_progress(id, now, p).await
    }
    async fn failed_items(&self, id: &str, limit: usize) -> Result<Vec<WorkItem>, StoreError> {
        self.inner.failed_items(id, limit).await
    }
    async fn expired_leases(
        &self,
        id: &str,
        now: i64,
        p: &LeasePolicy,
        limit: usize,
    ) -> Result<Vec<WorkItem>, StoreError> {
        self.inner.expired_leases(id, now, p, limit).await
    }
    async fn items(&self, id: &str) -> Result<Vec<WorkItem>, StoreError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            let uri = self.other_archive.lock().unwrap().clone().unwrap();
            self.inner
                .set_state(id, &StateChange::finalize_stop(&uri), now_ms())
                .await?;
            self.inner.delete_working_state(id).await?;
        }
        self.inner.items(id).await
    }
    async fn delete_working_state(&self, id: &str) -> Result<u64, StoreError> {
        self.inner.delete_working_state(id).await
    }
}

#[derive(Default)]
struct Archives(Mutex<Vec<(String, Vec<u8>)>>);

#[async_trait]
impl ArchiveStore for Archives {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<String, PortError> {
        let mut a = self.0.lock().unwrap();
        a.retain(|(k, _)| k != key); // a put replaces, as in S3
        a.push((key.to_string(), body));
        Ok(format!("s3://archive/{key}"))
    }
}

impl Archives {
    fn get(&self, uri: &str) -> serde_json::Value {
        let key = uri.strip_prefix("s3://archive/").unwrap();
        let a = self.0.lock().unwrap();
        let (_, body) = a.iter().find(|(k, _)| k == key).expect("archived");
        serde_json::from_slice(body).unwrap()
    }
}

struct Drained;

#[async_trait]
impl Fleet for Drained {
    async fn set_desired(&self, _: u32) -> Result<FleetState, PortError> {
        Ok(FleetState::default())
    }
    async fn state(&self) -> Result<FleetState, PortError> {
        Ok(FleetState::default())
    }
}

struct Unused;

#[async_trait]
impl StopWorkflow for Unused {
    async fn start(&self, backfill: &str) -> Result<String, PortError> {
        Ok(format!("exec-{backfill}"))
    }
    async fn status(&self, _: &str) -> Result<ExecutionStatus, PortError> {
        Ok(ExecutionStatus::Running)
    }
}

#[async_trait]
impl ProgressSink for Unused {
    async fn publish(&self, _: &str, _: &[Gauge]) -> Result<(), PortError> {
        Ok(())
    }
}

#[async_trait]
impl TargetClusters for Unused {
    async fn indices(&self, _: &str, _: bool) -> Result<Vec<IndexRow>, PortError> {
        Ok(Vec::new())
    }

    async fn count(&self, _: &str, index: &str) -> Result<u64, PortError> {
        Err(PortError::failed(format!("no index {index} here")))
    }
}

fn control(store: Arc<FinalizedMeanwhile>, archives: Arc<Archives>) -> Control {
    Control {
        config: ControlConfig {
            snapshot_repository: Some(fixture("ES_7_10_Single")),
            snapshot_name: Some("global_state_snapshot".into()),
            target_endpoint: Some("http://target:9200".into()),
            ..ControlConfig::default()
        },
        store,
        fleet: Arc::new(Drained),
        snapshots: Arc::new(LocalSnapshots),
        stop_workflow: Arc::new(Unused),
        archive: archives,
        progress: Arc::new(Unused),
        clusters: Arc::new(Unused),
    }
}

fn setup() -> (Arc<FinalizedMeanwhile>, Arc<Archives>, Control) {
    let store = Arc::new(FinalizedMeanwhile {
        inner: MemoryStore::new(),
        armed: AtomicBool::new(false),
        other_archive: Mutex::new(None),
    });
    let archives = Arc::new(Archives::default());
    let c = control(store.clone(), archives.clone());
    (store, archives, c)
}

fn backfill(id: &str) -> BackfillRef {
    BackfillRef {
        backfill_id: Some(id.into()),
    }
}

#[tokio::test]
async fn an_archive_run_overtaken_by_another_runs_finalize_writes_no_partial_archive() {
    let (store, archives, c) = setup();
    c.start(StartRequest {
        backfill_id: Some("bf".into()),
        ..StartRequest::default()
    })
    .await
    .unwrap();
    c.stop(backfill("bf")).await.unwrap();
    let items = store.inner.items("bf").await.unwrap().len();
    assert!(items > 1, "the fixture has several shards");

    // The first workflow archives; the second's archive run is overtaken by its finalize.
    let first = c.archive_state(backfill("bf")).await.unwrap();
    *store.other_archive.lock().unwrap() = Some(first.archive_uri.clone());
    store.armed.store(true, Ordering::SeqCst);
    let second = c.archive_state(backfill("bf")).await.unwrap();

    let record = store.inner.backfill("bf").await.unwrap().unwrap();
    assert_eq!(record.state, BackfillState::Stopped);
    assert_eq!(
        record.archive_uri.as_deref(),
        Some(first.archive_uri.as_str())
    );
    assert_eq!(
        second.archive_uri, first.archive_uri,
        "the recorded archive"
    );
    for (key, body) in archives.0.lock().unwrap().iter() {
        let doc: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            doc["items"].as_array().unwrap().len(),
            items,
            "archive {key} is partial"
        );
    }
    let doc = archives.get(&first.archive_uri);
    assert_eq!(doc["items"].as_array().unwrap().len(), items);
}

#[tokio::test]
async fn two_backfills_stopped_in_the_same_second_keep_their_own_archives() {
    let (_, archives, c) = setup();
    for id in ["one", "two"] {
        c.start(StartRequest {
            backfill_id: Some(id.into()),
            ..StartRequest::default()
        })
        .await
        .unwrap();
        c.stop(backfill(id)).await.unwrap();
    }
    let a = c.archive_state(backfill("one")).await.unwrap().archive_uri;
    let b = c.archive_state(backfill("two")).await.unwrap().archive_uri;
    assert_ne!(a, b);
    assert_eq!(archives.get(&a)["backfill"]["id"], "one");
    assert_eq!(archives.get(&b)["backfill"]["id"], "two");
}
