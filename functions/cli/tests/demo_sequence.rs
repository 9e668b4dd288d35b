//! The demo's sequence (`make demo`, `tests/demo/demo.sh`) as a test: the real `backfill`
//! binary drives a local backfill (its fleet runs `backfill worker` processes) against DynamoDB
//! Local, moto's S3 and a real OpenSearch 2.19 node, from `local setup` through `start`, `status`, `scale`,
//! `pause`, `start`, `status --watch`, `clusters cat-indices` and `stop` to the refused restart;
//! then every live document of the snapshot is looked up in the target, by `_id`, `_routing`
//! and `_source`, and nothing else is there.
//!
//! (Over 600 lines: one sequence, step after step, as the demo runs it.)

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use backfill_harness::{DynamoDbLocal, Flavour, Moto, OpenSearch};
use common::{path, status_json, worker_logs, workers_alive, Cli, Teardown};
use serde_json::{json, Value};
use snapshot::{LocalDirectory, ReadOptions, Repository, ShardReader};

const SNAPSHOT: &str = "demo-snapshot";
/// Index name → its shards, one Lucene case of `tests/data/lucene` each (Lucene 8.8, 9.8 and
/// 10.5 segments). Cases whose ids overlap are never shards of the same index (their documents
/// would collide in the target). No case with a 20 MiB document (`l9_fast_large`), to keep
/// the sequence short.
const INDICES: &[(&str, &[&str])] = &[
    ("products", &["l8_best_compression", "l10_best_compression"]),
    ("legacy", &["l8_lucene70_dv"]),
    ("mixed", &["l9_mixed"]),
    // A system index: `start` skips it (no `--include-system-indices`).
    (".kibana", &["l8_fast"]),
];
/// The work items `start` creates: the shards of the indices that are not system indices.
const SHARDS: usize = 4;
const DEFAULT_WORKERS: u32 = 2;
const MAX_WORKERS: u32 = 4;

/// (index, id) → (routing, `_source` as a JSON value).
type Docs = BTreeMap<(String, String), (Option<String>, Value)>;

