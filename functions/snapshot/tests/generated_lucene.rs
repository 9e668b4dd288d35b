//! Indexes written by real Lucene 8.8, 9.8 and 10.5 (`tests/data/lucene/`, see
//! `tests/generators/lucene/`) give exactly the live documents that real Lucene read back.

mod common;

use std::io::Read;
use std::sync::Arc;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use snapshot::lucene::Directory;
use snapshot::{LocalDirectory, Location, ReadOptions, ShardReader};

pub const CASES: [&str; 8] = [
    "l8_fast",
    "l8_best_compression",
    "l9_mixed",
    "l9_best_compression_large",
    "l9_fast_large",
    "l9_100k",
    "l10_mixed",
    "l10_best_compression",
];

fn data_dir() -> std::path::PathBuf {
    common::project_dir().join("tests/data/lucene")
}

/// The expected lines; large lists are committed gzipped.
fn expected(case: &str) -> Vec<Value> {
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

/// What we read, in the expected list's shape (big sources by length and SHA-256).
fn read(case: &str, opts: ReadOptions) -> (Vec<Value>, snapshot::ShardStats) {
    let store = Arc::new(LocalDirectory::new(data_dir()));
    let dir = Directory::from_blob_folder(store, case).unwrap();
    let mut reader = ShardReader::from_directory(dir, Location::default(), opts).unwrap();
    let mut out = Vec::new();
    while let Some(d) = reader
        .next_document()
        .unwrap_or_else(|e| panic!("{case}: {e}"))
    {
        let src = d.document.source;
        let source = if src.len() > 65_536 {
            json!({"source": null, "source_len": src.len(), "source_sha256": hex(&Sha256::digest(&src))})
        } else {
            json!({"source": String::from_utf8(src).unwrap()})
        };
        let mut line = json!({"segment": d.segment, "docid": d.doc, "id": d.document.id, "routing": d.document.routing});
        line.as_object_mut()
            .unwrap()
            .extend(source.as_object().unwrap().clone());
        out.push(line);
    }
    (out, reader.stats().clone())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn every_generated_index_gives_the_documents_real_lucene_read_back() {
    for case in CASES {
        let want = expected(case);
        let (got, stats) = read(case, ReadOptions::default());
        assert_eq!(got.len(), want.len(), "{case}: number of documents");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{case}");
        }
        let summary: Value = serde_json::from_str(
            &std::fs::read_to_string(data_dir().join(format!("{case}.summary.json"))).unwrap(),
        )
        .unwrap();
        let nested: u64 = summary["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["nested_children"].as_u64().unwrap())
            .sum();
        assert_eq!(
            stats.nested_children, nested,
            "{case}: nested children skipped"
        );
        assert_eq!(stats.without_source, 0, "{case}");
    }
}

#[test]
fn small_read_windows_give_the_same_documents() {
    // A window far smaller than a chunk forces every refill path.
    for case in ["l9_fast_large", "l8_fast", "l10_best_compression"] {
        let small = ReadOptions {
            read_size: 4096,
            ..ReadOptions::default()
        };
        assert_eq!(
            read(case, small).0,
            read(case, ReadOptions::default()).0,
            "{case}"
        );
    }
}
