//! The control plane's AWS adapters against moto: the ECS fleet, the Step Functions stop
//! workflow, CloudWatch progress metrics and the S3 archive.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_cloudwatch::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_cloudwatch::error::BoxError;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use backfill_aws::{CloudWatchProgress, EcsFleet, S3Archive, S3Location, StepFunctionsStop};
use backfill_core::control::ports::{
    ArchiveStore, ErrorKind, ExecutionStatus, Fleet, FleetState, Gauge, ProgressSink, StopWorkflow,
};
use backfill_harness::Moto;

fn moto() -> &'static Moto {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    SERVER.get_or_init(|| {
        let moto = Moto::start().expect("moto starts");
        // Run state machines (Pass, Fail) instead of leaving executions RUNNING forever.
        moto.configure(&serde_json::json!({"stepfunctions": {"execute_state_machine": true}}))
            .expect("moto configured");
        moto
    })
}

async fn config() -> SdkConfig {
    backfill_harness::sdk_config(&moto().endpoint).await
}

fn state(desired: u32, running: u32, pending: u32, terminating: u32) -> FleetState {
    FleetState {
        desired,
        running,
        pending,
        terminating,
    }
}

#[tokio::test]
async fn ecs_fleet_sets_and_reads_the_desired_count() {
    let cfg = config().await;
    let ecs = aws_sdk_ecs::Client::new(&cfg);
    backfill_harness::ecs_worker_service(moto(), &ecs, "backfill-a", "workers")
        .await
        .unwrap();
    let fleet = EcsFleet::new(ecs.clone(), "backfill-a", "workers");

    assert_eq!(fleet.state().await.unwrap(), state(0, 0, 0, 0));
    // moto's ECS starts nothing: running follows desired at once.
    assert_eq!(fleet.set_desired(3).await.unwrap(), state(3, 3, 0, 0));
    assert_eq!(fleet.state().await.unwrap(), state(3, 3, 0, 0));
    assert_eq!(fleet.set_desired(1).await.unwrap(), state(1, 1, 0, 0));
    assert_eq!(fleet.set_desired(0).await.unwrap(), state(0, 0, 0, 0));
    assert!(fleet.state().await.unwrap().drained());
}

