//! Each server starts on a free loopback port, answers the real AWS SDK (or the OpenSearch API),
//! and goes away with its handle or with the process that started it.
//!
//! Nothing here is skipped when the harness is missing: every test then fails with
//! "run `make harness` (tests/harness/install.sh) first".

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, KeySchemaElement, KeyType,
    Put, ScalarAttributeType, TransactWriteItem, Update,
};
use aws_sdk_s3::primitives::ByteStream;
use backfill_harness::{
    http_request, s3_client, sdk_config, upload_dir, DynamoDbLocal, HarnessError, Moto, Osmem,
};

/// Unwraps with the error's Display (it names the server, command and log, or says to run
/// `make harness`), which `unwrap` would print as a Debug dump.
fn started<T>(what: &str, start: impl FnOnce() -> Result<T, HarnessError>) -> T {
    let t = Instant::now();
    let server = start().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{what} started in {} ms", t.elapsed().as_millis());
    server
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

#[tokio::test]
async fn dynamodb_local_does_conditional_writes_and_transactions() {
    let ddb_local = started("DynamoDB Local", DynamoDbLocal::start);
    assert!(ddb_local.endpoint.starts_with("http://127.0.0.1:"));
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config(&ddb_local.endpoint).await);

    let key = |name: &str| {
        (
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
    };
    let (attr, schema) = key("pk");
    ddb.create_table()
        .table_name("leases")
        .attribute_definitions(attr)
        .key_schema(schema)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();

    // A conditional create: the first wins, the second is refused.
    let create = || {
        ddb.put_item()
            .table_name("leases")
            .item("pk", s("a"))
            .item("n", AttributeValue::N("0".into()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
    };
    create().await.unwrap();
    let err = create().await.unwrap_err().into_service_error();
    assert!(err.is_conditional_check_failed_exception(), "{err:?}");

    // A transaction that commits both writes.
    let put_b = |cond: &str| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name("leases")
                    .item("pk", s("b"))
                    .condition_expression(cond)
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let bump_a = TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name("leases")
                .key("pk", s("a"))
                .update_expression("SET n = n + :one")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .build()
                .unwrap(),
        )
        .build();
    ddb.transact_write_items()
        .transact_items(put_b("attribute_not_exists(pk)"))
        .transact_items(bump_a.clone())
        .send()
        .await
        .unwrap();

    // One that fails a condition: cancelled whole, the update to "a" rolled back.
    let check_b_absent = TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name("leases")
                .key("pk", s("b"))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .unwrap(),
        )
        .build();
    let err = ddb
        .transact_write_items()
        .transact_items(bump_a)
        .transact_items(check_b_absent)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_transaction_canceled_exception(), "{err:?}");

    let a = ddb
        .get_item()
        .table_name("leases")
        .key("pk", s("a"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(a.item().unwrap()["n"], AttributeValue::N("1".into()));
    let count = ddb
        .scan()
        .table_name("leases")
        .send()
        .await
        .unwrap()
        .count();
    assert_eq!(count, 2);
}

#[tokio::test]
async fn moto_serves_s3_to_the_sdk() {
    let moto = started("moto", Moto::start);
    let s3 = s3_client(&sdk_config(&moto.endpoint).await);

    s3.create_bucket().bucket("repo").send().await.unwrap();
    s3.put_object()
        .bucket("repo")
        .key("indices/blob")
        .body(ByteStream::from_static(b"0123456789"))
        .send()
        .await
        .unwrap();
    let part = s3
        .get_object()
        .bucket("repo")
        .key("indices/blob")
        .range("bytes=2-5")
        .send()
        .await
        .unwrap();
    assert_eq!(part.content_range(), Some("bytes 2-5/10"));
    let bytes = part.body.collect().await.unwrap().into_bytes();
    assert_eq!(&bytes[..], b"2345");

    // upload_dir: nested folders become '/'-separated keys under the prefix.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("indices/abc")).unwrap();
    std::fs::write(dir.path().join("index.latest"), b"x").unwrap();
    std::fs::write(dir.path().join("indices/abc/__1"), b"yy").unwrap();
    let objects = upload_dir(&s3, "repo", "base/", dir.path()).await.unwrap();
    assert_eq!(objects, 2);
    // Twice into a new bucket: the bucket is created once, then reused.
    assert_eq!(upload_dir(&s3, "fresh", "", dir.path()).await.unwrap(), 2);
    assert_eq!(upload_dir(&s3, "fresh", "", dir.path()).await.unwrap(), 2);

    let listed = s3.list_objects_v2().bucket("repo").send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        ["base/index.latest", "base/indices/abc/__1", "indices/blob"]
    );

    moto.configure(&serde_json::json!({"stepfunctions": {"execute_state_machine": true}}))
        .unwrap();
    moto.reset().unwrap();
    let buckets = s3.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().is_empty(), "reset left {buckets:?}");
}

