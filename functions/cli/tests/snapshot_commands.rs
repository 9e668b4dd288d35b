//! `backfill snapshot docs` prints exactly the expected documents of the shared repositories,
//! and bad input ends with a clear message and a non-zero exit.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use snapshot_testkit::shared_dir as shared;

fn backfill(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_backfill"))
        .args(args)
        .output()
        .expect("run backfill")
}

const KEYS: [&str; 7] = [
    "snapshot", "index", "shard", "id", "type", "routing", "source",
];

fn project(v: &Value) -> Vec<Value> {
    KEYS.iter().map(|k| v[k].clone()).collect()
}

#[test]
fn snapshot_docs_prints_the_expected_documents_of_every_shared_repository() {
    for repo in snapshot_testkit::FIXTURE_REPOSITORIES {
        let expected_text =
            std::fs::read_to_string(shared().join(format!("fixtures/expected/{repo}.ndjson")))
                .unwrap();
        let mut expected: Vec<Vec<Value>> = expected_text
            .lines()
            .map(|l| project(&serde_json::from_str(l).unwrap()))
            .collect();
        let mut snapshots: Vec<String> = expected
            .iter()
            .map(|e| e[0].as_str().unwrap().to_string())
            .collect();
        snapshots.dedup();
        let mut got = Vec::new();
        for s in &snapshots {
            let root = shared().join("fixtures/snapshots").join(repo);
            let out = backfill(&[
                "snapshot",
                "docs",
                "--repo",
                root.to_str().unwrap(),
                "--snapshot",
                s,
            ]);
            assert!(
                out.status.success(),
                "{repo}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            for line in String::from_utf8(out.stdout).unwrap().lines() {
                let v: Value = serde_json::from_str(line).unwrap();
                assert_eq!(v.as_object().unwrap().len(), KEYS.len(), "{line}");
                got.push(project(&v));
            }
        }
        let key = |v: &Vec<Value>| {
            (
                v[0].to_string(),
                v[1].to_string(),
                v[2].as_u64(),
                v[3].to_string(),
            )
        };
        expected.sort_by_key(key);
        got.sort_by_key(key);
        assert_eq!(got, expected, "{repo}");
    }
}

#[test]
fn snapshot_list_shows_indices_shards_and_document_counts() {
    let root = shared().join("fixtures/snapshots/ES_6_8_Single");
    let out = backfill(&[
        "snapshot",
        "list",
        "--repo",
        root.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let indices = &v[0]["indices"];
    assert_eq!(v[0]["name"], "global_state_snapshot");
    assert_eq!(indices[0]["name"], "posts_2023_02_25");
    assert_eq!(indices[0]["docs"], 1);
    assert_eq!(indices[1]["docs"], 3);
    assert_eq!(indices[1]["shards"], 1);
}

fn fails_with(args: &[&str], code: i32, message: &str) {
    let out = backfill(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(message), "{stderr:?} lacks {message:?}");
}

#[test]
fn unknown_repository_snapshot_index_and_shard_are_clear_errors() {
    let root = shared().join("fixtures/snapshots/ES_6_8_Single");
    let r = root.to_str().unwrap();
    fails_with(
        &["snapshot", "list", "--repo", "/no/such/repository"],
        3,
        "does not exist",
    );
    fails_with(
        &["snapshot", "docs", "--repo", r, "--snapshot", "nope"],
        3,
        "no snapshot named \"nope\"",
    );
    fails_with(
        &[
            "snapshot",
            "docs",
            "--repo",
            r,
            "--snapshot",
            "global_state_snapshot",
            "--index",
            "nope",
        ],
        3,
        "no index named \"nope\"",
    );
    fails_with(
        &[
            "snapshot",
            "docs",
            "--repo",
            r,
            "--snapshot",
            "global_state_snapshot",
            "--index",
            "posts_2023_02_25",
            "--shard",
            "4",
        ],
        3,
        "has no shard 4",
    );
    let not_a_repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    fails_with(
        &["snapshot", "list", "--repo", not_a_repo.to_str().unwrap()],
        4,
        "not a snapshot repository",
    );
}
