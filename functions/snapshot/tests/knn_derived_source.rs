//! k-NN vector indices written by real OpenSearch nodes with the k-NN plugin (2.19.1 + 2.19.1.0,
//! 3.5.0 + 3.5.0.0; `tests/real-snapshots/generate_knn.py`): every live document's `_source`
//! as the reader gives it equals the `_source` the node returned, which for derived-source
//! indices is rebuilt by the node from the vector files.

use std::collections::BTreeMap;
use std::sync::Arc;

use backfill_harness::{RealSnapshots, RealSource, TruthDocument};
use serde_json::Value;
use snapshot::{LocalDirectory, ReadOptions, Repository, ShardEntryRef, ShardReader};

/// Per index: the documents read (or the error that stopped the rebuild of one).
type Read = BTreeMap<(String, u32, String), Result<String, String>>;

fn read(repo: &Repository, snapshot: &str) -> Read {
    let snap = repo.snapshot(snapshot).unwrap();
    let mut out = Read::new();
    for index in snap.index_names() {
        let meta = snap.index(&index).unwrap();
        for shard in 0..meta.number_of_shards {
            let mut reader = ShardReader::open(&snap, &index, shard, ReadOptions::default())
                .unwrap_or_else(|e| panic!("{snapshot} {index}/{shard}: {e}"));
            loop {
                match reader.next_entry_ref() {
                    Ok(None) => break,
                    Ok(Some(ShardEntryRef::Document(d))) => {
                        let source = String::from_utf8(d.source.to_vec()).unwrap();
                        out.insert((index.clone(), shard, d.id), Ok(source));
                    }
                    Ok(Some(ShardEntryRef::WithoutSource { id, .. })) => {
                        panic!("{index}/{shard}: {id} has no _source")
                    }
                    // Per document: the reader continues with the next one.
                    Ok(Some(ShardEntryRef::NotRebuilt { id, reason, .. })) => {
                        out.insert((index.clone(), shard, id), Err(reason));
                    }
                    Err(e) => panic!("{snapshot} {index}/{shard}: {e}"),
                }
            }
        }
    }
    out
}

/// Equal as JSON, numbers as the `float`s they are (a Java 17 node writes some floats with
/// other digits than the shortest, e.g. `6.9779776E7` for `6.977978E7`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || x.as_f64().unwrap() as f32 == y.as_f64().unwrap() as f32
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Per index: (documents, byte-equal, JSON-equal, not rebuilt).
fn compare(got: &Read, want: &[TruthDocument]) -> BTreeMap<String, [usize; 4]> {
    let mut counts: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    assert_eq!(got.len(), want.len(), "document count");
    for w in want {
        let c = counts.entry(w.index.clone()).or_default();
        c[0] += 1;
        let key = (w.index.clone(), w.shard, w.id.clone());
        let want_source = w.source.as_deref().unwrap();
        match got.get(&key).unwrap_or_else(|| panic!("{key:?} not read")) {
            Ok(g) if g == want_source => {
                c[1] += 1;
                c[2] += 1;
            }
            Ok(g) => {
                let (gv, wv): (Value, Value) = (
                    serde_json::from_str(g).unwrap(),
                    serde_json::from_str(want_source).unwrap(),
                );
                if same(&gv, &wv) {
                    c[2] += 1;
                } else {
                    eprintln!("{key:?}\n  got  {g}\n  want {want_source}");
                }
            }
            Err(e) => {
                c[3] += 1;
                eprintln!("{key:?}: {e}");
            }
        }
    }
    counts
}

