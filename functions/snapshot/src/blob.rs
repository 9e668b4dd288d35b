//! Blob access: the only way the reader touches a repository's storage.
//!
//! A repository is a tree of immutable blobs. The reader needs to list a folder, read a small
//! blob whole and read a byte range of a large one; a local directory implements it here, S3
//! (ranged GETs) in the AWS adapters. Paths use `/` and are relative to the repository root.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub name: String,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {path} does not exist")]
    NotFound { path: String },
    #[error("reading blob {path}: {message}")]
    Io {
        path: String,
        message: String,
        transient: bool,
    },
    #[error("blob {path} is shorter than expected: wanted {wanted} byte(s) at offset {offset}, got {got}")]
    ShortRead {
        path: String,
        offset: u64,
        wanted: usize,
        got: usize,
    },
}

impl BlobError {
    /// Whether retrying the same read may succeed (network hiccup, throttling).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BlobError::Io {
                transient: true,
                ..
            }
        )
    }
}

pub trait BlobStore: Send + Sync + fmt::Debug {
    /// A human-readable name of the repository root, e.g. a path or `s3://bucket/prefix`.
    fn location(&self) -> String;
    /// Blobs directly inside the folder `dir` (`""` is the root). A missing folder is empty.
    fn list(&self, dir: &str) -> Result<Vec<BlobMeta>, BlobError>;
    /// The whole blob.
    fn read(&self, path: &str) -> Result<Vec<u8>, BlobError>;
    /// Exactly `len` bytes from `offset`; fewer is a `ShortRead` error.
    fn read_range(&self, path: &str, offset: u64, len: usize) -> Result<Vec<u8>, BlobError>;
    /// Fills `buf` from `offset`; stores that can read into a caller's buffer override it to
    /// save a copy.
    fn read_range_into(&self, path: &str, offset: u64, buf: &mut [u8]) -> Result<(), BlobError> {
        let bytes = self.read_range(path, offset, buf.len())?;
        buf.copy_from_slice(&bytes);
        Ok(())
    }
}

/// A repository in a local directory (the `fs` repository type).
#[derive(Debug, Clone)]
pub struct LocalDirectory {
    root: PathBuf,
}

impl LocalDirectory {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalDirectory { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }
}

fn io_error(path: &str, e: std::io::Error) -> BlobError {
    if e.kind() == std::io::ErrorKind::NotFound {
        BlobError::NotFound {
            path: path.to_string(),
        }
    } else {
        BlobError::Io {
            path: path.to_string(),
            message: e.to_string(),
            transient: matches!(
                e.kind(),
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::TimedOut
            ),
        }
    }
}

impl BlobStore for LocalDirectory {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn list(&self, dir: &str) -> Result<Vec<BlobMeta>, BlobError> {
        let entries = match std::fs::read_dir(self.path(dir)) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(dir, e))?;
            let meta = entry.metadata().map_err(|e| io_error(dir, e))?;
            if meta.is_file() {
                out.push(BlobMeta {
                    name: entry.file_name().to_string_lossy().into_owned(),
                    size: meta.len(),
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, BlobError> {
        std::fs::read(self.path(path)).map_err(|e| io_error(path, e))
    }

    fn read_range(&self, path: &str, offset: u64, len: usize) -> Result<Vec<u8>, BlobError> {
        let mut buf = vec![0u8; len];
        self.read_range_into(path, offset, &mut buf)?;
        Ok(buf)
    }

    fn read_range_into(&self, path: &str, offset: u64, buf: &mut [u8]) -> Result<(), BlobError> {
        let mut f = File::open(self.path(path)).map_err(|e| io_error(path, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| io_error(path, e))?;
        let len = buf.len();
        let mut got = 0;
        while got < len {
            match f.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(path, e)),
            }
        }
        if got < len {
            return Err(BlobError::ShortRead {
                path: path.to_string(),
                offset,
                wanted: len,
                got,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_directory_reads_ranges_and_reports_missing_blobs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/b"), b"0123456789").unwrap();
        let store = LocalDirectory::new(dir.path());
        assert_eq!(store.read_range("a/b", 2, 3).unwrap(), b"234");
        assert!(matches!(
            store.read_range("a/b", 8, 5),
            Err(BlobError::ShortRead { got: 2, .. })
        ));
        assert!(matches!(store.read("a/c"), Err(BlobError::NotFound { .. })));
        let listed = store.list("a").unwrap();
        assert_eq!(
            listed,
            vec![BlobMeta {
                name: "b".into(),
                size: 10
            }]
        );
        assert!(store.list("nope").unwrap().is_empty());
    }
}
