//! Races of the control plane against DynamoDB Local (the work-item store), moto (the fleet's
//! ECS service, the archive bucket, CloudWatch) and the stop workflow's definition run by our
//! interpreter: random interleavings of concurrent start, scale, pause, stop, the poller and
//! the stop workflow's tasks. After each round every call answered as the state allowed (200 or
//! 409/404, never a silent overwrite or a 5xx), the final state is legal, the fleet matches the
//! record, a stopped backfill stays stopped with the fleet at 0, and its archive holds the whole
//! working state.
//!
//! `BACKFILL_RACE_ROUNDS` (default 200) and `BACKFILL_RACE_SEED` (default fixed) replay a run.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use backfill_asl::FastClock;
use backfill_aws::{CloudWatchProgress, DynamoStore, EcsFleet, S3Archive, S3Location};
use backfill_core::control::ports::{
    ExecutionStatus, Fleet, FleetState, IndexRow, PortError, StopWorkflow, TargetClusters,
};
use backfill_core::control::*;
use backfill_core::lease::{now_ms, LeasePolicy};
use backfill_core::model::{BackfillRecord, BackfillState, Counters, NewItem, NewRange, WorkItem};
use backfill_core::store::{
    Claim, ClaimOutcome, InProgress, Progress, StateChange, StoreError, WorkStore,
};
use backfill_core::worker::LocalSnapshots;
use backfill_harness::{DynamoDbLocal, Moto};

/// Rounds run this many at a time, each lane with its own ECS service.
const LANES: usize = 4;

fn servers() -> &'static (DynamoDbLocal, Moto) {
    static SERVERS: OnceLock<(DynamoDbLocal, Moto)> = OnceLock::new();
    SERVERS.get_or_init(|| {
        (
            DynamoDbLocal::start().expect("DynamoDB Local starts"),
            Moto::start().expect("moto starts"),
        )
    })
}

use snapshot_testkit::fixture_repository as fixture;

/// Delays every store call by a random 0–3 ms, so that a handler's read and its conditional
/// write are spread apart and other calls get in between.
struct Jittered<S>(S);

