//! Shared by the targets: Lucene files with a footer that matches, so that the fuzzer's bytes
//! reach the parsers behind the checksum.

#![allow(dead_code)]

use std::sync::Arc;

use snapshot::lucene::codec::{FOOTER_LEN, FOOTER_MAGIC};
use snapshot::lucene::directory::{InlineBytes, LuceneFile};
use snapshot::lucene::Directory;

/// `data` with its last 16 bytes made a footer whose CRC32 matches the rest.
pub fn with_valid_footer(data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    if v.len() < FOOTER_LEN {
        v.resize(FOOTER_LEN, 0);
    }
    let n = v.len();
    v[n - 16..n - 12].copy_from_slice(&FOOTER_MAGIC.to_be_bytes());
    v[n - 12..n - 8].copy_from_slice(&[0; 4]);
    let crc = crc32fast::hash(&v[..n - 8]) as u64;
    v[n - 8..].copy_from_slice(&crc.to_be_bytes());
    v
}

/// The 16-byte object id of an index header (magic, codec name, version, id), if the data is
/// long enough to hold one; the parsers compare it with the segment's.
pub fn header_id(data: &[u8]) -> [u8; 16] {
    let mut id = [0u8; 16];
    if let Some(&n) = data.get(4) {
        let at = 4 + 1 + n as usize + 4;
        if let Some(s) = data.get(at..at + 16) {
            id.copy_from_slice(s);
        }
    }
    id
}

/// A directory of in-memory files.
pub fn directory(files: Vec<(String, Vec<u8>)>) -> Directory {
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
