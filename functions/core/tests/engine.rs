//! The worker engine over an in-memory store and a scripted target: every live document
//! arrives, retries and push-back are handled, rejections are reported, and interrupted work
//! resumes from its checkpoint.
//!
//! (Over 600 lines: one scripted target and store serve every scenario; split, each file would
//! repeat them.)

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use backfill_core::lease::{now_ms, LeasePolicy};
use backfill_core::memory::MemoryStore;
use backfill_core::model::{
    BackfillRecord, BackfillState, ItemKey, NewItem, SnapshotRef, TargetRef,
};
use backfill_core::outgoing::BulkDoc;
use backfill_core::split::RangeSplit;
use backfill_core::store::WorkStore;
use backfill_core::worker::{
    Engine, EngineConfig, LocalSnapshots, NoMetrics, Rejection, RejectionSink, Stop,
};
use backfill_core::{BulkItemResult, Target, TargetError};
use snapshot::{LocalDirectory, ReadOptions, Repository, ShardReader};
use tokio::sync::watch;

use snapshot_testkit::shared_dir as shared;

fn lucene_data(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/lucene")
        .join(case)
}

/// What the target holds: (index, id) → (routing, source).
type Docs = BTreeMap<(String, String), (Option<String>, Vec<u8>)>;

/// Called after each successful request with the number of requests so far.
type AfterRequest = Box<dyn FnMut(u64) + Send>;

/// A target in memory that can be told to push back.
#[derive(Default)]
struct FakeTarget {
    docs: Mutex<Docs>,
    indices: Mutex<HashSet<String>>,
    created: Mutex<Vec<(String, serde_json::Value)>>,
    requests: AtomicU64,
    actions: AtomicU64,
    /// Every Nth request: 429 for the whole request.
    throttle_every: u64,
    /// Every Nth action: 429 for that item.
    item_throttle_every: u64,
    /// These ids are refused for good (400).
    refuse_ids: HashSet<String>,
    /// Called after each successful request with the number of requests so far.
    after: Mutex<Option<AfterRequest>>,
    /// From this request on (0: never), requests never answer.
    hang_from: AtomicU64,
    /// This request (0: none) answers only after the pause; the requests made by then are
    /// counted in `made_while_held`.
    hold: (u64, Duration),
    made_while_held: AtomicU64,
}

#[async_trait]
impl Target for FakeTarget {
    async fn bulk(&self, docs: &[&BulkDoc]) -> Result<Vec<BulkItemResult>, TargetError> {
        let n = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let hang_from = self.hang_from.load(Ordering::SeqCst);
        if hang_from > 0 && n >= hang_from {
            std::future::pending::<()>().await;
        }
        if n == self.hold.0 {
            tokio::time::sleep(self.hold.1).await;
            let made = self.requests.load(Ordering::SeqCst);
            self.made_while_held.store(made, Ordering::SeqCst);
        }
        if self.throttle_every > 0 && n % self.throttle_every == 0 {
            return Err(TargetError::Throttled { status: 429 });
        }
        let mut results = Vec::new();
        for doc in docs {
            let a = self.actions.fetch_add(1, Ordering::SeqCst) + 1;
            assert!(!doc.create, "an index action for {}", doc.id);
            let (index, id, source) = (doc.index.clone(), doc.id.clone(), doc.source.clone());
            if self.item_throttle_every > 0 && a % self.item_throttle_every == 0 {
                results.push(BulkItemResult {
                    status: 429,
                    error_type: Some("es_rejected_execution_exception".into()),
                    reason: Some("busy".into()),
                });
                continue;
            }
            if self.refuse_ids.contains(&id) {
                results.push(BulkItemResult {
                    status: 400,
                    error_type: Some("mapper_parsing_exception".into()),
                    reason: Some("failed to parse".into()),
                });
                continue;
            }
            assert!(
                self.indices.lock().unwrap().contains(&index),
                "write to missing index {index}"
            );
            let routing = doc.routing.clone();
            self.docs
                .lock()
                .unwrap()
                .insert((index, id), (routing, source));
            results.push(BulkItemResult::ok(201));
        }
        if let Some(f) = self.after.lock().unwrap().as_mut() {
            f(n);
        }
        Ok(results)
    }

    async fn index_exists(&self, index: &str) -> Result<bool, TargetError> {
        Ok(self.indices.lock().unwrap().contains(index))
    }

