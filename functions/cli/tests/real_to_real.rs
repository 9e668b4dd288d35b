//! Real to real: repositories written by real OpenSearch 2.19 and 3.9 and Elasticsearch 1.7,
//! 2.4, 8.19 and 9.5 nodes (`make real-snapshots`) are backfilled by the `backfill` binary and its local fleet
//! (DynamoDB Local, moto's S3 holding the repository, worker processes) into a real OpenSearch
//! node of the same flavour and of the other one. Afterwards every document the node held at
//! the snapshot is in the target with the same `_id`, `_routing` and byte-equal `_source`,
//! nothing else is there, and `clusters cat-indices --refresh` agrees.
//!
//! One target node per test (flavour), used by its backfills one after the other.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use backfill_harness::{
    http_request, DynamoDbLocal, Flavour, Moto, OpenSearch, RealSnapshots, RealSource,
    TruthDocument,
};
use common::{path, worker_logs, Cli, Teardown};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// One backfill: which engine wrote the repository, which of its repositories, which snapshot.
struct Case {
    source: RealSource,
    repository: &'static str,
    snapshot: &'static str,
    /// Documents the target is expected to refuse, as (target index, `_id`, error type).
    refused: &'static [(&'static str, &'static str, &'static str)],
}

/// Elasticsearch 1.x/2.x indices have mapping types: the two of `catalog` (with `_id`s in both)
/// go to an index each; the other indices have one type, which is dropped.
const LEGACY_TYPE_MAPPINGS: [(&str, &str, &str); 2] = [
    ("catalog", "book", "catalog_book"),
    ("catalog", "film", "catalog_film"),
];

#[test]
fn legacy_repositories_into_opensearch_2_19() {
    backfill_into(
        Flavour::V2_19,
        &[
            // LZF-compressed `_source` in `packed`; Lucene 4.10 segments.
            Case {
                source: RealSource::Elasticsearch1_7,
                repository: "plain",
                snapshot: "snap-1",
                refused: &[],
            },
            // Lucene 5.5 segments; compressed metadata and files in `.partN` blobs. In 2.x a
            // field has one mapping across the types of an index, and booleans are lenient:
            // the film `shared-1` holds `"patched": "film only"` in the book types' boolean
            // field, which OpenSearch refuses; it must be reported, not lost.
            Case {
                source: RealSource::Elasticsearch2_4,
                repository: "compressed",
                snapshot: "snap-2",
                refused: &[("catalog_film", "shared-1", "mapper_parsing_exception")],
            },
        ],
    );
}

#[test]
fn real_repositories_into_opensearch_2_19() {
    backfill_into(
        Flavour::V2_19,
        &[
            Case {
                source: RealSource::OpenSearch2_19,
                repository: "plain",
                snapshot: "snap-1",
                refused: &[],
            },
            Case {
                source: RealSource::OpenSearch3_9,
                repository: "hashed",
                snapshot: "snap-2",
                refused: &[],
            },
            Case {
                source: RealSource::Elasticsearch8_19,
                repository: "chunked",
                snapshot: "snap-2",
                refused: &[],
            },
        ],
    );
}

#[test]
fn real_repositories_into_opensearch_3_9() {
    backfill_into(
        Flavour::V3_9,
        &[
            Case {
                source: RealSource::OpenSearch3_9,
                repository: "plain",
                snapshot: "snap-1",
                refused: &[],
            },
            Case {
                source: RealSource::OpenSearch2_19,
                repository: "hashed",
                snapshot: "snap-2",
                refused: &[],
            },
            Case {
                source: RealSource::Elasticsearch9_5,
                repository: "plain",
                snapshot: "snap-1",
                refused: &[],
            },
        ],
    );
}

