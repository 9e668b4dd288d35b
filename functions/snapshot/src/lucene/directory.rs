//! Lucene files as random-access byte ranges over blobs, without staging anything on disk.
//!
//! A file of a shard snapshot is one blob, several `.partN` blobs, or (for `v__` entries) bytes
//! held inline in the snapshot metadata; a file inside a compound `.cfs` is a slice of another
//! file. `LuceneFile` hides all of that behind `read_at`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::codec::{self, FOOTER_LEN};
use crate::blob::{BlobError, BlobStore};
use crate::error::{Error, ErrorKind, Location, Result};

/// Bytes that can be read at any offset.
pub trait RandomAccess: Send + Sync + fmt::Debug {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>>;
    /// Fills `buf` from `offset` (sources that can, read straight into it).
    fn read_at_into(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let bytes = self.read_at(offset, buf.len())?;
        buf.copy_from_slice(&bytes);
        Ok(())
    }
}

/// File bytes held in memory (`v__` files whose content is their `meta_hash`).
#[derive(Debug)]
pub struct InlineBytes {
    pub name: String,
    pub data: Vec<u8>,
}

impl RandomAccess for InlineBytes {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }

    fn read_at_into(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        match start
            .checked_add(buf.len())
            .filter(|&e| e <= self.data.len())
        {
            Some(end) => {
                buf.copy_from_slice(&self.data[start..end]);
                Ok(())
            }
            None => Err(Error::in_file(
                &self.name,
                ErrorKind::Corrupt(format!(
                    "read of {} byte(s) at {offset} past the end of {} byte(s)",
                    buf.len(),
                    self.data.len()
                )),
            )),
        }
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        match start.checked_add(len).filter(|&e| e <= self.data.len()) {
            Some(end) => Ok(self.data[start..end].to_vec()),
            None => Err(Error::in_file(
                &self.name,
                ErrorKind::Corrupt(format!(
                    "read of {len} byte(s) at {offset} past the end of {} byte(s)",
                    self.data.len()
                )),
            )),
        }
    }
}

/// The largest single ranged read of a whole-file read.
const MAX_PIECE: u64 = 16 << 20;

/// One part of a file stored in a blob.
#[derive(Debug, Clone)]
pub struct Part {
    pub blob_path: String,
    pub len: u64,
}

/// A file stored in one or more consecutive blobs (`__uuid` or `__uuid.part0`, `.part1`, …).
#[derive(Debug)]
pub struct BlobFile {
    name: String,
    store: Arc<dyn BlobStore>,
    parts: Vec<Part>,
    /// Start offset of each part within the file.
    starts: Vec<u64>,
    len: u64,
}

impl BlobFile {
    pub fn new(name: impl Into<String>, store: Arc<dyn BlobStore>, parts: Vec<Part>) -> Self {
        let mut starts = Vec::with_capacity(parts.len());
        let mut len = 0;
        for p in &parts {
            starts.push(len);
            len += p.len;
        }
        BlobFile {
            name: name.into(),
            store,
            parts,
            starts,
            len,
        }
    }

    fn blob_error(&self, blob: &str, e: BlobError) -> Error {
        Error::new(
            Location {
                file: Some(self.name.clone()),
                blob: Some(blob.to_string()),
                ..Default::default()
            },
            e,
        )
    }
}

