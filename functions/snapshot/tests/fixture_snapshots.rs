//! The six repositories written by real Elasticsearch give exactly the documents that real
//! Lucene found in them (`../shared/fixtures/expected/<repo>.ndjson`).

mod common;

use std::sync::Arc;

use serde_json::{json, Value};
use snapshot::{LocalDirectory, ReadOptions, Repository, ShardReader};

const REPOS: [&str; 6] = snapshot_testkit::FIXTURE_REPOSITORIES;

fn key(v: &Value) -> (String, String, u64, String) {
    (
        v["snapshot"].as_str().unwrap().into(),
        v["index"].as_str().unwrap().into(),
        v["shard"].as_u64().unwrap(),
        v["id"].as_str().unwrap().into(),
    )
}

fn read_all(repo_name: &str) -> Vec<Value> {
    let root = common::shared_dir()
        .join("fixtures/snapshots")
        .join(repo_name);
    let repo = Repository::open(Arc::new(LocalDirectory::new(root))).unwrap();
    let mut out = Vec::new();
    for s in &repo.data().snapshots {
        let snap = repo.snapshot(&s.name).unwrap();
        for index in snap.index_names() {
            let meta = snap.index(&index).unwrap();
            for shard in 0..meta.number_of_shards {
                let reader =
                    ShardReader::open(&snap, &index, shard, ReadOptions::default()).unwrap();
                for d in reader {
                    let d = d.unwrap();
                    out.push(json!({
                        "snapshot": s.name, "index": index, "shard": shard,
                        "segment": d.segment, "docid": d.doc,
                        "id": d.document.id, "type": d.document.doc_type, "routing": d.document.routing,
                        "source": String::from_utf8(d.document.source).unwrap(),
                    }));
                }
            }
        }
    }
    out.sort_by_key(key);
    out
}

fn expected(repo_name: &str) -> Vec<Value> {
    let path = common::shared_dir()
        .join("fixtures/expected")
        .join(format!("{repo_name}.ndjson"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fields = [
        "snapshot", "index", "shard", "segment", "docid", "id", "type", "routing", "source",
    ];
    let mut v: Vec<Value> = text
        .lines()
        .map(|l| {
            let full: Value = serde_json::from_str(l).unwrap();
            Value::Object(
                fields
                    .iter()
                    .map(|f| (f.to_string(), full[f].clone()))
                    .collect(),
            )
        })
        .collect();
    v.sort_by_key(key);
    v
}

#[test]
fn each_shared_repository_yields_exactly_its_expected_live_documents() {
    for repo in REPOS {
        let want = expected(repo);
        assert!(!want.is_empty(), "{repo}: no expected documents");
        assert_eq!(read_all(repo), want, "{repo}");
    }
}

#[test]
fn soft_deleted_versions_and_tombstones_are_counted_not_returned() {
    let root = common::shared_dir().join("fixtures/snapshots/ES_7_10_Updates_Deletes_w_Soft");
    let repo = Repository::open(Arc::new(LocalDirectory::new(root))).unwrap();
    let snap = repo.snapshot("rfs_snapshot").unwrap();
    let mut reader =
        ShardReader::open(&snap, "test_updates_deletes", 0, ReadOptions::default()).unwrap();
    let mut n = 0;
    while reader.next_document().unwrap().is_some() {
        n += 1;
    }
    let stats = reader.stats();
    assert_eq!(n, 3);
    assert_eq!(stats.soft_deleted, 6);
    assert_eq!(stats.max_docs, 9);
    assert_eq!(stats.without_source, 0);
}

#[test]
fn resuming_from_any_position_continues_with_the_next_document() {
    for repo_name in REPOS {
        let root = common::shared_dir()
            .join("fixtures/snapshots")
            .join(repo_name);
        let repo = Repository::open(Arc::new(LocalDirectory::new(root))).unwrap();
        for s in &repo.data().snapshots {
            let snap = repo.snapshot(&s.name).unwrap();
            for index in snap.index_names() {
                let all: Vec<_> = ShardReader::open(&snap, &index, 0, ReadOptions::default())
                    .unwrap()
                    .map(|d| d.unwrap())
                    .collect();
                for (i, d) in all.iter().enumerate() {
                    let mut r =
                        ShardReader::open(&snap, &index, 0, ReadOptions::default()).unwrap();
                    let text = d.next.to_string();
                    r.seek(&text.parse().unwrap()).unwrap();
                    let rest: Vec<String> = r.map(|d| d.unwrap().document.id).collect();
                    let want: Vec<String> =
                        all[i + 1..].iter().map(|d| d.document.id.clone()).collect();
                    assert_eq!(rest, want, "{repo_name} {index} after {}", d.next);
                }
            }
        }
    }
}