#[test]
fn the_demo_sequence_moves_every_document_then_stops_archived_for_good() {
    let began = Instant::now();
    // Progress on stderr: shown with `--nocapture`, and with the failure message.
    let step = |what: &str| eprintln!("[{:5.1} s] {what}", began.elapsed().as_secs_f64());
    // Given: the local servers and a snapshot repository of three indices, four shards and a
    // system index.
    let dynamodb = DynamoDbLocal::start().expect("DynamoDB Local (run `make harness`)");
    let moto = Moto::start().expect("moto (run `make harness`)");
    let target =
        OpenSearch::start(Flavour::V2_19).expect("a real OpenSearch node (run `make harness`)");
    let tmp = tempfile::tempdir().unwrap();
    let repo = write_repository(&tmp.path().join("repository"));
    let want = snapshot_documents(&repo);
    assert_same_ids_as_lucene_read_back(&want);
    step("servers up, snapshot written and read");
    let local = tmp.path().join("local");
    // Declared after the servers, so dropped before them: kills any worker left by a failure.
    let _teardown = Teardown(local.clone());
    let cli = Cli { local: &local };

    // `backfill local setup`: table, bucket, repository uploaded to moto's S3.
    let out = cli.ok(&[
        "local",
        "setup",
        "--dir",
        path(&local),
        "--dynamodb",
        &dynamodb.endpoint,
        "--aws",
        &moto.endpoint,
        "--target",
        &target.endpoint,
        "--repo",
        path(&repo),
        "--snapshot",
        SNAPSHOT,
        "--create-missing-indices",
        "--default-workers",
        &DEFAULT_WORKERS.to_string(),
        "--max-workers",
        &MAX_WORKERS.to_string(),
        "--checkpoint-seconds",
        "1",
    ]);
    assert!(out.contains("Uploaded the snapshot repository"), "{out}");
    step("set up");

    // Start: one work item per shard, the default number of workers.
    let out = cli.ok(&["start"]);
    assert!(out.starts_with("Backfill started successfully.\n"), "{out}");
    assert!(
        out.contains(&format!(
            "Local fleet set to {DEFAULT_WORKERS} desired count."
        )),
        "{out}"
    );
    assert_eq!(
        workers_alive(&local).len(),
        DEFAULT_WORKERS as usize,
        "worker processes, found by the BACKFILL_LOCAL they inherit"
    );
    let out = cli.ok(&["status", "--deep-check"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("BackfillStatus."), "{out}");
    assert!(lines[1].starts_with("Running="), "{out}");
    assert!(lines[2].starts_with("Pending="), "{out}");
    assert_eq!(lines[3], format!("Desired={DEFAULT_WORKERS}"), "{out}");
    assert!(
        lines.contains(&format!("Shards total: {SHARDS}").as_str()),
        "{out}"
    );
    step("started");

    // Scale to 3; a negative count is refused and changes nothing.
    let out = cli.ok(&["scale", "3"]);
    assert!(
        out.starts_with("Local fleet set to 3 desired count."),
        "{out}"
    );
    let refused = cli.run(&["scale", "-1"], Duration::from_secs(60));
    assert_eq!(refused.code, 2, "{refused}");
    assert!(
        refused.stderr.contains(&format!(
            "the number of workers must be between 0 and {MAX_WORKERS}, not -1"
        )),
        "{refused}"
    );
    assert_eq!(status_json(&cli)["fleet"]["desired"], 3);
    step("scaled");

    // Pause: the workers checkpoint and release their shards; the state is kept.
    let out = cli.ok(&["pause"]);
    assert!(
        out.starts_with("Backfill paused successfully.\nLocal fleet set to 0 desired count."),
        "{out}"
    );
    let status = status_json(&cli);
    assert_eq!(status["state"], "paused", "{status:#}");
    assert_eq!(status["fleet"]["desired"], 0, "{status:#}");
    step("paused");

    // Resume, and follow the progress until every shard is done.
    let out = cli.ok(&["start"]);
    assert!(out.starts_with("Backfill started successfully.\n"), "{out}");
    let watched = cli.run(
        &["status", "--watch", "--interval", "0.5"],
        Duration::from_secs(180),
    );
    assert_eq!(watched.code, 0, "{watched}");
    let done = watched
        .stdout
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        done.split(" documents in ").next(),
        Some(
            format!(
                "Backfill default: every shard is done ({SHARDS} completed, 0 failed); {}",
                thousands(want.len())
            )
            .as_str()
        ),
        "{watched}\nworker logs:\n{}",
        worker_logs(&local)
    );
    assert!(
        watched
            .stdout
            .contains(&format!("Shards completed: {SHARDS}\n")),
        "{watched}"
    );
    step("every shard done");

    // The counts of the snapshot and the target agree.
    let out = cli.ok(&["clusters", "cat-indices", "--refresh"]);
    assert!(
        out.contains("All 3 indices have the same document count in the snapshot and the target."),
        "{out}"
    );
    assert!(!out.contains("MISMATCH"), "{out}");
    step("counts compared");

    // Stop: drains the fleet, archives the working state to S3, deletes it.
    let out = cli.run(&["stop"], Duration::from_secs(180));
    assert_eq!(out.code, 0, "{out}");
    let archive = out
        .stdout
        .trim_end()
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("Backfill working state archived to: "))
        .unwrap_or_else(|| panic!("stop does not end with the archive: {out}"))
        .to_string();
    assert!(archive.starts_with("s3://"), "{archive}");
    assert_eq!(
        workers_alive(&local),
        Vec::<u32>::new(),
        "worker processes outlived stop"
    );
    let archived = read_s3_json(&moto.endpoint, &archive);
    assert_archive_holds_every_shard_completed(&archived, &want);
    step("stopped and archived");

    // A stopped backfill cannot be restarted.
    let restart = cli.run(&["start"], Duration::from_secs(60));
    assert_eq!(restart.code, 2, "{restart}");
    assert!(
        restart.stderr.contains("was stopped")
            && restart.stderr.contains("cannot be restarted")
            && restart.stderr.contains(&archive),
        "{restart}"
    );
    assert_eq!(workers_alive(&local), Vec::<u32>::new());
    let out = cli.ok(&["local", "teardown", "--dir", path(&local)]);
    assert_eq!(out.trim(), "Stopped 0 local worker(s).");
    step("restart refused");

    // Then: the target holds exactly the snapshot's documents, and no system index.
    let indices = target_indices(&target.endpoint);
    assert!(
        !indices.contains(".kibana"),
        "a skipped system index reached the target"
    );
    assert_eq!(
        indices,
        want.keys()
            .map(|(index, _)| index.clone())
            .collect::<BTreeSet<_>>(),
        "the target's indices"
    );
    let got = target_documents(&target.endpoint, &indices);
    assert_same_documents(&want, &got);
    step(&format!(
        "{} documents of {SHARDS} shards compared",
        want.len()
    ));
}

