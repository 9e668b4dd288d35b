//! Elasticsearch 1.7.6 and 2.4.6 start in one JVM from Maven Central artifacts (1.7 with its
//! `JvmInfo` rebuilt for Java 17), answer over their own HTTP module with the version and Lucene
//! version they are, and stop when dropped.

use backfill_harness::{http_request, Elasticsearch, EsVersion};

fn answers_as(version: EsVersion, number: &str, lucene: &str) {
    let node = Elasticsearch::start(version).unwrap_or_else(|e| panic!("{version:?}: {e}"));
    assert_eq!(node.version, number);
    let root = http_request(&node.endpoint, "GET", "/", &[], b"").unwrap();
    assert_eq!(root.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&root.body).unwrap();
    assert_eq!(v["version"]["number"], number);
    assert_eq!(v["version"]["lucene_version"], lucene);
    // Mapping types are the API of these versions: a typed document round-trips.
    let put = http_request(
        &node.endpoint,
        "PUT",
        "/t/kind/1?refresh=true",
        &[("content-type", "application/json")],
        br#"{"a":1}"#,
    )
    .unwrap();
    assert!(put.status == 201 || put.status == 200, "{}", put.status);
    let got = http_request(&node.endpoint, "GET", "/t/kind/1/_source", &[], b"").unwrap();
    assert_eq!(got.body, br#"{"a":1}"#);
    let endpoint = node.endpoint.clone();
    drop(node);
    assert!(
        http_request(&endpoint, "GET", "/", &[], b"").is_err(),
        "{endpoint} still answers"
    );
}

#[test]
fn elasticsearch_1_7_runs_in_one_jvm_on_java_17() {
    answers_as(EsVersion::V1_7, "1.7.6", "4.10.4");
}

#[test]
fn elasticsearch_2_4_runs_in_one_jvm_on_java_17() {
    answers_as(EsVersion::V2_4, "2.4.6", "5.5.4");
}
