mod common;

use std::time::{Duration, Instant};

use backfill_faults::{FaultCounts, FaultPlan, FaultProxy};
use common::{gzip, index_actions, Client, FakeUpstream};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn setup(plan: FaultPlan) -> (FakeUpstream, FaultProxy) {
    let fake = FakeUpstream::start().await;
    let proxy = FaultProxy::start(&fake.endpoint, plan).await.unwrap();
    (fake, proxy)
}

fn statuses(reply: &Value) -> Vec<u64> {
    reply["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item.as_object().unwrap().values().next().unwrap()["status"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn no_faults_forwards_everything_unchanged() {
    let (fake, proxy) = setup(FaultPlan::default()).await;
    let mut via_proxy = Client::connect(&proxy.endpoint()).await;
    let mut direct = Client::connect(&fake.endpoint).await;
    for round in 0..3 {
        let body = index_actions(&format!("r{round}-"), 4);
        let got = via_proxy.bulk("/_bulk", &body).await.unwrap();
        let expected = direct.bulk("/_bulk", &body).await.unwrap();
        assert_eq!(got.status, expected.status);
        assert_eq!(got.body, expected.body);
        assert_eq!(got.headers.get("x-fake").unwrap(), "bulk");
        assert_eq!(
            got.headers.get("content-type"),
            expected.headers.get("content-type")
        );
    }
    let bulks = fake.bulks();
    assert_eq!(bulks.len(), 6);
    for round in 0..3 {
        // Through the proxy and directly, byte for byte the same body.
        assert_eq!(bulks[2 * round].raw, bulks[2 * round + 1].raw);
    }
    assert_eq!(
        proxy.counts(),
        FaultCounts {
            requests: 3,
            bulk_requests: 3,
            forwarded: 3,
            ..FaultCounts::default()
        }
    );
}

#[tokio::test]
async fn every_second_bulk_is_throttled_and_not_forwarded() {
    let plan = FaultPlan {
        throttle_every: Some(2),
        ..FaultPlan::default()
    };
    let (fake, proxy) = setup(plan).await;
    // One connection: a 429 must leave it usable.
    let mut client = Client::connect(&proxy.endpoint()).await;
    for n in 1..=4 {
        let reply = client
            .bulk("/_bulk", &index_actions(&format!("b{n}-"), 2))
            .await
            .unwrap();
        if n % 2 == 0 {
            assert_eq!(reply.status, 429);
            let json = reply.json();
            assert_eq!(json["status"], 429);
            assert_eq!(json["error"]["type"], "es_rejected_execution_exception");
        } else {
            assert_eq!(reply.status, 200);
            assert_eq!(statuses(&reply.json()), [201, 201]);
        }
    }
    assert_eq!(fake.ids(), ["b1-1", "b1-2", "b3-1", "b3-2"]);
    let counts = proxy.counts();
    assert_eq!(
        (counts.bulk_requests, counts.throttled, counts.forwarded),
        (4, 2, 2)
    );

    // The plan changes while the proxy runs; counters go on (5th and 6th bulk requests).
    proxy.set_plan(FaultPlan {
        unavailable_every: Some(3),
        ..FaultPlan::default()
    });
    let fifth = client
        .bulk("/_bulk", &index_actions("b5-", 1))
        .await
        .unwrap();
    let sixth = client
        .bulk("/_bulk", &index_actions("b6-", 1))
        .await
        .unwrap();
    assert_eq!((fifth.status.as_u16(), sixth.status.as_u16()), (200, 503));
    assert_eq!(sixth.json()["error"]["type"], "cluster_block_exception");
    assert_eq!(proxy.counts().unavailable, 1);
    assert!(!fake.ids().contains(&"b6-1".to_string()));
}

#[tokio::test]
async fn item_throttling_drops_exactly_every_third_action() {
    let plan = FaultPlan {
        item_throttle_every: Some(3),
        ..FaultPlan::default()
    };
    let (fake, proxy) = setup(plan).await;
    let mut client = Client::connect(&proxy.endpoint()).await;
    // Actions 1..5: the 3rd is throttled.
    let first = concat!(
        "{\"index\":{\"_index\":\"a\",\"_id\":\"a1\"}}\n{\"f\":1}\n",
        "{\"create\":{\"_index\":\"a\",\"_id\":\"a2\"}}\n{\"f\":2}\n",
        "{\"index\":{\"_index\":\"a\",\"_id\":\"a3\"}}\n{\"f\":3}\n",
        "{\"delete\":{\"_index\":\"a\",\"_id\":\"a4\"}}\n",
        "{\"update\":{\"_index\":\"a\",\"_id\":\"a5\"}}\n{\"doc\":{\"f\":5}}\n",
    );
    let reply = client.bulk("/_bulk", first).await.unwrap();
    assert_eq!(reply.status, 200);
    let json = reply.json();
    assert_eq!(json["errors"], true);
    assert_eq!(json["took"], 3, "upstream's other members are kept");
    assert_eq!(statuses(&json), [201, 201, 429, 201, 201]);
    let rejected = &json["items"][2]["index"];
    assert_eq!(rejected["_id"], "a3");
    assert_eq!(rejected["_index"], "a");
    assert_eq!(rejected["error"]["type"], "es_rejected_execution_exception");
    let ops: Vec<&String> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_object().unwrap().keys().next().unwrap())
        .collect();
    assert_eq!(ops, ["index", "create", "index", "delete", "update"]);
    // Upstream got the other four, byte for byte, in order.
    let without_third = first.replace(
        "{\"index\":{\"_index\":\"a\",\"_id\":\"a3\"}}\n{\"f\":3}\n",
        "",
    );
    assert_eq!(fake.bulks()[0].body, without_third.as_bytes());

    // Actions 6..9 (index from the path): the 6th and the 9th are throttled.
    let second = concat!(
        "{\"index\":{\"_id\":\"b6\"}}\n{}\n",
        "{\"index\":{\"_id\":\"b7\"}}\n{}\n",
        "{\"delete\":{\"_id\":\"b8\"}}\n",
        "{\"delete\":{\"_id\":\"b9\"}}\n",
    );
    let json = client.bulk("/logs/_bulk", second).await.unwrap().json();
    assert_eq!(statuses(&json), [429, 201, 201, 429]);
    assert_eq!(json["items"][0]["index"]["_index"], "logs");
    assert_eq!(json["items"][3]["delete"]["_id"], "b9");
    assert_eq!(fake.ids(), ["a1", "a2", "a4", "a5", "b7", "b8"]);
    assert_eq!(fake.bulks()[1].path, "/logs/_bulk");

    // Actions 10..11: none throttled, the response is upstream's own.
    let json = client
        .bulk("/_bulk", &index_actions("c", 2))
        .await
        .unwrap()
        .json();
    assert_eq!(json["errors"], false);

    // Every action throttled: upstream is not called, the whole answer is synthesised.
    proxy.set_plan(FaultPlan {
        item_throttle_every: Some(1),
        ..FaultPlan::default()
    });
    let before = fake.bulks().len();
    let reply = client.bulk("/_bulk", &index_actions("d", 3)).await.unwrap();
    assert_eq!(reply.status, 200);
    let json = reply.json();
    assert_eq!(json["errors"], true);
    assert_eq!(statuses(&json), [429, 429, 429]);
    assert_eq!(json["items"][1]["index"]["_id"], "d2");
    assert_eq!(fake.bulks().len(), before);
    let counts = proxy.counts();
    assert_eq!(
        (
            counts.items_throttled,
            counts.forwarded,
            counts.bulk_requests
        ),
        (6, 3, 4)
    );
}