impl RandomAccess for BlobFile {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at_into(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= self.len);
        let Some(end) = end else {
            return Err(Error::in_file(
                &self.name,
                ErrorKind::Corrupt(format!(
                    "read of {} byte(s) at {offset} past the end of {} byte(s)",
                    buf.len(),
                    self.len
                )),
            ));
        };
        let mut i = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let mut pos = offset;
        let mut filled = 0;
        while pos < end {
            let part = &self.parts[i];
            let in_part = pos - self.starts[i];
            let n = (part.len - in_part).min(end - pos) as usize;
            self.store
                .read_range_into(&part.blob_path, in_part, &mut buf[filled..filled + n])
                .map_err(|e| self.blob_error(&part.blob_path, e))?;
            filled += n;
            pos += n as u64;
            i += 1;
        }
        Ok(())
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let end = offset.checked_add(len as u64).filter(|&e| e <= self.len);
        let Some(end) = end else {
            return Err(Error::in_file(
                &self.name,
                ErrorKind::Corrupt(format!(
                    "read of {len} byte(s) at {offset} past the end of {} byte(s)",
                    self.len
                )),
            ));
        };
        // The common case, one part, returns the blob's buffer without another copy.
        let first = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let mut out: Option<Vec<u8>> = None;
        let mut pos = offset;
        let mut i = first;
        while pos < end {
            let part = &self.parts[i];
            let in_part = pos - self.starts[i];
            // A length from metadata may be far beyond the blob: read in pieces, so that memory
            // grows only with bytes that exist.
            let n = (part.len - in_part).min(end - pos).min(MAX_PIECE) as usize;
            let bytes = self
                .store
                .read_range(&part.blob_path, in_part, n)
                .map_err(|e| self.blob_error(&part.blob_path, e))?;
            match &mut out {
                None if n == len => return Ok(bytes),
                None => {
                    let mut v = Vec::with_capacity(len.min(MAX_PIECE as usize));
                    v.extend_from_slice(&bytes);
                    out = Some(v);
                }
                Some(v) => v.extend_from_slice(&bytes),
            }
            pos += n as u64;
            if pos - self.starts[i] == part.len {
                i += 1;
            }
        }
        Ok(out.unwrap_or_default())
    }
}

/// A Lucene file, or a slice of one (a file inside a compound file).
#[derive(Clone)]
pub struct LuceneFile {
    name: Arc<str>,
    src: Arc<dyn RandomAccess>,
    base: u64,
    len: u64,
    /// The checksum the snapshot metadata records for this file (base 36), if any.
    expected_checksum: Option<Arc<str>>,
    /// The repository blob that holds the file (`__uuid`, `v__uuid`), to name it in errors.
    blob: Option<Arc<str>>,
    /// The metadata blob that records the file and its checksum (a shard's `snap-*.dat`).
    listed_in: Option<Arc<str>>,
}

impl fmt::Debug for LuceneFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LuceneFile({}, {} bytes)", self.name, self.len)
    }
}

impl LuceneFile {
    pub fn new(
        name: &str,
        src: Arc<dyn RandomAccess>,
        expected_checksum: Option<&str>,
    ) -> LuceneFile {
        let len = src.len();
        LuceneFile {
            name: name.into(),
            src,
            base: 0,
            len,
            expected_checksum: expected_checksum.map(Into::into),
            blob: None,
            listed_in: None,
        }
    }

    /// Names the blob that holds the file (errors about the file will name it too).
    pub fn with_blob(mut self, blob: &str) -> LuceneFile {
        self.blob = Some(blob.into());
        self
    }

    pub fn blob(&self) -> Option<&str> {
        self.blob.as_deref()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        if offset.checked_add(len as u64).is_none_or(|e| e > self.len) {
            return Err(Error::corrupt(
                self.name.as_ref(),
                format!(
                    "read of {len} byte(s) at offset {offset} past the end of the file ({} byte(s))",
                    self.len
                ),
            ));
        }
        self.src
            .read_at(self.base + offset, len)
            .map_err(|e| self.rename(e))
    }

