//! What the repository writer needs from a Lucene directory: the files of its latest commit,
//! each file's footer checksum, and the Lucene version that wrote it.

use std::path::{Path, PathBuf};

use crate::Error;

const CODEC_MAGIC: [u8; 4] = [0x3F, 0xD7, 0x6C, 0x17];

/// One file of a commit, read whole.
#[derive(Debug, Clone)]
pub struct LuceneFile {
    pub name: String,
    pub bytes: Vec<u8>,
    /// The CRC32 stored in the footer (verified against the content).
    pub checksum: u64,
    /// `major.minor.bugfix` of the Lucene that wrote the file's segment (or the commit).
    pub written_by: Option<String>,
}

impl LuceneFile {
    /// `segments_N` and `.si` files: ES stores their whole content as `meta_hash`.
    pub fn hash_is_content(&self) -> bool {
        self.name.starts_with("segments_") || self.name.ends_with(".si")
    }
}

/// `Long.toString(v, 36)`, how ES writes FileInfo checksums.
pub use snapshot::lucene::codec::to_base36 as base36;

/// The files of the latest commit in `dir`: the highest `segments_N` and every other regular
/// file except `write.lock` and older commit points. The directory is expected to hold one clean
/// commit (as an index copied after `IndexWriter.close()`), so no reference walking is done.
pub fn read_commit(dir: &Path) -> Result<Vec<LuceneFile>, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if entry.file_type().map_err(io(&entry.path()))?.is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    let generation = |n: &str| {
        n.strip_prefix("segments_")
            .and_then(|g| u64::from_str_radix(g, 36).ok())
    };
    let latest = names
        .iter()
        .filter_map(|n| generation(n).map(|g| (g, n.clone())))
        .max()
        .map(|(_, n)| n)
        .ok_or_else(|| Error::NoCommit {
            dir: dir.to_path_buf(),
        })?;
    names.retain(|n| {
        n == &latest
            || !(n.starts_with("segments") || n == "write.lock" || n.starts_with("pending_"))
    });
    names.sort();

    let mut files = Vec::new();
    for name in names {
        let path: PathBuf = dir.join(&name);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let checksum = footer_checksum(&bytes).map_err(|reason| Error::NotLucene {
            path: path.clone(),
            reason,
        })?;
        files.push(LuceneFile {
            name,
            bytes,
            checksum,
            written_by: None,
        });
    }
    // Segment files carry their segment's version (from `.si`); segments_N its commit version.
    let commit_version = files
        .iter()
        .find(|f| f.name == latest)
        .and_then(|f| commit_lucene_version(&f.bytes));
    let si_versions: Vec<(String, String)> = files
        .iter()
        .filter(|f| f.name.ends_with(".si"))
        .filter_map(|f| {
            Some((
                segment_of(&f.name)?.to_string(),
                segment_lucene_version(&f.bytes)?,
            ))
        })
        .collect();
    for f in &mut files {
        let own = segment_of(&f.name)
            .and_then(|seg| si_versions.iter().find(|(s, _)| s == seg))
            .map(|(_, v)| v.clone());
        f.written_by = own.or_else(|| commit_version.clone());
    }
    Ok(files)
}

/// The checksum in a CodecUtil footer, after checking the footer magic and the CRC itself.
pub fn footer_checksum(bytes: &[u8]) -> Result<u64, String> {
    snapshot::lucene::codec::verify_footer(bytes).map_err(|e| e.to_string())
}

fn segment_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix('_')?;
    let end = rest.find(['.', '_']).unwrap_or(rest.len());
    Some(&name[..1 + end])
}

/// A cursor over a CodecUtil index header, enough to reach the first fields after it.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn vint(&mut self) -> Option<u32> {
        let mut v: u32 = 0;
        for shift in (0..35).step_by(7) {
            let b = *self.take(1)?.first()?;
            v |= u32::from(b & 0x7F).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// Skips magic, codec name and version, object id and suffix; returns the codec name.
    fn index_header(&mut self) -> Option<String> {
        if self.take(4)? != CODEC_MAGIC {
            return None;
        }
        let len = self.vint()? as usize;
        let codec = String::from_utf8(self.take(len)?.to_vec()).ok()?;
        self.take(4 + 16)?;
        let suffix = usize::from(*self.take(1)?.first()?);
        self.take(suffix)?;
        Some(codec)
    }
}

/// The Lucene version that wrote a `segments_N` (format 6 = Lucene 5.3 and later).
fn commit_lucene_version(bytes: &[u8]) -> Option<String> {
    let mut c = Cursor { b: bytes, pos: 0 };
    if c.index_header()? != "segments" {
        return None;
    }
    Some(format!("{}.{}.{}", c.vint()?, c.vint()?, c.vint()?))
}

/// The version in a `.si` file: three ints right after the header, big-endian up to the
/// Lucene 8 formats and little-endian from `Lucene90SegmentInfo` on.
fn segment_lucene_version(bytes: &[u8]) -> Option<String> {
    let mut c = Cursor { b: bytes, pos: 0 };
    let codec = c.index_header()?;
    let little = match codec.as_str() {
        "Lucene50SegmentInfo"
        | "Lucene62SegmentInfo"
        | "Lucene70SegmentInfo"
        | "Lucene86SegmentInfo" => false,
        "Lucene90SegmentInfo" => true,
        _ => return None,
    };
    let mut part = || {
        let b: [u8; 4] = c.take(4)?.try_into().ok()?;
        Some(if little {
            i32::from_le_bytes(b)
        } else {
            i32::from_be_bytes(b)
        })
    };
    Some(format!("{}.{}.{}", part()?, part()?, part()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base36_matches_java() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        // From ES 7.10: `_1.cfs` has checksum "16ggfg6".
        assert_eq!(
            u64::from_str_radix("16ggfg6", 36).map(base36),
            Ok("16ggfg6".into())
        );
    }

    #[test]
    fn segment_names() {
        assert_eq!(segment_of("_0.cfs"), Some("_0"));
        assert_eq!(segment_of("_a1_3.liv"), Some("_a1"));
        assert_eq!(segment_of("_0_Lucene90_0.dvd"), Some("_0"));
        assert_eq!(segment_of("segments_4"), None);
    }
}
