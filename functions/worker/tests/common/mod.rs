//! A local backfill environment: DynamoDB Local and moto's S3 on free ports, a real OpenSearch
//! 2.19 node as the target (one for the whole test binary: each test has its own index names),
//! a snapshot uploaded to S3, a backfill with its work items, and worker processes.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use backfill_aws::DynamoStore;
use backfill_core::model::{
    BackfillRecord, BackfillState, ItemKey, NewItem, SnapshotRef, TargetRef,
};
use backfill_core::WorkStore;
use backfill_harness::{DynamoDbLocal, Flavour, Moto, OpenSearch};
use serde_json::Value;
use snapshot::{LocalDirectory, ReadOptions, Repository, ShardReader};

pub const BUCKET: &str = "snapshots";
pub const TABLE: &str = "backfill-working-state";

pub struct Env {
    pub dynamodb: DynamoDbLocal,
    pub moto: Moto,
    pub target: &'static OpenSearch,
    pub store: DynamoStore,
    pub s3: aws_sdk_s3::Client,
}

/// The real OpenSearch 2.19 node the binary's tests share (started by the first that needs it;
/// it dies with the test process).
pub fn shared_target() -> &'static OpenSearch {
    static NODE: OnceLock<OpenSearch> = OnceLock::new();
    NODE.get_or_init(|| OpenSearch::start(Flavour::V2_19).expect("a real OpenSearch 2.19 node"))
}

impl Env {
    pub async fn start() -> Env {
        let dynamodb = DynamoDbLocal::start().expect("DynamoDB Local");
        let moto = Moto::start().expect("moto");
        let target = shared_target();
        let ddb_cfg = backfill_harness::sdk_config(&dynamodb.endpoint).await;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&ddb_cfg), TABLE);
        store.create_table().await.unwrap();
        let s3 = backfill_harness::s3_client(&backfill_harness::sdk_config(&moto.endpoint).await);
        Env {
            dynamodb,
            moto,
            target,
            store,
            s3,
        }
    }

    /// Uploads a repository directory to `s3://snapshots/<prefix>`.
    pub async fn upload(&self, dir: &Path, prefix: &str) -> String {
        backfill_harness::upload_dir(&self.s3, BUCKET, prefix, dir)
            .await
            .unwrap();
        format!("s3://{BUCKET}/{prefix}")
    }

    /// Creates a running backfill of every index of the snapshot, one item per shard.
    pub async fn backfill(
        &self,
        id: &str,
        local_repo: &Path,
        s3_repo: &str,
        snapshot: &str,
        target: &str,
        create_missing: bool,
    ) -> Vec<ItemKey> {
        let split = Default::default();
        self.backfill_split(
            id,
            local_repo,
            s3_repo,
            snapshot,
            target,
            create_missing,
            split,
        )
        .await
    }

    /// As [`Env::backfill`], with shards split into ranges by `split`.
    #[allow(clippy::too_many_arguments)]
    pub async fn backfill_split(
        &self,
        id: &str,
        local_repo: &Path,
        s3_repo: &str,
        snapshot: &str,
        target: &str,
        create_missing: bool,
        split: backfill_core::split::RangeSplit,
    ) -> Vec<ItemKey> {
        let source = SnapshotRef {
            repository: s3_repo.into(),
            name: snapshot.into(),
        };
        create_backfill_with(
            &self.store,
            id,
            local_repo,
            source,
            target,
            create_missing,
            split,
        )
        .await
    }

    /// A worker process for a backfill, with extra flags.
    pub fn worker(&self, id: &str, name: &str, args: &[&str]) -> Child {
        let table = ["--table", TABLE];
        let args: Vec<&str> = table.iter().chain(args).copied().collect();
        worker_process(&self.dynamodb, &self.moto, id, name, &args)
    }
}

/// Creates a running backfill `id` of every index of `source` (read from its local copy
/// `local_repo`) into `target`, one work item per shard; returns the items' keys.
pub async fn create_backfill(
    store: &DynamoStore,
    id: &str,
    local_repo: &Path,
    source: SnapshotRef,
    target: &str,
    create_missing: bool,
) -> Vec<ItemKey> {
    let split = Default::default();
    create_backfill_with(store, id, local_repo, source, target, create_missing, split).await
}

/// As [`create_backfill`], with shards split into ranges by `range_split`.
pub async fn create_backfill_with(
    store: &DynamoStore,
    id: &str,
    local_repo: &Path,
    source: SnapshotRef,
    target: &str,
    create_missing: bool,
    range_split: backfill_core::split::RangeSplit,
) -> Vec<ItemKey> {
    let repo = Repository::open(Arc::new(LocalDirectory::new(local_repo))).unwrap();
    let snap = repo.snapshot(&source.name).unwrap();
    let mut keys = Vec::new();
    for index in snap.index_names() {
        for shard in 0..snap.index(&index).unwrap().number_of_shards {
            keys.push(ItemKey::shard(&index, shard));
        }
    }
    let target = TargetRef {
        endpoint: target.into(),
    };
    store
        .create_backfill(&BackfillRecord {
            state: BackfillState::Running,
            create_missing_indices: create_missing,
            desired_workers: 1,
            range_split,
            ..BackfillRecord::new(id, source, target, backfill_core::lease::now_ms())
        })
        .await
        .unwrap();
    let new: Vec<NewItem> = keys
        .iter()
        .map(|k| NewItem {
            key: k.clone(),
            docs_expected: 0,
        })
        .collect();
    store.create_items(id, &new).await.unwrap();
    keys
}