/// Vector indices of the k-NN plugin (lucene and faiss engines, derived source on and off, an
/// object and a nested vector) into a k-NN node: the vectors the snapshot does not hold in
/// `_source` are rebuilt and arrive.
/// The same on 2.19 (derived source opt-in there), where vectors inside `nested` fields cannot be
/// put back: each such document is reported, never sent without its vectors.
#[test]
fn knn_repositories_into_opensearch_2_19_with_knn() {
    backfill_into(
        Flavour::V2_19Knn,
        &[Case {
            source: RealSource::OpenSearch2_19Knn,
            repository: "plain",
            snapshot: "snap-2",
            refused: &[],
        }],
    );
}

#[test]
fn knn_repositories_into_opensearch_3_5_with_knn() {
    backfill_into(
        Flavour::V3_5Knn,
        &[Case {
            source: RealSource::OpenSearch3_5Knn,
            repository: "plain",
            snapshot: "snap-2",
            refused: &[],
        }],
    );
}

fn backfill_into(flavour: Flavour, cases: &[Case]) {
    let dynamodb = DynamoDbLocal::start().expect("DynamoDB Local (run `make harness`)");
    let moto = Moto::start().expect("moto (run `make harness`)");
    let target = OpenSearch::start(flavour).expect("a real OpenSearch node");
    for (k, case) in cases.iter().enumerate() {
        let real = RealSnapshots::get(case.source).unwrap();
        let legacy = case.source.is_legacy();
        let what = format!(
            "{} {} repository {}, {} -> OpenSearch {}",
            real.engine, real.version, case.repository, case.snapshot, target.version
        );
        let summary = real.indices(case.snapshot).unwrap();
        let indices: Vec<String> = summary.as_object().unwrap().keys().cloned().collect();
        delete_indices(&target.endpoint);

        let tmp = tempfile::tempdir().unwrap();
        let local = tmp.path().join("local");
        let _teardown = Teardown(local.clone());
        let cli = Cli { local: &local };
        let table = format!("real-{k}");
        cli.ok(&[
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
            path(&real.repository(case.repository)),
            "--snapshot",
            case.snapshot,
            "--table",
            &table,
            "--bucket",
            &table,
            "--create-missing-indices",
            "--default-workers",
            "2",
            "--checkpoint-seconds",
            "1",
        ]);
        let mut start = vec!["start".to_string()];
        if legacy {
            for (index, doc_type, target) in LEGACY_TYPE_MAPPINGS {
                start.push("--type-mapping".into());
                start.push(format!("{index}/{doc_type}={target}"));
            }
        }
        cli.ok(&start.iter().map(String::as_str).collect::<Vec<_>>());
        let watched = cli.run(
            &["status", "--watch", "--interval", "0.5"],
            Duration::from_secs(300),
        );
        assert_eq!(watched.code, 0, "{what}: {watched}");
        let shards: u64 = summary
            .as_object()
            .unwrap()
            .values()
            .map(|i| i["shards"].as_u64().unwrap())
            .sum();
        assert!(
            watched.stdout.contains(&format!(
                "every shard is done ({shards} completed, 0 failed)"
            )),
            "{what}: {watched}\nworker logs:\n{}",
            worker_logs(&local)
        );

        // Refused documents: each in the failed-documents report, and no other.
        let reported = common::reported_documents(&moto.endpoint, &table);
        let mut refused: Vec<(String, String, String)> = reported
            .iter()
            .filter(|r| r["error_type"] != "no_source")
            .map(|r| {
                let field = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (field("index"), field("id"), field("error_type"))
            })
            .collect();
        refused.sort();
        let mut want_refused: Vec<(String, String, String)> = case
            .refused
            .iter()
            .map(|(i, d, t)| (i.to_string(), d.to_string(), t.to_string()))
            .chain(not_rebuilt(
                &real.repository(case.repository),
                case.snapshot,
            ))
            .collect();
        want_refused.sort();
        assert_eq!(
            refused, want_refused,
            "{what}: refused documents {reported:?}"
        );

        // The counts: equal for every index but the one without `_source`, which is named.
        let no_source: Vec<&String> = indices
            .iter()
            .filter(|i| summary[i.as_str()]["source"] == json!(false))
            .collect();
        let cat = cli.run(
            &["clusters", "cat-indices", "--refresh"],
            Duration::from_secs(120),
        );
        // Exit 3: counts differ (the documents without `_source` were not sent, or were refused).
        let refused_in = |index: &str| want_refused.iter().filter(|r| r.0 == index).count() as u64;
        assert_eq!(
            cat.code,
            if no_source.is_empty() && want_refused.is_empty() {
                0
            } else {
                3
            },
            "{what}: {cat}\nworker logs:\n{}",
            worker_logs(&local)
        );
        let out = cat.stdout;
        for index in &indices {
            let line = out
                .lines()
                .find(|l| l.contains(&format!("MISMATCH {index}:")));
            if no_source.contains(&index) {
                let n = summary[index.as_str()]["documents"].as_u64().unwrap();
                assert!(line.is_some(), "{what}: {index} has no _source\n{out}");
                assert!(
                    out.contains(&format!(
                        "NO SOURCE {index}: {n} of its {n} documents have no _source"
                    )),
                    "{what}\n{out}"
                );
            } else if refused_in(index) == 0 {
                assert_eq!(line, None, "{what}: counts of {index}\n{out}");
            }
        }
        for (index, _, error_type) in &want_refused {
            let k = refused_in(index);
            if error_type == "vectors_not_rebuilt" {
                let line = format!("NOT REBUILT {index}: {k} of its");
                assert!(out.contains(&line), "{what}: no {line:?}\n{out}");
            }
            let line = out
                .lines()
                .find(|l| l.contains(&format!("MISMATCH {index}:")));
            assert!(
                line.is_some_and(|l| l.ends_with(&format!("({k} missing)"))),
                "{what}: {index} lacks its {k} refused document(s)\n{out}"
            );
        }

        // Indices were created from the snapshot's settings (the codec among them).
        if indices.iter().any(|i| i == "compressed") {
            assert_compressed_index_keeps_its_codec(&target.endpoint, &what);
        }

        // Every document, by `_id`, `_routing` and byte-equal `_source`; nothing extra.
        let (mut truth, indices) = if legacy {
            typed_into_targets(&real, case.snapshot, &indices)
        } else {
            (real.truth(case.snapshot).unwrap(), indices)
        };
        truth.retain(|d| !want_refused.iter().any(|r| r.0 == d.index && r.1 == d.id));
        assert_target_holds(&target.endpoint, &indices, &truth, &what, &local);
        if case.source == RealSource::OpenSearch3_5Knn {
            assert_exact_neighbours(&target.endpoint, &truth, &what);
        }
        eprintln!("{what}: {} documents compared", truth.len());
    }
}

