//! Shards written by Lucene 4.10.4 (Elasticsearch 1.x) and 5.5.5 (Elasticsearch 2.x) read through
//! `ShardReader` give exactly the live documents that the same Lucene read back
//! (`tests/generators/lucene/generate.sh`, cases `l4_*` and `l5_*`).

mod common;

use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};
use snapshot::{LocalDirectory, ReadOptions, ShardReader};

fn case_dir(case: &str) -> std::path::PathBuf {
    common::project_dir().join("tests/data/lucene").join(case)
}

fn summary(case: &str) -> Value {
    let path = common::project_dir().join(format!("tests/data/lucene/{case}.summary.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn open(case: &str) -> ShardReader {
    let store = Arc::new(LocalDirectory::new(case_dir(case)));
    let dir = snapshot::lucene::Directory::from_blob_folder(store, "").unwrap();
    ShardReader::from_directory(dir, Default::default(), ReadOptions::default())
        .unwrap_or_else(|e| panic!("{case}: {e}"))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Reads the whole shard and compares it, document by document, with `<case>.expected.ndjson`.
fn reads_as_lucene_does(case: &str) {
    let expected = std::fs::read_to_string(
        common::project_dir().join(format!("tests/data/lucene/{case}.expected.ndjson")),
    )
    .unwrap();
    let mut reader = open(case);
    let mut n = 0;
    for line in expected.lines() {
        let want: Value = serde_json::from_str(line).unwrap();
        let got = reader
            .next_document()
            .unwrap_or_else(|e| panic!("{case}: {e}"))
            .unwrap_or_else(|| panic!("{case}: ends before {line}"));
        let at = format!("{case} {}:{}", got.segment, got.doc);
        assert_eq!(got.segment, want["segment"].as_str().unwrap(), "{at}");
        assert_eq!(got.doc as u64, want["docid"].as_u64().unwrap(), "{at}");
        let d = &got.document;
        assert_eq!(d.id, want["id"].as_str().unwrap(), "{at}");
        assert_eq!(d.doc_type.as_deref(), want["type"].as_str(), "{at}");
        assert_eq!(d.routing.as_deref(), want["routing"].as_str(), "{at}");
        match want["source"].as_str() {
            Some(s) => assert_eq!(std::str::from_utf8(&d.source).unwrap(), s, "{at}"),
            None => {
                assert_eq!(
                    d.source.len() as u64,
                    want["source_len"].as_u64().unwrap(),
                    "{at}"
                );
                assert_eq!(
                    hex(&Sha256::digest(&d.source)),
                    want["source_sha256"].as_str().unwrap(),
                    "{at}"
                );
            }
        }
        n += 1;
    }
    assert!(
        reader.next_document().unwrap().is_none(),
        "{case}: more documents than Lucene"
    );
    let s = summary(case);
    assert_eq!(n, s["total_live_with_id"].as_u64().unwrap());
    let stats = reader.stats();
    assert_eq!(
        stats.nested_children,
        s["total_nested_children"].as_u64().unwrap()
    );
    let segs = s["segments"].as_array().unwrap();
    assert_eq!(stats.segments, segs.len());
    let field = |k: &str| segs.iter().map(|g| g[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(stats.max_docs, field("max_doc"));
    assert_eq!(stats.hard_deleted, field("del_count"));
}

/// The file headers the generator found in a case (`file -> "Codec vN …"`), to check that a case
/// holds the formats a test means to cover.
fn headers(case: &str) -> Vec<String> {
    summary(case)["segments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["file_headers"].as_object().unwrap().values())
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn has_header(case: &str, prefix: &str) -> bool {
    headers(case).iter().any(|h| h.starts_with(prefix))
}

#[test]
fn lucene_4_10_compound_segments_with_dgaps_and_dense_deletes_read_as_lucene_does() {
    for want in [
        "Lucene46SegmentInfo v1",
        "CompoundFileWriterEntries v1",
        "Lucene41StoredFieldsData v2",
        "Lucene46FieldInfos v2",
        "-2, BitVector v2, d-gaps",
        "-2, BitVector v2, bits",
    ] {
        assert!(has_header("l4_default", want), "l4_default lacks {want}");
    }
    reads_as_lucene_does("l4_default");
}

#[test]
fn lucene_4_10_plain_segments_read_as_lucene_does() {
    assert!(!has_header("l4_noncompound", "CompoundFileWriter"));
    reads_as_lucene_does("l4_noncompound");
}

#[test]
fn lucene_5_5_compound_segments_with_lz4_read_as_lucene_does() {
    for want in [
        "Lucene50SegmentInfo v1",
        "Lucene50CompoundEntries v0",
        "Lucene50StoredFieldsFastData v1",
        "Lucene50FieldInfos v1",
        "Lucene50LiveDocs v0",
    ] {
        assert!(has_header("l5_default", want), "l5_default lacks {want}");
    }
    reads_as_lucene_does("l5_default");
}

#[test]
fn lucene_5_5_best_compression_reads_as_lucene_does() {
    assert!(has_header(
        "l5_best_compression",
        "Lucene50StoredFieldsHighData v1"
    ));
    reads_as_lucene_does("l5_best_compression");
}

#[test]
fn lzf_compressed_sources_of_elasticsearch_1_come_out_as_the_json() {
    let s = summary("l4_lzf_source");
    assert!(s["lzf_compressed_sources_written"].as_u64().unwrap() > 1000);
    assert!(has_header("l4_lzf_source", "Lucene41StoredFieldsData v2"));
    reads_as_lucene_does("l4_lzf_source");
}

/// The first `_source` of `l4_lzf_source` that the generator stored compressed, as stored.
fn first_lzf_source() -> (Vec<u8>, String) {
    use snapshot::lucene::stored_fields::fields::{FieldIter, StoredValue};
    use snapshot::lucene::{read_commit, SegmentReader};
    let store = Arc::new(LocalDirectory::new(case_dir("l4_lzf_source")));
    let dir = snapshot::lucene::Directory::from_blob_folder(store, "").unwrap();
    let commit = read_commit(&dir).unwrap();
    let mut seg = SegmentReader::open(&dir, &commit.segments[0], &ReadOptions::default()).unwrap();
    let source_field = seg.field_infos.by_name("_source").unwrap().number;
    let encoding = seg.stored_fields().format().field_encoding();
    let raw = seg.next_live().unwrap().unwrap();
    let stored = FieldIter::new(raw.bytes, raw.num_fields, encoding)
        .map(Result::unwrap)
        .find_map(|(n, v)| match v {
            StoredValue::Binary(b) if n == source_field => Some(b.to_vec()),
            _ => None,
        })
        .unwrap();
    let expected = std::fs::read_to_string(
        common::project_dir().join("tests/data/lucene/l4_lzf_source.expected.ndjson"),
    )
    .unwrap();
    let first: Value = serde_json::from_str(expected.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["lzf"], true,
        "the first document was stored compressed"
    );
    (stored, first["source"].as_str().unwrap().to_string())
}

#[test]
fn an_lzf_source_decodes_and_a_cut_one_is_named_as_such() {
    let (stored, json) = first_lzf_source();
    assert!(snapshot::lzf::is_compressed(&stored));
    let mut out = Vec::new();
    snapshot::lzf::decompress(&stored, &mut out).unwrap();
    assert_eq!(out, json.as_bytes());
    let e = snapshot::lzf::decompress(&stored[..stored.len() - 1], &mut out).unwrap_err();
    assert!(e.to_string().contains("cut off"), "{e}");
}

/// An Elasticsearch 2.x shard of an index created by 1.x: a Lucene 5 commit that lists Lucene 4
/// segments (without segment ids; Lucene 5 wrote their new deletes as `.del` files) next to a
/// Lucene 5 segment.
#[test]
fn lucene_4_segments_in_a_lucene_5_commit_read_as_lucene_does() {
    let s = summary("l5_upgraded_l4");
    let codecs: Vec<&str> = s["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["codec"].as_str().unwrap())
        .collect();
    assert_eq!(codecs, ["Lucene410", "Lucene410", "Lucene410", "Lucene54"]);
    assert!(has_header("l5_upgraded_l4", "-2, BitVector v2"));
    let commit = {
        let store = Arc::new(LocalDirectory::new(case_dir("l5_upgraded_l4")));
        let dir = snapshot::lucene::Directory::from_blob_folder(store, "").unwrap();
        snapshot::lucene::read_commit(&dir).unwrap()
    };
    assert_eq!(commit.format, 6);
    let ids: Vec<bool> = commit.segments.iter().map(|g| g.id.is_some()).collect();
    assert_eq!(ids, [false, false, false, true]);
    reads_as_lucene_does("l5_upgraded_l4");
}
