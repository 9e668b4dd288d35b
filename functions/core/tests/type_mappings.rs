//! Type mappings end to end over in-memory ports, on a snapshot written by real Elasticsearch
//! 5.6.16 (`tests/data/es5/multitype`: index `logs` with types `error` and `access` sharing 9
//! `_id`s, one of them with a different custom routing per type, `metrics` with types `cpu` and
//! `mem`, and the single-type `single`): `start` refuses or records the rules, a worker sends each
//! document where its type goes into a target that answers like OpenSearch (`create` → 409), and
//! `cat-indices` compares per target index.

#[path = "type_mappings_support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};

use backfill_core::control::*;
use backfill_core::store::WorkStore;
use serde_json::Value;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_refuses_a_multi_type_index_without_rules_naming_its_types_counts_and_a_rule() {
    let s = setup(OsLikeTarget::default());
    let e = start(&s, "bf", &["logs"], &[]).await.unwrap_err();
    let ControlError::BadRequest(m) = e else {
        panic!("not a 400: {e:?}")
    };
    let count = |t: &str| {
        truth()
            .iter()
            .filter(|d| d.index == "logs" && d.doc_type == t)
            .count()
    };
    let types = format!(
        "index logs has 2 mapping types: access ({} documents), error ({} documents)",
        count("access"),
        count("error")
    );
    assert!(m.contains(&types), "{m}");
    assert!(
        m.contains("--type-mapping logs/access=logs_access --type-mapping logs/error=logs_error"),
        "{m}"
    );
    assert!(
        m.contains(r#"{"index": "logs", "type": "error", "target": "logs_error"}"#),
        "{m}"
    );
    assert!(m.contains("--type-mapping 'logs/*=logs'"), "{m}");
    // Nothing recorded: a start with rules is a first start again.
    assert!(s.store.backfill("bf").await.unwrap().is_none());
    // A single-type index needs no rule; a rule naming nothing is refused.
    start(&s, "single", &["single"], &[]).await.unwrap();
    let e = start(&s, "typo", &["logs"], &["logs/eror=x"])
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("logs/eror=x matches no mapping type"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_es_5_6_fixture_is_refused_without_rules_and_migrates_with_them() {
    let repo = shared_fixture("ES_5_6_Updates_Deletes");
    let s = setup_on(OsLikeTarget::default(), &repo, "rfs_snapshot");
    let req = |flags: &[&str]| StartRequest {
        backfill_id: Some("rfs".into()),
        type_mappings: rules(flags),
        ..StartRequest::default()
    };
    let e = s.control.start(req(&[])).await.unwrap_err().to_string();
    assert!(e.contains("index test_updates_deletes has 2 mapping types: type1 (1 documents), type2 (2 documents)"), "{e}");
    let r = s
        .control
        .start(req(&["test_updates_deletes/*=test_updates_deletes"]))
        .await
        .unwrap();
    assert_eq!(r.items_created, Some(1));
    work(&s, "rfs").await;
    let got = target_docs(&s, "test_updates_deletes");
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        ["complexdoc", "unchangeddoc", "updateddoc"]
    );
    assert!(s.reports.0.lock().unwrap().is_empty());
    assert!(cat(&s, "rfs").await.mismatches.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_sends_every_document_to_its_types_index_with_its_id_routing_and_source() {
    let s = setup(OsLikeTarget::default());
    start(
        &s,
        "bf",
        &["logs", "single"],
        &["logs/error=logs_error", "logs/access=logs_access"],
    )
    .await
    .unwrap();
    let record = s.store.backfill("bf").await.unwrap().unwrap();
    assert!(record.type_mappings.merged.is_empty());
    // Rules are fixed at the first start: other rules later are refused, none or the same resume.
    let e = start(&s, "bf", &[], &["logs/*=logs"]).await.unwrap_err();
    assert!(
        e.to_string().contains("cannot change (asked: logs/*=logs)"),
        "{e}"
    );
    start(&s, "bf", &[], &[]).await.unwrap();
    // The archive is the record serialised: the rules travel with it.
    let archived: serde_json::Value = serde_json::to_value(&record).unwrap();
    assert_eq!(
        archived["type_mappings"]["rules"][0]["target"],
        "logs_error"
    );
    work(&s, "bf").await;
    for (index, ty, target) in [
        ("logs", "error", "logs_error"),
        ("logs", "access", "logs_access"),
        ("single", "doc", "single"),
    ] {
        let want: BTreeMap<String, (Option<String>, Value)> = truth()
            .iter()
            .filter(|d| d.index == index && d.doc_type == ty)
            .map(|d| (d.id.clone(), (d.routing.clone(), source(d))))
            .collect();
        assert!(!want.is_empty());
        assert_eq!(target_docs(&s, target), want, "{target}");
    }
    assert!(s.reports.0.lock().unwrap().is_empty());
    // Each created index has the mapping of its type only.
    let created = s.target.created.lock().unwrap().clone();
    let es = es_mappings();
    assert_eq!(created["logs_error"]["mappings"], es["logs"]["error"]);
    assert_eq!(created["logs_access"]["mappings"], es["logs"]["access"]);
    assert_eq!(
        created["logs_error"]["settings"]["index"]["number_of_shards"],
        2
    );
    // cat-indices: per target index, all equal.
    let report = cat(&s, "bf").await;
    let rows: Vec<(String, u64)> = report
        .source
        .iter()
        .map(|r| (r.index.clone(), r.documents))
        .collect();
    assert_eq!(
        rows,
        [
            ("logs_access".to_string(), 15),
            ("logs_error".to_string(), 14),
            ("single".to_string(), 5)
        ]
    );
    assert!(report.mismatches.is_empty(), "{}", report.text);
}

/// Runs a merge of `logs` into one index and checks what arrived and what was reported.
fn check_merge(s: &Setup) -> BTreeSet<(String, String)> {
    let t = truth();
    let logs: Vec<&Truth> = t.iter().filter(|d| d.index == "logs").collect();
    let got = target_docs(s, "logs");
    let reports = s.reports.0.lock().unwrap().clone();
    let mut collided = BTreeSet::new();
    for r in &reports {
        assert_eq!(r.error_type.as_deref(), Some("type_collision"), "{r:?}");
        let ty = r.doc_type.clone().unwrap();
        let other = if ty == "error" { "access" } else { "error" };
        let reason = r.reason.as_deref().unwrap();
        assert!(
            reason.contains(&format!("of logs/{ty}"))
                && reason.contains(&format!("(type logs/{other})")),
            "{reason}"
        );
        // The document that holds the _id is the other type's.
        let holder = logs
            .iter()
            .find(|d| d.id == r.id && d.doc_type == other)
            .expect("a real collision");
        assert_eq!(got[&r.id].1, source(holder), "{}", r.id);
        assert!(collided.insert((r.id.clone(), ty)), "reported twice: {r:?}");
    }
    // Exactly one report per _id that both types hold, and every other document arrived as is.
    let shared: BTreeSet<&str> = logs
        .iter()
        .filter(|d| {
            logs.iter()
                .any(|o| o.id == d.id && o.doc_type != d.doc_type)
        })
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(shared.len(), 9);
    assert_eq!(
        collided
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<BTreeSet<_>>(),
        shared
    );
    for d in &logs {
        if !collided.contains(&(d.id.clone(), d.doc_type.clone())) {
            assert_eq!(
                got[&d.id],
                (d.routing.clone(), source(d)),
                "{}/{}",
                d.doc_type,
                d.id
            );
        }
    }
    assert_eq!(got.len() + reports.len(), logs.len());
    collided
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_reports_each_collision_with_both_types_and_overwrites_nothing() {
    let s = setup(OsLikeTarget::default());
    start(&s, "bf", &["logs"], &["logs/*=logs"]).await.unwrap();
    let record = s.store.backfill("bf").await.unwrap().unwrap();
    assert_eq!(
        record.type_mappings.merged["logs"],
        ["logs/access", "logs/error"]
    );
    work(&s, "bf").await;
    check_merge(&s);
    let c = s.store.counters("bf").await.unwrap();
    assert_eq!((c.docs_done, c.docs_rejected), (20, 9));
    // The merged index has both types' fields.
    let es = es_mappings();
    let props = s.target.created.lock().unwrap()["logs"]["mappings"]["properties"].clone();
    for ty in ["error", "access"] {
        for (field, def) in es["logs"][ty]["properties"].as_object().unwrap() {
            assert_eq!(&props[field], def, "{field}");
        }
    }
    let report = cat(&s, "bf").await;
    assert!(
        report
            .text
            .contains("MISMATCH logs: 29 documents in the snapshot, 20 in the target (9 missing)"),
        "{}",
        report.text
    );
    assert!(
        report
            .text
            .contains("MERGED logs: types logs/access, logs/error merged"),
        "{}",
        report.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resends_after_a_lost_answer_or_a_crash_are_not_collisions() {
    // The second request's writes are applied but its answer is lost: the worker resends them.
    let s = setup(OsLikeTarget {
        lose_answer_of: 2,
        ..Default::default()
    });
    start(&s, "bf", &["logs"], &["logs/*=logs"]).await.unwrap();
    work(&s, "bf").await;
    let first = check_merge(&s);
    let c = s.store.counters("bf").await.unwrap();
    assert_eq!((c.docs_done, c.docs_rejected), (20, 9));
    // A crash before any checkpoint resends every document: a second backfill into the same
    // target is that resend. Only the true collisions are reported again, nothing else.
    s.reports.0.lock().unwrap().clear();
    let before = target_docs(&s, "logs");
    start(&s, "again", &["logs"], &["logs/*=logs"])
        .await
        .unwrap();
    work(&s, "again").await;
    assert_eq!(check_merge(&s), first);
    assert_eq!(target_docs(&s, "logs"), before);
    let c = s.store.counters("again").await.unwrap();
    assert_eq!((c.docs_done, c.docs_rejected), (20, 9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_without_a_rule_is_reported_and_counted_not_skipped() {
    let s = setup(OsLikeTarget::default());
    start(&s, "bf", &["metrics"], &["metrics/cpu=cpu"])
        .await
        .unwrap();
    work(&s, "bf").await;
    let t = truth();
    let mem: BTreeSet<&str> = t
        .iter()
        .filter(|d| d.doc_type == "mem")
        .map(|d| d.id.as_str())
        .collect();
    let reports = s.reports.0.lock().unwrap().clone();
    assert_eq!(reports.len(), mem.len());
    for r in &reports {
        assert_eq!(
            (r.error_type.as_deref(), r.doc_type.as_deref(), r.status),
            (Some("unmapped_type"), Some("mem"), 0)
        );
        assert!(mem.contains(r.id.as_str()));
    }
    let cpu: BTreeMap<String, (Option<String>, Value)> = t
        .iter()
        .filter(|d| d.doc_type == "cpu")
        .map(|d| (d.id.clone(), (None, source(d))))
        .collect();
    assert_eq!(target_docs(&s, "cpu"), cpu);
    assert!(!s.target.created.lock().unwrap().contains_key("metrics"));
    let c = s.store.counters("bf").await.unwrap();
    assert_eq!((c.docs_done, c.docs_rejected), (3, 3));
    let report = cat(&s, "bf").await;
    assert!(report.mismatches.is_empty(), "{}", report.text);
    assert!(
        report
            .text
            .contains("UNMAPPED TYPE metrics/mem: 3 documents have no type mapping rule"),
        "{}",
        report.text
    );
}