/// The documents of a k-NN derived-source index whose vectors the reader cannot put back (2.19
/// vectors in `nested` fields): the worker must report each as `vectors_not_rebuilt`.
fn not_rebuilt(repo: &Path, snapshot: &str) -> Vec<(String, String, String)> {
    use snapshot::{LocalDirectory, ReadOptions, Repository, ShardEntryRef, ShardReader};
    let r = Repository::open(std::sync::Arc::new(LocalDirectory::new(repo))).unwrap();
    let snap = r.snapshot(snapshot).unwrap();
    let mut out = Vec::new();
    for index in snap.index_names() {
        for shard in 0..snap.index(&index).unwrap().number_of_shards {
            let mut reader =
                ShardReader::open(&snap, &index, shard, ReadOptions::default()).unwrap();
            while let Some(entry) = reader.next_entry_ref().unwrap() {
                if let ShardEntryRef::NotRebuilt { id, .. } = entry {
                    out.push((index.clone(), id, "vectors_not_rebuilt".to_string()));
                }
            }
        }
    }
    out
}

/// The ground truth of a 1.x/2.x snapshot with each document in the index its type goes to, and
/// the target's index names.
fn typed_into_targets(
    real: &RealSnapshots,
    snapshot: &str,
    indices: &[String],
) -> (Vec<TruthDocument>, Vec<String>) {
    let target_of = |index: &str, doc_type: &str| {
        LEGACY_TYPE_MAPPINGS
            .iter()
            .find(|(i, t, _)| *i == index && *t == doc_type)
            .map_or(index.to_string(), |(_, _, target)| target.to_string())
    };
    let truth = real
        .typed_truth(snapshot)
        .unwrap()
        .into_iter()
        .map(|d| TruthDocument {
            index: target_of(&d.doc.index, &d.doc_type),
            ..d.doc
        })
        .collect();
    let mut targets: Vec<String> = indices
        .iter()
        .filter(|i| !LEGACY_TYPE_MAPPINGS.iter().any(|(index, _, _)| index == i))
        .cloned()
        .collect();
    targets.extend(LEGACY_TYPE_MAPPINGS.iter().map(|(_, _, t)| t.to_string()));
    (truth, targets)
}