#[test]
fn osmem_indexes_with_bulk_and_counts() {
    let osmem = started("osmem-server", Osmem::start);
    let ndjson = [("Content-Type", "application/x-ndjson")];
    let json = [("Content-Type", "application/json")];

    let bulk = concat!(
        "{\"index\":{\"_index\":\"posts\",\"_id\":\"1\"}}\n",
        "{\"title\": \"hello\", \"n\": 1}\n",
        "{\"index\":{\"_index\":\"posts\",\"_id\":\"2\",\"routing\":\"u7\"}}\n",
        "{\"title\":\"world\",\"n\":2}\n",
    );
    let r = http_request(&osmem.endpoint, "POST", "/_bulk", &ndjson, bulk.as_bytes()).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json().unwrap();
    assert_eq!(body["errors"], false, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 2);

    let r = http_request(&osmem.endpoint, "POST", "/posts/_refresh", &json, b"").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let r = http_request(&osmem.endpoint, "GET", "/posts/_count", &json, b"").unwrap();
    assert_eq!(r.json().unwrap()["count"], 2, "{}", r.text());

    // Sources compare as JSON values: osmem drops the whitespace between tokens.
    let r = http_request(&osmem.endpoint, "GET", "/posts/_doc/1", &[], b"").unwrap();
    let doc = r.json().unwrap();
    assert_eq!(
        doc["_source"],
        serde_json::json!({"title": "hello", "n": 1})
    );
}

#[test]
fn two_dynamodb_locals_started_at_once_get_different_ports() {
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| started("DynamoDB Local (a)", DynamoDbLocal::start));
        let b = scope.spawn(|| started("DynamoDB Local (b)", DynamoDbLocal::start));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a.port(), b.port());
    assert_ne!(a.pid(), b.pid());
    for server in [&a, &b] {
        let r = http_request(
            &server.endpoint,
            "POST",
            "/",
            &[
                ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", "DynamoDB_20120810.ListTables"),
            ],
            b"{}",
        )
        .unwrap();
        assert!(r.header("x-amzn-requestid").is_some(), "{r:?}");
    }
}

/// Dead, or a zombie waiting for a reaper that is not us (killed all the same).
fn process_is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_gone(pids: &[u32], within: Duration) {
    let deadline = Instant::now() + within;
    while !pids.iter().all(|&p| process_is_gone(p)) {
        assert!(
            Instant::now() < deadline,
            "still running after {within:?}: {:?}",
            pids.iter()
                .filter(|&&p| !process_is_gone(p))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn dropping_a_server_kills_it_and_frees_its_port() {
    let ddb = started("DynamoDB Local", DynamoDbLocal::start);
    let moto = started("moto", Moto::start);
    let osmem = started("osmem-server", Osmem::start);
    let servers = [
        (ddb.pid(), ddb.port(), ddb.log_path().to_path_buf()),
        (moto.pid(), moto.port(), moto.log_path().to_path_buf()),
        (osmem.pid(), osmem.port(), osmem.log_path().to_path_buf()),
    ];
    for (pid, _, log) in &servers {
        assert!(!process_is_gone(*pid));
        assert!(log.is_file(), "{}", log.display());
    }
    drop((ddb, moto, osmem));
    for (pid, port, log) in &servers {
        // Drop waits for the process: it is gone (reaped) when drop returns.
        assert!(process_is_gone(*pid), "pid {pid} survived its drop");
        TcpListener::bind(("127.0.0.1", *port))
            .unwrap_or_else(|e| panic!("port {port} still taken after the drop: {e}"));
        assert!(!log.exists(), "the log of a clean run is removed");
    }
}

/// SIGKILL gives no chance to run Drop: the servers must still go (PR_SET_PDEATHSIG, and
/// osmem's own -parent-pid watch).
#[test]
fn servers_die_with_a_killed_test_process() {
    let mut holder = Command::new(env!("CARGO_BIN_EXE_harness-servers"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut pids, mut logs) = (Vec::new(), Vec::new());
    for line in BufReader::new(holder.stdout.take().unwrap()).lines() {
        let msg: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if msg["ready"] == true {
            break;
        }
        pids.push(msg["pid"].as_u64().unwrap() as u32);
        logs.push(msg["log"].as_str().unwrap().to_string());
    }
    if pids.len() != 3 {
        let _ = holder.kill();
        let out = holder.wait_with_output().unwrap();
        panic!(
            "harness-servers started {pids:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(pids.iter().all(|&p| !process_is_gone(p)));

    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    wait_gone(&pids, Duration::from_secs(10));
    for log in logs {
        let _ = std::fs::remove_file(log); // nobody was left to remove them
    }
}

/// PR_SET_PDEATHSIG follows the thread that forked: a server started by a thread that has
/// ended (a test sharing it through a static, tokio's blocking pool) must keep running.
#[test]
fn a_server_outlives_the_thread_that_started_it() {
    let moto = std::thread::spawn(|| started("moto", Moto::start))
        .join()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!process_is_gone(moto.pid()));
    moto.reset().unwrap();
}

#[test]
fn a_missing_install_says_to_run_make_harness() {
    // In a child process: the variable would leak into the other tests of this process.
    let empty = tempfile::tempdir().unwrap();
    for server in ["dynamodb", "moto", "osmem"] {
        let out = Command::new(env!("CARGO_BIN_EXE_harness-servers"))
            .arg(server)
            .env("BACKFILL_HARNESS_DIR", empty.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{server}: {stderr}");
        assert!(
            stderr.contains("is not installed")
                && stderr.contains("run `make harness` (tests/harness/install.sh) first"),
            "{server}: {stderr}"
        );
    }
}