/// `byte_equal`: every document must be byte-equal (a node on JDK 19+, whose `Float.toString`
/// is the shortest form); else JSON-equal with floats compared as floats.
fn check(source: RealSource, expect_not_rebuilt: &[&str], byte_equal: bool) {
    let real = RealSnapshots::get(source).unwrap_or_else(|e| panic!("{}: {e}", source.name()));
    for name in &real.repositories {
        let repo = Repository::open(Arc::new(LocalDirectory::new(real.repository(name)))).unwrap();
        for snapshot in &real.snapshots {
            let want = real.truth(snapshot).unwrap();
            let got = read(&repo, snapshot);
            let counts = compare(&got, &want);
            for (index, [docs, bytes, json, not_rebuilt]) in &counts {
                eprintln!(
                    "{} {snapshot} {index}: {docs} documents, {bytes} byte-equal, {json} JSON-equal, {not_rebuilt} not rebuilt",
                    source.name()
                );
                if expect_not_rebuilt.contains(&index.as_str()) {
                    assert_eq!(json + not_rebuilt, *docs, "{index}: a document differs");
                    assert!(*not_rebuilt > 0, "{index}: expected documents not rebuilt");
                } else if byte_equal {
                    assert_eq!(bytes, docs, "{index}: not every document is byte-equal");
                } else {
                    assert_eq!(json, docs, "{index}: not every document is JSON-equal");
                }
            }
        }
    }
}

#[test]
fn opensearch_2_19_knn_documents_equal_what_the_node_returned() {
    // The node runs on Java 17, whose Float.toString is not always the shortest form.
    check(RealSource::OpenSearch2_19Knn, &["nested-derived"], false);
}

#[test]
fn opensearch_3_5_knn_documents_equal_what_the_node_returned() {
    check(RealSource::OpenSearch3_5Knn, &[], true);
}

/// The flat vector reader on real Lucene-written files: in indices that keep their vectors in
/// `_source` (derived source off), each live document's vector from `.vec` is the float of
/// what `_source` holds, for the lucene engine (`Lucene99HnswVectorsFormat`) and faiss
/// (`NativeEngines990KnnVectorsFormat`), dense and sparse fields.
#[test]
fn flat_vectors_hold_the_vectors_that_source_holds() {
    use snapshot::lucene::{read_commit, vectors::read_flat_vectors, SegmentReader};
    for source in [RealSource::OpenSearch2_19Knn, RealSource::OpenSearch3_5Knn] {
        let real = RealSnapshots::get(source).unwrap();
        let repo =
            Repository::open(Arc::new(LocalDirectory::new(real.repository("plain")))).unwrap();
        let snap = repo.snapshot("snap-1").unwrap();
        for index in ["lucene-stored", "faiss-stored"] {
            let meta = snap.index(index).unwrap();
            let dir = snap
                .shard_directory(&snap.shard(&meta, 0).unwrap())
                .unwrap();
            let commit = read_commit(&dir).unwrap();
            let opts = ReadOptions::default();
            let mut checked = 0;
            let mut reader = ShardReader::open(&snap, index, 0, opts).unwrap();
            while let Some(d) = reader.next_document().unwrap() {
                let sci = commit
                    .segments
                    .iter()
                    .find(|s| s.name == d.segment)
                    .unwrap();
                let seg = SegmentReader::open(&dir, sci, &opts).unwrap();
                let fields = read_flat_vectors(
                    seg.files(),
                    &sci.name,
                    sci.id.as_ref().expect("a Lucene 9 segment has an id"),
                    &seg.field_infos,
                    seg.info.max_doc,
                    &[],
                    &opts,
                )
                .unwrap();
                let doc: Value = serde_json::from_slice(&d.document.source).unwrap();
                for f in &fields {
                    let mut at = &doc;
                    for part in f.field.split('.') {
                        at = &at[part];
                    }
                    let want: Option<Vec<f32>> = at
                        .as_array()
                        .map(|a| a.iter().map(|x| x.as_f64().unwrap() as f32).collect());
                    assert_eq!(
                        f.vector(d.doc).map(<[f32]>::to_vec),
                        want,
                        "{} {index} {} field {}",
                        source.name(),
                        d.document.id,
                        f.field
                    );
                    checked += want.is_some() as usize;
                }
            }
            assert!(checked > 100, "{index}: only {checked} vectors");
        }
    }
}
