//! The client against an in-process fake server: what is sent, and how every kind of answer (or
//! absence of one) is mapped for the worker.

mod common;

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backfill_core::{BulkItemResult, Target, TargetError};
use backfill_opensearch::{OpenSearchTarget, TargetConfig};
use common::{bulk_answer, closed_port, misbehaving_server, FakeServer, Misbehaviour};
use serde_json::json;

const BODY: &[u8] = b"{\"index\":{\"_index\":\"i\",\"_id\":\"0\"}}\n{\"a\":1}\n\
{\"index\":{\"_index\":\"i\",\"_id\":\"1\",\"routing\":\"r\"}}\n{\"a\":2}\n";

fn target(endpoint: &str) -> OpenSearchTarget {
    target_with(endpoint, |_| {})
}

fn target_with(endpoint: &str, change: impl FnOnce(&mut TargetConfig)) -> OpenSearchTarget {
    let mut cfg = TargetConfig::new(endpoint);
    cfg.request_timeout = Duration::from_secs(10);
    cfg.connect_timeout = Duration::from_secs(2);
    change(&mut cfg);
    OpenSearchTarget::new(cfg).unwrap()
}

fn body() -> Arc<Vec<u8>> {
    Arc::new(BODY.to_vec())
}

fn unavailable(r: Result<Vec<BulkItemResult>, TargetError>) -> String {
    match r {
        Err(TargetError::Unavailable(msg)) => msg,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn bulk_posts_ndjson_and_parses_item_results() {
    let server = FakeServer::start(|_| (200, bulk_answer(&[201, 400]))).await;
    let t = target(&server.endpoint());
    let results = t.bulk_body(body(), 2).await.unwrap();
    assert_eq!(results[0], BulkItemResult::ok(201));
    assert_eq!(results[1].status, 400);
    assert_eq!(
        results[1].error_type.as_deref(),
        Some("mapper_parsing_exception")
    );
    assert_eq!(results[1].reason.as_deref(), Some("bad 1"));

    let r = server.last();
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/_bulk"));
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.header("host"), Some(server.addr.to_string().as_str()));
    assert_eq!(r.body, BODY);
}

#[tokio::test]
async fn an_answer_with_the_wrong_number_of_items_is_a_protocol_error() {
    let server = FakeServer::start(|_| (200, bulk_answer(&[201]))).await;
    let r = target(&server.endpoint()).bulk_body(body(), 2).await;
    assert!(matches!(r, Err(TargetError::Protocol(_))), "{r:?}");
}

#[tokio::test]
async fn gzip_bodies_arrive_with_the_header_and_decompress_to_the_ndjson() {
    let server = FakeServer::start(|_| (200, bulk_answer(&[201, 201]))).await;
    let t = target_with(&server.endpoint(), |c| c.gzip = true);
    t.bulk_body(body(), 2).await.unwrap();
    // A body large enough to be compressed on the blocking pool.
    let big: Vec<u8> = BODY.repeat(20_000);
    let server_big = FakeServer::start(|_| (200, bulk_answer(&vec![201; 40_000]))).await;
    let t_big = target_with(&server_big.endpoint(), |c| c.gzip = true);
    t_big
        .bulk_body(Arc::new(big.clone()), 40_000)
        .await
        .unwrap();

    for (server, sent) in [(&server, BODY.to_vec()), (&server_big, big)] {
        let r = server.last();
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
        assert_eq!(
            r.header("content-length"),
            Some(r.body.len().to_string().as_str())
        );
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(r.body.as_slice())
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, sent);
        assert!(r.body.len() < sent.len() || sent.len() < 200);
    }
}