async fn jitter() {
    let ms = fastrand::u64(0..=3);
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

#[async_trait]
impl<S: WorkStore> WorkStore for Jittered<S> {
    async fn create_backfill(&self, record: &BackfillRecord) -> Result<bool, StoreError> {
        jitter().await;
        self.0.create_backfill(record).await
    }
    async fn backfill(&self, id: &str) -> Result<Option<BackfillRecord>, StoreError> {
        jitter().await;
        self.0.backfill(id).await
    }
    async fn set_state(
        &self,
        id: &str,
        change: &StateChange<'_>,
        now: i64,
    ) -> Result<BackfillRecord, StoreError> {
        jitter().await;
        self.0.set_state(id, change, now).await
    }
    async fn create_items(&self, id: &str, items: &[NewItem]) -> Result<u64, StoreError> {
        jitter().await;
        self.0.create_items(id, items).await
    }
    async fn claim(
        &self,
        id: &str,
        holder: &str,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<ClaimOutcome, StoreError> {
        self.0.claim(id, holder, now, policy).await
    }
    async fn checkpoint(
        &self,
        claim: &mut Claim,
        progress: &Progress,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<(), StoreError> {
        self.0.checkpoint(claim, progress, now, policy).await
    }
    async fn record_expected(&self, claim: &Claim, docs: u64) -> Result<(), StoreError> {
        self.0.record_expected(claim, docs).await
    }
    async fn split(&self, claim: &mut Claim, ranges: &[NewRange]) -> Result<(), StoreError> {
        self.0.split(claim, ranges).await
    }
    async fn complete(&self, claim: &Claim, p: &Progress, now: i64) -> Result<(), StoreError> {
        self.0.complete(claim, p, now).await
    }
    async fn release(&self, claim: &Claim, progress: &Progress) -> Result<(), StoreError> {
        self.0.release(claim, progress).await
    }
    async fn fail(
        &self,
        claim: &Claim,
        progress: &Progress,
        reason: &str,
        max_failures: u32,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.0
            .fail(claim, progress, reason, max_failures, now)
            .await
    }
    async fn counters(&self, id: &str) -> Result<Counters, StoreError> {
        jitter().await;
        self.0.counters(id).await
    }
    async fn in_progress(
        &self,
        id: &str,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<InProgress, StoreError> {
        self.0.in_progress(id, now, policy).await
    }
    async fn failed_items(&self, id: &str, limit: usize) -> Result<Vec<WorkItem>, StoreError> {
        self.0.failed_items(id, limit).await
    }
    async fn expired_leases(
        &self,
        id: &str,
        now: i64,
        policy: &LeasePolicy,
        limit: usize,
    ) -> Result<Vec<WorkItem>, StoreError> {
        self.0.expired_leases(id, now, policy, limit).await
    }
    async fn items(&self, id: &str) -> Result<Vec<WorkItem>, StoreError> {
        jitter().await;
        self.0.items(id).await
    }
    async fn delete_working_state(&self, id: &str) -> Result<u64, StoreError> {
        jitter().await;
        self.0.delete_working_state(id).await
    }
}

/// The fleet's ECS service, each call delayed like the store's.
struct JitteredFleet(EcsFleet);

#[async_trait]
impl Fleet for JitteredFleet {
    async fn set_desired(&self, workers: u32) -> Result<FleetState, PortError> {
        jitter().await;
        self.0.set_desired(workers).await
    }
    async fn state(&self) -> Result<FleetState, PortError> {
        jitter().await;
        self.0.state().await
    }
}

/// Validation is not raced here: the target is never called.
struct NoTarget;

#[async_trait]
impl TargetClusters for NoTarget {
    async fn indices(&self, endpoint: &str, _: bool) -> Result<Vec<IndexRow>, PortError> {
        Err(PortError::failed(format!(
            "no target in the race test ({endpoint})"
        )))
    }

    async fn count(&self, endpoint: &str, _: &str) -> Result<u64, PortError> {
        Err(PortError::failed(format!(
            "no target in the race test ({endpoint})"
        )))
    }
}

struct Lane {
    control: Arc<Control>,
    stop: Arc<InProcessStop>,
    store: Arc<DynamoStore>,
    fleet: EcsFleet,
    s3: aws_sdk_s3::Client,
}

async fn lane(n: usize) -> Lane {
    let (dynamodb, moto) = servers();
    let ddb_cfg = backfill_harness::sdk_config(&dynamodb.endpoint).await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&ddb_cfg),
        format!("races-{n}"),
    ));
    store.create_table().await.unwrap();
    let cfg = backfill_harness::sdk_config(&moto.endpoint).await;
    let ecs = aws_sdk_ecs::Client::new(&cfg);
    let cluster = format!("races-{n}");
    backfill_harness::ecs_worker_service(moto, &ecs, &cluster, "workers")
        .await
        .unwrap();
    let fleet = EcsFleet::new(ecs, &cluster, "workers");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&cfg)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("races-archive-{n}");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    // Waits of the definition (5 s between drain checks) take 10 ms.
    let stop = Arc::new(InProcessStop::new(Arc::new(FastClock::new(0.002))));
    let control = Arc::new(Control {
        config: ControlConfig {
            snapshot_repository: Some(fixture("ES_7_10_Single")),
            snapshot_name: Some("global_state_snapshot".into()),
            target_endpoint: Some("http://127.0.0.1:9200".into()),
            max_workers: 10,
            ..ControlConfig::default()
        },
        store: Arc::new(Jittered(DynamoStore::clone(&store))),
        fleet: Arc::new(JitteredFleet(fleet.clone())),
        snapshots: Arc::new(LocalSnapshots),
        stop_workflow: stop.clone(),
        archive: Arc::new(S3Archive::new(
            s3.clone(),
            S3Location::parse(&format!("s3://{bucket}/archives")).unwrap(),
        )),
        progress: Arc::new(CloudWatchProgress::new(
            aws_sdk_cloudwatch::Client::new(&cfg),
            "BackfillRaces",
        )),
        clusters: Arc::new(NoTarget),
    });
    stop.bind(&control);
    Lane {
        control,
        stop,
        store,
        fleet,
        s3,
    }
}