    async fn create_index(&self, index: &str, body: &serde_json::Value) -> Result<(), TargetError> {
        self.indices.lock().unwrap().insert(index.to_string());
        self.created
            .lock()
            .unwrap()
            .push((index.to_string(), body.clone()));
        Ok(())
    }

    async fn get_source(
        &self,
        index: &str,
        id: &str,
        _: Option<&str>,
    ) -> Result<Option<Vec<u8>>, TargetError> {
        let docs = self.docs.lock().unwrap();
        Ok(docs.get(&(index.into(), id.into())).map(|(_, s)| s.clone()))
    }
}

#[derive(Default)]
struct Reports(Mutex<Vec<Rejection>>);

#[async_trait]
impl RejectionSink for Reports {
    async fn write(&self, _: &str, _: &ItemKey, r: &[Rejection]) -> Result<(), String> {
        self.0.lock().unwrap().extend_from_slice(r);
        Ok(())
    }
}

/// Compares what the target holds with what it should, naming a few differences (documents
/// are too big to print whole).
fn assert_same_docs(got: &Docs, want: &Docs) {
    let missing: Vec<_> = want
        .keys()
        .filter(|k| !got.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<_> = got
        .keys()
        .filter(|k| !want.contains_key(*k))
        .take(5)
        .collect();
    let differ: Vec<_> = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .map(|(k, _)| k)
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "target has {} documents, expected {}; missing {missing:?}, unexpected {extra:?}, different {differ:?}",
        got.len(),
        want.len()
    );
}

/// Every live document of every shard of a snapshot, as the reader gives them.
fn expected(repo: &std::path::Path, snapshot: &str) -> Docs {
    let r = Repository::open(Arc::new(LocalDirectory::new(repo))).unwrap();
    let snap = r.snapshot(snapshot).unwrap();
    let mut out = Docs::new();
    for index in snap.index_names() {
        let meta = snap.index(&index).unwrap();
        for shard in 0..meta.number_of_shards {
            for d in ShardReader::open(&snap, &index, shard, ReadOptions::default()).unwrap() {
                let d = d.unwrap().document;
                let (source, _) = backfill_core::outgoing::prepare_source(&d.source).unwrap();
                out.insert((index.clone(), d.id), (d.routing, source));
            }
        }
    }
    out
}

struct Setup {
    store: Arc<MemoryStore>,
    target: Arc<FakeTarget>,
    reports: Arc<Reports>,
    keys: Vec<ItemKey>,
}

async fn setup(
    repo: &std::path::Path,
    snapshot: &str,
    target: FakeTarget,
    create_missing: bool,
) -> Setup {
    setup_split(
        repo,
        snapshot,
        target,
        create_missing,
        RangeSplit::default(),
    )
    .await
}

async fn setup_split(
    repo: &std::path::Path,
    snapshot: &str,
    target: FakeTarget,
    create_missing: bool,
    range_split: RangeSplit,
) -> Setup {
    let r = Repository::open(Arc::new(LocalDirectory::new(repo))).unwrap();
    let snap = r.snapshot(snapshot).unwrap();
    let mut keys = Vec::new();
    for index in snap.index_names() {
        if !create_missing {
            target.indices.lock().unwrap().insert(index.clone());
        }
        for shard in 0..snap.index(&index).unwrap().number_of_shards {
            keys.push(ItemKey::shard(&index, shard));
        }
    }
    let store = Arc::new(MemoryStore::new());
    let now = now_ms();
    store
        .create_backfill(&BackfillRecord {
            state: BackfillState::Running,
            create_missing_indices: create_missing,
            desired_workers: 1,
            range_split,
            ..BackfillRecord::new(
                "bf",
                SnapshotRef {
                    repository: repo.display().to_string(),
                    name: snapshot.into(),
                },
                TargetRef {
                    endpoint: "memory".into(),
                },
                now,
            )
        })
        .await
        .unwrap();
    let new: Vec<NewItem> = keys
        .iter()
        .map(|k| NewItem {
            key: k.clone(),
            docs_expected: 0,
        })
        .collect();
    store.create_items("bf", &new).await.unwrap();
    Setup {
        store,
        target: Arc::new(target),
        reports: Arc::default(),
        keys,
    }
}

fn engine(s: &Setup, worker: &str, tune: impl FnOnce(&mut EngineConfig)) -> Engine {
    let mut cfg = EngineConfig::new("bf", worker);
    cfg.retry.initial_backoff = Duration::from_millis(1);
    cfg.retry.max_backoff = Duration::from_millis(5);
    cfg.idle_poll = Duration::from_millis(20);
    tune(&mut cfg);
    Engine::new(
        cfg,
        s.store.clone(),
        s.target.clone(),
        Arc::new(LocalSnapshots),
        s.reports.clone(),
        Arc::new(NoMetrics),
    )
}

