//! Random faults (seeded), AWS's own error answers, S3 bodies stalled or cut, and the observer.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backfill_faults::{
    bulk_outcomes, BulkFaults, DynamoFaults, FaultPlan, FaultProxy, Observer, RandomFaults,
    S3Faults, Seen,
};
use common::{index_actions, Client, FakeUpstream};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Records what the proxy forwarded and what upstream stored; drops requests to `/drop/`.
#[derive(Default)]
struct Recorder {
    stored: Mutex<Vec<String>>,
    forwarded: Mutex<u64>,
}

impl Observer for Recorder {
    fn forwarding(&self, seen: &Seen<'_>) -> bool {
        *self.forwarded.lock().unwrap() += 1;
        !seen.path.starts_with("/drop/")
    }

    fn answered(&self, seen: &Seen<'_>, status: u16, body: &[u8]) {
        if seen.is_bulk() && status == 200 {
            let outcomes = bulk_outcomes(body).unwrap();
            let stored = outcomes.into_iter().filter(|o| o.is_ok()).map(|o| o.id);
            self.stored.lock().unwrap().extend(stored);
        }
    }
}

fn every_bulk_fault(seed: u64, rate: f64) -> RandomFaults {
    RandomFaults {
        seed,
        bulk: Some(BulkFaults {
            rate,
            throttle: 1,
            item_throttle: 1,
            item_share: 0.5,
            server_error: 1,
            reset: 1,
            reset_after_forward: 1,
        }),
        ..RandomFaults::default()
    }
}

/// Sends `n` bulks of two documents, reconnecting after dropped connections; the statuses.
async fn send_bulks(endpoint: &str, n: usize) -> Vec<u16> {
    let mut client = Client::connect(endpoint).await;
    let mut statuses = Vec::new();
    for i in 0..n {
        match client
            .bulk("/_bulk", &index_actions(&format!("b{i}-"), 2))
            .await
        {
            Ok(reply) => statuses.push(reply.status.as_u16()),
            Err(_) => {
                statuses.push(0);
                client = Client::connect(endpoint).await;
            }
        }
    }
    statuses
}

#[tokio::test]
async fn random_bulk_faults_replay_from_their_seed_and_the_observer_sees_what_upstream_stored() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let fake = FakeUpstream::start().await;
        let proxy = FaultProxy::start(&fake.endpoint, FaultPlan::default())
            .await
            .unwrap();
        proxy.set_random(Some(every_bulk_fault(42, 0.5)));
        let recorder = Arc::new(Recorder::default());
        proxy.set_observer(Some(recorder.clone()));
        let statuses = send_bulks(&proxy.endpoint(), 300).await;
        let c = proxy.counts();
        for (kind, n) in [
            ("429", c.throttled),
            ("429 items", c.item_throttled_requests),
            ("5xx", c.unavailable),
            ("reset", c.resets),
            ("reset after forward", c.resets_after_forward),
        ] {
            assert!(n > 0, "no {kind}: {c:?}");
        }
        let faulted = c.throttled
            + c.item_throttled_requests
            + c.unavailable
            + c.resets
            + c.resets_after_forward;
        assert!((110..190).contains(&faulted), "about half of 300: {c:?}");
        for s in [500, 502, 503, 504] {
            assert!(statuses.contains(&s), "{s} never answered");
        }
        let mut upstream = fake.ids();
        let mut observed = recorder.stored.lock().unwrap().clone();
        upstream.sort();
        observed.sort();
        assert_eq!(observed, upstream, "the observer saw every document stored");
        runs.push((statuses, c));
    }
    assert_eq!(runs[0], runs[1], "the same seed gives the same faults");
}

#[tokio::test]
async fn an_observer_can_drop_a_request_before_it_reaches_upstream() {
    let fake = FakeUpstream::start().await;
    let proxy = FaultProxy::start(&fake.endpoint, FaultPlan::default())
        .await
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    proxy.set_observer(Some(recorder.clone()));
    let mut client = Client::connect(&proxy.endpoint()).await;
    assert!(client.send("GET", "/drop/me", &[], "").await.is_err());
    let mut client = Client::connect(&proxy.endpoint()).await;
    let reply = client.send("GET", "/kept", &[], "").await.unwrap();
    assert_eq!(reply.json()["path"], "/kept");
    assert_eq!(
        fake.other_requests(),
        1,
        "the dropped request never arrived"
    );
    assert_eq!(*recorder.forwarded.lock().unwrap(), 2);
}

async fn dynamodb_call(client: &mut Client, operation: &str, body: &str) -> (u16, Value) {
    let target = format!("DynamoDB_20120810.{operation}");
    let headers = [
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", target.as_str()),
    ];
    let r = client
        .send("POST", "/", &headers, body.to_string())
        .await
        .unwrap();
    if r.status != 200 {
        assert_eq!(
            r.headers["content-type"], "application/x-amz-json-1.0",
            "{operation}"
        );
    }
    (r.status.as_u16(), r.json())
}