fn lucene_case(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/lucene")
        .join(case)
}

/// Writes the snapshot as Elasticsearch would (compressed metadata, 1 MiB parts, `v__` files).
fn write_repository(root: &Path) -> PathBuf {
    let opts = snapshot_testkit::WriteOptions {
        compress: snapshot_testkit::MetadataCompression::Deflate,
        part_size: Some(1 << 20),
        virtual_small_files: true,
        seed: Some(7),
        ..snapshot_testkit::WriteOptions::default()
    };
    let mut b = snapshot_testkit::RepoBuilder::new(root, opts);
    for (name, cases) in INDICES {
        let shards: Vec<PathBuf> = cases.iter().map(|c| lucene_case(c)).collect();
        b.add_index(
            name,
            &shards,
            vec![],
            snapshot_testkit::lucene_cases_mapping(),
        );
    }
    b.write_snapshot(SNAPSHOT).unwrap();
    root.to_path_buf()
}

/// Every live document of the snapshot's non-system indices, as the snapshot reader reads it.
fn snapshot_documents(repo: &Path) -> Docs {
    let r = Repository::open(Arc::new(LocalDirectory::new(repo))).unwrap();
    let snap = r.snapshot(SNAPSHOT).unwrap();
    let mut out = Docs::new();
    for index in snap.index_names() {
        if index.starts_with('.') {
            continue;
        }
        for shard in 0..snap.index(&index).unwrap().number_of_shards {
            for d in ShardReader::open(&snap, &index, shard, ReadOptions::default()).unwrap() {
                let d = d.unwrap().document;
                let source: Value = serde_json::from_slice(&d.source)
                    .unwrap_or_else(|e| panic!("{index}/{}: _source is not JSON: {e}", d.id));
                let previous = out.insert((index.clone(), d.id.clone()), (d.routing, source));
                assert!(previous.is_none(), "{index}/{}: id in two shards", d.id);
            }
        }
    }
    out
}

/// The reader's (index, id, routing) equal those real Lucene read back from the cases
/// (`<case>.expected.ndjson[.gz]`), so that the comparison below does not rest on our reader
/// alone.
fn assert_same_ids_as_lucene_read_back(want: &Docs) {
    let mut lucene = BTreeSet::new();
    for (index, cases) in INDICES.iter().filter(|(i, _)| !i.starts_with('.')) {
        for case in *cases {
            for line in expected_ndjson(case) {
                let v: Value = serde_json::from_str(&line).unwrap();
                lucene.insert((
                    index.to_string(),
                    v["id"].as_str().unwrap().to_string(),
                    v["routing"].as_str().map(str::to_string),
                ));
            }
        }
    }
    let ours: BTreeSet<_> = want
        .iter()
        .map(|((index, id), (routing, _))| (index.clone(), id.clone(), routing.clone()))
        .collect();
    assert_eq!(ours.len(), lucene.len(), "documents in the snapshot");
    assert!(
        ours == lucene,
        "the reader and Lucene disagree: {:?}",
        ours.symmetric_difference(&lucene)
            .take(5)
            .collect::<Vec<_>>()
    );
}

fn expected_ndjson(case: &str) -> Vec<String> {
    let plain = lucene_case(&format!("{case}.expected.ndjson"));
    let reader: Box<dyn Read> = match std::fs::File::open(&plain) {
        Ok(f) => Box::new(f),
        Err(_) => {
            let gz = lucene_case(&format!("{case}.expected.ndjson.gz"));
            Box::new(flate2::read::GzDecoder::new(
                std::fs::File::open(&gz).unwrap_or_else(|e| panic!("{}: {e}", gz.display())),
            ))
        }
    };
    BufReader::new(reader)
        .lines()
        .map(|l| l.unwrap())
        .filter(|l| !l.trim().is_empty())
        .collect()
}

