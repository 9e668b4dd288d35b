//! Every Lucene release from 6.0 to 9.11 wrote a one-document index; the Lucene layer reads
//! each and finds exactly what `expected.ndjson` (made by real Lucene) says it holds.

mod common;

use serde_json::{json, Map, Value};
use snapshot::lucene::stored_fields::fields::{FieldIter, StoredValue};
use snapshot::lucene::{read_commit, ReadOptions, SegmentReader};

fn read_zip(name: &str) -> Value {
    let path = common::shared_dir().join("fixtures/lucene").join(name);
    let dir = common::memory_directory(common::unzip(&path));
    let commit = read_commit(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (maj, min, bug) = commit.lucene_version;
    let mut out = json!({
        "zip": name,
        "lucene_version": format!("{maj}.{min}.{bug}"),
        "codec": null, "compound": null, "max_doc": 0, "live_docs": 0, "docs": [],
    });
    let mut docs = Vec::new();
    let (mut max_doc, mut live) = (0u64, 0u64);
    for sci in &commit.segments {
        let mut seg = SegmentReader::open(&dir, sci, &ReadOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        out["codec"] = json!(sci.codec);
        out["compound"] = json!(seg.info.is_compound);
        max_doc += seg.counts.max_doc as u64;
        live += seg.counts.live as u64;
        let infos = seg.field_infos.clone();
        let order = seg.stored_fields().format().order;
        while let Some(raw) = seg.next_live().unwrap() {
            let mut fields = Map::new();
            for f in FieldIter::new(raw.bytes, raw.num_fields, order) {
                let (number, value) = f.unwrap();
                let field = infos.by_number(number).expect("known field").name.clone();
                let text = match value {
                    StoredValue::String(s) | StoredValue::Binary(s) => {
                        String::from_utf8(s.to_vec()).unwrap()
                    }
                    other => format!("{other:?}"),
                };
                fields.insert(field, json!(text));
            }
            docs.push(Value::Object(fields));
        }
    }
    out["max_doc"] = json!(max_doc);
    out["live_docs"] = json!(live);
    out["docs"] = json!(docs);
    out
}

#[test]
fn every_lucene_release_from_6_0_to_9_11_reads_as_real_lucene_says() {
    let expected =
        std::fs::read_to_string(common::shared_dir().join("fixtures/lucene/expected.ndjson"))
            .expect("the shared fixtures are beside the project");
    let mut checked = 0;
    for line in expected.lines() {
        let want: Value = serde_json::from_str(line).unwrap();
        let got = read_zip(want["zip"].as_str().unwrap());
        assert_eq!(got, want);
        checked += 1;
    }
    assert_eq!(checked, 152);
}
