//! The worker process against a real OpenSearch 2.19 node (not the emulator): what a real
//! cluster does that osmem does not. Its write pool rejects bulks (429), its mapping refuses
//! documents, it auto-creates missing indices, it blocks writes to a read-only index, and it
//! goes away and comes back. Every document must arrive, be reported, or fail its shard with
//! the reason: nothing is lost or counted in silence.
//!
//! One node serves every test but the rejections one (which needs a tiny write pool); the
//! restart test takes it alone (a write lock), the others share it (read locks) with their own
//! index names. DynamoDB Local and moto are shared too (`common/real.rs`).

mod common;
#[path = "common/real.rs"]
mod real;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use backfill_core::WorkStore;
use backfill_harness::{Flavour, OpenSearch};
use common::{count, expected_docs, metric, repository, wait, Docs};
use real::*;
use serde_json::{json, Value};
use tokio::sync::{RwLock, RwLockReadGuard};

/// The node the tests share (started by the first one that needs it).
fn shared_node() -> &'static RwLock<OpenSearch> {
    static NODE: OnceLock<RwLock<OpenSearch>> = OnceLock::new();
    NODE.get_or_init(|| {
        warm_up();
        RwLock::new(OpenSearch::start(Flavour::V2_19).expect("a real OpenSearch 2.19 node"))
    })
}

/// The shared node, held (a read lock) for a test's whole run, so that the restart test does
/// not take it away under the test. (Tokio's lock: a test's guard lives across its awaits.)
async fn share() -> RwLockReadGuard<'static, OpenSearch> {
    shared_node().read().await
}

