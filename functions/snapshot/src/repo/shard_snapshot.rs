//! A shard's `snap-<uuid>.dat`: the Lucene files of its commit and the blobs that hold them.

use std::sync::Arc;

use super::node::Node;
use crate::blob::BlobStore;
use crate::error::{Error, Result};
use crate::lucene::directory::{BlobFile, Directory, InlineBytes, LuceneFile, Part};

/// The most `.partN` blobs of one file (a 1 TiB file in 1 MiB parts).
const MAX_PARTS: u64 = 1 << 20;

/// One Lucene file of a shard snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// `__<uuid>` (uploaded) or `v__<uuid>` (bytes inline in `meta_hash`).
    pub blob_name: String,
    pub physical_name: String,
    pub length: u64,
    /// CRC32 from the file's footer, base 36; empty where the writer recorded none (ES 1.x
    /// omits it for files it has no checksum of).
    pub checksum: String,
    pub part_size: Option<u64>,
    pub written_by: Option<String>,
    pub meta_hash: Option<Vec<u8>>,
}

impl FileInfo {
    pub fn is_virtual(&self) -> bool {
        self.blob_name.starts_with("v__")
    }

    pub fn number_of_parts(&self) -> u64 {
        match self.part_size {
            Some(p) if p > 0 && p < self.length => self.length.div_ceil(p),
            _ => 1,
        }
    }
}

/// The files of one shard's Lucene commit, as a snapshot recorded them.
#[derive(Debug, Clone)]
pub struct ShardSnapshot {
    pub index: String,
    pub shard: u32,
    /// Folder of the shard's blobs in the repository.
    pub folder: String,
    pub files: Vec<FileInfo>,
}

impl ShardSnapshot {
    pub(super) fn from_node(
        index: String,
        shard: u32,
        folder: String,
        root: &Node,
        legacy: bool,
    ) -> std::result::Result<ShardSnapshot, String> {
        let files = root
            .get("files")
            .and_then(Node::as_array)
            .ok_or("shard snapshot has no files list")?;
        let mut out = Vec::with_capacity(files.len());
        for f in files {
            let s = |k: &str| f.get(k).and_then(Node::as_str).map(str::to_string);
            let blob_name = s("name").ok_or("a file entry has no name")?;
            let physical_name =
                s("physical_name").ok_or_else(|| format!("{blob_name} has no physical_name"))?;
            let length = f
                .get("length")
                .and_then(Node::as_i64)
                .filter(|l| *l >= 0)
                .ok_or_else(|| format!("{physical_name} has no valid length"))?
                as u64;
            // Optional in ES 1.x/2.x (`BlobStoreIndexShardSnapshot.FileInfo.toXContent` writes
            // it only when known); every later writer records one.
            let checksum = match s("checksum") {
                Some(c) => c,
                None if legacy => String::new(),
                None => return Err(format!("{physical_name} has no checksum")),
            };
            let part_size = f
                .get("part_size")
                .and_then(Node::as_i64)
                .filter(|p| *p > 0)
                .map(|p| p as u64);
            let meta_hash = f.get("meta_hash").and_then(|n| match n {
                Node::Binary(b) => Some(b.clone()),
                // JSON-written metadata would carry it as base64 text.
                Node::String(t) => {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.decode(t).ok()
                }
                _ => None,
            });
            out.push(FileInfo {
                blob_name,
                physical_name,
                length,
                checksum,
                part_size,
                written_by: s("written_by"),
                meta_hash,
            });
        }
        Ok(ShardSnapshot {
            index,
            shard,
            folder,
            files: out,
        })
    }

    /// Total size of the shard's files.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.length).sum()
    }

    /// Maps the files to their blobs (parts, inline bytes) as a Lucene directory.
    pub fn directory(&self, store: Arc<dyn BlobStore>) -> Result<Directory> {
        let mut dir = Directory::new();
        for f in &self.files {
            let src: Arc<dyn crate::lucene::directory::RandomAccess> = if f.is_virtual() {
                let bytes = f.meta_hash.clone().ok_or_else(|| {
                    Error::corrupt(
                        &f.physical_name,
                        format!("virtual file {} has no inline content", f.blob_name),
                    )
                })?;
                if bytes.len() as u64 != f.length {
                    return Err(Error::corrupt(
                        &f.physical_name,
                        format!(
                            "inline content of {} has {} byte(s), length says {}",
                            f.blob_name,
                            bytes.len(),
                            f.length
                        ),
                    ));
                }
                Arc::new(InlineBytes {
                    name: f.physical_name.clone(),
                    data: bytes,
                })
            } else {
                let n = f.number_of_parts();
                // Lengths and part sizes come from the metadata: a count of parts no repository
                // writes must not size a list of them.
                if n > MAX_PARTS {
                    return Err(Error::corrupt(
                        &f.physical_name,
                        format!(
                            "{} byte(s) in parts of {} byte(s) would be {n} blobs {}.partN (at most {MAX_PARTS} are read)",
                            f.length,
                            f.part_size.unwrap_or_default(),
                            f.blob_name
                        ),
                    ));
                }
                let parts = if n == 1 {
                    vec![Part {
                        blob_path: format!("{}/{}", self.folder, f.blob_name),
                        len: f.length,
                    }]
                } else {
                    let p = f.part_size.expect("several parts imply a part size");
                    (0..n)
                        .map(|i| Part {
                            blob_path: format!("{}/{}.part{i}", self.folder, f.blob_name),
                            len: p.min(f.length - i * p),
                        })
                        .collect()
                };
                Arc::new(BlobFile::new(f.physical_name.clone(), store.clone(), parts))
            };
            dir.insert(
                LuceneFile::new(
                    &f.physical_name,
                    src,
                    (!f.checksum.is_empty()).then_some(f.checksum.as_str()),
                )
                .with_blob(&f.blob_name),
            );
        }
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_counted_from_part_size() {
        let mut f = FileInfo {
            blob_name: "__a".into(),
            physical_name: "_0.cfs".into(),
            length: 250,
            checksum: "x".into(),
            part_size: Some(100),
            written_by: None,
            meta_hash: None,
        };
        assert_eq!(f.number_of_parts(), 3);
        f.part_size = Some(i64::MAX as u64);
        assert_eq!(f.number_of_parts(), 1);
        f.part_size = None;
        assert_eq!(f.number_of_parts(), 1);
    }

    #[test]
    fn a_length_in_parts_of_one_byte_is_an_error_not_a_trillion_parts() {
        let shard = ShardSnapshot {
            index: "i".into(),
            shard: 0,
            folder: "indices/x/0".into(),
            files: vec![FileInfo {
                blob_name: "__a".into(),
                physical_name: "_0.cfs".into(),
                length: 1 << 40,
                checksum: "x".into(),
                part_size: Some(1),
                written_by: None,
                meta_hash: None,
            }],
        };
        let store = Arc::new(crate::blob::LocalDirectory::new("/nonexistent"));
        let e = shard.directory(store).unwrap_err().to_string();
        assert!(e.contains("_0.cfs") && e.contains("parts"), "{e}");
    }
}