fn assert_compressed_index_keeps_its_codec(endpoint: &str, what: &str) {
    let r = http_request(
        endpoint,
        "GET",
        "/compressed/_settings?flat_settings=true",
        &[],
        b"",
    )
    .unwrap();
    let settings = r.json().unwrap();
    assert_eq!(
        settings["compressed"]["settings"]["index.codec"], "best_compression",
        "{what}: {settings}"
    );
}

/// An exact k-NN query (the plugin's `knn_score` script, L2) on the target returns the
/// neighbours the snapshot's vectors give: for the top-level `vec` of each k-NN index, the ten
/// nearest distances equal those computed from the node's own `_source`, and each hit's
/// distance is its vector's.
fn assert_exact_neighbours(endpoint: &str, truth: &[TruthDocument], what: &str) {
    let mut by_index: BTreeMap<&str, Vec<(&str, Vec<f64>)>> = BTreeMap::new();
    for d in truth {
        let source: Value = serde_json::from_str(d.source.as_deref().unwrap()).unwrap();
        if let Some(v) = source["vec"].as_array() {
            let v = v.iter().map(|x| x.as_f64().unwrap()).collect();
            by_index.entry(&d.index).or_default().push((&d.id, v));
        }
    }
    assert!(
        by_index.len() >= 4,
        "{what}: k-NN indices {:?}",
        by_index.keys()
    );
    let l2 = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    for (index, docs) in &by_index {
        let query = &docs[docs.len() / 2].1;
        let body = json!({"size": 10, "query": {"script_score": {
            "query": {"match_all": {}},
            "script": {"source": "knn_score", "lang": "knn",
                       "params": {"field": "vec", "query_value": query, "space_type": "l2"}}}}});
        let r = http_request(
            endpoint,
            "POST",
            &format!("/{index}/_search"),
            &[("content-type", "application/json")],
            &serde_json::to_vec(&body).unwrap(),
        )
        .unwrap();
        assert_eq!(r.status, 200, "{what}: {index}: {}", r.text());
        let hits = r.json().unwrap()["hits"]["hits"]
            .as_array()
            .unwrap()
            .clone();
        let mut want: Vec<f64> = docs.iter().map(|(_, v)| l2(v, query)).collect();
        want.sort_by(f64::total_cmp);
        want.truncate(10);
        let vectors: BTreeMap<&str, &Vec<f64>> = docs.iter().map(|(id, v)| (*id, v)).collect();
        let got: Vec<f64> = hits
            .iter()
            .map(|h| l2(vectors[h["_id"].as_str().unwrap()], query))
            .collect();
        // The node computes in f32: neighbours at nearly the same distance may trade places.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(b.abs());
        assert!(
            got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| close(*g, *w)),
            "{what}: {index}: nearest distances {got:?}, expected {want:?}"
        );
        for (h, d) in hits.iter().zip(&got) {
            // The score is 1 / (1 + squared L2).
            let score = h["_score"].as_f64().unwrap();
            assert!(
                (score * (1.0 + d) - 1.0).abs() < 1e-3,
                "{what}: {index}: {h}"
            );
        }
    }
}

