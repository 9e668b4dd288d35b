mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use backfill_faults::{BulkSink, FaultPlan, FaultProxy};
use common::{gzip, index_actions, Client, FakeUpstream};

#[tokio::test]
async fn sink_counts_and_echoes() {
    let sink = BulkSink::start().await.unwrap();
    let mut client = Client::connect(&sink.endpoint()).await;
    let body = concat!(
        "{\"index\":{\"_index\":\"a\",\"_id\":\"x1\"}}\n{\"f\":1}\n",
        "{\"create\":{\"_id\":\"x2\",\"routing\":\"r\"}}\n{\"f\":22}\n",
        "{\"delete\":{\"_index\":\"a\",\"_id\":\"x3\"}}\n",
        "\n",
        "{\"index\":{\"_index\":\"a\"}}\n{}\n",
    );
    let reply = client.bulk("/dflt/_bulk", body).await.unwrap();
    assert_eq!(reply.status, 200);
    let json = reply.json();
    assert_eq!(json["errors"], false);
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["index"]["_id"], "x1");
    assert_eq!(items[0]["index"]["status"], 201);
    assert_eq!(items[0]["index"]["result"], "created");
    assert_eq!(items[1]["create"]["_index"], "dflt");
    assert_eq!(items[2]["delete"]["_id"], "x3");
    assert!(items[3]["index"]["_id"].is_string(), "an id is generated");
    assert_eq!((sink.docs(), sink.bytes()), (3, 7 + 8 + 2));

    // Gzip, and a body large enough to arrive in many frames.
    let big = index_actions("big", 50_000);
    let reply = client
        .send(
            "POST",
            "/_bulk",
            &[("content-encoding", "gzip")],
            gzip(big.as_bytes()),
        )
        .await
        .unwrap();
    assert_eq!(reply.json()["items"][49_999]["index"]["_id"], "big50000");
    let reply = client.bulk("/_bulk", &big).await.unwrap();
    assert_eq!(reply.json()["items"].as_array().unwrap().len(), 50_000);
    let source_bytes: u64 = big.lines().skip(1).step_by(2).map(|l| l.len() as u64).sum();
    assert_eq!(sink.docs(), 3 + 100_000);
    assert_eq!(sink.bytes(), 17 + 2 * source_bytes);
    assert_eq!(sink.bulk_requests(), 3);

    // What a client looks at before indexing.
    let root = client.send("GET", "/", &[], "").await.unwrap();
    assert_eq!(root.json()["version"]["distribution"], "opensearch");
    assert!(root.json()["version"]["number"].is_string());
    let head = client.send("HEAD", "/any-index", &[], "").await.unwrap();
    assert_eq!(head.status, 200);
    let get = client.send("GET", "/any-index", &[], "").await.unwrap();
    assert_eq!(get.status, 200);
    assert!(get.json()["any-index"]["mappings"].is_object());
    let bad = client.bulk("/_bulk", "{\"bogus\":{}}\n{}\n").await.unwrap();
    assert_eq!(bad.status, 400);
    sink.shutdown().await;
}

#[tokio::test]
async fn proxy_in_front_of_the_sink() {
    let sink = BulkSink::start().await.unwrap();
    let plan = FaultPlan {
        item_throttle_every: Some(4),
        ..FaultPlan::default()
    };
    let proxy = FaultProxy::start(&sink.endpoint(), plan).await.unwrap();
    let mut client = Client::connect(&proxy.endpoint()).await;
    let json = client
        .bulk("/_bulk", &index_actions("p", 8))
        .await
        .unwrap()
        .json();
    assert_eq!(json["errors"], true);
    assert_eq!(json["items"][3]["index"]["status"], 429);
    assert_eq!(json["items"][4]["index"]["_id"], "p5");
    assert_eq!(sink.docs(), 6);
}

fn spawn_bin(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fault-proxy"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_string())
}

#[tokio::test]
async fn the_binary_serves_until_stdin_closes() {
    let (mut sink, sink_endpoint) = spawn_bin(&["--sink"]);
    assert!(
        sink_endpoint.starts_with("http://127.0.0.1:"),
        "{sink_endpoint}"
    );
    let (mut proxy, proxy_endpoint) =
        spawn_bin(&["--upstream", &sink_endpoint, "--throttle-every", "2"]);
    let mut client = Client::connect(&proxy_endpoint).await;
    assert_eq!(
        client
            .bulk("/_bulk", &index_actions("q", 2))
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        client
            .bulk("/_bulk", &index_actions("q", 2))
            .await
            .unwrap()
            .status,
        429
    );

    let fake = FakeUpstream::start().await;
    let refused = Command::new(env!("CARGO_BIN_EXE_fault-proxy"))
        .args(["--upstream", &fake.endpoint, "--listen", "0.0.0.0:0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!refused.status.success());

    for child in [&mut proxy, &mut sink] {
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
    }
}