#[tokio::test]
async fn reset_gives_the_client_a_connection_error() {
    let plan = FaultPlan {
        reset_every: Some(2),
        ..FaultPlan::default()
    };
    let (fake, proxy) = setup(plan).await;
    let mut client = Client::connect(&proxy.endpoint()).await;
    assert_eq!(
        client
            .bulk("/_bulk", &index_actions("r1-", 1))
            .await
            .unwrap()
            .status,
        200
    );
    let err = client
        .bulk("/_bulk", &index_actions("r2-", 1))
        .await
        .unwrap_err();
    assert!(
        !err.is_user(),
        "a connection error, not a usage error: {err}"
    );

    // The same with a raw socket: no byte of a response, then EOF or a reset.
    let mut raw = tokio::net::TcpStream::connect(common::addr_of(&proxy.endpoint()))
        .await
        .unwrap();
    let body = index_actions("r3-", 1); // the 3rd bulk request: forwarded
    let req = format!(
        "POST /_bulk HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-ndjson\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    raw.write_all(req.as_bytes()).await.unwrap();
    let mut first = [0u8; 12];
    raw.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let mut raw = tokio::net::TcpStream::connect(common::addr_of(&proxy.endpoint()))
        .await
        .unwrap();
    let req = req.replace("r3-", "r4-"); // the 4th: reset
    raw.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    match raw.read_to_end(&mut buf).await {
        Ok(_) => assert!(buf.is_empty(), "got {:?}", String::from_utf8_lossy(&buf)),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
    }
    assert_eq!(fake.ids(), ["r1-1", "r3-1"]);
    assert_eq!(proxy.counts().resets, 2);
}

#[tokio::test]
async fn reset_after_forward_indexes_but_never_answers() {
    let plan = FaultPlan {
        reset_after_forward_every: Some(1),
        ..FaultPlan::default()
    };
    let (fake, proxy) = setup(plan).await;
    let mut client = Client::connect(&proxy.endpoint()).await;
    let err = client
        .bulk("/_bulk", &index_actions("f", 3))
        .await
        .unwrap_err();
    assert!(!err.is_user(), "{err}");
    assert_eq!(fake.ids(), ["f1", "f2", "f3"]);
    let counts = proxy.counts();
    assert_eq!((counts.resets_after_forward, counts.forwarded), (1, 1));

    // With item throttling too: the forwarded part is indexed, the client still hears nothing.
    proxy.set_plan(FaultPlan {
        reset_after_forward_every: Some(1),
        item_throttle_every: Some(2),
        ..FaultPlan::default()
    });
    let mut client = Client::connect(&proxy.endpoint()).await;
    assert!(client.bulk("/_bulk", &index_actions("g", 4)).await.is_err());
    assert_eq!(fake.ids()[3..], ["g1", "g3"]);
}

#[tokio::test]
async fn gzip_bodies() {
    let (fake, proxy) = setup(FaultPlan::default()).await;
    let mut client = Client::connect(&proxy.endpoint()).await;
    let headers = [
        ("content-type", "application/x-ndjson"),
        ("content-encoding", "gzip"),
    ];
    let body = index_actions("z", 6);
    let compressed = gzip(body.as_bytes());

    // Nothing dropped: the compressed bytes go through as they are.
    let reply = client
        .send("POST", "/_bulk", &headers, compressed.clone())
        .await
        .unwrap();
    assert_eq!(statuses(&reply.json()), [201; 6]);
    let seen = &fake.bulks()[0];
    assert_eq!(seen.raw, compressed);
    assert_eq!(seen.headers.get("content-encoding").unwrap(), "gzip");

    // Actions 2, 4, 6 dropped: the rest goes uncompressed, without the header.
    proxy.set_plan(FaultPlan {
        item_throttle_every: Some(2),
        ..FaultPlan::default()
    });
    let reply = client
        .send("POST", "/_bulk", &headers, compressed.clone())
        .await
        .unwrap();
    let json = reply.json();
    assert_eq!(statuses(&json), [201, 429, 201, 429, 201, 429]);
    assert_eq!(json["items"][5]["index"]["_id"], "z6");
    let seen = &fake.bulks()[1];
    assert!(seen.headers.get("content-encoding").is_none());
    let expected: String = body
        .lines()
        .collect::<Vec<_>>()
        .chunks(2)
        .step_by(2)
        .map(|pair| format!("{}\n{}\n", pair[0], pair[1]))
        .collect();
    assert_eq!(seen.raw, expected.as_bytes());
    assert_eq!(fake.ids()[6..], ["z1", "z3", "z5"]);
}

#[tokio::test]
async fn other_requests_pass_through_unchanged() {
    let plan = FaultPlan {
        throttle_every: Some(1),
        reset_every: Some(1),
        item_throttle_every: Some(1),
        ..FaultPlan::default()
    };
    let (fake, proxy) = setup(plan).await;
    let mut client = Client::connect(&proxy.endpoint()).await;
    let cases = [
        (
            "PUT",
            "/my-index/_doc/1?refresh=true&status=201",
            "{\"a\":1}",
        ),
        ("GET", "/my-index/_doc/2?status=404", ""),
        (
            "POST",
            "/my-index/_search?size=0",
            "{\"query\":{\"match_all\":{}}}",
        ),
        ("GET", "/_bulk", ""),
        ("DELETE", "/my-index?status=500", ""),
    ];
    for (method, path, body) in cases {
        let headers = [("content-type", "application/json")];
        let got = client
            .send(method, path, &headers, body.to_string())
            .await
            .unwrap();
        let expected = Client::connect(&fake.endpoint)
            .await
            .send(method, path, &headers, body.to_string())
            .await
            .unwrap();
        assert_eq!(got.status, expected.status, "{method} {path}");
        assert_eq!(got.body, expected.body, "{method} {path}");
        assert_eq!(got.headers.get("x-echo").unwrap(), "yes");
        let echo = got.json();
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        assert_eq!(
            (echo["method"].as_str(), echo["path"].as_str()),
            (Some(method), Some(p))
        );
        assert_eq!(
            (echo["query"].as_str(), echo["body"].as_str()),
            (Some(q), Some(body))
        );
        assert_eq!(echo["content_type"], "application/json");
    }
    // HEAD: status and headers, no body.
    let head = client
        .send("HEAD", "/my-index?status=404", &[], "")
        .await
        .unwrap();
    assert_eq!(head.status, 404);
    assert!(head.body.is_empty());

    assert_eq!(fake.other_requests(), 2 * cases.len() as u64 + 1);
    let counts = proxy.counts();
    assert_eq!(
        (counts.requests, counts.bulk_requests),
        (cases.len() as u64 + 1, 0)
    );
    assert_eq!(counts.forwarded, counts.requests);
}

#[tokio::test]
async fn upstream_closing_connections_is_transparent() {
    let fake = FakeUpstream::start_with(false).await;
    let proxy = FaultProxy::start(&fake.endpoint, FaultPlan::default())
        .await
        .unwrap();
    let mut client = Client::connect(&proxy.endpoint()).await;
    for n in 0..5 {
        let reply = client
            .bulk("/_bulk", &index_actions(&format!("k{n}-"), 1))
            .await
            .unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(client.send("GET", "/", &[], "").await.unwrap().status, 200);
    }
    assert_eq!(fake.ids().len(), 5);
}

#[tokio::test]
async fn latency_delays_answers() {
    let plan = FaultPlan {
        latency: Some(Duration::from_millis(150)),
        ..FaultPlan::default()
    };
    let (_fake, proxy) = setup(plan).await;
    let mut client = Client::connect(&proxy.endpoint()).await;
    let start = Instant::now();
    client.bulk("/_bulk", &index_actions("l", 1)).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn refuses_non_loopback_and_reports_dead_upstream() {
    assert!(
        FaultProxy::start("http://192.0.2.1:9200", FaultPlan::default())
            .await
            .is_err()
    );
    assert!(
        FaultProxy::start("https://127.0.0.1:9200", FaultPlan::default())
            .await
            .is_err()
    );
    let listen = "0.0.0.0:0".parse().unwrap();
    assert!(
        FaultProxy::start_on(listen, "http://127.0.0.1:9", FaultPlan::default())
            .await
            .is_err()
    );

    // Nothing listens upstream: a 502, the proxy stays up.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let proxy = FaultProxy::start(&format!("http://{free}"), FaultPlan::default())
        .await
        .unwrap();
    let mut client = Client::connect(&proxy.endpoint()).await;
    assert_eq!(
        client
            .bulk("/_bulk", &index_actions("x", 1))
            .await
            .unwrap()
            .status,
        502
    );
    assert_eq!(client.send("GET", "/", &[], "").await.unwrap().status, 502);
    proxy.shutdown().await;
}

#[tokio::test]
async fn bulks_over_the_capacity_get_429_until_the_bucket_refills() {
    let body = index_actions("cap-", 20);
    let size = body.len() as u64;
    // Room for two bodies a second: the third at once is over.
    let plan = FaultPlan {
        capacity_bytes_per_sec: Some(2 * size + size / 2),
        ..FaultPlan::default()
    };
    let (fake, proxy) = setup(plan).await;
    let mut client = Client::connect(&proxy.endpoint()).await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(client.bulk("/_bulk", &body).await.unwrap().status);
    }
    assert_eq!(answers, [200, 200, 429]);
    // Half a second refills more than one body's worth.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(client.bulk("/_bulk", &body).await.unwrap().status, 200);
    let counts = proxy.counts();
    assert_eq!((counts.over_capacity, counts.bytes_admitted), (1, 3 * size));
    assert_eq!(fake.bulks().len(), 3);
}
