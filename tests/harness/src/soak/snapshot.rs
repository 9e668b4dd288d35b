//! The soak's snapshot and what it must deliver: real Lucene indexes of `tests/data/lucene`
//! wrapped into one repository (several indices, one a two-shard index), and the documents
//! each holds by the generator's ground truth (`<case>.expected.ndjson[.gz]`, what real Lucene
//! read back), not by the project's reader.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::SoakError;

/// An index of the snapshot and the Lucene cases that are its shards (no `_id` is in two shards
/// of one index, or the target would hold one document for two).
pub type Layout = &'static [(&'static str, &'static [&'static str])];

/// `make soak`: 7 indices, 8 shards, 17,686 documents (13 of them over 64 KiB, up to 2 MiB).
pub const FULL: Layout = &[
    ("soak-two", &["l8_best_compression", "l10_best_compression"]),
    ("soak-dv", &["l8_lucene70_dv"]),
    ("soak-zstd", &["l9_es_zstd_best_speed"]),
    ("soak-os", &["l9_os_zstd"]),
    ("soak-mixed", &["l9_mixed"]),
    ("soak-newer", &["l10_mixed"]),
    ("soak-legacy", &["l8_fast"]),
];

/// The smoke (`cargo test`): 5 indices, 6 shards, 7,005 documents.
pub const SMALL: Layout = &[
    ("soak-two", &["l8_best_compression", "l10_best_compression"]),
    ("soak-os", &["l9_os_zstd"]),
    ("soak-mixed", &["l9_mixed"]),
    ("soak-newer", &["l10_mixed"]),
    ("soak-legacy", &["l8_fast"]),
];

/// A document's `_source` as the ground truth gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Json(serde_json::Value),
    /// Over 64 KiB: the truth holds its length and SHA-256 only.
    Digest {
        len: u64,
        sha256: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub routing: Option<String>,
    pub source: Source,
}

/// (index, `_id`) → the document.
pub type Truth = BTreeMap<(String, String), Expected>;

fn lucene_dir() -> PathBuf {
    crate::workspace_root().join("tests/data/lucene")
}

/// Writes the repository (snapshot `snap`) under `dir`; returns its root.
pub fn write_repository(dir: &Path, layout: Layout) -> Result<PathBuf, SoakError> {
    let root = dir.join("repo");
    let _ = std::fs::remove_dir_all(&root);
    let mut b =
        snapshot_testkit::RepoBuilder::new(&root, snapshot_testkit::WriteOptions::default());
    for (name, cases) in layout {
        let shards: Vec<PathBuf> = cases.iter().map(|c| lucene_dir().join(c)).collect();
        b.add_index(
            name,
            &shards,
            vec![],
            snapshot_testkit::lucene_cases_mapping(),
        );
    }
    b.write_snapshot("snap")
        .map_err(|e| SoakError::Setup(format!("writing the soak's repository: {e}")))?;
    Ok(root)
}

/// Every document of the layout, by the ground truth.
pub fn truth(layout: Layout) -> Result<Truth, SoakError> {
    let mut out = Truth::new();
    for (index, cases) in layout {
        for case in *cases {
            for line in expected_lines(case)? {
                let bad = |what: &str| SoakError::Setup(format!("{case}: {what} in {line}"));
                let v: serde_json::Value =
                    serde_json::from_str(&line).map_err(|_| bad("not JSON"))?;
                if v.get("no_source").is_some() {
                    continue;
                }
                let id = v["id"].as_str().ok_or_else(|| bad("no id"))?.to_string();
                let source = match v["source"].as_str() {
                    Some(text) => {
                        Source::Json(serde_json::from_str(text).map_err(|_| bad("a bad source"))?)
                    }
                    None => Source::Digest {
                        len: v["source_len"].as_u64().ok_or_else(|| bad("no length"))?,
                        sha256: v["source_sha256"]
                            .as_str()
                            .ok_or_else(|| bad("no digest"))?
                            .to_string(),
                    },
                };
                let doc = Expected {
                    routing: v["routing"].as_str().map(str::to_string),
                    source,
                };
                if out.insert((index.to_string(), id.clone()), doc).is_some() {
                    return Err(SoakError::Setup(format!(
                        "{index}: _id {id} is in two of its shards"
                    )));
                }
            }
        }
    }
    Ok(out)
}

/// The lines of `<case>.expected.ndjson`, or of its gzipped form.
fn expected_lines(case: &str) -> Result<Vec<String>, SoakError> {
    let plain = lucene_dir().join(format!("{case}.expected.ndjson"));
    let text = match std::fs::read_to_string(&plain) {
        Ok(t) => t,
        Err(_) => {
            let gz = lucene_dir().join(format!("{case}.expected.ndjson.gz"));
            let file = std::fs::File::open(&gz).map_err(|e| SoakError::io(&gz, e))?;
            let mut t = String::new();
            flate2::read::GzDecoder::new(file)
                .read_to_string(&mut t)
                .map_err(|e| SoakError::io(&gz, e))?;
            t
        }
    };
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layouts_hold_the_documents_they_say() {
        let full = truth(FULL).unwrap();
        assert_eq!(full.len(), 17_686);
        let big = full
            .values()
            .filter(|d| matches!(d.source, Source::Digest { .. }))
            .count();
        assert_eq!(big, 13, "documents over 64 KiB");
        assert_eq!(truth(SMALL).unwrap().len(), 7_005);
    }
}
