//! Errors keep their kind from the AWS SDK up to the caller: a denied call and a missing
//! resource are not retried (HTTP 403/404, `NonRetryable` for the stop workflow), throttling is
//! (503, `Retryable`). Against moto: one that checks credentials (unknown keys are denied), and
//! one behind our fault proxy, which answers AWS calls with each protocol's throttling error.

use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::SdkConfig;
use backfill_aws::{CloudWatchProgress, EcsFleet, S3Archive, S3Location, StepFunctionsStop};
use backfill_core::control::ports::{
    ArchiveStore, ErrorKind, Fleet, Gauge, IndexRow, PortError, ProgressSink, StopWorkflow,
    TargetClusters,
};
use backfill_core::control::{BackfillRef, Control, ControlConfig, ControlError, StartRequest};
use backfill_core::memory::MemoryStore;
use backfill_core::worker::LocalSnapshots;
use backfill_faults::{FaultPlan, FaultProxy};
use backfill_harness::Moto;

/// Clients that do not retry by themselves, so each answer is seen as it came.
async fn config(endpoint: &str) -> SdkConfig {
    backfill_harness::sdk_config(endpoint)
        .await
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .build()
}

struct Adapters {
    fleet: EcsFleet,
    stop: StepFunctionsStop,
    archive: S3Archive,
    progress: CloudWatchProgress,
}

fn adapters(cfg: &SdkConfig) -> Adapters {
    Adapters {
        fleet: EcsFleet::new(aws_sdk_ecs::Client::new(cfg), "backfill", "workers"),
        stop: StepFunctionsStop::new(
            aws_sdk_sfn::Client::new(cfg),
            "arn:aws:states:us-east-1:123456789012:stateMachine:stop",
        ),
        archive: S3Archive::new(
            backfill_harness::s3_client(cfg),
            S3Location::parse("s3://archives/backfill").unwrap(),
        ),
        progress: CloudWatchProgress::new(aws_sdk_cloudwatch::Client::new(cfg), "Backfill"),
    }
}

/// Every port's answer, named.
async fn answers(a: &Adapters) -> Vec<(&'static str, Result<(), PortError>)> {
    let gauge = [Gauge {
        name: "ShardsTotal",
        value: 1.0,
        unit: "Count",
    }];
    vec![
        ("ECS DescribeServices", a.fleet.state().await.map(drop)),
        ("ECS UpdateService", a.fleet.set_desired(2).await.map(drop)),
        ("Step Functions", a.stop.start("bf").await.map(drop)),
        (
            "S3 PutObject",
            a.archive.put("a.json", b"{}".to_vec()).await.map(drop),
        ),
        ("CloudWatch", a.progress.publish("bf", &gauge).await),
    ]
}

/// Every port's error (each call must fail).
async fn errors(a: &Adapters) -> Vec<(&'static str, PortError)> {
    answers(a)
        .await
        .into_iter()
        .map(|(what, r)| (what, r.expect_err(what)))
        .collect()
}

/// The target is not called here.
struct NoTarget;

#[async_trait::async_trait]
impl TargetClusters for NoTarget {
    async fn indices(&self, endpoint: &str, _: bool) -> Result<Vec<IndexRow>, PortError> {
        Err(PortError::failed(format!("no target here ({endpoint})")))
    }

    async fn count(&self, endpoint: &str, _: &str) -> Result<u64, PortError> {
        Err(PortError::failed(format!("no target here ({endpoint})")))
    }
}

/// A control plane whose fleet is `fleet` (the store in memory: the fleet is what fails).
fn control(fleet: EcsFleet, cfg: &SdkConfig) -> Control {
    let a = adapters(cfg);
    Control {
        config: ControlConfig {
            snapshot_repository: Some(fixture("ES_7_10_Single")),
            snapshot_name: Some("global_state_snapshot".into()),
            target_endpoint: Some("http://127.0.0.1:9200".into()),
            ..ControlConfig::default()
        },
        store: Arc::new(MemoryStore::new()),
        fleet: Arc::new(fleet),
        snapshots: Arc::new(LocalSnapshots),
        stop_workflow: Arc::new(a.stop),
        archive: Arc::new(a.archive),
        progress: Arc::new(a.progress),
        clusters: Arc::new(NoTarget),
    }
}

use snapshot_testkit::fixture_repository as fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_call_is_not_retryable_and_answers_403() {
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]).unwrap();
    let cfg = config(&moto.endpoint).await;
    for (what, e) in errors(&adapters(&cfg)).await {
        assert_eq!(e.kind, ErrorKind::Denied, "{what}: {e:?}");
        assert!(!e.is_retryable(), "{what}");
        assert!(
            e.message.contains(what.split(' ').next().unwrap()),
            "{what}: {e:?}"
        );
    }
    let control = control(adapters(&cfg).fleet, &cfg);
    let e = control.start(StartRequest::default()).await.unwrap_err();
    assert_eq!(
        (e.http_status(), e.error_type()),
        (403, "NonRetryable"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_throttling_is_retryable_and_answers_503() {
    let moto = Moto::start().unwrap();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        FaultPlan {
            aws_throttle_every: Some(1),
            ..FaultPlan::default()
        },
    )
    .await
    .unwrap();
    let cfg = config(&proxy.endpoint()).await;
    for (what, e) in errors(&adapters(&cfg)).await {
        assert_eq!(e.kind, ErrorKind::Retryable, "{what}: {e:?}");
        assert!(
            matches!(
                e.code.as_deref(),
                Some("ThrottlingException" | "Throttling" | "SlowDown")
            ),
            "{what}: {e:?}"
        );
    }
    assert!(proxy.counts().aws_throttled >= 5);
    let control = control(adapters(&cfg).fleet, &cfg);
    let e = control.start(StartRequest::default()).await.unwrap_err();
    assert_eq!((e.http_status(), e.error_type()), (503, "Retryable"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_resource_is_not_retryable_and_answers_404() {
    let moto = Moto::start().unwrap();
    let cfg = config(&moto.endpoint).await;
    // Nothing exists on a fresh moto: no ECS cluster, no state machine, no bucket.
    let a = adapters(&cfg);
    for (what, r) in answers(&a).await {
        if what == "CloudWatch" {
            assert!(r.is_ok(), "a namespace needs no creation: {r:?}");
            continue;
        }
        let e = r.expect_err(what);
        assert_eq!(e.kind, ErrorKind::NotFound, "{what}: {e:?}");
    }
    let control = control(a.fleet, &cfg);
    let e: ControlError = control.stop(BackfillRef::default()).await.unwrap_err();
    assert_eq!(e.http_status(), 404, "no backfill yet: {e}");
    let e = control.start(StartRequest::default()).await.unwrap_err();
    assert_eq!(
        (e.http_status(), e.error_type()),
        (404, "NonRetryable"),
        "a missing ECS service: {e}"
    );
}
