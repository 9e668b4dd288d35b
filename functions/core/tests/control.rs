//! The control plane's handlers over in-memory ports: the seed's semantics for start, scale,
//! pause, stop and status, every bad input as a 400-class answer, the poller and the stop
//! workflow's tasks.
//!
//! (Over 600 lines: the seed's texts for every action share one set of in-memory ports here.)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use backfill_core::control::ports::{
    ArchiveStore, ExecutionStatus, Fleet, FleetState, Gauge, IndexRow, PortError, ProgressSink,
    StopWorkflow, TargetClusters,
};
use backfill_core::control::*;
use backfill_core::lease::{now_ms, LeasePolicy};
use backfill_core::memory::MemoryStore;
use backfill_core::model::BackfillState;
use backfill_core::store::{ClaimOutcome, Progress, WorkStore};
use backfill_core::worker::LocalSnapshots;

use snapshot_testkit::fixture_repository as fixture;

#[derive(Default)]
struct MemoryFleet(Mutex<FleetState>);

#[async_trait]
impl Fleet for MemoryFleet {
    async fn set_desired(&self, workers: u32) -> Result<FleetState, PortError> {
        let mut f = self.0.lock().unwrap();
        f.desired = workers;
        f.running = workers; // like moto's ECS: instantly there
        Ok(*f)
    }
    async fn state(&self) -> Result<FleetState, PortError> {
        Ok(*self.0.lock().unwrap())
    }
}

#[derive(Default)]
struct MemoryStop(Mutex<Vec<String>>);

#[async_trait]
impl StopWorkflow for MemoryStop {
    async fn start(&self, backfill: &str) -> Result<String, PortError> {
        self.0.lock().unwrap().push(backfill.to_string());
        Ok(format!("exec-{backfill}"))
    }
    async fn status(&self, _: &str) -> Result<ExecutionStatus, PortError> {
        Ok(ExecutionStatus::Running)
    }
}

#[derive(Default)]
struct MemoryArchive(Mutex<Vec<(String, Vec<u8>)>>);

#[async_trait]
impl ArchiveStore for MemoryArchive {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<String, PortError> {
        self.0.lock().unwrap().push((key.to_string(), body));
        Ok(format!("s3://archive/{key}"))
    }
}

#[derive(Default)]
struct MemoryProgress(Mutex<Vec<Vec<Gauge>>>);

#[async_trait]
impl ProgressSink for MemoryProgress {
    async fn publish(&self, _: &str, gauges: &[Gauge]) -> Result<(), PortError> {
        self.0.lock().unwrap().push(gauges.to_vec());
        Ok(())
    }
}

/// A target whose `_cat/indices` answer is set by the test; records the calls.
#[derive(Default)]
struct MemoryClusters {
    rows: Mutex<Vec<IndexRow>>,
    /// `_count` where it differs from `docs.count` (an index with nested children).
    top_level: Mutex<BTreeMap<String, u64>>,
    calls: Mutex<Vec<(String, bool)>>,
}

#[async_trait]
impl TargetClusters for MemoryClusters {
    async fn indices(&self, endpoint: &str, refresh: bool) -> Result<Vec<IndexRow>, PortError> {
        self.calls
            .lock()
            .unwrap()
            .push((endpoint.to_string(), refresh));
        Ok(self.rows.lock().unwrap().clone())
    }

    async fn count(&self, _: &str, index: &str) -> Result<u64, PortError> {
        if let Some(n) = self.top_level.lock().unwrap().get(index) {
            return Ok(*n);
        }
        let rows = self.rows.lock().unwrap();
        let row = rows.iter().find(|r| r.index == index);
        row.and_then(|r| r.docs_count)
            .ok_or_else(|| PortError::failed(format!("no index {index}")))
    }
}

fn index_row(index: &str, docs: u64) -> IndexRow {
    IndexRow {
        index: index.into(),
        health: Some("green".into()),
        status: Some("open".into()),
        primaries: Some(1),
        replicas: Some(0),
        docs_count: Some(docs),
        docs_deleted: Some(0),
        store_size: None,
        documents: None,
    }
}

struct Setup {
    control: Control,
    clusters: Arc<MemoryClusters>,
    store: Arc<MemoryStore>,
    fleet: Arc<MemoryFleet>,
    stops: Arc<MemoryStop>,
    archive: Arc<MemoryArchive>,
    progress: Arc<MemoryProgress>,
}