fn no_shutdown() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    std::mem::forget(tx);
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_moves_every_live_document_of_a_real_snapshot() {
    let repo = shared().join("fixtures/snapshots/ES_7_10_Updates_Deletes_w_Soft");
    let s = setup(&repo, "rfs_snapshot", FakeTarget::default(), false).await;
    let (stop, summary) = engine(&s, "w1", |_| {}).run(no_shutdown()).await.unwrap();
    assert_eq!(stop, Stop::NoWorkLeft);
    let want = expected(&repo, "rfs_snapshot");
    assert_same_docs(&s.target.docs.lock().unwrap(), &want);
    let c = s.store.counters("bf").await.unwrap();
    assert_eq!(
        (c.items_total, c.items_completed, c.items_failed),
        (1, 1, 0)
    );
    assert_eq!(c.docs_done, want.len() as u64);
    assert_eq!(summary.docs, want.len() as u64);
}

/// A repository of one index holding one generated Lucene index, as snapshot "snap".
fn one_index_repo(dir: &std::path::Path, index: &str, case: &str) -> PathBuf {
    let root = dir.join("repo");
    let mut b =
        snapshot_testkit::RepoBuilder::new(&root, snapshot_testkit::WriteOptions::default());
    b.add_index(index, &[lucene_data(case)], vec![], serde_json::json!({}));
    b.write_snapshot("snap").unwrap();
    root
}

