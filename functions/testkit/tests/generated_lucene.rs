//! Indexes written by real Lucene 8.8, 9.8 and 10.5 (`tests/data/lucene/`, made by
//! `tests/generators/lucene/`) give exactly the live documents that real Lucene read back:
//! read as plain directories, and wrapped into snapshot repositories the way Elasticsearch
//! writes them (split `.partN` blobs, DEFLATE- or zstd-compressed metadata, inline `v__` files, several
//! shards and snapshots).

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use snapshot::lucene::Directory;
use snapshot::{LocalDirectory, Location, ReadOptions, Repository, ShardReader, ShardStats};
use snapshot_testkit::{HashedShardPaths, MetadataCompression, RepoBuilder, WriteOptions};

const CASES: [&str; 14] = [
    "l8_fast",
    "l8_best_compression",
    "l8_lucene70_dv",
    "l9_mixed",
    "l9_best_compression_large",
    "l9_fast_large",
    "l9_100k",
    "l10_mixed",
    "l10_best_compression",
    // zstd stored fields: Elasticsearch 8.16+ (both modes) and OpenSearch custom-codecs.
    "l9_es_zstd_best_compression",
    "l9_es_zstd_best_speed",
    "l9_os_zstd",
    "l9_os_zstd_no_dict",
    // Live documents without `_source` (disabled or synthetic), between ones with it.
    "l9_no_source",
];

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/lucene")
}

/// The documents of a case that can be migrated: those with a `_source` (`next_document`
/// passes over the others).
fn expected(case: &str) -> Vec<Value> {
    expected_lines(case)
        .into_iter()
        .filter(|l| l.get("no_source").is_none())
        .collect()
}

/// Every expected line of a case, documents without `_source` included; large lists are
/// committed gzipped.
fn expected_lines(case: &str) -> Vec<Value> {
    let plain = data_dir().join(format!("{case}.expected.ndjson"));
    let text = match std::fs::read_to_string(&plain) {
        Ok(t) => t,
        Err(_) => {
            let gz = std::fs::File::open(data_dir().join(format!("{case}.expected.ndjson.gz")))
                .unwrap_or_else(|e| panic!("{case}: no expected documents: {e}"));
            let mut t = String::new();
            flate2::read::GzDecoder::new(gz)
                .read_to_string(&mut t)
                .unwrap();
            t
        }
    };
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Everything a reader yields, in the expected list's shape (big sources by length and hash).
fn drain(case: &str, mut reader: ShardReader) -> (Vec<Value>, ShardStats) {
    let mut out = Vec::new();
    while let Some(d) = reader
        .next_document()
        .unwrap_or_else(|e| panic!("{case}: {e}"))
    {
        let src = d.document.source;
        let mut line = json!({"segment": d.segment, "docid": d.doc, "id": d.document.id, "routing": d.document.routing});
        let fields = line.as_object_mut().unwrap();
        if src.len() > 65_536 {
            fields.insert("source".into(), Value::Null);
            fields.insert("source_len".into(), json!(src.len()));
            let hex: String = Sha256::digest(&src)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            fields.insert("source_sha256".into(), json!(hex));
        } else {
            fields.insert("source".into(), json!(String::from_utf8(src).unwrap()));
        }
        out.push(line);
    }
    (out, reader.stats().clone())
}

fn read_directory(case: &str, opts: ReadOptions) -> (Vec<Value>, ShardStats) {
    let store = Arc::new(LocalDirectory::new(data_dir()));
    let dir = Directory::from_blob_folder(store, case).unwrap();
    let reader = ShardReader::from_directory(dir, Location::default(), opts).unwrap();
    drain(case, reader)
}

fn assert_same(case: &str, got: &[Value], want: &[Value]) {
    assert_eq!(got.len(), want.len(), "{case}: number of documents");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "{case}");
    }
}

#[test]
fn every_generated_index_gives_the_documents_real_lucene_read_back() {
    for case in CASES {
        let (got, stats) = read_directory(case, ReadOptions::default());
        assert_same(case, &got, &expected(case));
        let summary: Value = serde_json::from_str(
            &std::fs::read_to_string(data_dir().join(format!("{case}.summary.json"))).unwrap(),
        )
        .unwrap();
        let segments = summary["segments"].as_array().unwrap();
        let sum = |k: &str| -> u64 { segments.iter().map(|s| s[k].as_u64().unwrap()).sum() };
        assert_eq!(stats.nested_children, sum("nested_children"), "{case}");
        assert_eq!(stats.hard_deleted, sum("del_count"), "{case}");
        assert_eq!(stats.soft_deleted, sum("soft_del_count"), "{case}");
        assert_eq!(
            stats.without_source,
            summary["total_live_without_source"].as_u64().unwrap_or(0),
            "{case}"
        );
    }
}

