//! The target adapter against real OpenSearch nodes, 2.19 and 3.9 (Maven Central artifacts, one
//! JVM each, started by the harness): what the emulator answers, the real nodes answer too.

use backfill_core::outgoing::BulkDoc;
use backfill_core::Target;
use backfill_harness::{http_request, Flavour, OpenSearch};
use backfill_opensearch::{OpenSearchTarget, TargetConfig};
use serde_json::json;

#[tokio::test]
async fn bulk_with_routing_into_opensearch_2_19_then_count_and_get() {
    bulk_count_and_get(Flavour::V2_19, "2.19.6").await;
}

#[tokio::test]
async fn bulk_with_routing_into_opensearch_3_9_then_count_and_get() {
    bulk_count_and_get(Flavour::V3_9, "3.9.0").await;
}

async fn bulk_count_and_get(flavour: Flavour, version: &str) {
    let node = OpenSearch::start(flavour).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(node.version, version);
    let target = OpenSearchTarget::new(TargetConfig::new(node.endpoint.clone())).unwrap();
    let info = target.info().await.unwrap();
    assert_eq!(
        (info.distribution.as_str(), info.version.as_str()),
        ("opensearch", version)
    );

    assert!(!target.index_exists("posts").await.unwrap());
    let body = json!({"settings": {"number_of_shards": 2}, "mappings": {"properties": {"title": {"type": "text"}}}});
    target.create_index("posts", &body).await.unwrap();
    assert!(target.index_exists("posts").await.unwrap());

    let docs: Vec<BulkDoc> = (0..3)
        .map(|i| BulkDoc {
            index: "posts".into(),
            id: format!("doc-{i}"),
            routing: Some(format!("user{i}")),
            source: format!("{{\"title\":\"post {i}\",\"n\":{i}}}").into_bytes(),
            ..BulkDoc::default()
        })
        .collect();
    let batch: Vec<&BulkDoc> = docs.iter().collect();
    let results = target.bulk(&batch).await.unwrap();
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");

    let refresh = http_request(&node.endpoint, "POST", "/posts/_refresh", &[], b"").unwrap();
    assert_eq!(refresh.status, 200, "{}", refresh.text());
    let count = http_request(&node.endpoint, "GET", "/posts/_count", &[], b"").unwrap();
    assert_eq!(count.json().unwrap()["count"], 3, "{}", count.text());
    let health = http_request(&node.endpoint, "GET", "/_cluster/health/posts", &[], b"").unwrap();
    assert_eq!(
        health.json().unwrap()["status"],
        "green",
        "{}",
        health.text()
    );
    // Stored as sent, found with its routing.
    let got = target
        .get_source("posts", "doc-1", Some("user1"))
        .await
        .unwrap()
        .expect("doc-1 is there");
    assert_eq!(got, br#"{"title":"post 1","n":1}"#);
}