/// A repository of several generated Lucene indexes; the two shards of "two" hold different
/// ids, as shards of one index do.
fn generated_repo(dir: &std::path::Path) -> PathBuf {
    let root = dir.join("repo");
    let mut b =
        snapshot_testkit::RepoBuilder::new(&root, snapshot_testkit::WriteOptions::default());
    let j = serde_json::json!({"properties": {}});
    b.add_index(
        "two",
        &[
            lucene_data("l8_best_compression"),
            lucene_data("l9_fast_large"),
        ],
        vec![],
        j.clone(),
    );
    b.add_index("mixed", &[lucene_data("l9_mixed")], vec![], j.clone());
    b.add_index("legacy", &[lucene_data("l8_fast")], vec![], j.clone());
    b.add_index("newer", &[lucene_data("l10_mixed")], vec![], j.clone());
    b.add_index("deflate", &[lucene_data("l10_best_compression")], vec![], j);
    b.write_snapshot("snap").unwrap();
    root
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_share_the_items_and_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = generated_repo(tmp.path());
    let s = setup(&repo, "snap", FakeTarget::default(), false).await;
    let engines: Vec<Engine> = (0..3)
        .map(|i| engine(&s, &format!("w{i}"), |c| c.batch.max_docs = 50))
        .collect();
    let runs = engines.iter().map(|e| e.run(no_shutdown()));
    let results = futures_join_all(runs).await;
    let mut completed = 0;
    for r in results {
        let (stop, summary) = r.unwrap();
        assert_eq!(stop, Stop::NoWorkLeft);
        completed += summary.items_completed;
    }
    assert_eq!(completed, s.keys.len() as u64);
    assert_same_docs(&s.target.docs.lock().unwrap(), &expected(&repo, "snap"));
    let items = s.store.items("bf").await.unwrap();
    assert!(items
        .iter()
        .all(|i| i.completed_at.is_some() && i.lease_holder.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_shard_is_split_into_ranges_that_several_workers_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    // One shard of one 100,000-document segment: cut inside the segment.
    let repo = one_index_repo(tmp.path(), "big", "l9_100k");
    let split = RangeSplit {
        max_docs: 30_000,
        max_bytes: 0,
    };
    let s = setup_split(&repo, "snap", FakeTarget::default(), false, split).await;
    let engines: Vec<Engine> = (0..3)
        .map(|i| engine(&s, &format!("w{i}"), |c| c.batch.max_docs = 500))
        .collect();
    let results = futures_join_all(engines.iter().map(|e| e.run(no_shutdown()))).await;
    let mut ranges_done = 0;
    for r in results {
        let (stop, summary) = r.unwrap();
        assert_eq!(stop, Stop::NoWorkLeft);
        ranges_done += summary.items_completed;
    }
    let want = expected(&repo, "snap");
    assert_same_docs(&s.target.docs.lock().unwrap(), &want);
    // Each document sent once: no range overlaps another.
    assert_eq!(s.target.actions.load(Ordering::Relaxed), want.len() as u64);
    let c = s.store.counters("bf").await.unwrap();
    assert_eq!(
        (
            c.items_total,
            c.items_completed,
            c.ranges_total,
            c.ranges_completed
        ),
        (1, 1, 4, 4)
    );
    assert_eq!(ranges_done, 4);
    assert_eq!(c.docs_done, want.len() as u64);
    // The ranges' expected documents add up to the shard's by its commit (nested children and
    // documents without _source included, as for a whole shard).
    let snap = Repository::open(Arc::new(LocalDirectory::new(&repo)))
        .unwrap()
        .snapshot("snap")
        .unwrap();
    let whole = ShardReader::open(&snap, "big", 0, ReadOptions::default()).unwrap();
    assert_eq!(c.docs_expected, whole.live_doc_count().unwrap());
    let items = s.store.items("bf").await.unwrap();
    assert_eq!(items.len(), 4);
    assert!(items
        .iter()
        .all(|i| i.ranges == 4 && i.completed_at.is_some()));
    let per_range: u64 = items.iter().map(|i| i.docs_done).sum();
    assert_eq!(per_range, want.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_range_resumes_inside_its_bounds() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = one_index_repo(tmp.path(), "big", "l9_100k");
    let split = RangeSplit {
        max_docs: 30_000,
        max_bytes: 0,
    };
    let s = setup_split(&repo, "snap", FakeTarget::default(), false, split).await;
    // The first worker splits the shard, reads its first range and stops after 20 requests.
    let (tx, rx) = watch::channel(false);
    *s.target.after.lock().unwrap() = Some(Box::new(move |n| {
        if n == 20 {
            let _ = tx.send(true);
        }
    }));
    let tune = |c: &mut EngineConfig| {
        c.batch.max_docs = 500;
        c.checkpoint_docs = 2_000;
        c.max_in_flight = 2;
    };
    let (stop, first) = engine(&s, "w1", tune).run(rx).await.unwrap();
    assert_eq!(stop, Stop::Interrupted);
    let items = s.store.items("bf").await.unwrap();
    assert_eq!(items.len(), 4, "split into 4 ranges before reading");
    let first_range = &items[0];
    assert_eq!(first_range.key.range, 0);
    assert!(first_range.completed_at.is_none() && first_range.lease_holder.is_none());
    assert_eq!(first_range.docs_done, first.docs);
    assert!(first.docs >= 5_000, "checkpointed: {}", first.docs);
    let (resume, end): (snapshot::Position, snapshot::Position) = (
        first_range.position.parse().unwrap(),
        first_range.end.as_deref().unwrap().parse().unwrap(),
    );
    assert_eq!(resume.segment, end.segment);
    assert!(
        resume.doc < end.doc,
        "resumes inside its range: {resume} before {end}"
    );
    *s.target.after.lock().unwrap() = None;

    // Two more workers finish every range, the interrupted one from its checkpoint.
    let engines: Vec<Engine> = ["w2", "w3"].iter().map(|w| engine(&s, w, tune)).collect();
    let mut rest = 0;
    for r in futures_join_all(engines.iter().map(|e| e.run(no_shutdown()))).await {
        let (stop, summary) = r.unwrap();
        assert_eq!(stop, Stop::NoWorkLeft);
        rest += summary.docs;
    }
    let want = expected(&repo, "snap");
    assert_same_docs(&s.target.docs.lock().unwrap(), &want);
    assert_eq!(
        first.docs + rest,
        want.len() as u64,
        "nothing counted twice"
    );
    let resent = s.target.actions.load(Ordering::SeqCst) - want.len() as u64;
    assert!(resent <= 2 * 500, "resent {resent} documents");
    let c = s.store.counters("bf").await.unwrap();
    assert_eq!((c.items_completed, c.ranges_completed), (1, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_below_the_split_size_stays_one_item() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = one_index_repo(tmp.path(), "small", "l9_mixed");
    let s = setup(&repo, "snap", FakeTarget::default(), false).await;
    engine(&s, "w", |_| {}).run(no_shutdown()).await.unwrap();
    let c = s.store.counters("bf").await.unwrap();
    assert_eq!((c.items_completed, c.ranges_total), (1, 0));
    assert_same_docs(&s.target.docs.lock().unwrap(), &expected(&repo, "snap"));
}

async fn futures_join_all<F: std::future::Future>(fs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    let handles: Vec<_> = fs.collect();
    // Poll them together on this task.
    let mut pinned: Vec<_> = handles.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, f) in pinned.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    for r in results {
        out.push(r.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_back_is_retried_and_slows_the_worker_down() {
    let repo = shared().join("fixtures/snapshots/ES_7_10_Single");
    let target = FakeTarget {
        throttle_every: 3,
        item_throttle_every: 2,
        ..FakeTarget::default()
    };
    let s = setup(&repo, "global_state_snapshot", target, false).await;
    let e = engine(&s, "w1", |c| c.batch.max_docs = 1);
    let (stop, _) = e.run(no_shutdown()).await.unwrap();
    assert_eq!(stop, Stop::NoWorkLeft);
    assert_same_docs(
        &s.target.docs.lock().unwrap(),
        &expected(&repo, "global_state_snapshot"),
    );
    assert!(
        e.limit().decreases() > 0,
        "the in-flight limit never went down"
    );
    assert!(s.target.requests.load(Ordering::SeqCst) > 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_documents_are_reported_and_the_shard_still_completes() {
    let repo = shared().join("fixtures/snapshots/ES_6_8_Single");
    let want = expected(&repo, "global_state_snapshot");
    let refused: HashSet<String> = want.keys().take(2).map(|(_, id)| id.clone()).collect();
    let target = FakeTarget {
        refuse_ids: refused.clone(),
        ..FakeTarget::default()
    };
    let s = setup(&repo, "global_state_snapshot", target, false).await;
    let (stop, summary) = engine(&s, "w1", |_| {}).run(no_shutdown()).await.unwrap();
    assert_eq!(stop, Stop::NoWorkLeft);
    let reported: HashSet<String> = s
        .reports
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(reported, refused);
    assert!(s
        .reports
        .0
        .lock()
        .unwrap()
        .iter()
        .all(|r| r.status == 400 && r.error_type.as_deref() == Some("mapper_parsing_exception")));
    assert_eq!(summary.rejected, 2);
    let c = s.store.counters("bf").await.unwrap();
    assert_eq!(
        (c.items_completed, c.docs_rejected, c.docs_done),
        (c.items_total, 2, want.len() as u64 - 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_target_index_fails_the_shard_with_a_clear_reason() {
    let repo = shared().join("fixtures/snapshots/ES_6_8_Single");
    let s = setup(&repo, "global_state_snapshot", FakeTarget::default(), false).await;
    s.target.indices.lock().unwrap().remove("posts_2023_02_25");
    let (stop, summary) = engine(&s, "w1", |c| c.max_failures = 2)
        .run(no_shutdown())
        .await
        .unwrap();
    assert_eq!(stop, Stop::NoWorkLeft);
    assert_eq!(summary.items_failed, 2, "two failures, the second final");
    let items = s.store.items("bf").await.unwrap();
    let bad = items
        .iter()
        .find(|i| i.key.index == "posts_2023_02_25")
        .unwrap();
    assert!(bad.failed_at.is_some());
    assert!(bad
        .last_error
        .as_deref()
        .unwrap()
        .contains("target index posts_2023_02_25 does not exist"));
    let good = items
        .iter()
        .find(|i| i.key.index == "posts_2024_01_01")
        .unwrap();
    assert!(good.completed_at.is_some());
    assert_eq!(s.store.counters("bf").await.unwrap().items_failed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_indices_are_created_from_the_snapshot_without_types() {
    let repo = shared().join("fixtures/snapshots/ES_5_6_Updates_Deletes");
    let s = setup(&repo, "rfs_snapshot", FakeTarget::default(), true).await;
    engine(&s, "w1", |_| {}).run(no_shutdown()).await.unwrap();
    let created = s.target.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1);
    let (index, body) = &created[0];
    assert_eq!(index, "test_updates_deletes");
    assert_eq!(body["settings"]["index"]["number_of_shards"], 1);
    let mappings = body["mappings"].as_object().unwrap();
    assert!(
        !mappings.contains_key("type1") && !mappings.contains_key("type2"),
        "{body}"
    );
    assert_same_docs(
        &s.target.docs.lock().unwrap(),
        &expected(&repo, "rfs_snapshot"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_worker_checkpoints_and_the_next_resumes_there() {
    let tmp = tempfile::tempdir().unwrap();
    let root = one_index_repo(tmp.path(), "big", "l9_100k");
    let s = setup(&root, "snap", FakeTarget::default(), false).await;

    // First worker: shut down after 10 requests of 500 documents.
    let (tx, rx) = watch::channel(false);
    *s.target.after.lock().unwrap() = Some(Box::new(move |n| {
        if n == 10 {
            let _ = tx.send(true);
        }
    }));
    let tune = |c: &mut EngineConfig| {
        c.batch.max_docs = 500;
        c.checkpoint_docs = 2_000;
        c.max_in_flight = 2;
    };
    let (stop, first) = engine(&s, "w1", tune).run(rx).await.unwrap();
    assert_eq!(stop, Stop::Interrupted);
    let item = s.store.items("bf").await.unwrap().remove(0);
    assert!(item.lease_holder.is_none(), "released on shutdown");
    assert!(item.completed_at.is_none());
    assert_eq!(item.docs_done, first.docs);
    assert!(
        first.docs >= 5_000,
        "everything acknowledged before the stop is checkpointed: {}",
        first.docs
    );
    *s.target.after.lock().unwrap() = None;
    let requests_before = s.target.requests.load(Ordering::SeqCst);

    // Second worker resumes from the checkpoint.
    let (stop, second) = engine(&s, "w2", tune).run(no_shutdown()).await.unwrap();
    assert_eq!(stop, Stop::NoWorkLeft);
    let want = expected(&root, "snap");
    assert_same_docs(&s.target.docs.lock().unwrap(), &want);
    assert_eq!(
        first.docs + second.docs,
        want.len() as u64,
        "nothing counted twice"
    );
    let resent = s.target.actions.load(Ordering::SeqCst) - want.len() as u64;
    assert!(resent <= 2 * 500, "resent {resent} documents");
    assert!(s.target.requests.load(Ordering::SeqCst) > requests_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_abandons_requests_that_outlast_the_grace_and_still_releases_the_item() {
    let tmp = tempfile::tempdir().unwrap();
    let root = one_index_repo(tmp.path(), "big", "l9_100k");
    let target = FakeTarget {
        hang_from: AtomicU64::new(6),
        ..FakeTarget::default()
    };
    let s = setup(&root, "snap", target, false).await;

    // The stop comes once the target has stopped answering: requests 6 and later hang.
    let (tx, rx) = watch::channel(false);
    *s.target.after.lock().unwrap() = Some(Box::new(move |n| {
        if n == 5 {
            let _ = tx.send(true);
        }
    }));
    let tune = |c: &mut EngineConfig| {
        c.batch.max_docs = 500;
        c.checkpoint_docs = 100_000;
        c.max_in_flight = 3;
        c.stop_grace = Duration::from_millis(300);
    };
    let started = std::time::Instant::now();
    let (stop, first) =
        tokio::time::timeout(Duration::from_secs(20), engine(&s, "w1", tune).run(rx))
            .await
            .expect("the worker ends despite requests that never answer")
            .unwrap();
    assert_eq!(stop, Stop::Interrupted);
    assert!(started.elapsed() < Duration::from_secs(20));
    let item = s.store.items("bf").await.unwrap().remove(0);
    assert!(
        item.lease_holder.is_none(),
        "released although requests hung"
    );
    assert_eq!(
        item.docs_done, first.docs,
        "only acknowledged batches count"
    );
    assert!(first.docs <= 5 * 500, "{}", first.docs);

    // The next holder sends the abandoned batches again from the checkpoint.
    s.target.hang_from.store(0, Ordering::SeqCst);
    *s.target.after.lock().unwrap() = None;
    let (stop, second) = engine(&s, "w2", tune).run(no_shutdown()).await.unwrap();
    assert_eq!(stop, Stop::NoWorkLeft);
    let want = expected(&root, "snap");
    assert_same_docs(&s.target.docs.lock().unwrap(), &want);
    assert_eq!(first.docs + second.docs, want.len() as u64);
}

/// A checkpoint moves only over consecutive acknowledged batches, so batches acknowledged behind
/// a slow one are unconfirmed until it answers: the window bounds them with the ones in flight,
/// or a kill could make the next holder send a whole shard again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_acknowledged_behind_a_slow_one_stay_within_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let root = one_index_repo(tmp.path(), "big", "l9_100k");
    let target = FakeTarget {
        hold: (2, Duration::from_millis(1500)),
        ..FakeTarget::default()
    };
    let s = setup(&root, "snap", target, false).await;
    let tune = |c: &mut EngineConfig| {
        c.batch.max_docs = 500;
        c.checkpoint_docs = 1000;
        c.max_in_flight = 3;
    };
    let (stop, summary) = engine(&s, "w1", tune).run(no_shutdown()).await.unwrap();
    assert_eq!(stop, Stop::NoWorkLeft);
    // Requests 1 and 2, then at most two more while request 2 is outstanding.
    let made = s.target.made_while_held.load(Ordering::SeqCst);
    assert!(
        (3..=4).contains(&made),
        "{made} requests made while one was held for 1.5 s (window 3)"
    );
    let want = expected(&root, "snap");
    assert_same_docs(&s.target.docs.lock().unwrap(), &want);
    assert_eq!(summary.docs, want.len() as u64);
}

/// The answer of a future that needs no waiting (the memory store's calls).
fn at_once<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the memory store answers at once"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_lost_its_lease_stops_at_its_next_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let root = one_index_repo(tmp.path(), "big", "l9_100k");
    let s = setup(&root, "snap", FakeTarget::default(), false).await;
    // After the third request, another worker takes the item over (its lease "expired").
    let store = s.store.clone();
    let stolen = Arc::new(AtomicU64::new(0));
    let flag = stolen.clone();
    // The thief never finishes the item, so the worker would wait for it forever: stop the
    // worker a while after the theft.
    let (tx, rx) = watch::channel(false);
    *s.target.after.lock().unwrap() = Some(Box::new(move |n| {
        if n == 3 {
            let tx = tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let _ = tx.send(true);
            });
            let policy = LeasePolicy {
                initial: Duration::from_secs(60),
                max: Duration::from_secs(60),
                max_clock_skew: Duration::ZERO,
            };
            // Claim as if far in the future, when the first lease has expired. Done before
            // this request returns, not in a spawned task that a busy machine may run only
            // after the worker has finished the item.
            let far = now_ms() + 3_600_000;
            if let backfill_core::store::ClaimOutcome::Claimed(_) =
                at_once(store.claim("bf", "thief", far, &policy)).unwrap()
            {
                flag.store(1, Ordering::SeqCst);
            }
        }
    }));
    let e = engine(&s, "w1", |c| {
        c.batch.max_docs = 500;
        c.checkpoint_docs = 1_500;
        c.max_in_flight = 1;
    });
    let (stop, summary) = e.run(rx).await.unwrap();
    assert_eq!(stolen.load(Ordering::SeqCst), 1);
    assert_eq!(summary.leases_lost, 1);
    assert_eq!(stop, Stop::Interrupted);
    assert!(
        s.target.requests.load(Ordering::SeqCst) <= 6,
        "kept sending after losing the lease"
    );
    let item = s.store.items("bf").await.unwrap().remove(0);
    assert_eq!(item.lease_holder.as_deref(), Some("thief"));
    assert!(item.completed_at.is_none(), "the loser did not complete it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_blob_fails_only_its_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let mut b =
        snapshot_testkit::RepoBuilder::new(&root, snapshot_testkit::WriteOptions::default());
    b.add_index(
        "good",
        &[lucene_data("l9_mixed")],
        vec![],
        serde_json::json!({}),
    );
    b.add_index(
        "bad",
        &[lucene_data("l8_fast")],
        vec![],
        serde_json::json!({}),
    );
    let written = b.write_snapshot("snap").unwrap();
    // Damage the largest blob of the "bad" index.
    let bad = written.indices.iter().find(|i| i.name == "bad").unwrap();
    let dir = root.join("indices").join(&bad.id).join("0");
    let biggest = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("__"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut data = std::fs::read(&biggest).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0x55;
    std::fs::write(&biggest, data).unwrap();

    let s = setup(&root, "snap", FakeTarget::default(), false).await;
    let (stop, summary) = engine(&s, "w1", |c| c.max_failures = 2)
        .run(no_shutdown())
        .await
        .unwrap();
    assert_eq!(stop, Stop::NoWorkLeft);
    assert_eq!(summary.items_completed, 1);
    let items = s.store.items("bf").await.unwrap();
    let bad = items.iter().find(|i| i.key.index == "bad").unwrap();
    assert!(bad.failed_at.is_some(), "{bad:?}");
    let reason = bad.last_error.as_deref().unwrap();
    assert!(
        reason.contains("index bad") && reason.contains("shard 0"),
        "{reason}"
    );
    let c = s.store.counters("bf").await.unwrap();
    assert_eq!((c.items_completed, c.items_failed), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_without_source_are_each_reported_and_the_others_arrive() {
    // Lucene's own read-back of the index says which live documents have no `_source`.
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(lucene_data("l9_no_source").with_extension("expected.ndjson"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let ids = |no_source: bool| -> HashSet<String> {
        lines
            .iter()
            .filter(|l| l.get("no_source").is_some() == no_source)
            .map(|l| l["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (without, with) = (ids(true), ids(false));
    assert!(!without.is_empty() && !with.is_empty());

    let tmp = tempfile::tempdir().unwrap();
    let root = one_index_repo(tmp.path(), "nosrc", "l9_no_source");
    let s = setup(&root, "snap", FakeTarget::default(), false).await;
    let rejected_metric = Arc::new(RejectedMetric::default());
    let mut cfg = EngineConfig::new("bf", "w1");
    cfg.batch.max_docs = 100;
    let engine = Engine::new(
        cfg,
        s.store.clone(),
        s.target.clone(),
        Arc::new(LocalSnapshots),
        s.reports.clone(),
        rejected_metric.clone(),
    );
    let (stop, summary) = engine.run(no_shutdown()).await.unwrap();
    assert_eq!(stop, Stop::NoWorkLeft);
    assert_eq!(
        rejected_metric.0.load(Ordering::SeqCst),
        without.len() as u64,
        "the DocumentsRejected metric counts them"
    );

    let reports = s.reports.0.lock().unwrap().clone();
    assert_eq!(reports.len(), without.len(), "each reported once");
    assert!(reports.iter().all(|r| r.index == "nosrc"
        && r.error_type.as_deref() == Some("no_source")
        && r.reason.as_deref().is_some_and(|m| m.contains("_source"))));
    let reported: HashSet<String> = reports.into_iter().map(|r| r.id).collect();
    assert_eq!(reported, without);
    let arrived: HashSet<String> = s
        .target
        .docs
        .lock()
        .unwrap()
        .keys()
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(arrived, with);
    assert_eq!(summary.rejected, without.len() as u64);
    let c = s.store.counters("bf").await.unwrap();
    assert_eq!(
        (c.items_completed, c.docs_done, c.docs_rejected),
        (1, with.len() as u64, without.len() as u64)
    );

    // Validation counts them among the snapshot's documents, and says how many lack a source.
    let repo = Repository::open(Arc::new(LocalDirectory::new(&root))).unwrap();
    let counted =
        backfill_core::control::cat_indices::count_source(&repo.snapshot("snap").unwrap(), |_| {
            true
        })
        .unwrap();
    assert_eq!(
        (counted[0].documents, counted[0].without_source),
        (lines.len() as u64, without.len() as u64)
    );
}

/// Adds up the `DocumentsRejected` events a worker records.
#[derive(Default)]
struct RejectedMetric(AtomicU64);

impl backfill_core::worker::Metrics for RejectedMetric {
    fn record(&self, event: backfill_core::worker::Event) {
        if let backfill_core::worker::Event::DocumentsRejected { count } = event {
            self.0.fetch_add(count, Ordering::SeqCst);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_rate_cap_spreads_the_requests_over_time() {
    // A lower bound only (slowness cannot fail it): capped at half the snapshot's bytes per
    // second, the worker cannot finish before (total − its first request) / rate. Thousands
    // of small documents (Elasticsearch zstd best_speed).
    let tmp = tempfile::tempdir().unwrap();
    let root = one_index_repo(tmp.path(), "small", "l9_es_zstd_best_speed");
    let s = setup(&root, "snap", FakeTarget::default(), false).await;
    let want = expected(&root, "snap");
    let mut sizes: Vec<u64> = want.values().map(|(_, src)| src.len() as u64).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let total: u64 = sizes.iter().sum();
    let rate = total / 2;
    let started = std::time::Instant::now();
    let (stop, summary) = engine(&s, "w1", |c| {
        c.batch.max_docs = 50;
        c.max_bytes_per_second = Some(rate);
    })
    .run(no_shutdown())
    .await
    .unwrap();
    assert_eq!(stop, Stop::NoWorkLeft);
    assert_eq!(summary.docs, want.len() as u64);
    assert_same_docs(&s.target.docs.lock().unwrap(), &want);
    // The first request goes at once: at most 50 documents, at most the 50 largest.
    let first: u64 = sizes.iter().take(50).sum();
    let floor = Duration::from_secs_f64(total.saturating_sub(first) as f64 / rate as f64);
    assert!(
        floor >= Duration::from_millis(500),
        "the cap has something to slow down"
    );
    assert!(
        started.elapsed() >= floor,
        "{total} bytes at {rate} B/s took {:?}, under {floor:?}",
        started.elapsed()
    );
}
