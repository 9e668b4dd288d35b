//! Type mappings through the real worker binary, DynamoDB Local, moto's S3 and a real OpenSearch 2.19 node, on
//! the snapshot real Elasticsearch 5.6.16 wrote (`tests/data/es5/multitype`): index `logs` with
//! types `error` and `access` that share 9 `_id`s, merged into one index. The record (with its
//! rules) goes through DynamoDB, documents through `_bulk` `create`, and every 409 is checked
//! with `_mget` against the target.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use backfill_core::model::{
    BackfillRecord, BackfillState, ItemKey, NewItem, SnapshotRef, TargetRef,
};
use backfill_core::type_mapping::check_start;
use backfill_core::WorkStore;
use common::{wait, Env};
use serde_json::Value;
use snapshot::{LocalDirectory, Repository};

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/es5")
        .join(path)
}

/// A running backfill of `logs` with the rule `logs/*=logs`, its mappings checked as `start`
/// checks them.
async fn merge_backfill(env: &Env, id: &str, s3_repo: &str) {
    let repo =
        Repository::open(std::sync::Arc::new(LocalDirectory::new(data("multitype")))).unwrap();
    let snap = repo.snapshot("snap").unwrap();
    let plan = check_start(&snap, |n| n == "logs", vec!["logs/*=logs".parse().unwrap()]).unwrap();
    assert_eq!(plan.mappings.merged["logs"], ["logs/access", "logs/error"]);
    let record = BackfillRecord {
        state: BackfillState::Running,
        create_missing_indices: true,
        desired_workers: 1,
        indices: vec!["logs".into()],
        type_mappings: plan.mappings,
        ..BackfillRecord::new(
            id,
            SnapshotRef {
                repository: s3_repo.into(),
                name: "snap".into(),
            },
            TargetRef {
                endpoint: env.target.endpoint.clone(),
            },
            backfill_core::lease::now_ms(),
        )
    };
    env.store.create_backfill(&record).await.unwrap();
    // Through DynamoDB and back: the rules are in the record the worker reads.
    let back = env.store.backfill(id).await.unwrap().unwrap();
    assert_eq!(back.type_mappings, record.type_mappings);
    let items: Vec<NewItem> = (0..2)
        .map(|shard| NewItem {
            key: ItemKey::shard("logs", shard),
            docs_expected: 0,
        })
        .collect();
    env.store.create_items(id, &items).await.unwrap();
}

/// The report lines of one backfill.
fn report_lines(dir: &Path, id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("failed-documents").join(id)];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                for l in std::fs::read_to_string(&p).unwrap().lines() {
                    out.push(serde_json::from_str(l).unwrap());
                }
            }
        }
    }
    out
}

fn run_worker(env: &Env, id: &str, reports: &Path) {
    let mut w = env.worker(
        id,
        "w1",
        &[
            "--reports",
            &reports.display().to_string(),
            "--bulk-max-docs",
            "4",
        ],
    );
    let (code, _, err) = wait(&mut w, Duration::from_secs(120));
    assert_eq!(code, 0, "{err}");
}

/// Checks the merged index and the report: one collision per shared `_id`, naming both types,
/// and every document that is not a collision in the target as Elasticsearch returned it.
fn check(endpoint: &str, reports: &[Value]) -> BTreeSet<(String, String)> {
    let truth: Vec<Value> = std::fs::read_to_string(data("multitype.expected.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["index"] == "logs")
        .collect();
    let mut types_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in &truth {
        types_of
            .entry(d["id"].as_str().unwrap())
            .or_default()
            .push(d["type"].as_str().unwrap());
    }
    let collided: BTreeSet<(String, String)> = reports
        .iter()
        .map(|r| {
            assert_eq!(r["error_type"], "type_collision", "{r}");
            assert_eq!(r["index"], "logs");
            let ty = r["type"].as_str().unwrap();
            let other = if ty == "error" { "access" } else { "error" };
            let reason = r["reason"].as_str().unwrap();
            assert!(reason.contains(&format!("(type logs/{other})")), "{reason}");
            (r["id"].as_str().unwrap().to_string(), ty.to_string())
        })
        .collect();
    assert_eq!(collided.len(), reports.len(), "a collision reported twice");
    let shared: BTreeSet<&str> = types_of
        .iter()
        .filter(|(_, t)| t.len() == 2)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(shared.len(), 9);
    assert_eq!(
        collided
            .iter()
            .map(|(i, _)| i.as_str())
            .collect::<BTreeSet<_>>(),
        shared
    );
    for d in &truth {
        let (id, ty) = (d["id"].as_str().unwrap(), d["type"].as_str().unwrap());
        if collided.contains(&(id.to_string(), ty.to_string())) {
            continue;
        }
        let mut path = format!("/logs/_doc/{id}");
        if let Some(r) = d["routing"].as_str() {
            path += &format!("?routing={r}");
        }
        let got = backfill_harness::http_request(endpoint, "GET", &path, &[], b"")
            .unwrap()
            .json()
            .unwrap();
        let want: Value = serde_json::from_str(d["source"].as_str().unwrap()).unwrap();
        assert_eq!(got["_source"], want, "{ty}/{id}");
    }
    backfill_harness::http_request(endpoint, "POST", "/_refresh", &[], b"").unwrap();
    let count = backfill_harness::http_request(endpoint, "GET", "/logs/_count", &[], b"")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(count["count"].as_u64(), Some((truth.len() - 9) as u64));
    collided
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_into_the_target_reports_collisions_and_a_full_resend_finds_no_false_ones() {
    let env = Env::start().await;
    let s3_repo = env.upload(&data("multitype"), "es5").await;
    let reports = tempfile::tempdir().unwrap();
    merge_backfill(&env, "bf", &s3_repo).await;
    run_worker(&env, "bf", reports.path());
    let first = check(&env.target.endpoint, &report_lines(reports.path(), "bf"));
    let c = env.store.counters("bf").await.unwrap();
    assert_eq!((c.docs_done, c.docs_rejected), (20, 9));
    // The merged index was created with both types' fields.
    let m = backfill_harness::http_request(&env.target.endpoint, "GET", "/logs/_mapping", &[], b"")
        .unwrap()
        .json()
        .unwrap();
    for field in ["message", "level", "path", "status"] {
        assert!(
            m["logs"]["mappings"]["properties"].get(field).is_some(),
            "{field}: {m}"
        );
    }
    // A worker that crashed before its first checkpoint resends everything: a second backfill
    // over the same target does exactly that. Every resend is recognised; only the true
    // collisions are reported again.
    merge_backfill(&env, "again", &s3_repo).await;
    run_worker(&env, "again", reports.path());
    let second = check(&env.target.endpoint, &report_lines(reports.path(), "again"));
    assert_eq!(second, first);
    let c = env.store.counters("again").await.unwrap();
    assert_eq!((c.docs_done, c.docs_rejected), (20, 9));
}
