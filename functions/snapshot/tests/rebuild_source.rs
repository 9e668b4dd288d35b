//! `_source` rebuilt from doc values and stored fields for indices that keep none, on
//! repositories written by real Elasticsearch 8.19 and 9.5 nodes
//! (`tests/real-snapshots/generate_synthetic.py`): every rebuilt document is compared with the
//! `_source` the node itself synthesised for it.

use std::collections::BTreeMap;
use std::sync::Arc;

use backfill_harness::{RealSnapshots, RealSource};
use serde_json::Value;
use snapshot::{LocalDirectory, ReadOptions, Repository, ShardEntryRef, ShardReader};

/// id → (rebuilt `_source`, fields left out).
fn rebuilt(real: &RealSnapshots, index: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let repo = Repository::open(Arc::new(LocalDirectory::new(real.repository("plain")))).unwrap();
    let snap = repo.snapshot("snap-1").unwrap();
    let meta = snap.index(index).unwrap();
    let mut reader = ShardReader::open(&snap, index, 0, ReadOptions::default()).unwrap();
    reader.rebuild_missing_sources(&meta.mappings).unwrap();
    let mut out = BTreeMap::new();
    while let Some(entry) = reader.next_entry_ref().unwrap() {
        match entry {
            ShardEntryRef::Document(d) => {
                let missing = d
                    .rebuilt
                    .clone()
                    .expect("every document of this index is rebuilt");
                out.insert(
                    d.id,
                    (String::from_utf8(d.source.to_vec()).unwrap(), missing),
                );
            }
            other => panic!("{index}: {other:?}"),
        }
    }
    assert_eq!(reader.stats().sources_rebuilt, out.len() as u64);
    assert_eq!(reader.stats().without_source, 0);
    out
}

/// The node's synthetic `_source` of each live document of `index` (for `disabled`, that of
/// the same document in its synthetic-source twin).
fn truth(real: &RealSnapshots, index: &str) -> BTreeMap<String, String> {
    if index == "disabled" {
        let text = std::fs::read_to_string(real.dir.join("truth/snap-1.twins.ndjson")).unwrap();
        return text
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (
                    v["id"].as_str().unwrap().to_string(),
                    v["source"].as_str().unwrap().to_string(),
                )
            })
            .collect();
    }
    real.truth("snap-1")
        .unwrap()
        .into_iter()
        .filter(|d| d.index == index)
        .map(|d| {
            (
                d.id,
                d.source.expect("the node returns a synthetic _source"),
            )
        })
        .collect()
}

/// Equal as JSON; floats compared as the floats they are (a Java 17 node sometimes prints a
/// float with one digit more than the shortest form).
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

/// Rebuilds every document of `index` and compares; returns (documents, byte-equal, JSON-equal).
fn check(source: RealSource, index: &str) -> (usize, usize, usize) {
    let real = RealSnapshots::get(source).unwrap_or_else(|e| panic!("{}: {e}", source.name()));
    let got = rebuilt(&real, index);
    let want = truth(&real, index);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{index}: ids"
    );
    let (mut bytes, mut json) = (0, 0);
    let mut differ = Vec::new();
    for (id, w) in &want {
        let (g, missing) = &got[id];
        assert!(
            missing.is_empty(),
            "{index}/{id}: fields left out: {missing:?}"
        );
        if g == w {
            bytes += 1;
        } else {
            eprintln!("{index}/{id} differs in bytes:\n  rebuilt {g}\n  node    {w}");
        }
        let (gv, wv): (Value, Value) = (
            serde_json::from_str(g).unwrap(),
            serde_json::from_str(w).unwrap(),
        );
        if same(&gv, &wv) {
            json += 1;
        } else {
            differ.push(format!("{id}\n  rebuilt {g}\n  node    {w}"));
        }
    }
    eprintln!(
        "{} {index}: {} documents, {bytes} byte-equal, {json} JSON-equal",
        source.name(),
        want.len()
    );
    assert!(differ.is_empty(), "{index}: {}", differ.join("\n"));
    (want.len(), bytes, json)
}

#[test]
fn synthetic_source_of_elasticsearch_8_19_is_rebuilt_as_the_node_synthesises_it() {
    let (n, _, json) = check(RealSource::Elasticsearch8_19Synthetic, "synthetic");
    assert!(n > 100 && json == n);
}

#[test]
fn synthetic_source_of_elasticsearch_9_5_is_rebuilt_byte_equal() {
    let (n, bytes, _) = check(RealSource::Elasticsearch9_5Synthetic, "synthetic");
    assert!(n > 100 && bytes == n);
}

#[test]
fn disabled_source_of_elasticsearch_8_19_is_rebuilt_as_its_synthetic_twin() {
    let (n, _, json) = check(RealSource::Elasticsearch8_19Synthetic, "disabled");
    assert!(n > 50 && json == n);
}

#[test]
fn disabled_source_of_elasticsearch_9_5_is_rebuilt_as_its_synthetic_twin() {
    let (n, bytes, _) = check(RealSource::Elasticsearch9_5Synthetic, "disabled");
    assert!(n > 50 && bytes == n);
}