#[tokio::test]
async fn dynamodb_gets_throttling_and_transaction_conflicts_in_its_own_protocol() {
    let fake = FakeUpstream::start().await;
    let proxy = FaultProxy::start(&fake.endpoint, FaultPlan::default())
        .await
        .unwrap();
    let mut client = Client::connect(&proxy.endpoint()).await;
    let plan = |throttle_rate, conflict_rate| RandomFaults {
        seed: 1,
        dynamodb: Some(DynamoFaults {
            throttle_rate,
            conflict_rate,
        }),
        ..RandomFaults::default()
    };

    proxy.set_random(Some(plan(0.0, 1.0)));
    let transaction = r#"{"TransactItems":[{"Update":{}},{"Update":{}},{"ConditionCheck":{}}]}"#;
    let (status, v) = dynamodb_call(&mut client, "TransactWriteItems", transaction).await;
    assert_eq!(status, 400);
    assert_eq!(
        v["__type"],
        "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
    );
    let reasons = v["CancellationReasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 3, "one reason per action");
    let conflicts = reasons
        .iter()
        .filter(|r| r["Code"] == "TransactionConflict")
        .count();
    assert_eq!(conflicts, 1);
    let (_, v) = dynamodb_call(&mut client, "UpdateItem", "{}").await;
    assert!(v["__type"]
        .as_str()
        .unwrap()
        .ends_with("#TransactionConflictException"));
    // Reads do not conflict: forwarded.
    let (status, v) = dynamodb_call(&mut client, "Query", "{}").await;
    assert_eq!((status, v["method"].as_str()), (200, Some("POST")));

    proxy.set_random(Some(plan(1.0, 0.0)));
    let mut codes = BTreeMap::new();
    for _ in 0..40 {
        let (status, v) = dynamodb_call(&mut client, "GetItem", "{}").await;
        assert_eq!(status, 400);
        let code = v["__type"].as_str().unwrap().rsplit('#').next().unwrap();
        *codes.entry(code.to_string()).or_insert(0) += 1;
    }
    let kinds: Vec<&String> = codes.keys().collect();
    assert_eq!(
        kinds,
        [
            "ProvisionedThroughputExceededException",
            "ThrottlingException"
        ]
    );
    let c = proxy.counts();
    assert_eq!(c.transaction_conflicts, 2);
    assert_eq!(c.throughput_exceeded + c.aws_throttled, 40);
    assert_eq!(fake.other_requests(), 1);
}

fn s3_plan(internal_error: u32, slow_down: u32, slow_body: u32, cut_body: u32) -> RandomFaults {
    RandomFaults {
        seed: 3,
        s3: Some(S3Faults {
            rate: 1.0,
            internal_error,
            slow_down,
            slow_body,
            stall: Duration::from_millis(300),
            cut_body,
        }),
        ..RandomFaults::default()
    }
}

/// One GET on a fresh connection, read raw until the server closes: (head, body bytes).
async fn raw_get(endpoint: &str, path: &str) -> (String, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(common::addr_of(endpoint))
        .await
        .unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: s3\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // A cut body ends the connection early: what came is what counts.
    let _ = s.read_to_end(&mut raw).await;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    (head, raw[split + 4..].to_vec())
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_string)
        })
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn s3_answers_errors_slow_reads_and_bodies_cut_short() {
    let fake = FakeUpstream::start().await;
    let proxy = FaultProxy::start(&fake.endpoint, FaultPlan::default())
        .await
        .unwrap();
    let endpoint = proxy.endpoint();

    proxy.set_random(Some(s3_plan(1, 0, 0, 0)));
    let (head, body) = raw_get(&endpoint, "/bucket/key").await;
    assert!(head.starts_with("HTTP/1.1 500"), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("<Code>InternalError</Code>"));
    proxy.set_random(Some(s3_plan(0, 1, 0, 0)));
    let (head, body) = raw_get(&endpoint, "/bucket/key").await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("<Code>SlowDown</Code>"));

    proxy.set_random(Some(s3_plan(0, 0, 0, 1)));
    for _ in 0..5 {
        let (head, body) = raw_get(&endpoint, "/bucket/cut").await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let promised = content_length(&head);
        assert!(
            !body.is_empty() && body.len() < promised,
            "{} of {promised} bytes",
            body.len()
        );
    }

    proxy.set_random(Some(s3_plan(0, 0, 1, 0)));
    let started = Instant::now();
    let (head, body) = raw_get(&endpoint, "/bucket/slow").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        body.len(),
        content_length(&head),
        "a slow body arrives whole"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["path"],
        "/bucket/slow"
    );

    let c = proxy.counts();
    assert_eq!(
        (
            c.aws_internal_errors,
            c.aws_throttled,
            c.cut_bodies,
            c.slow_bodies
        ),
        (1, 1, 5, 1)
    );
}