    /// Fills `buf` with the bytes at `offset`.
    pub fn read_into(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.len)
        {
            return Err(Error::corrupt(
                self.name.as_ref(),
                format!(
                    "read of {} byte(s) at offset {offset} past the end of the file ({} byte(s))",
                    buf.len(),
                    self.len
                ),
            ));
        }
        self.src
            .read_at_into(self.base + offset, buf)
            .map_err(|e| self.rename(e))
    }

    /// Errors from the source name the outer file (`_0.cfs`); say which inner file we read.
    fn rename(&self, mut e: Error) -> Error {
        if e.location.file.as_deref() != Some(&*self.name) {
            let outer = e.location.file.take();
            e.location.file = Some(match outer {
                Some(o) => format!("{} (inside {o})", self.name),
                None => self.name.to_string(),
            });
        }
        e
    }

    pub fn read_all(&self) -> Result<Vec<u8>> {
        let len = usize::try_from(self.len)
            .map_err(|_| Error::corrupt(self.name.as_ref(), "file too large to hold in memory"))?;
        self.read_at(0, len)
    }

    /// A sub-file at `offset..offset+len` of this file, named `name`.
    pub fn slice(&self, name: &str, offset: u64, len: u64) -> Result<LuceneFile> {
        if offset.checked_add(len).is_none_or(|e| e > self.len) {
            return Err(Error::corrupt(
                self.name.as_ref(),
                format!(
                    "entry {name} at {offset}+{len} lies outside the file ({} byte(s))",
                    self.len
                ),
            ));
        }
        Ok(LuceneFile {
            name: name.into(),
            src: self.src.clone(),
            base: self.base + offset,
            len,
            expected_checksum: None,
            blob: self.blob.clone(),
            listed_in: self.listed_in.clone(),
        })
    }

    /// Reads the whole file and verifies its footer checksum (and the snapshot's record of it).
    /// For the small files of a segment: commit, segment info, field infos, live docs, ….
    pub fn read_verified(&self) -> Result<Vec<u8>> {
        self.verified(self.read_all()?)
    }

    /// [`LuceneFile::read_verified`] for the bytes of this file already read whole.
    pub fn verified(&self, data: Vec<u8>) -> Result<Vec<u8>> {
        // Files written before Lucene 4.8 have no footer and no checksum to verify (their
        // header says so); their parsers check the structure, to the end of the file.
        if codec::footerless_header(&data).is_some() {
            return Ok(data);
        }
        let stored = codec::verify_footer(&data)
            .map_err(|e| Error::corrupt(self.name.as_ref(), e.to_string()))?;
        self.check_expected(stored)?;
        Ok(data)
    }

    /// Streams the whole file through CRC32 in windows of `window` bytes and checks the footer,
    /// without holding the file in memory.
    pub fn verify_streaming(&self, window: usize) -> Result<()> {
        if self.len < FOOTER_LEN as u64 {
            return Err(Error::corrupt(
                self.name.as_ref(),
                format!("{} byte(s) is too short for a Lucene file", self.len),
            ));
        }
        let footer = self.read_at(self.len - FOOTER_LEN as u64, FOOTER_LEN)?;
        let stored = codec::footer_checksum(&footer)
            .map_err(|e| Error::corrupt(self.name.as_ref(), e.to_string()))?;
        let mut h = crc32fast::Hasher::new();
        let body_end = self.len - 8;
        let mut buf = vec![0u8; (window as u64).min(body_end) as usize];
        let mut pos = 0;
        while pos < body_end {
            let n = (body_end - pos).min(window as u64) as usize;
            self.read_into(pos, &mut buf[..n])?;
            h.update(&buf[..n]);
            pos += n as u64;
        }
        let actual = h.finalize() as u64;
        if actual != stored {
            return Err(Error::in_file(
                self.name.as_ref(),
                ErrorKind::Checksum {
                    expected: format!("{stored:#010x} (file footer)"),
                    actual: format!("{actual:#010x}"),
                },
            ));
        }
        self.check_expected(stored)
    }

    fn check_expected(&self, stored: u64) -> Result<()> {
        if let Some(expected) = &self.expected_checksum {
            let got = codec::to_base36(stored);
            if got != **expected {
                return Err(Error::in_file(
                    self.name.as_ref(),
                    ErrorKind::Checksum {
                        expected: match &self.listed_in {
                            Some(m) => format!("{expected} (snapshot metadata {m})"),
                            None => format!("{expected} (snapshot metadata)"),
                        },
                        actual: format!("{got} (file footer)"),
                    },
                ));
            }
        }
        Ok(())
    }
}

/// The files of one Lucene commit, by name.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    files: BTreeMap<String, LuceneFile>,
    /// The metadata blob that lists the files (a shard's `snap-*.dat`), if any.
    listed_in: Option<Arc<str>>,
}

impl Directory {
    pub fn new() -> Self {
        Directory::default()
    }

    pub fn insert(&mut self, file: LuceneFile) {
        self.files.insert(file.name().to_string(), file);
    }

    /// A plain Lucene index directory stored as blobs in `dir` of a blob store (tests, tools).
    pub fn from_blob_folder(store: Arc<dyn BlobStore>, dir: &str) -> Result<Directory> {
        let mut out = Directory::new();
        let listed = store
            .list(dir)
            .map_err(|e| Error::new(Location::file(dir), e))?;
        for meta in listed {
            let path = if dir.is_empty() {
                meta.name.clone()
            } else {
                format!("{dir}/{}", meta.name)
            };
            let src = BlobFile::new(
                meta.name.clone(),
                store.clone(),
                vec![Part {
                    blob_path: path,
                    len: meta.size,
                }],
            );
            out.insert(LuceneFile::new(&meta.name, Arc::new(src), None));
        }
        Ok(out)
    }