/// One caller's action in a round.
#[derive(Debug, Clone, Copy)]
enum Op {
    Start(i64),
    Scale(i64),
    Pause,
    Stop,
    Poll,
    /// The stop workflow's tasks run again by hand (a retried Step Functions task).
    StopTasks,
}

fn random_op(rng: &mut fastrand::Rng) -> Op {
    match rng.u8(0..6) {
        0 => Op::Start(rng.i64(0..=4)),
        1 => Op::Scale(rng.i64(0..=4)),
        2 => Op::Pause,
        3 => Op::Stop,
        4 => Op::Poll,
        _ => Op::StopTasks,
    }
}

/// What an op answered: Ok (with a stop execution if one was started), or the HTTP status.
type Answer = Result<Option<String>, (u16, String)>;

async fn run(control: &Control, id: &str, op: Op) -> Answer {
    let bf = || BackfillRef {
        backfill_id: Some(id.to_string()),
    };
    let err = |e: ControlError| (e.http_status(), e.to_string());
    match op {
        Op::Start(n) => control
            .start(StartRequest {
                backfill_id: Some(id.to_string()),
                workers: Some(n),
                ..StartRequest::default()
            })
            .await
            .map(|_| None)
            .map_err(err),
        Op::Scale(n) => control
            .scale(ScaleRequest {
                backfill_id: Some(id.to_string()),
                workers: Some(n),
            })
            .await
            .map(|_| None)
            .map_err(err),
        Op::Pause => control.pause(bf()).await.map(|_| None).map_err(err),
        Op::Stop => control
            .stop(bf())
            .await
            .map(|r| r.stop_execution)
            .map_err(err),
        Op::Poll => control.poll(bf()).await.map(|_| None).map_err(err),
        Op::StopTasks => {
            control.drain_check(bf()).await.map_err(err)?;
            let archive = control.archive_state(bf()).await.map_err(err)?;
            control
                .finalize_stop(FinalizeRequest {
                    backfill_id: Some(id.to_string()),
                    archive_uri: Some(archive.archive_uri),
                })
                .await
                .map(|_| None)
                .map_err(err)
        }
    }
}

async fn wait_for(stop: &InProcessStop, execution: &str) -> ExecutionStatus {
    for _ in 0..3_000 {
        match stop.status(execution).await.unwrap() {
            ExecutionStatus::Running => tokio::time::sleep(Duration::from_millis(5)).await,
            done => return done,
        }
    }
    panic!("stop workflow {execution} did not finish");
}

/// Items of the fixture's snapshot (one per shard).
const SHARDS: usize = 2;

async fn archived(lane: &Lane, uri: &str) -> serde_json::Value {
    let loc = S3Location::parse(uri).unwrap();
    let got = lane
        .s3
        .get_object()
        .bucket(&loc.bucket)
        .key(&loc.prefix)
        .send()
        .await
        .unwrap_or_else(|e| panic!("archive {uri}: {e:?}"));
    serde_json::from_slice(&got.body.collect().await.unwrap().into_bytes()).unwrap()
}