fn read_s3_json(moto: &str, uri: &str) -> Value {
    let (bucket, key) = uri
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .unwrap_or_else(|| panic!("not s3://bucket/key: {uri}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let s3 = backfill_harness::s3_client(&backfill_harness::sdk_config(moto).await);
        let object = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {uri}: {e:?}"));
        let bytes = object.body.collect().await.unwrap().into_bytes();
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{uri} is not JSON: {e}"))
    })
}

/// The archive holds one completed item per shard of the selected indices, and the counters.
fn assert_archive_holds_every_shard_completed(archive: &Value, want: &Docs) {
    let items = archive["items"].as_array().expect("items");
    let keys: BTreeSet<(String, u64)> = items
        .iter()
        .map(|i| {
            (
                i["key"]["index"].as_str().unwrap().to_string(),
                i["key"]["shard"].as_u64().unwrap(),
            )
        })
        .collect();
    let shards: BTreeSet<(String, u64)> = INDICES
        .iter()
        .filter(|(index, _)| !index.starts_with('.'))
        .flat_map(|(index, cases)| (0..cases.len() as u64).map(|s| (index.to_string(), s)))
        .collect();
    assert_eq!(items.len(), SHARDS, "one item per shard");
    assert_eq!(keys, shards, "the archived items");
    for i in items {
        assert!(i["completed_at"].is_i64(), "not completed: {i:#}");
        assert!(i["failed_at"].is_null(), "failed: {i:#}");
        assert_eq!(i["docs_rejected"], 0, "{i:#}");
    }
    let docs: u64 = items.iter().map(|i| i["docs_done"].as_u64().unwrap()).sum();
    assert_eq!(docs, want.len() as u64, "documents done over the items");
    let c = &archive["counters"];
    assert_eq!(
        (&c["items_total"], &c["items_completed"], &c["items_failed"]),
        (&json!(SHARDS), &json!(SHARDS), &json!(0)),
        "{c:#}"
    );
    assert_eq!(c["docs_done"], want.len(), "{c:#}");
}

/// The target's index names (`_cat/indices`).
fn target_indices(endpoint: &str) -> BTreeSet<String> {
    let r = backfill_harness::http_request(endpoint, "GET", "/_cat/indices?format=json", &[], b"")
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["index"].as_str().unwrap().to_string())
        .collect()
}

/// Every document of these target indices, read with a scroll.
fn target_documents(endpoint: &str, indices: &BTreeSet<String>) -> Docs {
    let post = |path: &str, body: Value| {
        let r = backfill_harness::http_request(
            endpoint,
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .unwrap();
        assert_eq!(r.status, 200, "POST {path}: {}", r.text());
        r.json().unwrap()
    };
    post("/_refresh", json!({}));
    let mut out = Docs::new();
    for index in indices {
        let mut page = post(
            &format!("/{index}/_search?scroll=1m"),
            json!({"size": 500, "sort": ["_doc"]}),
        );
        loop {
            let hits = page["hits"]["hits"].as_array().unwrap().clone();
            if hits.is_empty() {
                break;
            }
            for h in hits {
                let id = h["_id"].as_str().unwrap().to_string();
                let routing = h["_routing"].as_str().map(str::to_string);
                let previous =
                    out.insert((index.clone(), id.clone()), (routing, h["_source"].clone()));
                assert!(previous.is_none(), "{index}/{id} twice in the target");
            }
            let scroll_id = page["_scroll_id"].as_str().unwrap().to_string();
            page = post(
                "/_search/scroll",
                json!({"scroll": "1m", "scroll_id": scroll_id}),
            );
        }
    }
    out
}

/// The target holds exactly the expected documents: same ids, routings and sources (compared
/// as JSON values; byte equality against a real node is `real_to_real.rs`'s).
fn assert_same_documents(want: &Docs, got: &Docs) {
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    let different: Vec<_> = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && different.is_empty(),
        "{} missing from the target (first: {:?}), {} extra (first: {:?}), {} with another routing or source (first: {:?})",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>(),
        extra.len(),
        extra.iter().take(5).collect::<Vec<_>>(),
        different.len(),
        different.iter().take(5).collect::<Vec<_>>(),
    );
    assert_eq!(got.len(), want.len());
}

/// `12,979`, as the CLI prints counts.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