    pub fn open(&self, name: &str) -> Result<LuceneFile> {
        self.files.get(name).cloned().ok_or_else(|| {
            Error::in_file(
                name,
                ErrorKind::MissingFile {
                    needed_by: None,
                    listed_in: self.listed_in.as_deref().map(str::to_string),
                },
            )
        })
    }

    /// Names the metadata blob that lists these files and their checksums, so that errors
    /// that may be its fault (a checksum or a blob that does not match) name it.
    pub fn set_listed_in(&mut self, metadata: &str) {
        let m: Arc<str> = metadata.into();
        for f in self.files.values_mut() {
            f.listed_in = Some(m.clone());
        }
        self.listed_in = Some(m);
    }

    /// Completes an error about one of these files (or a file inside one of their compound
    /// files, `_3.fnm (inside _3.cfs)`): names the blob that holds it, so that a user can find
    /// the bytes in the repository.
    pub fn locate(&self, mut e: Error) -> Error {
        let Some(file) = e.location.file.as_deref() else {
            return e;
        };
        let outer = match file.rsplit_once(" (inside ") {
            Some((_, o)) => self
                .files
                .get(o.split([',', ')']).next().unwrap_or_default()),
            None => self.files.get(file),
        };
        if e.location.blob.is_none() {
            e.location.blob = outer.and_then(|f| {
                let blob = f.blob.as_deref()?;
                // A `v__` file's bytes are held inside the metadata blob that lists it.
                Some(match (&f.listed_in, blob.starts_with("v__")) {
                    (Some(m), true) => format!("{blob} inline in {m}"),
                    _ => blob.to_string(),
                })
            });
        }
        // The blob's name and length are the listing metadata's word.
        match (&mut e.kind, &self.listed_in) {
            (ErrorKind::Blob(BlobError::NotFound { path }), Some(m)) if !path.contains(" (") => {
                path.push_str(&format!(" (named by {m})"));
            }
            (ErrorKind::Blob(BlobError::ShortRead { path, .. }), Some(m))
                if !path.contains(" (") =>
            {
                path.push_str(&format!(" (length recorded in {m})"));
            }
            _ => {}
        }
        e
    }

    /// The metadata blob that lists these files, if known.
    pub fn listed_in(&self) -> Option<&str> {
        self.listed_in.as_deref()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The name of the newest `segments_N` file (the commit), if any.
    pub fn latest_commit(&self) -> Option<String> {
        self.files
            .keys()
            .filter_map(|n| {
                let gen = if n == "segments" {
                    Some(0)
                } else {
                    n.strip_prefix("segments_")
                        .and_then(|g| u64::from_str_radix(g, 36).ok())
                };
                gen.map(|g| (g, n.clone()))
            })
            .max()
            .map(|(_, n)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::LocalDirectory;

    #[test]
    fn whole_reads_longer_than_a_piece_span_parts_and_stop_at_a_short_blob() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..(MAX_PIECE as usize + 5000)).map(|i| i as u8).collect();
        let (a, b) = data.split_at(1000);
        std::fs::write(dir.path().join("f.part0"), a).unwrap();
        std::fs::write(dir.path().join("f.part1"), b).unwrap();
        let store: Arc<dyn BlobStore> = Arc::new(LocalDirectory::new(dir.path()));
        let parts = |second: u64| {
            vec![
                Part {
                    blob_path: "f.part0".into(),
                    len: 1000,
                },
                Part {
                    blob_path: "f.part1".into(),
                    len: second,
                },
            ]
        };
        let f = BlobFile::new("f", store.clone(), parts(b.len() as u64));
        assert_eq!(f.read_at(0, data.len()).unwrap(), data);
        assert_eq!(f.read_at(999, 2).unwrap(), &data[999..1001]);
        // Metadata that claims 1 TiB: the read fails at the blob's end, in pieces.
        let f = BlobFile::new("f", store, parts(1 << 40));
        let e = f.read_at(0, (1 << 40) + 1000).unwrap_err();
        assert!(e.to_string().contains("f.part1"), "{e}");
    }
}