async fn round(lane: &Lane, id: &str, seed: u64, describe: &str) {
    let control = &lane.control;
    // The ops and their delays come from the round's seed; the interleaving from the machine.
    let mut rng = fastrand::Rng::with_seed(seed);
    lane.fleet.set_desired(0).await.unwrap();
    // Half the rounds begin from a running backfill whose items may all be done (so that the
    // poller's completion races the rest); the others race the first start too.
    if rng.bool() {
        control
            .start(StartRequest {
                backfill_id: Some(id.into()),
                workers: Some(2),
                ..StartRequest::default()
            })
            .await
            .unwrap();
        if rng.bool() {
            while let ClaimOutcome::Claimed(c) = lane
                .store
                .claim(id, "w", now_ms(), &LeasePolicy::default())
                .await
                .unwrap()
            {
                lane.store
                    .complete(&c, &Progress::default(), now_ms())
                    .await
                    .unwrap();
            }
        }
    }
    let ops: Vec<Op> = (0..rng.usize(3..=8)).map(|_| random_op(&mut rng)).collect();
    let tasks: Vec<_> = ops
        .iter()
        .map(|&op| {
            let (control, id) = (control.clone(), id.to_string());
            let delay = rng.u64(0..=6);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                (op, run(&control, &id, op).await)
            })
        })
        .collect();
    let mut executions = Vec::new();
    let mut stopped_ok = false;
    for t in tasks {
        let (op, answer) = t.await.unwrap();
        match answer {
            Ok(execution) => {
                stopped_ok |= matches!(op, Op::Stop);
                executions.extend(execution);
            }
            // 409: the state did not allow it (or it lost a race); 404: not started yet.
            Err((409 | 404, _)) => {}
            Err((status, message)) => panic!("{describe}: {op:?} answered {status}: {message}"),
        }
    }
    for e in &executions {
        assert_eq!(
            wait_for(&lane.stop, e).await,
            ExecutionStatus::Succeeded,
            "{describe}: stop workflow {e}"
        );
    }
    let Some(record) = lane.store.backfill(id).await.unwrap() else {
        // Nothing created it: only ops that need a backfill ran, and all answered 404.
        assert!(
            !stopped_ok,
            "{describe}: a stop succeeded without a backfill"
        );
        return;
    };
    let fleet = lane.fleet.state().await.unwrap();
    assert_ne!(
        record.state,
        BackfillState::Stopping,
        "{describe}: left stopping after every workflow finished: {record:?}"
    );
    if stopped_ok {
        assert_eq!(record.state, BackfillState::Stopped, "{describe}");
    }
    assert_eq!(
        fleet.desired, record.desired_workers,
        "{describe}: the fleet does not follow the record ({record:?})"
    );
    match record.state {
        BackfillState::Stopped => {
            assert_eq!(fleet.desired, 0, "{describe}");
            let uri = record
                .archive_uri
                .clone()
                .expect("a stopped record names its archive");
            let doc = archived(lane, &uri).await;
            let items = doc["items"].as_array().unwrap();
            let total = doc["counters"]["items_total"].as_u64().unwrap();
            assert_eq!(items.len() as u64, total, "{describe}: archive {uri}");
            let started = doc["backfill"]["started_at"].is_number();
            assert!(
                items.len() == SHARDS || (!started && items.is_empty()),
                "{describe}: archive {uri} holds {} of {SHARDS} items",
                items.len()
            );
            assert_eq!(doc["backfill"]["state"], "stopping", "{describe}");
            assert!(lane.store.items(id).await.unwrap().is_empty(), "{describe}");
            // Stopped is final: nothing a caller does reopens it or starts workers.
            for op in [Op::Start(3), Op::Scale(3), Op::Pause, Op::Stop, Op::Poll] {
                let _ = run(control, id, op).await;
            }
            let after = lane.store.backfill(id).await.unwrap().unwrap();
            assert_eq!(
                (after.state, after.desired_workers, after.archive_uri),
                (BackfillState::Stopped, 0, Some(uri)),
                "{describe}"
            );
            assert_eq!(lane.fleet.state().await.unwrap().desired, 0, "{describe}");
        }
        BackfillState::Paused | BackfillState::Completed | BackfillState::Created => {
            assert_eq!(record.desired_workers, 0, "{describe}: {record:?}");
        }
        BackfillState::Running | BackfillState::Stopping => {}
    }
    if record.state == BackfillState::Completed {
        let items = lane.store.items(id).await.unwrap();
        assert!(items.iter().all(|i| !i.is_open()), "{describe}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_interleavings_of_the_control_plane_end_in_legal_states() {
    let rounds: usize = std::env::var("BACKFILL_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("BACKFILL_RACE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_261_207);
    let mut lanes = Vec::new();
    for n in 0..LANES {
        lanes.push(Arc::new(lane(n).await));
    }
    let started = std::time::Instant::now();
    let mut handles = Vec::new();
    for (n, lane) in lanes.into_iter().enumerate() {
        handles.push(tokio::spawn(async move {
            for r in (n..rounds).step_by(LANES) {
                // Each round its own seed: a failure names the run to replay.
                let describe = format!("round {r} (BACKFILL_RACE_SEED={seed})");
                let round_seed = seed.wrapping_add(r as u64);
                round(&lane, &format!("race-{r}"), round_seed, &describe).await;
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    println!(
        "{rounds} rounds of concurrent control calls in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