#[tokio::test]
async fn whole_request_statuses_map_to_throttled_unavailable_and_refused() {
    let cases: &[(u16, &str)] = &[
        (
            429,
            r#"{"error":{"type":"es_rejected_execution_exception"},"status":429}"#,
        ),
        (503, r#"{"error":"no master"}"#),
        (
            400,
            r#"{"error":{"type":"illegal_argument_exception","reason":"bad"},"status":400}"#,
        ),
        (401, "Unauthorized"),
        (
            403,
            r#"{"message":"no permissions for [indices:data/write/bulk]"}"#,
        ),
        (413, "Request Entity Too Large"),
    ];
    for &(status, answer) in cases {
        let server = FakeServer::start(move |_| (status, answer.to_string())).await;
        let r = target(&server.endpoint()).bulk_body(body(), 2).await;
        match (status, r) {
            (429, Err(TargetError::Throttled { status: 429 })) => {}
            (503, Err(TargetError::Unavailable(msg))) => {
                assert!(
                    msg.contains(&format!("POST {}/_bulk", server.endpoint())),
                    "{msg}"
                );
                assert!(msg.contains("503") && msg.contains("no master"), "{msg}");
            }
            (s, Err(TargetError::Refused { status, body })) if s == status && s < 500 => {
                assert_eq!(body, answer);
            }
            (s, other) => panic!("HTTP {s}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn refused_bodies_are_cut_to_about_two_kib() {
    let server = FakeServer::start(|_| (400, "x".repeat(100_000))).await;
    match target(&server.endpoint()).bulk_body(body(), 2).await {
        Err(TargetError::Refused { status: 400, body }) => {
            assert!(body.len() <= 2100 && body.len() >= 2000, "{}", body.len())
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn connection_refused_is_unavailable_naming_the_endpoint() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let msg = unavailable(target(&endpoint).bulk_body(body(), 2).await);
    assert!(msg.contains(&format!("POST {endpoint}/_bulk")), "{msg}");
    assert!(msg.contains("could not connect"), "{msg}");
    assert!(msg.to_lowercase().contains("refused"), "{msg}");
}

#[tokio::test]
async fn a_reset_connection_is_unavailable() {
    let addr = misbehaving_server(Misbehaviour::Reset).await;
    let msg = unavailable(target(&format!("http://{addr}")).bulk_body(body(), 2).await);
    assert!(msg.contains(&format!("http://{addr}/_bulk")), "{msg}");
    assert!(msg.to_lowercase().contains("reset"), "{msg}");
}

#[tokio::test]
async fn a_connection_closed_before_an_answer_is_unavailable() {
    let addr = misbehaving_server(Misbehaviour::CloseWithoutAnswer).await;
    let msg = unavailable(target(&format!("http://{addr}")).bulk_body(body(), 2).await);
    assert!(msg.contains(&format!("http://{addr}/_bulk")), "{msg}");
    assert!(msg.contains("closed"), "{msg}");
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_within_the_timeout() {
    let addr = misbehaving_server(Misbehaviour::NeverAnswer).await;
    let t = target_with(&format!("http://{addr}"), |c| {
        c.request_timeout = Duration::from_millis(300)
    });
    let started = Instant::now();
    let msg = unavailable(t.bulk_body(body(), 2).await);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert!(
        msg.contains("within 300ms") && msg.contains(&addr.to_string()),
        "{msg}"
    );
    // HEAD and PUT obey the same timeout.
    assert!(matches!(
        t.index_exists("i").await,
        Err(TargetError::Unavailable(_))
    ));
}

#[tokio::test]
async fn connections_are_pooled_and_a_path_prefix_is_kept() {
    let server = FakeServer::start(|_| (200, bulk_answer(&[201, 201]))).await;
    let t = target(&format!("{}/cluster-a/", server.endpoint()));
    for _ in 0..3 {
        t.bulk_body(body(), 2).await.unwrap();
    }
    assert!(t.index_exists("i").await.unwrap());
    assert_eq!(server.connections(), 1);
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/cluster-a/_bulk",
            "/cluster-a/_bulk",
            "/cluster-a/_bulk",
            "/cluster-a/i"
        ]
    );
}

#[tokio::test]
async fn head_index_says_whether_it_exists() {
    let server = FakeServer::start(|r| match r.path.as_str() {
        "/present" => (200, String::new()),
        "/broken" => (500, String::new()),
        _ => (404, String::new()),
    })
    .await;
    let t = target(&server.endpoint());
    assert!(t.index_exists("present").await.unwrap());
    assert!(!t.index_exists("absent").await.unwrap());
    assert!(matches!(
        t.index_exists("broken").await,
        Err(TargetError::Unavailable(_))
    ));
    // Names are sent percent-encoded: a '/' or '?' cannot change the request.
    assert!(!t.index_exists("a/b?c").await.unwrap());
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["HEAD"; 4]);
    assert_eq!(server.last().path, "/a%2Fb%3Fc");
}

#[tokio::test]
async fn create_index_puts_the_body_and_accepts_an_index_that_already_exists() {
    let server = FakeServer::start(|r| match r.path.as_str() {
        "/new" => (200, r#"{"acknowledged":true,"index":"new"}"#.into()),
        "/taken" => (
            400,
            r#"{"error":{"root_cause":[],"type":"resource_already_exists_exception","reason":"index [taken/x] already exists"},"status":400}"#.into(),
        ),
        _ => (
            400,
            r#"{"error":{"type":"mapper_parsing_exception","reason":"bad mapping"},"status":400}"#.into(),
        ),
    })
    .await;
    let t = target(&server.endpoint());
    let body = json!({"settings": {"number_of_shards": 2}, "mappings": {"properties": {"a": {"type": "keyword"}}}});
    t.create_index("new", &body).await.unwrap();
    let r = server.last();
    assert_eq!((r.method.as_str(), r.path.as_str()), ("PUT", "/new"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(),
        body
    );

    t.create_index("taken", &body).await.unwrap();
    match t.create_index("bad", &body).await {
        Err(TargetError::Refused { status: 400, body }) => assert!(body.contains("bad mapping")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn info_reports_distribution_and_version() {
    let server = FakeServer::start(|r| match r.path.as_str() {
        "/" => (
            200,
            r#"{"name":"n1","cluster_name":"c","version":{"distribution":"opensearch","number":"2.17.1"},"tagline":"The OpenSearch Project"}"#.into(),
        ),
        _ => (404, String::new()),
    })
    .await;
    let info = target(&server.endpoint()).info().await.unwrap();
    assert_eq!(
        (info.distribution.as_str(), info.version.as_str()),
        ("opensearch", "2.17.1")
    );
    assert_eq!(info.cluster_name.as_deref(), Some("c"));
    assert_eq!(server.last().method, "GET");
}