/// Waits for a worker: exit code 0, and its stdout (EMF metric lines).
fn finished(worker: &mut std::process::Child, within: Duration) -> String {
    let (code, out, err) = wait(worker, within);
    assert_eq!(code, 0, "worker exit code\nstderr:\n{err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_node_rejecting_bulks_is_retried_until_every_document_arrives() {
    warm_up();
    let node = OpenSearch::start_with(
        Flavour::V2_19,
        &[
            ("thread_pool.write.size", "1"),
            ("thread_pool.write.queue_size", "1"),
        ],
    )
    .expect("a real OpenSearch node with a tiny write pool");
    let env = RealEnv::new("rejections").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository(
        tmp.path(),
        &[("busy-a", &["l9_os_zstd"]), ("busy-b", &["l8_fast"])],
    );
    // Three primaries: each bulk becomes three shard-level writes at once for one thread and a
    // queue of one, so the pool rejects some of every request, not only under bursts. `price`
    // is mapped: its first values are whole or not, and three shards mapping it dynamically at
    // once would refuse documents (`cannot be changed from type [float] to [long]`).
    for index in ["busy-a", "busy-b"] {
        create_index(
            &node.endpoint,
            index,
            json!({
                "settings": {
                    "number_of_shards": 3,
                    "number_of_replicas": 0,
                    // No fsync per shard-level write: one write thread would spend the test
                    // waiting for the disk.
                    "index.translog.durability": "async"
                },
                "mappings": {"properties": {"price": {"type": "float"}}}
            }),
        );
    }
    assert_eq!(write_rejections(&node.endpoint), 0);
    env.backfill(&repo, &node.endpoint, false).await;
    let tune = [
        "--bulk-max-docs",
        "100",
        "--max-in-flight",
        "2",
        "--checkpoint-docs",
        "2000",
        "--retry-initial-ms",
        "20",
        "--retry-max-ms",
        "200",
        "--max-send-attempts",
        "300",
        "--metrics-seconds",
        "1",
    ];
    let started = Instant::now();
    let mut workers: Vec<_> = (0..2)
        .map(|i| env.worker(&format!("w{i}"), &tune))
        .collect();
    let outs: Vec<String> = workers
        .iter_mut()
        .map(|w| finished(w, Duration::from_secs(180)))
        .collect();
    let took = started.elapsed();

    let rejected = write_rejections(&node.endpoint);
    assert!(
        rejected > 0,
        "the node rejected no write: the test proves nothing"
    );
    let sum = |name| outs.iter().map(|o| metric(o, name)).sum::<f64>();
    assert!(sum("Throttled") > 0.0, "the workers saw the push-back");
    assert!(sum("BulkRetries") > 0.0, "and sent again");
    assert_eq!(sum("DocumentsRejected"), 0.0, "a 429 is not a rejection");
    let want = expected_docs(&repo, "snap");
    let c = env.store.counters(&env.id).await.unwrap();
    assert_eq!(
        (c.items_completed, c.items_failed, c.docs_rejected),
        (2, 0, 0)
    );
    assert_eq!(c.docs_done, want.len() as u64);
    assert_node_holds(&node.endpoint, &want);
    eprintln!("the node rejected {rejected} shard-level writes; all retried ({took:?})");
}

/// Top-level fields of the strict mapping below (`nested` has `a`, `b` and `c`).
const MAPPED: &[&str] = &[
    "title", "body", "tag", "category", "sizes", "n", "user", "nested",
];

/// The documents the strict mapping refuses, each with the (error, field) pairs it may be
/// refused for: text in `user` (mapped `integer`), or a field the mapping lacks (`dynamic:
/// strict`). The node reports the first it meets, which depends on the order of the source.
fn refused_by_strict_mapping(want: &Docs) -> BTreeMap<String, Vec<(&'static str, String)>> {
    let mut out = BTreeMap::new();
    for ((_, id), (_, source)) in want {
        let mut why = Vec::new();
        if source.get("user").is_some_and(Value::is_string) {
            why.push(("mapper_parsing_exception", "user".to_string()));
        }
        let top = source.as_object().unwrap().keys();
        let nested = source.get("nested").and_then(Value::as_object);
        let unmapped = top.filter(|k| !MAPPED.contains(&k.as_str())).chain(
            nested
                .into_iter()
                .flat_map(|n| n.keys())
                .filter(|k| !["a", "b", "c"].contains(&k.as_str())),
        );
        why.extend(unmapped.map(|k| ("strict_dynamic_mapping_exception", k.clone())));
        if !why.is_empty() {
            out.insert(id.clone(), why);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_the_mapping_refuses_are_reported_with_their_reason_and_the_rest_arrive() {
    let node = share().await;
    let env = RealEnv::new("mapping").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository(tmp.path(), &[("strict-docs", &["l9_mixed"])]);
    let keyword = json!({"type": "keyword"});
    create_index(
        &node.endpoint,
        "strict-docs",
        json!({"mappings": {"dynamic": "strict", "properties": {
            "title": {"type": "text"}, "body": {"type": "text"},
            "tag": keyword, "category": keyword,
            "sizes": {"type": "long"}, "n": {"type": "integer"},
            "user": {"type": "integer"},
            "nested": {"properties": {
                "a": {"type": "long"}, "b": {"type": "boolean"}, "c": {"type": "float"}}}
        }}}),
    );
    env.backfill(&repo, &node.endpoint, false).await;
    let out = finished(
        &mut env.worker("w", &["--bulk-max-docs", "20"]),
        Duration::from_secs(120),
    );

    let mut want = expected_docs(&repo, "snap");
    let refused = refused_by_strict_mapping(&want);
    let kinds: BTreeSet<&str> = refused.values().flatten().map(|(e, _)| *e).collect();
    assert!(
        kinds.len() == 2 && refused.len() < want.len(),
        "the data must give both errors and some documents that pass: {kinds:?}"
    );
    let reported = env.reported("strict-docs").await;
    let ids: Vec<&str> = reported.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids.iter().copied().collect::<BTreeSet<_>>(),
        refused.keys().map(String::as_str).collect(),
        "the refused documents are reported"
    );
    assert_eq!(ids.len(), refused.len(), "each once");
    for r in &reported {
        let why = &refused[r["id"].as_str().unwrap()];
        let (error_type, reason) = (r["error_type"].as_str(), r["reason"].as_str());
        assert_eq!(
            (&r["index"], &r["status"]),
            (&json!("strict-docs"), &json!(400))
        );
        assert!(
            why.iter().any(|(e, field)| error_type == Some(*e)
                && reason.is_some_and(|t| t.contains(&format!("[{field}]")))),
            "{r} should be one of {why:?}, its reason naming the field"
        );
    }
    let item = env.item("strict-docs", 0).await;
    assert!(item.completed_at.is_some(), "{item:?}");
    assert_eq!(item.docs_rejected, refused.len() as u64);
    assert_eq!(
        item.docs_done + item.docs_rejected,
        want.len() as u64,
        "every document arrived or was reported"
    );
    assert_eq!(metric(&out, "DocumentsRejected"), refused.len() as f64);
    let c = env.store.counters(&env.id).await.unwrap();
    assert_eq!(
        (c.items_completed, c.docs_rejected),
        (1, refused.len() as u64)
    );
    want.retain(|(_, id), _| !refused.contains_key(id));
    assert_eq!(item.docs_done, want.len() as u64);
    assert_node_holds(&node.endpoint, &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_index_without_create_missing_indices_fails_its_shards_and_is_not_auto_created() {
    let node = share().await;
    let env = RealEnv::new("missing").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository(
        tmp.path(),
        &[
            ("missing-present", &["l9_es_zstd_best_speed"]),
            ("missing-absent", &["l10_mixed", "l9_mixed"]),
        ],
    );
    create_index(&node.endpoint, "missing-present", json!({}));
    env.backfill(&repo, &node.endpoint, false).await;
    finished(
        &mut env.worker("w", &["--max-failures", "2"]),
        Duration::from_secs(120),
    );

    for shard in 0..2 {
        let item = env.item("missing-absent", shard).await;
        assert!(item.failed_at.is_some() && item.failures == 2, "{item:?}");
        assert_eq!((item.docs_done, item.docs_rejected), (0, 0));
        let reason = item.last_error.as_deref().unwrap();
        assert!(
            reason.contains("target index missing-absent does not exist")
                && reason.contains("create-missing-indices"),
            "{reason}"
        );
    }
    assert!(
        !index_exists(&node.endpoint, "missing-absent"),
        "the node auto-creates indices on _bulk: nothing may have been sent there"
    );
    assert!(env.item("missing-present", 0).await.completed_at.is_some());
    let c = env.store.counters(&env.id).await.unwrap();
    assert_eq!((c.items_completed, c.items_failed), (1, 2));
    let mut want = expected_docs(&repo, "snap");
    want.retain(|(index, _), _| index == "missing-present");
    assert_eq!(c.docs_done, want.len() as u64);
    assert_node_holds(&node.endpoint, &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_index_fails_its_shard_with_the_block_and_counts_nothing_as_migrated() {
    let node = share().await;
    let env = RealEnv::new("readonly").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository(
        tmp.path(),
        &[("ro-frozen", &["l8_fast"]), ("ro-open", &["l10_mixed"])],
    );
    create_index(&node.endpoint, "ro-frozen", json!({}));
    create_index(&node.endpoint, "ro-open", json!({}));
    let (status, answer) = call(
        &node.endpoint,
        "PUT",
        "/ro-frozen/_settings",
        Some(json!({"index.blocks.write": true})),
    );
    assert_eq!(status, 200, "{answer}");
    env.backfill(&repo, &node.endpoint, false).await;
    let started = Instant::now();
    finished(
        &mut env.worker("w", &["--max-failures", "2"]),
        Duration::from_secs(120),
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "a block is not retried for minutes"
    );

    let frozen = env.item("ro-frozen", 0).await;
    assert!(
        frozen.failed_at.is_some() && frozen.completed_at.is_none() && frozen.failures == 2,
        "{frozen:?}"
    );
    let reason = frozen.last_error.as_deref().unwrap();
    assert!(
        reason.contains("ro-frozen")
            && reason.contains("403")
            && reason.contains("cluster_block_exception"),
        "{reason}"
    );
    assert_eq!(
        (frozen.docs_done, frozen.docs_rejected),
        (0, 0),
        "nothing was written, and the documents are not the documents' fault"
    );
    assert_eq!(count(&node.endpoint, "ro-frozen"), 0);
    assert!(env.reported("ro-frozen").await.is_empty());

    assert!(env.item("ro-open", 0).await.completed_at.is_some());
    let c = env.store.counters(&env.id).await.unwrap();
    assert_eq!((c.items_completed, c.items_failed), (1, 1));
    let mut want = expected_docs(&repo, "snap");
    want.retain(|(index, _), _| index == "ro-open");
    assert_eq!(c.docs_done, want.len() as u64);
    assert_node_holds(&node.endpoint, &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_restarted_mid_backfill_is_ridden_out_and_every_document_arrives() {
    let env = RealEnv::new("restart").await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository(tmp.path(), &[("restarted", &["l8_lucene70_dv"])]);
    let want = expected_docs(&repo, "snap");
    // Alone on the shared node: nobody else's requests may meet it down.
    let mut node = shared_node().write().await;
    env.backfill(&repo, &node.endpoint, true).await;
    // Small bulks under a byte cap (~5 s for the shard): the restart lands mid-shard.
    let mut worker = env.worker(
        "w",
        &[
            "--bulk-max-docs",
            "50",
            "--max-in-flight",
            "2",
            "--max-bytes-per-second",
            "150000",
            "--checkpoint-docs",
            "500",
            "--retry-initial-ms",
            "100",
            "--retry-max-ms",
            "2000",
            "--max-send-attempts",
            "200",
            "--metrics-seconds",
            "1",
        ],
    );
    let start = Instant::now();
    while count(&node.endpoint, "restarted") < 500 {
        assert!(start.elapsed() < Duration::from_secs(60), "no progress");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = count(&node.endpoint, "restarted");
    assert!(before < want.len() as u64, "the worker was not done yet");
    node.restart().expect("the node comes back");
    let out = finished(&mut worker, Duration::from_secs(180));

    assert!(
        metric(&out, "BulkRetries") > 0.0,
        "requests met the node down"
    );
    let item = env.item("restarted", 0).await;
    assert!(
        item.completed_at.is_some() && item.failures == 0,
        "{item:?}"
    );
    assert_eq!((item.docs_done, item.docs_rejected), (want.len() as u64, 0));
    assert_node_holds(&node.endpoint, &want);
    eprintln!("restarted with {before} of {} documents in", want.len());
}
