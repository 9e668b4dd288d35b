//! The one-document index of every Lucene 4.x and 5.x release (and two 3.x ones), from
//! hakanai/luceneupgrader: the Lucene layer reads Lucene 4.6 and later as Lucene itself does
//! (`expected.ndjson`, written by Lucene 4.10.4 / 5.5.5 reading the same zips), and names the
//! version of anything older instead of calling it corrupt.

mod common;

use serde_json::{json, Map, Value};
use snapshot::lucene::stored_fields::fields::{FieldIter, StoredValue};
use snapshot::lucene::{read_commit, ReadOptions, SegmentReader};
use snapshot::{Error, ErrorKind};

fn releases(folder: &str) -> Vec<Value> {
    let dir = common::project_dir().join("tests/data/lucene").join(folder);
    std::fs::read_to_string(dir.join("expected.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What the Lucene layer makes of one zip, in the shape of an `expected.ndjson` line.
fn read_zip(folder: &str, zip: &str) -> Result<Value, Error> {
    let path = common::project_dir()
        .join("tests/data/lucene")
        .join(folder)
        .join(zip);
    let dir = common::memory_directory(common::unzip(&path));
    let commit = read_commit(&dir)?;
    let mut segments = Vec::new();
    let mut docs = Vec::new();
    for sci in &commit.segments {
        let mut seg = SegmentReader::open(&dir, sci, &ReadOptions::default())?;
        segments.push(json!({
            "name": sci.name,
            "codec": sci.codec,
            "version": seg.info.version_string(),
            "compound": seg.info.is_compound,
            "max_doc": seg.counts.max_doc,
            "del_count": sci.del_count,
        }));
        let infos = seg.field_infos.clone();
        let encoding = seg.stored_fields().format().field_encoding();
        while let Some(raw) = seg.next_live()? {
            let mut fields = Map::new();
            for f in FieldIter::new(raw.bytes, raw.num_fields, encoding) {
                let (number, value) = f.unwrap();
                let name = infos.by_number(number).expect("known field").name.clone();
                let StoredValue::String(s) = value else {
                    panic!("{zip}: {name} is {value:?}")
                };
                fields.insert(name, json!(String::from_utf8(s.to_vec()).unwrap()));
            }
            docs.push(Value::Object(fields));
        }
    }
    Ok(json!({ "segments_file": commit.file_name, "segments": segments, "docs": docs }))
}

/// The expected line without what the Lucene layer does not report (headers as the generator
/// printed them).
fn comparable(want: &Value) -> Value {
    let mut segments = want["segments"].as_array().unwrap().clone();
    for s in &mut segments {
        s.as_object_mut().unwrap().remove("si_header");
    }
    json!({
        "segments_file": want["segments_file"],
        "segments": segments,
        "docs": want["docs"],
    })
}

/// Not Lucene 2.x/3.x, and no segment of Lucene 4.0–4.5 (`Lucene40SegmentInfo`).
fn readable(want: &Value) -> bool {
    let header = want["segments_header"].as_str().unwrap();
    let old_si = want["segments"].as_array().unwrap().iter().any(|s| {
        s["si_header"]
            .as_str()
            .unwrap()
            .starts_with("Lucene40SegmentInfo")
    });
    header != "no codec header" && !old_si
}

#[test]
fn every_lucene_4_6_to_5_5_release_reads_as_lucene_says() {
    let mut checked = 0;
    for folder in ["l4_releases", "l5_releases"] {
        for want in releases(folder).iter().filter(|w| readable(w)) {
            let zip = want["zip"].as_str().unwrap();
            let got = read_zip(folder, zip).unwrap_or_else(|e| panic!("{zip}: {e}"));
            assert_eq!(got, comparable(want), "{zip}");
            checked += 1;
        }
    }
    // 4.6.0 … 4.10.4 (14 releases) and 5.0.0 … 5.5.5 (15), each empty and with one document,
    // and the empty commits of 4.0.0 … 4.5.1 (9 releases)
    assert_eq!(checked, 2 * (14 + 15) + 9);
}

/// The pre-4.8 zips (no footers anywhere) are among them: the segments file, `.si`, `.cfe`.
#[test]
fn lucene_4_6_and_4_7_files_have_no_footer_and_still_read() {
    let want = releases("l4_releases");
    let w = want
        .iter()
        .find(|w| w["zip"] == "lucene-4.7.2-nonempty.zip")
        .unwrap();
    assert_eq!(
        w["segments_header"].as_str().unwrap(),
        "segments v1 (81 bytes)"
    );
    assert!(w["segments"][0]["si_header"]
        .as_str()
        .unwrap()
        .starts_with("Lucene46SegmentInfo v0"));
    assert_eq!(
        read_zip("l4_releases", "lucene-4.7.2-nonempty.zip").unwrap(),
        comparable(w)
    );
}

#[test]
fn older_releases_are_named_by_their_version_not_called_corrupt() {
    let mut checked = 0;
    for want in releases("l4_releases").iter().filter(|w| !readable(w)) {
        let zip = want["zip"].as_str().unwrap();
        let lucene3 = want["segments_header"] == "no codec header";
        match read_zip("l4_releases", zip) {
            // a Lucene 4.0–4.5 commit without segments holds nothing to read
            Ok(got) if !lucene3 => assert_eq!(got["docs"], json!([]), "{zip}"),
            Ok(got) => panic!("{zip}: read as {got}"),
            Err(e) => {
                let ErrorKind::UnsupportedCodec { codec, why, .. } = &e.kind else {
                    panic!("{zip}: {e}")
                };
                if lucene3 {
                    assert!(codec.starts_with("segments (pre-4.0"), "{zip}: {e}");
                    assert!(why.contains("Lucene 2.x/3.x"), "{zip}: {e}");
                } else {
                    assert_eq!(codec, "Lucene40SegmentInfo", "{zip}: {e}");
                    assert!(why.contains("Lucene 4.0–4.5"), "{zip}: {e}");
                    assert!(e.to_string().contains("_0.si"), "{zip}: {e}");
                }
                checked += 1;
            }
        }
    }
    // 3.0.0 and 3.6.2 (empty and not), 4.0.0 … 4.5.1 with a document (9 releases)
    assert_eq!(checked, 4 + 9);
}

/// The files of a zip or a generated case, in memory, to damage one of them.
fn files_of_zip(folder: &str, zip: &str) -> Vec<(String, Vec<u8>)> {
    common::unzip(
        &common::project_dir()
            .join("tests/data/lucene")
            .join(folder)
            .join(zip),
    )
}

fn files_of_case(case: &str) -> Vec<(String, Vec<u8>)> {
    let dir = common::project_dir().join("tests/data/lucene").join(case);
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

fn damaged(mut files: Vec<(String, Vec<u8>)>, name: &str, f: impl FnOnce(&mut Vec<u8>)) -> Error {
    let file = files.iter_mut().find(|(n, _)| n == name).unwrap();
    f(&mut file.1);
    let dir = common::memory_directory(files);
    let read = || -> Result<(), Error> {
        let commit = read_commit(&dir)?;
        for sci in &commit.segments {
            let mut seg = SegmentReader::open(&dir, sci, &ReadOptions::default())?;
            while seg.next_live()?.is_some() {}
        }
        Ok(())
    };
    read().expect_err("damaged, yet read")
}

#[test]
fn a_lucene_4_7_commit_without_footer_is_still_checked_by_its_trailing_crc() {
    let files = files_of_zip("l4_releases", "lucene-4.7.2-nonempty.zip");
    // the segment count (big-endian int after the header, version and counter)
    let e = damaged(files, "segments_1", |b| b[30] ^= 0x01);
    assert!(e.to_string().contains("segments_1"), "{e}");
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
}

/// Recomputes the footer's CRC32 after a change, so that the parser's own checks are what fails.
fn refoot(b: &mut [u8]) {
    let n = b.len();
    let crc = crc32fast::hash(&b[..n - 8]) as u64;
    b[n - 8..].copy_from_slice(&crc.to_be_bytes());
}

#[test]
fn a_lucene_4_del_file_that_disagrees_with_the_commit_is_caught() {
    // dense form: one more live document than the commit allows (checksum made to match)
    let e = damaged(files_of_case("l4_default"), "_1_2.del", |b| {
        let last_bits_byte = b.len() - 16 - 1;
        b[last_bits_byte] ^= 0x01;
        refoot(b);
    });
    assert!(e.to_string().contains("_1_2.del"), "{e}");
    assert!(
        e.to_string().contains("deleted document(s) in the bits"),
        "{e}"
    );
    // d-gaps form: a gap that leads past the end of the bits
    let e = damaged(files_of_case("l4_default"), "_0_2.del", |b| {
        // after -2, the header (4 + 1 + 9 + 4 bytes), -1, size, count: the first gap VInt
        b[4 + 18 + 12] = 0x7F;
        refoot(b);
    });
    assert!(e.to_string().contains("_0_2.del"), "{e}");
    assert!(e.to_string().contains("d-gap to byte"), "{e}");
    // and without the matching checksum the footer says so first
    let e = damaged(files_of_case("l4_default"), "_0_2.del", |b| {
        b[4 + 18 + 12] ^= 1
    });
    assert!(e.to_string().contains("checksum"), "{e}");
}
