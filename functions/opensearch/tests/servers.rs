//! Against real servers of the local harness (`make harness`): osmem-server, an OpenSearch-API
//! server, and moto's Secrets Manager. As elsewhere in the workspace these are not skipped when
//! the harness is missing: they fail saying to run `make harness`.

use std::time::Duration;

use backfill_core::outgoing::BulkDoc;
use backfill_core::Target;
use backfill_harness::{http_request, sdk_config, Moto, Osmem};
use backfill_opensearch::{
    basic_auth_from_secret, Auth, OpenSearchTarget, TargetConfig, TargetConfigError,
};
use serde_json::json;

#[tokio::test]
async fn bulk_with_routing_into_osmem_then_refresh_and_count() {
    let osmem = Osmem::start().unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = TargetConfig::new(osmem.endpoint.clone());
    cfg.gzip = true;
    cfg.request_timeout = Duration::from_secs(10);
    let target = OpenSearchTarget::new(cfg).unwrap();

    let info = target.info().await.unwrap();
    assert_eq!(info.distribution, "opensearch");

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
            source: format!("{{\"title\":\"post {i}\"}}").into_bytes(),
            ..BulkDoc::default()
        })
        .collect();
    let batch: Vec<&BulkDoc> = docs.iter().collect();
    let results = target.bulk(&batch).await.unwrap();
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");

    let refresh = http_request(&osmem.endpoint, "POST", "/posts/_refresh", &[], b"").unwrap();
    assert_eq!(refresh.status, 200, "{}", refresh.text());
    let count = http_request(&osmem.endpoint, "GET", "/posts/_count", &[], b"").unwrap();
    assert_eq!(count.json().unwrap()["count"], 3, "{}", count.text());
    // Routed as sent: found with its routing.
    let get = http_request(
        &osmem.endpoint,
        "GET",
        "/posts/_doc/doc-1?routing=user1",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(get.json().unwrap()["_routing"], "user1", "{}", get.text());
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
