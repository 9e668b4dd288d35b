//! Repositories written by real OpenSearch nodes (2.19 and 3.9, from Maven Central, driven by
//! `tests/real-snapshots/generate.py`) give exactly the live documents the node held at each
//! snapshot: the same indices, the same `_id`, `_routing` and shard, and byte-equal `_source`.
//! They cover several segments per shard, soft deletes, full and partial updates, a
//! force-merged shard, nested documents, `_source` disabled, best_compression, an empty index,
//! unicode and documents over 1 MiB, two snapshots sharing files, and (2.17+) hashed shard
//! paths with compressed metadata and files in `.partN` blobs.

use std::collections::BTreeSet;
use std::sync::Arc;

use backfill_harness::{RealSnapshots, RealSource, TruthDocument};
use snapshot::{LocalDirectory, ReadOptions, Repository, ShardEntryRef, ShardReader};

/// Every live top-level document of every shard of `snapshot`, as the reader sees it, and
/// the nested children it passed over.
fn read(repo: &Repository, snapshot: &str) -> (Vec<TruthDocument>, BTreeSet<String>, u64) {
    let snap = repo.snapshot(snapshot).unwrap();
    let (mut docs, mut children) = (Vec::new(), 0);
    let indices: BTreeSet<String> = snap.index_names().into_iter().collect();
    for index in &indices {
        let meta = snap.index(index).unwrap();
        for shard in 0..meta.number_of_shards {
            let mut reader = ShardReader::open(&snap, index, shard, ReadOptions::default())
                .unwrap_or_else(|e| panic!("{snapshot} {index}/{shard}: {e}"));
            while let Some(entry) = reader
                .next_entry_ref()
                .unwrap_or_else(|e| panic!("{snapshot} {index}/{shard}: {e}"))
            {
                docs.push(match entry {
                    ShardEntryRef::Document(d) => TruthDocument {
                        index: index.clone(),
                        shard,
                        id: d.id,
                        routing: d.routing,
                        source: Some(String::from_utf8(d.source.to_vec()).unwrap()),
                    },
                    ShardEntryRef::WithoutSource { id, .. } => TruthDocument {
                        index: index.clone(),
                        shard,
                        id,
                        routing: None,
                        source: None,
                    },
                    ShardEntryRef::NotRebuilt { id, reason, .. } => {
                        panic!("{index}/{shard}: {id}: {reason}")
                    }
                });
            }
            children += reader.stats().nested_children;
        }
    }
    docs.sort();
    (docs, indices, children)
}

fn check(source: RealSource) {
    let real = RealSnapshots::get(source).unwrap_or_else(|e| panic!("{}: {e}", source.name()));
    assert!(!real.repositories.is_empty() && real.snapshots.len() == 2);
    for name in &real.repositories {
        let repo = Repository::open(Arc::new(LocalDirectory::new(real.repository(name)))).unwrap();
        for snapshot in &real.snapshots {
            let what = format!(
                "{} {} repository {name}, {snapshot}",
                real.engine, real.version
            );
            let want = real.truth(snapshot).unwrap();
            let summary = real.indices(snapshot).unwrap();
            let (got, indices, children) = read(&repo, snapshot);
            let want_indices: BTreeSet<String> =
                summary.as_object().unwrap().keys().cloned().collect();
            assert_eq!(indices, want_indices, "{what}: indices");
            assert!(want.len() > 1000, "{what}: only {} documents", want.len());
            assert_eq!(got.len(), want.len(), "{what}: document count");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g, w, "{what}: first difference");
            }
            // The nested children the node counts in `_cat/indices` are the ones passed over.
            let lucene: u64 = summary
                .as_object()
                .unwrap()
                .values()
                .map(|i| i["lucene_docs"].as_u64().unwrap())
                .sum();
            assert_eq!(
                got.len() as u64 + children,
                lucene,
                "{what}: documents + nested children"
            );
        }
    }
}

#[test]
fn opensearch_2_19_repositories_read_exactly_as_the_node_held_them() {
    check(RealSource::OpenSearch2_19);
}

#[test]
fn opensearch_3_9_repositories_read_exactly_as_the_node_held_them() {
    check(RealSource::OpenSearch3_9);
}

#[test]
fn elasticsearch_8_19_repositories_read_exactly_as_the_node_held_them() {
    check(RealSource::Elasticsearch8_19);
}

#[test]
fn elasticsearch_9_5_repositories_read_exactly_as_the_node_held_them() {
    check(RealSource::Elasticsearch9_5);
}