fn setup() -> Setup {
    let store = Arc::new(MemoryStore::new());
    let fleet = Arc::new(MemoryFleet::default());
    let stops = Arc::new(MemoryStop::default());
    let archive = Arc::new(MemoryArchive::default());
    let progress = Arc::new(MemoryProgress::default());
    let clusters = Arc::new(MemoryClusters::default());
    let config = ControlConfig {
        snapshot_repository: Some(fixture("ES_7_10_Single")),
        snapshot_name: Some("global_state_snapshot".into()),
        target_endpoint: Some("http://target:9200".into()),
        max_workers: 20,
        ..ControlConfig::default()
    };
    let control = Control {
        config,
        store: store.clone(),
        fleet: fleet.clone(),
        snapshots: Arc::new(LocalSnapshots),
        stop_workflow: stops.clone(),
        archive: archive.clone(),
        progress: progress.clone(),
        clusters: clusters.clone(),
    };
    Setup {
        control,
        clusters,
        store,
        fleet,
        stops,
        archive,
        progress,
    }
}

#[tokio::test]
async fn cat_indices_counts_the_snapshot_and_names_each_index_the_target_lacks_documents_of() {
    let s = setup();
    let missing = s
        .control
        .cat_indices(CatIndicesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(missing.http_status(), 404, "{missing}");
    s.control.start(StartRequest::default()).await.unwrap();
    *s.clusters.rows.lock().unwrap() = vec![
        index_row("posts_2023_02_25", 1),
        index_row("posts_2024_01_01", 2),
        index_row("unrelated", 7),
    ];
    let r = s
        .control
        .cat_indices(CatIndicesRequest {
            refresh: true,
            ..CatIndicesRequest::default()
        })
        .await
        .unwrap();
    let source: Vec<(&str, u32, u64)> = r
        .source
        .iter()
        .map(|i| (i.index.as_str(), i.shards, i.documents))
        .collect();
    assert_eq!(
        source,
        [("posts_2023_02_25", 1, 1), ("posts_2024_01_01", 1, 3)]
    );
    assert_eq!(
        r.mismatches,
        [Mismatch {
            index: "posts_2024_01_01".into(),
            source: 3,
            target: Some(2)
        }]
    );
    assert!(r.text.contains("SOURCE CLUSTER") && r.text.contains("TARGET CLUSTER"));
    assert!(r.text.contains(
        "MISMATCH posts_2024_01_01: 3 documents in the snapshot, 2 in the target (1 missing)"
    ));
    assert_eq!(
        *s.clusters.calls.lock().unwrap(),
        [("http://target:9200".to_string(), true)]
    );
    // Only the asked-for indices.
    let r = s
        .control
        .cat_indices(CatIndicesRequest {
            indices: vec!["posts_2023*".into()],
            ..CatIndicesRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(r.source.len(), 1);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
}

#[tokio::test]
async fn cat_indices_compares_top_level_documents_where_the_target_counts_nested_children() {
    // A real target's `_cat/indices` docs.count includes nested children; `_count` does not.
    let s = setup();
    s.control.start(StartRequest::default()).await.unwrap();
    *s.clusters.rows.lock().unwrap() = vec![
        index_row("posts_2023_02_25", 4),
        index_row("posts_2024_01_01", 9),
    ];
    s.clusters.top_level.lock().unwrap().extend([
        ("posts_2023_02_25".to_string(), 1),
        ("posts_2024_01_01".to_string(), 2),
    ]);
    let r = s
        .control
        .cat_indices(CatIndicesRequest::default())
        .await
        .unwrap();
    assert_eq!(
        r.mismatches,
        [Mismatch {
            index: "posts_2024_01_01".into(),
            source: 3,
            target: Some(2)
        }],
        "{}",
        r.text
    );
    assert!(
        r.text.contains("NESTED posts_2023_02_25: docs.count 4 in the target includes 3 nested children; its 1 top-level documents are compared"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(
            "MISMATCH posts_2024_01_01: 3 documents in the snapshot, 2 in the target (1 missing)"
        ),
        "{}",
        r.text
    );
    // The table keeps `_cat/indices`' own figure.
    assert!(
        r.text
            .lines()
            .any(|l| l.contains("posts_2024_01_01") && l.trim_end().ends_with("9            0")),
        "{}",
        r.text
    );
}

fn bf() -> BackfillRef {
    BackfillRef { backfill_id: None }
}

#[tokio::test]
async fn a_first_start_creates_one_item_per_shard_and_sets_the_default_fleet() {
    let s = setup();
    let r = s.control.start(StartRequest::default()).await.unwrap();
    assert_eq!(
        (r.state, r.items_created, r.fleet.desired),
        (BackfillState::Running, Some(2), 5)
    );
    assert_eq!(
        r.message,
        "Backfill started successfully.\nService backfill-workers set to 5 desired count. Currently 5 running and 0 pending."
    );
    let items = s.store.items("default").await.unwrap();
    let names: Vec<String> = items.iter().map(|i| i.key.to_string()).collect();
    assert_eq!(names, ["posts_2023_02_25/0", "posts_2024_01_01/0"]);
    assert!(s
        .store
        .backfill("default")
        .await
        .unwrap()
        .unwrap()
        .started_at
        .is_some());
}

#[tokio::test]
async fn concurrent_starts_create_one_set_of_items() {
    let s = setup();
    let (a, b) = tokio::join!(
        s.control.start(StartRequest::default()),
        s.control.start(StartRequest::default())
    );
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    assert_eq!(s.store.counters("default").await.unwrap().items_total, 2);
    assert_eq!(s.store.items("default").await.unwrap().len(), 2);
}

#[tokio::test]
async fn start_honours_the_index_selection_and_refuses_an_empty_one() {
    let s = setup();
    let req = StartRequest {
        indices: vec!["posts_2024*".into()],
        workers: Some(2),
        ..StartRequest::default()
    };
    let r = s.control.start(req).await.unwrap();
    assert_eq!((r.items_created, r.fleet.desired), (Some(1), 2));
    let e = s
        .control
        .start(StartRequest {
            backfill_id: Some("other".into()),
            indices: vec!["nope".into()],
            ..StartRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), 400);
    assert!(e.to_string().contains("no index matching"), "{e}");
}

#[tokio::test]
async fn start_without_a_snapshot_or_with_a_bad_one_is_a_bad_request() {
    let mut s = setup();
    s.control.config.snapshot_repository = None;
    let e = s.control.start(StartRequest::default()).await.unwrap_err();
    assert_eq!(e.http_status(), 400);
    assert!(e.to_string().contains("snapshot_repository"), "{e}");
    let req = StartRequest {
        snapshot_repository: Some("/no/such/repository".into()),
        ..StartRequest::default()
    };
    let e = s.control.start(req).await.unwrap_err();
    assert_eq!(e.http_status(), 400, "{e}");
    let e = s
        .control
        .start(StartRequest {
            backfill_id: Some("bad id!".into()),
            ..StartRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), 400);
}

#[tokio::test]
async fn scale_validates_the_number_and_resumes_a_paused_backfill() {
    let s = setup();
    let scale = |n: Option<i64>| ScaleRequest {
        backfill_id: None,
        workers: n,
    };
    assert_eq!(
        s.control
            .scale(scale(Some(3)))
            .await
            .unwrap_err()
            .http_status(),
        404,
        "unknown backfill"
    );
    s.control.start(StartRequest::default()).await.unwrap();
    for bad in [Some(-1), Some(21), None] {
        let e = s.control.scale(scale(bad)).await.unwrap_err();
        assert_eq!(e.http_status(), 400, "{bad:?}: {e}");
    }
    assert!(s
        .control
        .scale(scale(Some(-1)))
        .await
        .unwrap_err()
        .to_string()
        .contains("between 0 and 20, not -1"));
    let r = s.control.scale(scale(Some(3))).await.unwrap();
    assert_eq!(
        r.message,
        "Service backfill-workers set to 3 desired count. Currently 3 running and 0 pending."
    );
    s.control.pause(bf()).await.unwrap();
    let r = s.control.scale(scale(Some(2))).await.unwrap();
    assert_eq!((r.state, r.fleet.desired), (BackfillState::Running, 2));
}

#[tokio::test]
async fn pause_keeps_the_state_and_start_resumes_it() {
    let s = setup();
    s.control.start(StartRequest::default()).await.unwrap();
    let r = s.control.pause(bf()).await.unwrap();
    assert_eq!((r.state, r.fleet.desired), (BackfillState::Paused, 0));
    assert!(r.message.starts_with(
        "Backfill paused successfully.\nService backfill-workers set to 0 desired count."
    ));
    let r = s.control.start(StartRequest::default()).await.unwrap();
    assert_eq!(
        (r.state, r.items_created, r.fleet.desired),
        (BackfillState::Running, None, 5)
    );
    assert_eq!(s.store.counters("default").await.unwrap().items_total, 2);
}

#[tokio::test]
async fn a_stopped_backfill_refuses_start_and_scale() {
    let s = setup();
    s.control.start(StartRequest::default()).await.unwrap();
    let r = s.control.stop(bf()).await.unwrap();
    assert_eq!(
        (r.state, r.fleet.desired, r.stop_execution.as_deref()),
        (BackfillState::Stopping, 0, Some("exec-default"))
    );
    assert_eq!(*s.stops.0.lock().unwrap(), ["default"]);
    // The workflow's tasks.
    let drained = s.control.drain_check(bf()).await.unwrap();
    assert!(drained.drained);
    let archived = s.control.archive_state(bf()).await.unwrap();
    assert_eq!(archived.items, 2);
    assert!(archived
        .archive_uri
        .starts_with("s3://archive/backfill_working_state/default/working_state_backup_"));
    let (_, body) = s.archive.0.lock().unwrap()[0].clone();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["items"].as_array().unwrap().len(), 2);
    assert_eq!(doc["backfill"]["id"], "default");
    let e = s
        .control
        .finalize_stop(FinalizeRequest {
            backfill_id: None,
            archive_uri: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), 400, "no deletion without an archive");
    let done = s
        .control
        .finalize_stop(FinalizeRequest {
            backfill_id: None,
            archive_uri: Some(archived.archive_uri.clone()),
        })
        .await
        .unwrap();
    assert_eq!(done.state, BackfillState::Stopped);
    assert_eq!(
        done.message,
        format!(
            "Backfill working state archived to: {}",
            archived.archive_uri
        )
    );
    assert!(s.store.items("default").await.unwrap().is_empty());

    let e = s.control.start(StartRequest::default()).await.unwrap_err();
    assert_eq!(e.http_status(), 409);
    assert!(
        e.to_string()
            .contains("a stopped backfill cannot be restarted"),
        "{e}"
    );
    assert!(e.to_string().contains(&archived.archive_uri), "{e}");
    assert_eq!(
        s.control
            .scale(ScaleRequest {
                backfill_id: None,
                workers: Some(1)
            })
            .await
            .unwrap_err()
            .http_status(),
        409
    );
    assert_eq!(s.control.pause(bf()).await.unwrap_err().http_status(), 409);
    let again = s.control.stop(bf()).await.unwrap();
    assert!(again.message.contains("already stopped"));
}

#[tokio::test]
async fn status_prints_the_seeds_text_and_counts_shards_at_constant_cost() {
    let s = setup();
    let r = s.control.status(StatusRequest::default()).await.unwrap();
    assert_eq!(r.status, BackfillStatus::NotStarted);
    assert_eq!(
        r.seed_text(false),
        "BackfillStatus.NOT_STARTED\nRunning=0\nPending=0\nDesired=0"
    );
    s.control
        .start(StartRequest {
            workers: Some(2),
            ..StartRequest::default()
        })
        .await
        .unwrap();
    // One item claimed and completed with 3 documents, the other claimed.
    let policy = LeasePolicy::default();
    let now = now_ms();
    let ClaimOutcome::Claimed(a) = s.store.claim("default", "w1", now, &policy).await.unwrap()
    else {
        panic!()
    };
    s.store.record_expected(&a, 4).await.unwrap();
    s.store
        .complete(
            &a,
            &Progress {
                position: "_0:4".into(),
                docs: 3,
                bytes: 300,
                rejected: 1,
            },
            now,
        )
        .await
        .unwrap();
    let ClaimOutcome::Claimed(b) = s.store.claim("default", "w2", now, &policy).await.unwrap()
    else {
        panic!()
    };
    s.store.record_expected(&b, 1).await.unwrap();
    let r = s
        .control
        .status(StatusRequest {
            backfill_id: None,
            deep_check: true,
        })
        .await
        .unwrap();
    assert_eq!(r.status, BackfillStatus::Running);
    assert_eq!(
        r.seed_text(true),
        "BackfillStatus.RUNNING\nRunning=2\nPending=0\nDesired=2\nShards total: 2\nShards completed: 1\nShards incomplete: 1\nShards in progress: 1\nShards unclaimed: 0"
    );
    assert_eq!(
        (r.documents, r.bytes, r.rejected, r.documents_expected),
        (3, 300, 1, 5)
    );
    assert!((r.percent - 60.0).abs() < 1e-9, "{}", r.percent);
    assert!(r.rate.is_some());
}

#[tokio::test]
async fn status_lists_failed_shards_with_their_reasons() {
    let s = setup();
    s.control.start(StartRequest::default()).await.unwrap();
    let ClaimOutcome::Claimed(c) = s
        .store
        .claim("default", "w", now_ms(), &LeasePolicy::default())
        .await
        .unwrap()
    else {
        panic!()
    };
    s.store
        .fail(
            &c,
            &Progress {
                position: "start".into(),
                ..Progress::default()
            },
            "corrupt blob __x",
            1,
            now_ms(),
        )
        .await
        .unwrap();
    let r = s
        .control
        .status(StatusRequest {
            backfill_id: None,
            deep_check: true,
        })
        .await
        .unwrap();
    assert_eq!(r.failed_shards.len(), 1);
    assert_eq!(
        r.failed_shards[0].reason.as_deref(),
        Some("corrupt blob __x")
    );
    let shards = r.shards.unwrap();
    assert_eq!(
        (shards.failed, shards.incomplete, shards.unclaimed),
        (1, 2, 1)
    );
}

#[tokio::test]
async fn the_poller_publishes_progress_and_completes_a_finished_backfill() {
    let s = setup();
    s.control.start(StartRequest::default()).await.unwrap();
    let p = s.control.poll(bf()).await.unwrap();
    assert!(!p.completed_now);
    assert_eq!(p.published, s.progress.0.lock().unwrap()[0].len());
    let policy = LeasePolicy::default();
    while let ClaimOutcome::Claimed(c) = s
        .store
        .claim("default", "w", now_ms(), &policy)
        .await
        .unwrap()
    {
        s.store
            .complete(
                &c,
                &Progress {
                    position: "_0:1".into(),
                    docs: 1,
                    bytes: 10,
                    rejected: 0,
                },
                now_ms(),
            )
            .await
            .unwrap();
    }
    let p = s.control.poll(bf()).await.unwrap();
    assert!(p.completed_now);
    assert_eq!(
        s.fleet.0.lock().unwrap().desired,
        0,
        "idle workers stop costing money"
    );
    let r = s.control.status(StatusRequest::default()).await.unwrap();
    assert_eq!(
        (r.state, r.percent),
        (Some(BackfillState::Completed), 100.0)
    );
    let gauges = s.progress.0.lock().unwrap()[0].clone();
    assert!(gauges
        .iter()
        .any(|g| g.name == "ShardsTotal" && g.value == 2.0));
    assert!(
        !s.control.poll(bf()).await.unwrap().completed_now,
        "only once"
    );
}

#[tokio::test]
async fn the_poller_reports_leases_that_expired_without_progress() {
    let s = setup();
    s.control.start(StartRequest::default()).await.unwrap();
    let short = LeasePolicy {
        initial: std::time::Duration::from_millis(1),
        max: std::time::Duration::from_millis(1),
        max_clock_skew: std::time::Duration::ZERO,
    };
    s.store
        .claim("default", "vanished", now_ms() - 60_000, &short)
        .await
        .unwrap();
    let p = s.control.poll(bf()).await.unwrap();
    assert_eq!(p.stale_leases.len(), 1);
    assert!(
        p.stale_leases[0].contains("held by vanished"),
        "{:?}",
        p.stale_leases
    );
}

/// A fleet whose workers never go away (an ECS service stuck draining).
#[derive(Default)]
struct StuckFleet(Mutex<FleetState>);

#[async_trait]
impl Fleet for StuckFleet {
    async fn set_desired(&self, workers: u32) -> Result<FleetState, PortError> {
        let mut f = self.0.lock().unwrap();
        f.desired = workers;
        f.running = f.running.max(workers).max(1);
        Ok(*f)
    }
    async fn state(&self) -> Result<FleetState, PortError> {
        Ok(*self.0.lock().unwrap())
    }
}

fn with_workflow(
    fleet: Arc<dyn Fleet>,
) -> (
    Arc<Control>,
    Arc<InProcessStop>,
    Arc<MemoryArchive>,
    Arc<MemoryStore>,
) {
    let s = setup();
    let stop = Arc::new(InProcessStop::new(Arc::new(backfill_asl::FastClock::new(
        0.0001,
    ))));
    let control = Arc::new(Control {
        fleet,
        stop_workflow: stop.clone(),
        ..s.control
    });
    stop.bind(&control);
    (control, stop, s.archive, s.store)
}

async fn wait_for(stop: &InProcessStop, execution: &str) -> ExecutionStatus {
    for _ in 0..2_000 {
        match stop.status(execution).await.unwrap() {
            ExecutionStatus::Running => {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await
            }
            done => return done,
        }
    }
    panic!("the stop workflow did not finish");
}

#[test]
fn the_stop_definition_is_valid_and_names_exactly_the_stop_functions() {
    let tasks = backfill_asl::validate(&stop_definition()).unwrap();
    let mut names: Vec<String> = tasks.iter().filter_map(|t| t.function.clone()).collect();
    names.sort();
    let mut want: Vec<String> = STOP_FUNCTIONS.iter().map(|(n, _)| n.to_string()).collect();
    want.sort();
    assert_eq!(names, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stop_definition_runs_against_the_real_handlers_to_a_stopped_backfill() {
    let (control, stop, archive, store) = with_workflow(Arc::new(MemoryFleet::default()));
    control.start(StartRequest::default()).await.unwrap();
    let r = control.stop(bf()).await.unwrap();
    let exec = r.stop_execution.unwrap();
    assert_eq!(wait_for(&stop, &exec).await, ExecutionStatus::Succeeded);
    let record = store.backfill("default").await.unwrap().unwrap();
    assert_eq!(record.state, BackfillState::Stopped);
    let uri = record.archive_uri.unwrap();
    assert!(
        uri.starts_with("s3://archive/backfill_working_state/default/working_state_backup_")
            && uri.ends_with(".json")
    );
    let (_, body) = archive.0.lock().unwrap()[0].clone();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        doc["items"].as_array().unwrap().len(),
        2,
        "every item archived"
    );
    assert!(
        store.items("default").await.unwrap().is_empty(),
        "working state deleted"
    );
    assert_eq!(control.fleet.state().await.unwrap().desired, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_that_does_not_drain_fails_the_stop_and_keeps_the_state() {
    let (control, stop, archive, store) = with_workflow(Arc::new(StuckFleet::default()));
    control.start(StartRequest::default()).await.unwrap();
    let exec = control.stop(bf()).await.unwrap().stop_execution.unwrap();
    match wait_for(&stop, &exec).await {
        ExecutionStatus::Failed { error, cause } => {
            assert_eq!(error, "FleetDidNotDrain");
            assert!(cause.contains("nothing was archived or deleted"), "{cause}");
        }
        other => panic!("{other:?}"),
    }
    assert!(archive.0.lock().unwrap().is_empty());
    assert_eq!(
        store.items("default").await.unwrap().len(),
        2,
        "working state kept"
    );
    assert_eq!(
        store.backfill("default").await.unwrap().unwrap().state,
        BackfillState::Stopping
    );
}

#[test]
fn cat_indices_takes_its_selection_as_a_list_or_as_a_query_parameter() {
    let from = |v: serde_json::Value| serde_json::from_value::<CatIndicesRequest>(v).unwrap();
    let want = vec!["logs-*".to_string(), "users".to_string()];
    assert_eq!(
        from(serde_json::json!({"indices": ["logs-*", "users"]})).indices,
        want
    );
    assert_eq!(
        from(serde_json::json!({"indices": "logs-*, users"})).indices,
        want
    );
    assert!(from(serde_json::json!({})).indices.is_empty());
}
