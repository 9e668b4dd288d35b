//! A shard read in ranges: the ranges together give exactly the documents one reader gives,
//! in the same order, wherever the boundaries fall (segment starts, mid-segment, on deleted
//! documents, between nested children and their parent).

mod common;

use std::sync::Arc;

use snapshot::{LocalDirectory, Position, ReadOptions, ShardReader};

fn open(case: &str) -> ShardReader {
    let path = common::project_dir().join("tests/data/lucene").join(case);
    let store = Arc::new(LocalDirectory::new(&path));
    let dir = snapshot::lucene::Directory::from_blob_folder(store, "").unwrap();
    ShardReader::from_directory(dir, Default::default(), ReadOptions::default()).unwrap()
}

/// (id, source) of every document from `from` up to `to`, through positions in their text
/// form without a chunk (as a range's bounds are stored).
fn read(case: &str, from: &Position, to: Option<&Position>) -> Vec<(String, Vec<u8>)> {
    let mut r = open(case);
    let from: Position = from.to_string().parse().unwrap();
    r.seek(&from).unwrap();
    r.set_end(to).unwrap();
    let mut out = Vec::new();
    while let Some(d) = r.next_document().unwrap() {
        out.push((d.document.id, d.document.source));
    }
    out
}

fn at(segment: &str, doc: u32) -> Position {
    Position {
        segment: segment.into(),
        doc,
        chunk: None,
    }
}

#[test]
fn ranges_of_a_shard_give_every_document_once_in_order() {
    for case in ["l9_mixed", "l10_mixed", "l8_best_compression", "l9_100k"] {
        let whole = read(case, &Position::start(), None);
        let sizes = open(case).segment_sizes().unwrap();
        // l9_100k is one segment of 100,000 documents: cut inside it only.
        assert!(
            sizes.len() > 1 || case == "l9_100k",
            "{case}: several segments"
        );
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                common::project_dir().join(format!("tests/data/lucene/{case}.summary.json")),
            )
            .unwrap(),
        )
        .unwrap();
        let live: u64 = summary["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["live_docs"].as_u64().unwrap())
            .sum();
        assert_eq!(sizes.iter().map(|s| s.live).sum::<u64>(), live, "{case}");
        assert!(sizes.iter().all(|s| s.bytes > 0), "{case}: {sizes:?}");

        // Boundaries: each segment's start, its middle, one before its end, and a few odd ones.
        let mut bounds = Vec::new();
        for s in &sizes {
            for doc in [
                0,
                1,
                s.max_doc / 3,
                s.max_doc / 2,
                s.max_doc.saturating_sub(1),
            ] {
                bounds.push(at(&s.name, doc));
            }
        }
        bounds.dedup();
        // Two and three ranges over many cuts; every cut must lose and repeat nothing.
        for (i, b) in bounds.iter().enumerate() {
            let mut got = read(case, &Position::start(), Some(b));
            got.extend(read(case, b, None));
            assert_eq!(got, whole, "{case}: cut at {b}");
            if let Some(c) = bounds.get(i + bounds.len() / 2) {
                let mut got = read(case, &Position::start(), Some(b));
                got.extend(read(case, b, Some(c)));
                got.extend(read(case, c, None));
                assert_eq!(got, whole, "{case}: cuts at {b} and {c}");
            }
        }
    }
}

#[test]
fn an_empty_range_reads_nothing_and_an_unknown_end_is_named() {
    let sizes = open("l9_mixed").segment_sizes().unwrap();
    let b = at(&sizes[1].name, 3);
    assert!(read("l9_mixed", &b, Some(&b)).is_empty());
    let err = open("l9_mixed").set_end(Some(&at("_zz", 0))).unwrap_err();
    assert!(err.to_string().contains("_zz"), "{err}");
}

/// The chunk index (Lucene 8.7+ `.fdm`/`.fdx`) names, for every document, the chunk a
/// sequential read finds it in: a range starting inside a segment begins there, decoding
/// nothing before it.
#[test]
fn the_chunk_index_finds_each_documents_chunk() {
    use snapshot::lucene::segment::SegmentReader;
    let cases = [
        "l8_best_compression",
        "l8_fast",
        "l9_100k",
        "l9_mixed",
        "l9_es_zstd_best_speed",
        "l9_os_zstd",
        "l10_mixed",
        "l10_best_compression",
    ];
    for case in cases {
        let path = common::project_dir().join("tests/data/lucene").join(case);
        let store = Arc::new(LocalDirectory::new(&path));
        let dir = snapshot::lucene::Directory::from_blob_folder(store, "").unwrap();
        let commit = snapshot::lucene::read_commit(&dir).unwrap();
        let mut checked = 0;
        for sci in &commit.segments {
            let opts = ReadOptions::default();
            let mut seq = SegmentReader::open(&dir, sci, &opts).unwrap();
            let mut lookup = SegmentReader::open(&dir, sci, &opts).unwrap();
            let sf = seq.stored_fields_mut();
            let mut doc = 0u32;
            while sf.read_next().unwrap().is_some() {
                let found = lookup.stored_fields_mut().indexed_chunk_of(doc).unwrap();
                assert_eq!(
                    found,
                    Some(sf.current_chunk()),
                    "{case} segment {} doc {doc}",
                    sci.name
                );
                doc += 1;
                checked += 1;
            }
        }
        assert!(checked > 0, "{case}");
    }
}