#[tokio::test]
async fn ecs_fleet_refuses_a_missing_service_or_cluster() {
    let cfg = config().await;
    let ecs = aws_sdk_ecs::Client::new(&cfg);
    backfill_harness::ecs_worker_service(moto(), &ecs, "backfill-b", "workers")
        .await
        .unwrap();

    let missing = EcsFleet::new(ecs.clone(), "backfill-b", "no-such-service");
    for e in [
        missing.state().await.unwrap_err(),
        missing.set_desired(2).await.unwrap_err(),
    ] {
        assert!(
            e.kind == ErrorKind::NotFound
                && e.message.contains("no-such-service")
                && e.message.contains("backfill-b"),
            "{e:?}"
        );
    }
    let no_cluster = EcsFleet::new(ecs, "no-such-cluster", "workers");
    for e in [
        no_cluster.state().await.unwrap_err(),
        no_cluster.set_desired(2).await.unwrap_err(),
    ] {
        assert!(
            e.kind == ErrorKind::NotFound
                && e.message.contains("no-such-cluster")
                && e.message.contains("workers"),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn ecs_fleet_unreachable_is_unavailable() {
    // A loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = backfill_harness::sdk_config(&format!("http://127.0.0.1:{port}")).await;
    let fleet = EcsFleet::new(aws_sdk_ecs::Client::new(&cfg), "c", "s");
    let e = fleet.state().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Retryable, "{e:?}");
}

async fn state_machine(
    sfn: &aws_sdk_sfn::Client,
    name: &str,
    definition: serde_json::Value,
) -> String {
    sfn.create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/backfill-stop")
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string()
}

async fn finished(stop: &StepFunctionsStop, execution: &str) -> ExecutionStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = stop.status(execution).await.unwrap();
        if status != ExecutionStatus::Running {
            return status;
        }
        assert!(Instant::now() < deadline, "{execution} still running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn stop_workflow_runs_to_success() {
    let cfg = config().await;
    let sfn = aws_sdk_sfn::Client::new(&cfg);
    let arn = state_machine(
        &sfn,
        "stop-ok",
        serde_json::json!({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let stop = StepFunctionsStop::new(sfn.clone(), arn);

    let execution = stop.start("bf-1").await.unwrap();
    assert!(execution.contains(":stop-bf-1-"), "{execution}");
    assert_eq!(
        finished(&stop, &execution).await,
        ExecutionStatus::Succeeded
    );
    let described = sfn
        .describe_execution()
        .execution_arn(&execution)
        .send()
        .await
        .unwrap();
    let input: serde_json::Value = serde_json::from_str(described.input().unwrap()).unwrap();
    assert_eq!(input, serde_json::json!({"backfill_id": "bf-1"}));
    let name = described.name().unwrap();
    assert_eq!(name.len(), "stop-bf-1-".len() + 14, "{name}");
}

#[tokio::test]
async fn stop_workflow_failure_carries_error_and_cause() {
    let cfg = config().await;
    let sfn = aws_sdk_sfn::Client::new(&cfg);
    let arn = state_machine(
        &sfn,
        "stop-fails",
        serde_json::json!({"StartAt": "Boom", "States": {
            "Boom": {"Type": "Fail", "Error": "Backfill.NotDrained", "Cause": "workers still running"}
        }}),
    )
    .await;
    let stop = StepFunctionsStop::new(sfn, arn);
    let execution = stop.start("bf/2 weird:id").await.unwrap();
    assert!(execution.contains(":stop-bf_2_weird_id-"), "{execution}");
    assert_eq!(
        finished(&stop, &execution).await,
        ExecutionStatus::Failed {
            error: "Backfill.NotDrained".into(),
            cause: "workers still running".into()
        }
    );
    let e = stop
        .status("arn:aws:states:us-east-1:123456789012:execution:stop-fails:nope")
        .await
        .unwrap_err();
    assert!(e.message.contains("stop-fails:nope"), "{e}");
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (ErrorKind::NotFound, Some("ExecutionDoesNotExist")),
        "{e:?}"
    );
}

async fn read_metric(
    cw: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    backfill: &str,
    name: &str,
) -> Vec<f64> {
    let now = SystemTime::now();
    let query = MetricDataQuery::builder()
        .id("m")
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(namespace)
                        .metric_name(name)
                        .dimensions(
                            Dimension::builder()
                                .name("BackfillId")
                                .value(backfill)
                                .build(),
                        )
                        .build(),
                )
                .period(60)
                .stat("Maximum")
                .build(),
        )
        .build();
    let out = cw
        .get_metric_data()
        .metric_data_queries(query)
        .start_time(DateTime::from(now - Duration::from_secs(600)))
        .end_time(DateTime::from(now + Duration::from_secs(600)))
        .send()
        .await
        .unwrap();
    out.metric_data_results()
        .iter()
        .flat_map(|r| r.values().to_vec())
        .collect()
}

#[tokio::test]
async fn progress_metrics_are_published_per_backfill() {
    let cfg = config().await;
    let cw = aws_sdk_cloudwatch::Client::new(&cfg);
    let sink = CloudWatchProgress::new(cw.clone(), "BackfillTest");
    let gauges = [
        Gauge {
            name: "ShardsCompleted",
            value: 7.0,
            unit: "Count",
        },
        Gauge {
            name: "PercentComplete",
            value: 43.75,
            unit: "Percent",
        },
        Gauge {
            name: "EtaSeconds",
            value: f64::NAN,
            unit: "Seconds",
        },
    ];
    sink.publish("bf-metrics", &gauges).await.unwrap();
    sink.publish("other", &gauges[..1]).await.unwrap();

    assert_eq!(
        read_metric(&cw, "BackfillTest", "bf-metrics", "ShardsCompleted").await,
        [7.0]
    );
    assert_eq!(
        read_metric(&cw, "BackfillTest", "bf-metrics", "PercentComplete").await,
        [43.75]
    );
    // NaN is skipped, not sent (CloudWatch would refuse the whole call).
    assert!(read_metric(&cw, "BackfillTest", "bf-metrics", "EtaSeconds")
        .await
        .is_empty());
    let listed = cw
        .list_metrics()
        .namespace("BackfillTest")
        .dimensions(
            aws_sdk_cloudwatch::types::DimensionFilter::builder()
                .name("BackfillId")
                .value("bf-metrics")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = listed
        .metrics()
        .iter()
        .filter_map(|m| m.metric_name())
        .collect();
    names.sort();
    assert_eq!(names, ["PercentComplete", "ShardsCompleted"]);
}

/// Counts the requests a client sends.
#[derive(Debug, Clone, Default)]
struct CountRequests(Arc<AtomicUsize>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn more_than_a_thousand_metrics_go_in_batches() {
    let cfg = config().await;
    let cw = aws_sdk_cloudwatch::Client::new(&cfg);
    let requests = CountRequests::default();
    let counted = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&cfg)
            .interceptor(requests.clone())
            .build(),
    );
    let sink = CloudWatchProgress::new(counted, "BackfillBatches");
    // Gauge names are static in the port; a test can afford to leak 1,500 of them.
    let gauges: Vec<Gauge> = (0..1500)
        .map(|i| Gauge {
            name: Box::leak(format!("Metric{i:04}").into_boxed_str()),
            value: i as f64,
            unit: "Count",
        })
        .collect();
    sink.publish("bf-big", &gauges).await.unwrap();
    assert_eq!(requests.0.load(Ordering::SeqCst), 2);

    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = cw
            .list_metrics()
            .namespace("BackfillBatches")
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        names.extend(
            page.metrics()
                .iter()
                .filter_map(|m| m.metric_name().map(str::to_string)),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 1500);
    assert_eq!(
        read_metric(&cw, "BackfillBatches", "bf-big", "Metric1499").await,
        [1499.0]
    );
    assert_eq!(
        read_metric(&cw, "BackfillBatches", "bf-big", "Metric0000").await,
        [0.0]
    );
}

#[tokio::test]
async fn archives_are_json_objects_under_the_location() {
    let cfg = config().await;
    let s3 = backfill_harness::s3_client(&cfg);
    s3.create_bucket().bucket("archives").send().await.unwrap();
    let archive = S3Archive::new(
        s3.clone(),
        S3Location::parse("s3://archives/backfill/").unwrap(),
    );

    let body = br#"[{"ITEM#posts#0":{"position":"start"}}]"#.to_vec();
    let uri = archive
        .put(
            "bf-1/working_state_backup_20240305060708.json",
            body.clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        uri,
        "s3://archives/backfill/bf-1/working_state_backup_20240305060708.json"
    );
    let got = s3
        .get_object()
        .bucket("archives")
        .key("backfill/bf-1/working_state_backup_20240305060708.json")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("application/json"));
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        body
    );

    let missing = S3Archive::new(s3, S3Location::parse("s3://no-such-bucket").unwrap());
    let e = missing.put("x.json", b"{}".to_vec()).await.unwrap_err();
    assert!(e.message.contains("s3://no-such-bucket/x.json"), "{e}");
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (ErrorKind::NotFound, Some("NoSuchBucket")),
        "a missing bucket is not retried: {e:?}"
    );
}
