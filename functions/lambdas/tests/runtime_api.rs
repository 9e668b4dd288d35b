//! Every Lambda binary of the control plane, driven through the Lambda Runtime API (the
//! harness's emulator) with the sample events of `events/`, against the real services of the
//! local harness: the working state in DynamoDB Local; the snapshot, the archive, the worker
//! service (ECS), the stop workflow (Step Functions) and the progress metrics (CloudWatch) in
//! moto. Each binary runs as its own process, configured by environment as on AWS, and serves
//! several invocations (warm starts) in an order that walks a backfill through its life.
//!
//! (Over 600 lines: one walk of a backfill through every function, in order, on one harness.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat};
use backfill_aws::DynamoStore;
use backfill_core::control::workflow::STOP_DEFINITION;
use backfill_core::control::STOP_FUNCTIONS;
use backfill_core::model::BackfillState;
use backfill_core::WorkStore;
use backfill_harness::{
    http_request, DynamoDbLocal, Flavour, Invocation, Moto, OpenSearch, RuntimeApi,
};
use serde_json::{json, Value};

const TABLE: &str = "backfill-working-state";
const CLUSTER: &str = "backfill";
const SERVICE: &str = "backfill-workers";
const SNAPSHOT_BUCKET: &str = "snapshots";
const ARCHIVE_BUCKET: &str = "backfill-archive";
const NAMESPACE: &str = "BackfillRuntimeApiTest";
/// The backfill every sample event names (or means, by naming none).
const BACKFILL: &str = "default";
const ACCOUNT: &str = "123456789012";

