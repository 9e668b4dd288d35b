//! Worker processes against a real OpenSearch node: DynamoDB Local and moto's S3 shared by every
//! test of the binary (started on first use, gone with the test process), a table and backfill
//! per test, and what the tests read back from the node (documents by `_mget`, counts, thread
//! pool statistics) and from S3 (the failed-documents reports).

#![allow(dead_code)]

use std::path::Path;
use std::process::Child;
use std::sync::OnceLock;

use backfill_aws::DynamoStore;
use backfill_core::model::{ItemKey, SnapshotRef};
use backfill_core::{WorkItem, WorkStore};
use backfill_harness::{http_request, DynamoDbLocal, Moto};
use serde_json::{json, Value};

use crate::common::{count, Docs, BUCKET};

/// One DynamoDB Local and one moto for the whole binary: each test has its own table, bucket
/// prefixes and index names. (SDK clients are made per test: a client's connections belong to
/// the runtime of the test that opened them.)
fn servers() -> &'static (DynamoDbLocal, Moto) {
    static SERVERS: OnceLock<(DynamoDbLocal, Moto)> = OnceLock::new();
    SERVERS.get_or_init(|| {
        (
            DynamoDbLocal::start().expect("DynamoDB Local (run `make harness`)"),
            Moto::start().expect("moto (run `make harness`)"),
        )
    })
}

/// Starts DynamoDB Local and moto in the background, so that they come up while the test
/// starts its OpenSearch node.
pub fn warm_up() {
    std::thread::spawn(servers);
}

/// One test's backfill: its table, its snapshot in S3, its worker processes.
pub struct RealEnv {
    pub store: DynamoStore,
    pub s3: aws_sdk_s3::Client,
    pub table: String,
    pub id: String,
}

impl RealEnv {
    /// A fresh table named after the test; the backfill is `bf`.
    pub async fn new(name: &str) -> RealEnv {
        let (dynamodb, moto) = servers();
        let table = format!("real-{name}");
        let cfg = backfill_harness::sdk_config(&dynamodb.endpoint).await;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&cfg), &table);
        store.create_table().await.unwrap();
        let s3 = backfill_harness::s3_client(&backfill_harness::sdk_config(&moto.endpoint).await);
        s3.create_bucket()
            .bucket(format!("reports-{table}"))
            .send()
            .await
            .unwrap();
        RealEnv {
            store,
            s3,
            table,
            id: "bf".into(),
        }
    }

    /// Uploads a repository to `s3://snapshots/<table>` and creates a running backfill of every
    /// index of its snapshot `snap` into `target`, one item per shard.
    pub async fn backfill(&self, repo: &Path, target: &str, create_missing: bool) -> Vec<ItemKey> {
        backfill_harness::upload_dir(&self.s3, BUCKET, &self.table, repo)
            .await
            .unwrap();
        let source = SnapshotRef {
            repository: format!("s3://{BUCKET}/{}", self.table),
            name: "snap".into(),
        };
        crate::common::create_backfill(&self.store, &self.id, repo, source, target, create_missing)
            .await
    }

    /// A worker process of this backfill, with extra flags; its failed-documents reports go to
    /// S3 (read back by [`RealEnv::reported`]).
    pub fn worker(&self, name: &str, args: &[&str]) -> Child {
        let (dynamodb, moto) = servers();
        let reports = format!("s3://reports-{}/failed", self.table);
        let own = ["--table", &self.table, "--reports", &reports];
        let args: Vec<&str> = own.iter().chain(args).copied().collect();
        crate::common::worker_process(dynamodb, moto, &self.id, name, &args)
    }

    /// Every line of the failed-documents reports of `index`.
    pub async fn reported(&self, index: &str) -> Vec<Value> {
        let bucket = format!("reports-{}", self.table);
        let prefix = format!("failed/failed-documents/{}/{index}/", self.id);
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .send()
            .await
            .unwrap();
        let mut lines = Vec::new();
        for object in listed.contents() {
            let body = self
                .s3
                .get_object()
                .bucket(&bucket)
                .key(object.key().unwrap())
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes();
            for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                lines.push(serde_json::from_slice(line).unwrap());
            }
        }
        lines
    }

    pub async fn item(&self, index: &str, shard: u32) -> WorkItem {
        let items = self.store.items(&self.id).await.unwrap();
        items
            .into_iter()
            .find(|i| i.key.index == index && i.key.shard == shard)
            .unwrap_or_else(|| panic!("no item {index}/{shard}"))
    }
}

/// A JSON request to the node: its status and answer.
pub fn call(endpoint: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let headers: &[(&str, &str)] = if body.is_empty() {
        &[]
    } else {
        &[("content-type", "application/json")]
    };
    let r = http_request(endpoint, method, path, headers, body.as_bytes())
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    (r.status, r.json().unwrap_or(Value::Null))
}

/// Creates an index on the node (settings and mappings in `body`).
pub fn create_index(endpoint: &str, index: &str, body: Value) {
    let (status, answer) = call(endpoint, "PUT", &format!("/{index}"), Some(body));
    assert_eq!(status, 200, "creating {index}: {answer}");
}

/// (GET rather than HEAD: the harness's client reads a body as long as the length announced.)
pub fn index_exists(endpoint: &str, index: &str) -> bool {
    call(endpoint, "GET", &format!("/{index}"), None).0 == 200
}

/// Write-pool rejections the node counted since it started.
pub fn write_rejections(endpoint: &str) -> u64 {
    let (_, stats) = call(endpoint, "GET", "/_nodes/stats/thread_pool", None);
    let nodes = stats["nodes"].as_object();
    nodes
        .and_then(|nodes| {
            nodes
                .values()
                .map(|n| n["thread_pool"]["write"]["rejected"].as_u64())
                .sum()
        })
        .unwrap_or_else(|| panic!("not node statistics: {stats}"))
}

/// The node holds exactly `want`: each document with its `_routing` and `_source` (as JSON),
/// read back with `_mget` (a GET per document is too slow for thousands), and nothing more in
/// the indices `want` names.
pub fn assert_node_holds(endpoint: &str, want: &Docs) {
    let mut per_index: std::collections::BTreeMap<&str, Vec<_>> = Default::default();
    for ((index, id), (routing, source)) in want {
        per_index
            .entry(index)
            .or_default()
            .push((id, routing, source));
    }
    for (index, docs) in per_index {
        for chunk in docs.chunks(500) {
            let asked: Vec<Value> = chunk
                .iter()
                .map(|(id, routing, _)| match routing {
                    Some(r) => json!({"_id": id, "routing": r}),
                    None => json!({"_id": id}),
                })
                .collect();
            let path = format!("/{index}/_mget");
            let (status, answer) = call(endpoint, "POST", &path, Some(json!({"docs": asked})));
            assert_eq!(status, 200, "{path}: {answer}");
            for ((id, routing, source), got) in chunk.iter().zip(answer["docs"].as_array().unwrap())
            {
                assert_eq!(got["found"], true, "{index}/{id} is missing: {got}");
                assert_eq!(&got["_source"], *source, "{index}/{id} _source");
                assert_eq!(
                    got["_routing"].as_str(),
                    routing.as_deref(),
                    "{index}/{id} routing"
                );
            }
        }
        assert_eq!(
            count(endpoint, index),
            docs.len() as u64,
            "documents in {index}"
        );
    }
}
