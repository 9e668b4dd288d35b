//! Against real servers of the local harness (`make harness`): osmem-server (an OpenSearch-API
//! emulator), real OpenSearch 2.19.6 and 3.9.0 nodes (one JVM each), and moto's Secrets Manager.
//! As elsewhere in the workspace these are not skipped when the harness is missing: they fail
//! saying to run `make harness`.

use std::time::Duration;

use backfill_core::outgoing::BulkDoc;
use backfill_core::Target;
use backfill_harness::{http_request, sdk_config, Flavour, Moto, OpenSearch, Osmem};
use backfill_opensearch::{
    basic_auth_from_secret, Auth, OpenSearchTarget, ServerInfo, TargetConfig, TargetConfigError,
};
use serde_json::json;

#[tokio::test]
async fn bulk_with_routing_into_osmem_then_count_and_get() {
    let osmem = Osmem::start().unwrap_or_else(|e| panic!("{e}"));
    let info = routed_posts(&osmem.endpoint).await;
    assert_eq!(info.distribution, "opensearch");
}

#[tokio::test]
async fn bulk_with_routing_into_opensearch_2_19_then_count_and_get() {
    real_node(Flavour::V2_19, "2.19.6").await;
}

#[tokio::test]
async fn bulk_with_routing_into_opensearch_3_9_then_count_and_get() {
    real_node(Flavour::V3_9, "3.9.0").await;
}

async fn real_node(flavour: Flavour, version: &str) {
    let node = OpenSearch::start(flavour).unwrap_or_else(|e| panic!("{e}"));
    let info = routed_posts(&node.endpoint).await;
    assert_eq!(
        (node.version.as_str(), info.version.as_str()),
        (version, version)
    );
    assert_green(&node.endpoint, "posts");
}

/// Through the adapter (gzip on): creates `posts` with 2 shards (twice: the second is a no-op),
/// sends 3 routed documents, and checks them on the server: the count, each found with its
/// routing, and `_source` read back byte for byte (a real node caught the adapter re-serialising
/// it, with sorted keys). Returns what `GET /` said.
async fn routed_posts(endpoint: &str) -> ServerInfo {
    let mut cfg = TargetConfig::new(endpoint);
    cfg.gzip = true;
    cfg.request_timeout = Duration::from_secs(10);
    let target = OpenSearchTarget::new(cfg).unwrap();
    let info = target.info().await.unwrap();

    assert!(!target.index_exists("posts").await.unwrap());
    let mapping = json!({"settings": {"number_of_shards": 2}, "mappings": {"properties": {"title": {"type": "text"}}}});
    target.create_index("posts", &mapping).await.unwrap();
    target.create_index("posts", &mapping).await.unwrap(); // already exists: fine
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

    let refresh = http_request(endpoint, "POST", "/posts/_refresh", &[], b"").unwrap();
    assert_eq!(refresh.status, 200, "{}", refresh.text());
    let count = http_request(endpoint, "GET", "/posts/_count", &[], b"").unwrap();
    assert_eq!(count.json().unwrap()["count"], 3, "{}", count.text());
    for d in &docs {
        let routing = d.routing.as_deref().unwrap();
        let get = http_request(
            endpoint,
            "GET",
            &format!("/posts/_doc/{}?routing={routing}", d.id),
            &[],
            b"",
        )
        .unwrap();
        assert_eq!(get.json().unwrap()["_routing"], routing, "{}", get.text());
        let source = target
            .get_source("posts", &d.id, Some(routing))
            .await
            .unwrap();
        assert_eq!(source.as_deref(), Some(d.source.as_slice()), "{}", d.id);
    }
    info
}

fn assert_green(endpoint: &str, index: &str) {
    let path = format!("/_cluster/health/{index}");
    let health = http_request(endpoint, "GET", &path, &[], b"").unwrap();
    assert_eq!(
        health.json().unwrap()["status"],
        "green",
        "{}",
        health.text()
    );
}

#[tokio::test]
async fn basic_auth_credentials_come_from_a_secrets_manager_secret() {
    let moto = Moto::start().unwrap_or_else(|e| panic!("{e}"));
    let sm = aws_sdk_secretsmanager::Client::new(&sdk_config(&moto.endpoint).await);
    sm.create_secret()
        .name("target/admin")
        .secret_string(r#"{"username":"admin","password":"correct horse"}"#)
        .send()
        .await
        .unwrap();
    match basic_auth_from_secret(&sm, "target/admin").await.unwrap() {
        Auth::Basic { username, password } => {
            assert_eq!(
                (username.as_str(), password.as_str()),
                ("admin", "correct horse")
            )
        }
        other => panic!("{other:?}"),
    }

    sm.create_secret()
        .name("target/plain")
        .secret_string("correct horse")
        .send()
        .await
        .unwrap();
    for id in ["target/plain", "target/missing"] {
        match basic_auth_from_secret(&sm, id).await {
            Err(e @ TargetConfigError::Secret { .. }) => {
                let text = e.to_string();
                assert!(text.contains(id) && !text.contains("horse"), "{text}");
            }
            other => panic!("{id}: {other:?}"),
        }
    }
}