/// The binaries (`[[bin]]` names of this package).
const FUNCTIONS: [(&str, &str); 10] = [
    ("start", env!("CARGO_BIN_EXE_start")),
    ("scale", env!("CARGO_BIN_EXE_scale")),
    ("pause", env!("CARGO_BIN_EXE_pause")),
    ("stop", env!("CARGO_BIN_EXE_stop")),
    ("status", env!("CARGO_BIN_EXE_status")),
    ("poller", env!("CARGO_BIN_EXE_poller")),
    ("drain-check", env!("CARGO_BIN_EXE_drain-check")),
    ("archive", env!("CARGO_BIN_EXE_archive")),
    ("finalize-stop", env!("CARGO_BIN_EXE_finalize-stop")),
    ("cat-indices", env!("CARGO_BIN_EXE_cat-indices")),
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The sample events, each loaded by name (`start.apigw` is `events/start.apigw.json`); at the
/// end every file of the folder must have been used.
struct Samples {
    used: Mutex<BTreeSet<String>>,
}

impl Samples {
    fn dir() -> PathBuf {
        workspace().join("events")
    }

    fn get(&self, name: &str) -> Value {
        let path = Self::dir().join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        self.used.lock().unwrap().insert(name.to_string());
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn assert_all_used(&self) {
        let all: BTreeSet<String> = std::fs::read_dir(Self::dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
            .collect();
        assert_eq!(*self.used.lock().unwrap(), all, "samples used vs events/");
    }
}

/// DynamoDB Local and moto with what the functions need, clients to look at them, and the
/// target (only `cat-indices` reads it).
struct Aws {
    dynamodb: DynamoDbLocal,
    moto: Moto,
    target: OpenSearch,
    store: DynamoStore,
    s3: aws_sdk_s3::Client,
    ecs: aws_sdk_ecs::Client,
    sfn: aws_sdk_sfn::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    state_machine: String,
    /// Work items `start` must create: every shard of the snapshot but the system index's.
    shards: BTreeSet<String>,
    _repository: tempfile::TempDir,
}

impl Aws {
    async fn start() -> Aws {
        let dynamodb = DynamoDbLocal::start().unwrap_or_else(|e| panic!("{e}"));
        let moto = Moto::start().unwrap_or_else(|e| panic!("{e}"));
        let target = OpenSearch::start(Flavour::V3_9).unwrap_or_else(|e| panic!("{e}"));
        let ddb_cfg = backfill_harness::sdk_config(&dynamodb.endpoint).await;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&ddb_cfg), TABLE);
        store.create_table().await.unwrap();

        let cfg = backfill_harness::sdk_config(&moto.endpoint).await;
        let s3 = backfill_harness::s3_client(&cfg);
        let (repository, shards) = snapshot_repository();
        backfill_harness::upload_dir(
            &s3,
            SNAPSHOT_BUCKET,
            "repo",
            &repository.path().join("repo"),
        )
        .await
        .unwrap();
        s3.create_bucket()
            .bucket(ARCHIVE_BUCKET)
            .send()
            .await
            .unwrap();
        let ecs = aws_sdk_ecs::Client::new(&cfg);
        backfill_harness::ecs_worker_service(&moto, &ecs, CLUSTER, SERVICE)
            .await
            .unwrap();
        let sfn = aws_sdk_sfn::Client::new(&cfg);
        let state_machine = stop_state_machine(&sfn).await;
        Aws {
            store,
            s3,
            ecs,
            sfn,
            cloudwatch: aws_sdk_cloudwatch::Client::new(&cfg),
            state_machine,
            shards,
            _repository: repository,
            dynamodb,
            moto,
            target,
        }
    }

    /// What the template sets, pointed at the local services.
    fn function_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("BACKFILL_TABLE", TABLE.into()),
            ("ECS_CLUSTER", CLUSTER.into()),
            ("ECS_SERVICE", SERVICE.into()),
            ("STOP_STATE_MACHINE_ARN", self.state_machine.clone()),
            ("ARCHIVE_S3_URI", format!("s3://{ARCHIVE_BUCKET}")),
            ("METRICS_NAMESPACE", NAMESPACE.into()),
            (
                "SNAPSHOT_REPOSITORY",
                format!("s3://{SNAPSHOT_BUCKET}/repo"),
            ),
            ("SNAPSHOT_NAME", "snap".into()),
            ("TARGET_ENDPOINT", self.target.endpoint.clone()),
            ("AWS_ENDPOINT_URL", self.moto.endpoint.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "AKIDLOCALLAMBDA".into()),
            ("AWS_SECRET_ACCESS_KEY", "local".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("BACKFILL_LOG", "info".into()),
        ]
    }

    async fn desired_count(&self) -> i32 {
        let out = self
            .ecs
            .describe_services()
            .cluster(CLUSTER)
            .services(SERVICE)
            .send()
            .await
            .unwrap();
        out.services()[0].desired_count()
    }

    async fn state(&self) -> BackfillState {
        self.store.backfill(BACKFILL).await.unwrap().unwrap().state
    }

    async fn item_keys(&self) -> BTreeSet<String> {
        let items = self.store.items(BACKFILL).await.unwrap();
        items.iter().map(|i| i.key.to_string()).collect()
    }

    /// Statistics of one progress metric over the last minutes, in one period.
    async fn metric_stats(&self, name: &str) -> BTreeMap<&'static str, f64> {
        let now = SystemTime::now();
        let mut stats = BTreeMap::new();
        for stat in ["SampleCount", "Minimum", "Maximum"] {
            let query = MetricDataQuery::builder()
                .id("m")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace(NAMESPACE)
                                .metric_name(name)
                                .dimensions(
                                    Dimension::builder()
                                        .name("BackfillId")
                                        .value(BACKFILL)
                                        .build(),
                                )
                                .build(),
                        )
                        .period(1200)
                        .stat(stat)
                        .build(),
                )
                .build();
            let out = self
                .cloudwatch
                .get_metric_data()
                .metric_data_queries(query)
                .start_time(DateTime::from(now - Duration::from_secs(600)))
                .end_time(DateTime::from(now + Duration::from_secs(600)))
                .send()
                .await
                .unwrap();
            let values: Vec<f64> = out
                .metric_data_results()
                .iter()
                .flat_map(|r| r.values().to_vec())
                .collect();
            assert_eq!(values.len(), 1, "{name} {stat}: {values:?}");
            stats.insert(stat, values[0]);
        }
        stats
    }
}

/// A repository with `posts` (2 shards), `users` (1) and the system index `.kibana` (1), which
/// a start without `include_system_indices` leaves out.
fn snapshot_repository() -> (tempfile::TempDir, BTreeSet<String>) {
    let dir = tempfile::tempdir().unwrap();
    let lucene = |case: &str| workspace().join("tests/data/lucene").join(case);
    let mut repo = snapshot_testkit::RepoBuilder::new(
        &dir.path().join("repo"),
        snapshot_testkit::WriteOptions::default(),
    );
    let mappings = json!({"properties": {}});
    for (index, shards) in [
        ("posts", vec!["l10_best_compression", "l8_fast"]),
        ("users", vec!["l10_best_compression"]),
        (".kibana", vec!["l8_fast"]),
    ] {
        let dirs: Vec<PathBuf> = shards.into_iter().map(lucene).collect();
        repo.add_index(index, &dirs, vec![], mappings.clone());
    }
    repo.write_snapshot("snap").unwrap();
    let shards = ["posts/0", "posts/1", "users/0"].map(String::from).into();
    (dir, shards)
}

