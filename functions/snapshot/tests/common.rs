//! Shared helpers of the integration tests: where the shared fixtures are, in-memory directories.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use snapshot::lucene::directory::{InlineBytes, LuceneFile};
use snapshot::lucene::Directory;

/// `../shared` beside the project (as CI has it), or `$BACKFILL_SHARED_DIR`.
pub fn shared_dir() -> PathBuf {
    if let Ok(d) = std::env::var("BACKFILL_SHARED_DIR") {
        return PathBuf::from(d);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.join("../shared")
}

pub fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A Lucene directory held in memory, from (name, bytes) pairs.
pub fn memory_directory(files: Vec<(String, Vec<u8>)>) -> Directory {
    let mut dir = Directory::new();
    for (name, data) in files {
        let src = Arc::new(InlineBytes {
            name: name.clone(),
            data,
        });
        dir.insert(LuceneFile::new(&name, src, None));
    }
    dir
}

/// Reads a zip of a plain Lucene index into memory.
pub fn unzip(path: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut z = zip::ZipArchive::new(f).unwrap();
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        if e.is_dir() {
            continue;
        }
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((e.name().rsplit('/').next().unwrap().to_string(), data));
    }
    out
}
