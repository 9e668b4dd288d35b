//! A backfill against a target that requires Basic auth, with the credentials in a Secrets
//! Manager secret (moto): the real `backfill` binary in local mode and its `backfill worker`
//! processes, the target behind a gate that answers 401 without the credentials
//! (`BasicAuthGate` in front of a real OpenSearch node, which runs without its security plugin). The documents arrive, so the credentials
//! were used; then no log line, status, archive or failed-documents report holds the password
//! (nor the `Authorization` value). A start that names another target is refused (403) naming
//! it, and a worker whose backfill names a target outside its allowed list refuses to send the
//! credentials there.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backfill_core::model::{BackfillRecord, SnapshotRef, TargetRef};
use backfill_core::WorkStore;
use backfill_faults::BasicAuthGate;
use backfill_harness::{http_request, DynamoDbLocal, Flavour, Moto, OpenSearch};
use common::s3_texts;
use serde_json::{json, Value};

/// Distinctive, so that finding it anywhere means it leaked.
const PASSWORD: &str = "Xq9-leak-canary-7Rb2-pw";
const USERNAME: &str = "backfill-writer";
/// `Authorization: Basic base64(USERNAME:PASSWORD)` would leak it too.
const AUTHORIZATION_B64: &str = "YmFja2ZpbGwtd3JpdGVyOlhxOS1sZWFrLWNhbmFyeS03UmIyLXB3";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `backfill` with the setup and the workers' target auth in its environment (the local
/// fleet's workers inherit it), collecting everything it prints.
fn backfill(local: &Path, env: &[(&str, &str)], args: &[&str], out: &mut String) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_backfill"))
        .args(args)
        .env("BACKFILL_LOCAL", local)
        .env("BACKFILL_LOG", "debug")
        .envs(env.iter().copied())
        .env_remove("BACKFILL_API")
        .env_remove("BACKFILL_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run backfill");
    let mut stdout = String::new();
    let mut stderr = String::new();
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let _ = so.read_to_string(&mut stdout);
    stderr.push_str(&t.join().unwrap());
    let code = child.wait().unwrap().code().unwrap_or(-1);
    out.push_str(&format!(
        "$ backfill {}\n{stdout}{stderr}\n",
        args.join(" ")
    ));
    Run {
        code,
        stdout,
        stderr,
    }
}

struct Teardown(PathBuf);

impl Drop for Teardown {
    fn drop(&mut self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_backfill"))
            .args(["local", "teardown", "--dir"])
            .arg(&self.0)
            .output();
    }
}

fn repository(root: &Path) -> PathBuf {
    let lucene = |c: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/lucene")
            .join(c)
    };
    let mut b = snapshot_testkit::RepoBuilder::new(root, snapshot_testkit::WriteOptions::default());
    // Documents without _source go to the failed-documents report.
    b.add_index(
        "partial",
        &[lucene("l9_no_source")],
        vec![],
        json!({"properties": {}}),
    );
    b.add_index(
        "products",
        &[lucene("l8_fast")],
        vec![],
        json!({"properties": {}}),
    );
    b.write_snapshot("snap").unwrap();
    root.to_path_buf()
}

fn fleet_logs(local: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(local.join("fleet")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "log") {
            out += &std::fs::read_to_string(e.path()).unwrap_or_default();
        }
    }
    out
}