/// The deployed stop definition with its functions' ARNs filled in (moto never runs it: only
/// the execution `stop` starts matters here).
async fn stop_state_machine(sfn: &aws_sdk_sfn::Client) -> String {
    let mut definition = STOP_DEFINITION.to_string();
    for (placeholder, handler) in STOP_FUNCTIONS {
        let arn = format!(
            "arn:aws:lambda:us-east-1:{ACCOUNT}:function:{}",
            handler.name()
        );
        definition = definition.replace(placeholder, &arn);
    }
    assert!(!definition.contains("${"), "{definition}");
    sfn.create_state_machine()
        .name("backfill-stop")
        .definition(definition)
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/backfill-stop"))
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string()
}

/// One emulator and process per binary.
struct Functions(BTreeMap<&'static str, RuntimeApi>);

impl Functions {
    fn spawn(env: &[(&'static str, String)]) -> Functions {
        let mut all = BTreeMap::new();
        for (name, binary) in FUNCTIONS {
            let mut api = RuntimeApi::start().unwrap_or_else(|e| panic!("{e}"));
            let env = env
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .chain([("AWS_LAMBDA_FUNCTION_NAME", name)]);
            api.spawn_function(binary, env)
                .unwrap_or_else(|e| panic!("{e}"));
            all.insert(name, api);
        }
        Functions(all)
    }

    async fn invoke(&self, function: &str, payload: &Value) -> Invocation {
        self.0[function]
            .invoke(payload)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A plain invocation that must succeed.
    async fn ok(&self, function: &str, payload: &Value) -> Value {
        match self.invoke(function, payload).await {
            Invocation::Ok(v) => v,
            Invocation::Err {
                error_type,
                message,
            } => panic!("{function} failed: {error_type}: {message}"),
        }
    }

    /// An API Gateway invocation: the status code and the JSON body of the HTTP response.
    async fn http(&self, function: &str, event: &Value) -> (u16, Value) {
        let response = self.ok(function, event).await;
        assert_eq!(
            response["headers"]["content-type"], "application/json",
            "{response}"
        );
        let body = response["body"]
            .as_str()
            .unwrap_or_else(|| panic!("{response}"));
        let status = response["statusCode"]
            .as_u64()
            .unwrap_or_else(|| panic!("{response}"));
        (status as u16, serde_json::from_str(body).unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_binary_serves_its_sample_events_through_the_runtime_api() {
    let aws = Aws::start().await;
    let fns = Functions::spawn(&aws.function_env());
    let samples = Samples {
        used: Mutex::new(BTreeSet::new()),
    };

    // start: the backfill is created with one work item per shard, workers asked for.
    let started = fns.ok("start", &samples.get("start")).await;
    assert_eq!(started["backfill_id"], BACKFILL);
    assert_eq!(started["state"], "running");
    assert_eq!(started["items_created"], 3, "{started}");
    assert_eq!(started["fleet"]["desired"], 2);
    assert!(
        started["message"]
            .as_str()
            .unwrap()
            .starts_with("Backfill started successfully.\nService backfill-workers"),
        "{started}"
    );
    assert_eq!(aws.item_keys().await, aws.shards);
    assert_eq!(aws.store.counters(BACKFILL).await.unwrap().items_total, 3);
    assert_eq!(aws.state().await, BackfillState::Running);
    assert_eq!(aws.desired_count().await, 2);

    // start again through API Gateway: running already, nothing created twice.
    let (status, body) = fns.http("start", &samples.get("start.apigw")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "running");
    assert!(body.get("items_created").is_none(), "{body}");
    assert_eq!(aws.store.items(BACKFILL).await.unwrap().len(), 3);

    // The poller, invoked directly, publishes the progress.
    let report = fns.ok("poller", &samples.get("poller")).await;
    assert_eq!(
        (
            &report["backfill_id"],
            &report["state"],
            &report["completed_now"]
        ),
        (&json!(BACKFILL), &json!("running"), &json!(false)),
        "{report}"
    );
    assert_eq!(report["stale_leases"], json!([]));
    assert!(report["published"].as_u64().unwrap() >= 10, "{report}");

    // scale through API Gateway: the service's desired count follows.
    let (status, body) = fns.http("scale", &samples.get("scale.apigw")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["fleet"]["desired"], 3);
    assert_eq!(aws.desired_count().await, 3);

    // The poller again, from the EventBridge schedule (no backfill named: the default one).
    let report = fns.ok("poller", &samples.get("poller.schedule")).await;
    assert_eq!(report["backfill_id"], BACKFILL, "{report}");
    assert_eq!(report["state"], "running");
    let listed = aws
        .cloudwatch
        .list_metrics()
        .namespace(NAMESPACE)
        .dimensions(
            DimensionFilter::builder()
                .name("BackfillId")
                .value(BACKFILL)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let names: BTreeSet<&str> = listed
        .metrics()
        .iter()
        .filter_map(|m| m.metric_name())
        .collect();
    for name in [
        "ShardsTotal",
        "ShardsUnclaimed",
        "PercentComplete",
        "WorkersDesired",
    ] {
        assert!(names.contains(name), "{name} not in {names:?}");
    }
    // Two polls: the fleet was at 2 workers for the first and at 3 for the second.
    assert_eq!(
        aws.metric_stats("WorkersDesired").await,
        BTreeMap::from([("SampleCount", 2.0), ("Minimum", 2.0), ("Maximum", 3.0)])
    );
    assert_eq!(aws.metric_stats("ShardsTotal").await["Maximum"], 3.0);

    // A bad request is NonRetryable, or a 400, and changes nothing.
    let mut bad = samples.get("scale");
    bad["workers"] = json!(-1);
    let (error_type, message) = fns.invoke("scale", &bad).await.expect_err();
    assert_eq!(error_type, "NonRetryable");
    assert!(message.contains("between 0 and 50, not -1"), "{message}");
    let mut bad = samples.get("scale.apigw");
    bad["body"] = json!({"workers": -1}).to_string().into();
    let (status, body) = fns.http("scale", &bad).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_type"], "NonRetryable");
    assert_eq!(aws.desired_count().await, 3);

    // pause: the fleet goes to 0, the state is kept.
    let paused = fns.ok("pause", &samples.get("pause")).await;
    assert_eq!(paused["state"], "paused", "{paused}");
    assert_eq!(aws.desired_count().await, 0);
    assert_eq!(aws.state().await, BackfillState::Paused);

    // status with a deep check: the seed's text with the shard lines.
    let status = fns.ok("status", &samples.get("status")).await;
    let text = status["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{status}"));
    assert!(text.starts_with("BackfillStatus.STOPPED\n"), "{text}");
    for line in [
        "Shards total: 3",
        "Shards completed: 0",
        "Shards unclaimed: 3",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in {text}");
    }
    assert_eq!(status["state"], "paused");

    // scale above 0 resumes a paused backfill.
    let resumed = fns.ok("scale", &samples.get("scale")).await;
    assert_eq!(resumed["state"], "running", "{resumed}");
    assert_eq!(aws.desired_count().await, 3);
    assert_eq!(aws.state().await, BackfillState::Running);

    let (code, body) = fns.http("status", &samples.get("status.apigw")).await;
    assert_eq!(code, 200, "{body}");
    let text = body["text"].as_str().unwrap_or_else(|| panic!("{body}"));
    // moto's ECS "runs" the desired count at once.
    assert!(text.starts_with("BackfillStatus.RUNNING\n"), "{text}");
    assert!(text.lines().any(|l| l == "Desired=3"), "{text}");
    assert!(text.lines().any(|l| l == "Shards total: 3"), "{text}");

    // cat-indices: the snapshot's counts against the target's. No worker ran: `posts` is
    // missing from the target and `users` holds one document of its 43; `.kibana` is left out.
    let put = |path: &str, body: Value| {
        let r = http_request(
            &aws.target.endpoint,
            "PUT",
            path,
            &[("content-type", "application/json")],
            body.to_string().as_bytes(),
        )
        .unwrap();
        assert!(r.status < 300, "{path}: {}", r.text());
    };
    put("/users", json!({}));
    put("/users/_doc/1?refresh=true", json!({"name": "only one"}));
    let report = fns.ok("cat-indices", &samples.get("cat-indices")).await;
    assert_eq!(
        report["source"],
        json!([
            {"index": "posts", "shards": 2, "documents": 43 + 112, "without_source": 0, "not_rebuilt": 0},
            {"index": "users", "shards": 1, "documents": 43, "without_source": 0, "not_rebuilt": 0}
        ]),
        "{report}"
    );
    assert_eq!(
        report["mismatches"],
        json!([
            {"index": "posts", "source": 155, "target": null},
            {"index": "users", "source": 43, "target": 1}
        ]),
        "{report}"
    );
    let (code, body) = fns
        .http("cat-indices", &samples.get("cat-indices.apigw"))
        .await;
    assert_eq!(code, 200, "{body}");
    let text = body["text"].as_str().unwrap_or_else(|| panic!("{body}"));
    assert!(
        text.contains("MISMATCH users: 43 documents in the snapshot, 1 in the target (42 missing)"),
        "{text}"
    );

    let (code, body) = fns.http("pause", &samples.get("pause.apigw")).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["state"], "paused");
    assert_eq!(aws.desired_count().await, 0);

    // stop starts the stop workflow; a second stop reports the same execution.
    let stopping = fns.ok("stop", &samples.get("stop")).await;
    assert_eq!(stopping["state"], "stopping", "{stopping}");
    let execution = stopping["stop_execution"].as_str().unwrap().to_string();
    let prefix = format!("arn:aws:states:us-east-1:{ACCOUNT}:execution:backfill-stop:");
    assert!(execution.starts_with(&prefix), "{execution}");
    let described = aws
        .sfn
        .describe_execution()
        .execution_arn(&execution)
        .send()
        .await
        .unwrap();
    assert_eq!(described.state_machine_arn(), aws.state_machine);
    let input: Value = serde_json::from_str(described.input().unwrap()).unwrap();
    assert_eq!(input, json!({"backfill_id": BACKFILL}));
    assert_eq!(aws.state().await, BackfillState::Stopping);
    assert_eq!(aws.desired_count().await, 0);

    let (code, body) = fns.http("stop", &samples.get("stop.apigw")).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["stop_execution"], execution.as_str());
    assert_eq!(body["state"], "stopping");

    // The workflow's tasks, as Step Functions would invoke them.
    let drain = fns.ok("drain-check", &samples.get("drain-check")).await;
    assert_eq!(drain["drained"], true, "{drain}");
    assert_eq!(drain["fleet"]["running"], 0);

    let archived = fns.ok("archive", &samples.get("archive")).await;
    assert_eq!(archived["items"], 3, "{archived}");
    let uri = archived["archive_uri"].as_str().unwrap();
    let key = uri
        .strip_prefix(&format!("s3://{ARCHIVE_BUCKET}/"))
        .unwrap_or_else(|| panic!("{uri}"));
    assert!(
        key.starts_with(&format!(
            "backfill_working_state/{BACKFILL}/working_state_backup_"
        )) && key.ends_with(".json"),
        "{key}"
    );
    let object = aws
        .s3
        .get_object()
        .bucket(ARCHIVE_BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    let archive: Value =
        serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(archive["backfill"]["id"], BACKFILL);
    assert_eq!(archive["backfill"]["state"], "stopping");
    assert_eq!(archive["counters"]["items_total"], 3);
    let archived_items: BTreeSet<String> = archive["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{archive}"))
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i["key"]["index"].as_str().unwrap(),
                i["key"]["shard"]
            )
        })
        .collect();
    assert_eq!(archived_items, aws.shards);

    let finalize = samples.get("finalize-stop");
    let stopped = fns.ok("finalize-stop", &finalize).await;
    assert_eq!(stopped["state"], "stopped", "{stopped}");
    let record = aws.store.backfill(BACKFILL).await.unwrap().unwrap();
    assert_eq!(record.state, BackfillState::Stopped);
    assert_eq!(
        record.archive_uri.as_deref(),
        finalize["archive_uri"].as_str()
    );
    assert!(
        aws.item_keys().await.is_empty(),
        "the working state is deleted"
    );

    // A stopped backfill cannot start again: NonRetryable, or a 409.
    let (error_type, message) = fns
        .invoke("start", &samples.get("start"))
        .await
        .expect_err();
    assert_eq!(error_type, "NonRetryable");
    assert!(
        message.contains("was stopped") && message.contains("cannot be restarted"),
        "{message}"
    );
    let (code, body) = fns.http("start", &samples.get("start.apigw")).await;
    assert_eq!(code, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("cannot be restarted"),
        "{body}"
    );

    samples.assert_all_used();
}

#[test]
fn a_function_without_its_configuration_fails_its_init_with_the_reason() {
    let mut api = RuntimeApi::start().unwrap();
    // Everything but the table (no AWS service is reached before the configuration is read).
    let e = api
        .spawn_function(
            env!("CARGO_BIN_EXE_status"),
            [
                ("ECS_CLUSTER", CLUSTER),
                ("ECS_SERVICE", SERVICE),
                ("ARCHIVE_S3_URI", "s3://archive"),
            ],
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("did not initialise"), "{e}");
    assert!(e.contains("BACKFILL_TABLE is not set"), "{e}");
}