/// A `backfill-worker` process of backfill `id` against these servers, with extra flags; its
/// output is piped.
pub fn worker_process(
    dynamodb: &DynamoDbLocal,
    moto: &Moto,
    id: &str,
    name: &str,
    args: &[&str],
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_backfill-worker"))
        .args(["--backfill-id", id, "--worker-id", name])
        .args(args)
        .env("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb.endpoint)
        .env("AWS_ENDPOINT_URL_S3", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("BACKFILL_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the worker")
}

/// Documents of `index` the target shows, after a refresh.
pub fn count(endpoint: &str, index: &str) -> u64 {
    let index = backfill_harness::encode_path_segment(index);
    backfill_harness::http_request(endpoint, "POST", &format!("/{index}/_refresh"), &[], b"")
        .unwrap();
    backfill_harness::http_request(endpoint, "GET", &format!("/{index}/_count"), &[], b"")
        .unwrap()
        .json()
        .unwrap()["count"]
        .as_u64()
        .unwrap_or(0)
}

/// Waits for a process to end; panics with its output after `timeout`.
pub fn wait(child: &mut Child, timeout: Duration) -> (i32, String, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            let mut err = String::new();
            use std::io::Read;
            if let Some(mut o) = child.stdout.take() {
                o.read_to_string(&mut out).unwrap();
            }
            if let Some(mut e) = child.stderr.take() {
                e.read_to_string(&mut err).unwrap();
            }
            return (status.code().unwrap_or(-1), out, err);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let (_, out, err) = wait(child, Duration::from_secs(5));
            panic!("worker did not finish in {timeout:?}\nstdout:\n{out}\nstderr:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sums a metric over the worker's EMF lines.
pub fn metric(stdout: &str, name: &str) -> f64 {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v.get(name).cloned())
        .map(|v| match v {
            Value::Array(a) => a.len() as f64,
            other => other.as_f64().unwrap_or(0.0),
        })
        .sum()
}

/// (index, id) → (routing, source as JSON) of every live document of a snapshot.
pub type Docs = BTreeMap<(String, String), (Option<String>, Value)>;

pub fn expected_docs(repo: &Path, snapshot: &str) -> Docs {
    let r = Repository::open(Arc::new(LocalDirectory::new(repo))).unwrap();
    let snap = r.snapshot(snapshot).unwrap();
    let mut out = Docs::new();
    for index in snap.index_names() {
        for shard in 0..snap.index(&index).unwrap().number_of_shards {
            for d in ShardReader::open(&snap, &index, shard, ReadOptions::default()).unwrap() {
                let d = d.unwrap().document;
                let v: Value = serde_json::from_slice(&d.source).unwrap();
                out.insert((index.clone(), d.id), (d.routing, v));
            }
        }
    }
    out
}

/// Checks that the target holds exactly the expected documents (sources compared as JSON
/// values: byte equality is `functions/cli/tests/real_to_real.rs`'s).
pub fn assert_target_has(endpoint: &str, want: &Docs) {
    let mut per_index: BTreeMap<&str, u64> = BTreeMap::new();
    for ((index, id), (routing, source)) in want {
        *per_index.entry(index).or_default() += 1;
        let mut path = format!(
            "/{}/_doc/{}",
            backfill_harness::encode_path_segment(index),
            backfill_harness::encode_path_segment(id)
        );
        if let Some(r) = routing {
            path.push_str(&format!(
                "?routing={}",
                backfill_harness::encode_path_segment(r)
            ));
        }
        let r = backfill_harness::http_request(endpoint, "GET", &path, &[], b"").unwrap();
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        let got = r.json().unwrap();
        assert_eq!(&got["_source"], source, "{index}/{id}");
        assert_eq!(
            got["_routing"].as_str(),
            routing.as_deref(),
            "{index}/{id} routing"
        );
    }
    backfill_harness::http_request(endpoint, "POST", "/_refresh", &[], b"").unwrap();
    for (index, n) in per_index {
        let r = backfill_harness::http_request(
            endpoint,
            "GET",
            &format!("/{}/_count", backfill_harness::encode_path_segment(index)),
            &[],
            b"",
        )
        .unwrap();
        assert_eq!(
            r.json().unwrap()["count"].as_u64(),
            Some(n),
            "documents in {index}"
        );
    }
}

pub fn lucene_data(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/lucene")
        .join(case)
}

#[allow(unused_imports)] // not every test binary reads the shared fixtures
pub use snapshot_testkit::shared_dir as shared;

/// Wraps generated Lucene indexes into a repository: (index name, shard directories).
pub fn repository(dir: &Path, indices: &[(&str, &[&str])]) -> PathBuf {
    let root = dir.join("repo");
    let mut b =
        snapshot_testkit::RepoBuilder::new(&root, snapshot_testkit::WriteOptions::default());
    for (name, shards) in indices {
        let dirs: Vec<PathBuf> = shards.iter().map(|c| lucene_data(c)).collect();
        b.add_index(
            name,
            &dirs,
            vec![],
            snapshot_testkit::lucene_cases_mapping(),
        );
    }
    b.write_snapshot("snap").unwrap();
    root
}