#[test]
fn entries_name_every_document_without_source_where_it_stands() {
    // In commit and docid order, between the documents that have one; resuming after any
    // entry continues with the next.
    let case = "l9_no_source";
    let want = expected_lines(case);
    assert!(want.iter().filter(|l| l.get("no_source").is_some()).count() > 500);
    let store = Arc::new(LocalDirectory::new(data_dir()));
    let open = |at: Option<&snapshot::Position>| {
        let dir = Directory::from_blob_folder(store.clone(), case).unwrap();
        let mut r =
            ShardReader::from_directory(dir, Location::default(), ReadOptions::default()).unwrap();
        if let Some(p) = at {
            r.seek(p).unwrap();
        }
        r
    };
    let mut reader = open(None);
    let mut got = Vec::new();
    let mut positions = Vec::new();
    while let Some(entry) = reader.next_entry_ref().unwrap() {
        let (line, next) = match entry {
            snapshot::ShardEntryRef::Document(d) => (
                json!({"segment": d.segment, "docid": d.doc, "id": d.id, "routing": d.routing, "source": String::from_utf8(d.source.to_vec()).unwrap()}),
                d.next_position(),
            ),
            snapshot::ShardEntryRef::WithoutSource { id, next } => (
                json!({"segment": next.segment, "docid": next.doc - 1, "id": id, "routing": null, "source": null, "no_source": true}),
                next,
            ),
            other => panic!("no k-NN vectors here, yet {other:?}"),
        };
        got.push(line);
        positions.push(next);
    }
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        // An entry without `_source` names the document; its routing is not part of it.
        let mut w = w.clone();
        if w.get("no_source").is_some() {
            w["routing"] = Value::Null;
        }
        assert_eq!(g, &w);
    }
    for (i, p) in positions.iter().enumerate().step_by(97) {
        let mut r = open(Some(p));
        let next_id = match r.next_entry_ref().unwrap() {
            Some(snapshot::ShardEntryRef::Document(d)) => Some(d.id),
            Some(snapshot::ShardEntryRef::WithoutSource { id, .. }) => Some(id),
            Some(snapshot::ShardEntryRef::NotRebuilt { id, .. }) => Some(id),
            None => None,
        };
        assert_eq!(
            next_id.as_deref(),
            want.get(i + 1).map(|l| l["id"].as_str().unwrap()),
            "after entry {i}"
        );
    }
}

#[test]
fn small_read_windows_give_the_same_documents() {
    // A window far smaller than a chunk exercises every refill path.
    for case in [
        "l9_fast_large",
        "l8_fast",
        "l10_best_compression",
        "l9_es_zstd_best_compression",
        "l9_os_zstd",
    ] {
        let small = ReadOptions {
            read_size: 4096,
            ..ReadOptions::default()
        };
        assert_eq!(
            read_directory(case, small).0,
            read_directory(case, ReadOptions::default()).0,
            "{case}"
        );
    }
}

/// Wraps every case into one repository: each case an index; two of them as the two shards of
/// one index; a second snapshot that adds indices and reuses the first one's blobs.
fn write_repository(root: &std::path::Path, opts: WriteOptions) {
    let mut b = RepoBuilder::new(root, opts);
    let dir = |c: &str| data_dir().join(c);
    b.add_index(
        "two_shards",
        &[dir("l9_mixed"), dir("l10_mixed")],
        vec![],
        json!({"properties": {}}),
    );
    for case in &CASES[..4] {
        b.add_index(case, &[dir(case)], vec![], json!({"properties": {}}));
    }
    b.write_snapshot("first").unwrap();
    for case in &CASES[4..] {
        b.add_index(case, &[dir(case)], vec![], json!({"properties": {}}));
    }
    b.write_snapshot("second").unwrap();
}

fn read_index(repo: &Repository, snapshot: &str, index: &str, shard: u32) -> Vec<Value> {
    let snap = repo.snapshot(snapshot).unwrap();
    let reader = ShardReader::open(&snap, index, shard, ReadOptions::default())
        .unwrap_or_else(|e| panic!("{index}: {e}"));
    drain(index, reader).0
}

#[test]
fn generated_indexes_wrapped_into_repositories_read_back_exactly() {
    let layouts = [
        // ES 7.x+ with `compress: true` and `chunk_size: 64kb`.
        WriteOptions {
            compress: MetadataCompression::Deflate,
            part_size: Some(64 * 1024),
            virtual_small_files: true,
            ..WriteOptions::default()
        },
        // ES 6.8 style: uncompressed metadata, whole blobs, segments_N and .si uploaded too.
        WriteOptions {
            es_version_id: 6_082_399,
            ..WriteOptions::default()
        },
        // OpenSearch 2.17+ with `compression_type: zstd`, hashed shard paths (HASHED_INFIX
        // under a base path) and small parts: a stored-fields chunk (up to 80 KiB) spans
        // several part blobs.
        WriteOptions {
            compress: MetadataCompression::Zstd,
            hashed_shard_paths: Some(HashedShardPaths {
                path_type: 2,
                listed_prefix: "backups/os/".into(),
            }),
            part_size: Some(16 * 1024),
            ..WriteOptions::default()
        },
    ];
    for opts in layouts {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        let label = format!("{opts:?}");
        write_repository(&root, opts);
        let repo = Repository::open(Arc::new(LocalDirectory::new(&root))).unwrap();
        assert_eq!(repo.data().snapshots.len(), 2, "{label}");
        let second = repo.snapshot("second").unwrap();
        assert_eq!(second.index_names().len(), CASES.len() + 1, "{label}");
        for case in CASES {
            let snapshot = if CASES[..4].contains(&case) {
                "first"
            } else {
                "second"
            };
            assert_same(
                &format!("{case} in {snapshot} ({label})"),
                &read_index(&repo, snapshot, case, 0),
                &expected(case),
            );
        }
        assert_same(
            "two_shards/0",
            &read_index(&repo, "second", "two_shards", 0),
            &expected("l9_mixed"),
        );
        assert_same(
            "two_shards/1",
            &read_index(&repo, "second", "two_shards", 1),
            &expected("l10_mixed"),
        );
    }
}