/// Empties the target of the previous case's indices.
fn delete_indices(endpoint: &str) {
    let r = http_request(endpoint, "GET", "/_cat/indices?format=json", &[], b"").unwrap();
    let listed: Vec<Value> = serde_json::from_slice(&r.body).unwrap();
    for i in &listed {
        let index = i["index"].as_str().unwrap();
        if index.starts_with('.') {
            continue;
        }
        let r = http_request(
            endpoint,
            "DELETE",
            &format!("/{}", backfill_harness::encode_path_segment(index)),
            &[],
            b"",
        )
        .unwrap();
        assert!(
            r.status == 200 || r.status == 404,
            "DELETE {index}: {}",
            r.text()
        );
    }
}

#[derive(serde::Deserialize)]
struct Got {
    _index: String,
    _id: String,
    found: bool,
    #[serde(default)]
    _routing: Option<String>,
    #[serde(default)]
    _source: Option<Box<RawValue>>,
}

#[derive(serde::Deserialize)]
struct Mget {
    docs: Vec<Got>,
}

fn assert_target_holds(
    endpoint: &str,
    snapshot_indices: &[String],
    truth: &[TruthDocument],
    what: &str,
    local: &Path,
) {
    let movable: Vec<&TruthDocument> = truth.iter().filter(|d| d.source.is_some()).collect();
    for batch in movable.chunks(200) {
        let docs: Vec<Value> = batch
            .iter()
            .map(|d| {
                let mut v = json!({"_index": d.index, "_id": d.id});
                if let Some(r) = &d.routing {
                    v["routing"] = json!(r);
                }
                v
            })
            .collect();
        let body = serde_json::to_vec(&json!({ "docs": docs })).unwrap();
        let r = http_request(
            endpoint,
            "POST",
            "/_mget",
            &[("content-type", "application/json")],
            &body,
        )
        .unwrap();
        assert_eq!(r.status, 200, "{what}: _mget: {}", r.text());
        let got: Mget = serde_json::from_slice(&r.body).unwrap();
        for (want, got) in batch.iter().zip(got.docs) {
            let name = format!("{what}: {}/{}", want.index, want.id);
            assert_eq!(
                (got._index.as_str(), got._id.as_str()),
                (want.index.as_str(), want.id.as_str())
            );
            assert!(
                got.found,
                "{name} is missing\nworker logs:\n{}",
                worker_logs(local)
            );
            assert_eq!(got._routing, want.routing, "{name}: routing");
            assert_eq!(
                got._source.as_ref().map(|s| s.get()),
                want.source.as_deref(),
                "{name}: _source"
            );
        }
    }
    // Nothing else: each index holds as many top-level documents as were moved into it, and
    // no index is there that the snapshot does not have.
    let mut per_index: BTreeMap<&str, u64> = BTreeMap::new();
    for d in &movable {
        *per_index.entry(&d.index).or_default() += 1;
    }
    for index in snapshot_indices
        .iter()
        .filter(|i| per_index.contains_key(i.as_str()))
    {
        let r = http_request(
            endpoint,
            "GET",
            &format!("/{}/_count", backfill_harness::encode_path_segment(index)),
            &[],
            b"",
        )
        .unwrap();
        let n = r.json().unwrap()["count"].as_u64();
        assert_eq!(
            n,
            per_index.get(index.as_str()).copied(),
            "{what}: documents in {index}"
        );
    }
    let r = http_request(endpoint, "GET", "/_cat/indices?format=json", &[], b"").unwrap();
    let listed: Vec<Value> = serde_json::from_slice(&r.body).unwrap();
    for i in &listed {
        let name = i["index"].as_str().unwrap();
        assert!(
            name.starts_with('.') || snapshot_indices.iter().any(|i| i == name),
            "{what}: the target holds an index the snapshot does not: {name}"
        );
    }
}