#[test]
fn a_basic_auth_backfill_uses_the_password_and_writes_it_nowhere() {
    let dynamodb = DynamoDbLocal::start().expect("DynamoDB Local (run `make harness`)");
    let moto = Moto::start().expect("moto (run `make harness`)");
    let target =
        OpenSearch::start(Flavour::V2_19).expect("a real OpenSearch node (run `make harness`)");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let gate = rt
        .block_on(BasicAuthGate::start(&target.endpoint, USERNAME, PASSWORD))
        .unwrap();
    let secret_arn = rt.block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(
            &backfill_harness::sdk_config(&moto.endpoint).await,
        );
        let secret = json!({"username": USERNAME, "password": PASSWORD}).to_string();
        let out = sm
            .create_secret()
            .name("target-basic")
            .secret_string(secret)
            .send()
            .await
            .unwrap();
        out.arn().unwrap().to_string()
    });

    let tmp = tempfile::tempdir().unwrap();
    let repo = repository(&tmp.path().join("repository"));
    let local = tmp.path().join("local");
    let _teardown = Teardown(local.clone());
    let env = [
        ("TARGET_AUTH", "basic"),
        ("TARGET_SECRET_ARN", secret_arn.as_str()),
    ];
    // Everything the control plane printed, in one place.
    let mut printed = String::new();
    let gate_endpoint = gate.endpoint();
    let run = backfill(
        &local,
        &[],
        &[
            "local",
            "setup",
            "--dir",
            local.to_str().unwrap(),
            "--dynamodb",
            &dynamodb.endpoint,
            "--aws",
            &moto.endpoint,
            "--target",
            &gate_endpoint,
            "--repo",
            repo.to_str().unwrap(),
            "--snapshot",
            "snap",
            "--create-missing-indices",
            "--default-workers",
            "2",
            "--checkpoint-seconds",
            "1",
            "--worker-log",
            "debug",
        ],
        &mut printed,
    );
    assert_eq!(run.code, 0, "{printed}");

    // A start that names another target is refused, naming it and how to allow it.
    let run = backfill(
        &local,
        &env,
        &[
            "--backfill",
            "elsewhere",
            "start",
            "--target-endpoint",
            "https://collector.example",
        ],
        &mut printed,
    );
    assert_eq!(run.code, 2, "{printed}");
    assert!(
        run.stderr.contains("https://collector.example"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--allowed-target-endpoint"),
        "{}",
        run.stderr
    );

    // The backfill: every document arrives through the gate.
    let run = backfill(&local, &env, &["start"], &mut printed);
    assert_eq!(run.code, 0, "{printed}");
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        let run = backfill(&local, &env, &["status", "--json"], &mut printed);
        assert_eq!(run.code, 0, "{printed}");
        let status: Value = serde_json::from_str(&run.stdout).unwrap();
        let shards = &status["shards"];
        if shards["total"].as_u64().is_some() && shards["completed"] == shards["total"] {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "not done: {status:#}\n{}",
            fleet_logs(&local)
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    let counts = gate.counts();
    assert!(counts.accepted > 0, "{counts:?}");
    assert_eq!(
        counts.refused, 0,
        "a request without the credentials: {counts:?}"
    );
    http_request(&target.endpoint, "POST", "/_refresh", &[], b"").unwrap();
    let count = http_request(&target.endpoint, "GET", "/products/_count", &[], b"").unwrap();
    assert_eq!(count.status, 200, "{}", count.text());
    assert!(
        serde_json::from_str::<Value>(&count.text()).unwrap()["count"].as_u64() > Some(0),
        "{}",
        count.text()
    );
    let run = backfill(&local, &env, &["stop"], &mut printed);
    assert_eq!(run.code, 0, "{printed}");

    // A worker whose backfill names a target outside its list refuses before sending anything.
    rt.block_on(async {
        let cfg = backfill_harness::sdk_config(&dynamodb.endpoint).await;
        let store = backfill_aws::DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&cfg),
            backfill_aws::table::DEFAULT_TABLE_NAME,
        );
        let record = BackfillRecord::new(
            "rogue",
            SnapshotRef {
                repository: "s3://backfill-local/repository".into(),
                name: "snap".into(),
            },
            TargetRef {
                endpoint: "https://collector.example".into(),
            },
            0,
        );
        assert!(store.create_backfill(&record).await.unwrap());
    });
    let worker = Command::new(env!("CARGO_BIN_EXE_backfill"))
        .args(["worker", "--backfill-id", "rogue"])
        .envs(env)
        .env("ALLOWED_TARGET_ENDPOINTS", &gate_endpoint)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env_remove("TARGET_ENDPOINT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&worker.stderr).into_owned();
    assert_eq!(worker.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("refusing to send the target's credentials to \"https://collector.example\""),
        "{stderr}"
    );
    printed += &stderr;

    // Nowhere: the control plane's output, the workers' logs, the status, the archive and the
    // failed-documents reports.
    let stored = rt.block_on(async {
        let s3 = backfill_harness::s3_client(&backfill_harness::sdk_config(&moto.endpoint).await);
        let archive = s3_texts(&s3, "backfill-local", "archive/").await;
        let reports = s3_texts(&s3, "backfill-local", "reports/").await;
        (archive, reports)
    });
    let (archive, reports) = stored;
    assert_eq!(archive.len(), 1, "one archive: {archive:?}");
    assert!(
        !reports.is_empty(),
        "documents without _source are reported"
    );
    assert!(
        reports.iter().any(|(_, text)| text.contains("no_source")),
        "{reports:?}"
    );
    let logs = fleet_logs(&local);
    assert!(
        logs.contains(&gate_endpoint),
        "the workers' logs are there: {logs}"
    );
    let places: Vec<(String, String)> = [
        ("control plane output".to_string(), printed),
        ("worker logs".to_string(), logs),
        ("status".to_string(), status.to_string()),
    ]
    .into_iter()
    .chain(
        archive
            .into_iter()
            .map(|(k, t)| (format!("archive {k}"), t)),
    )
    .chain(reports.into_iter().map(|(k, t)| (format!("report {k}"), t)))
    .collect();
    for (place, text) in &places {
        for secret in [PASSWORD, AUTHORIZATION_B64] {
            assert!(!text.contains(secret), "{place} holds {secret:?}");
        }
    }
}
