//! `segments_N`: the commit point that names a shard's segments (`SegmentInfos.readCommit`).

use super::codec::{self, to_base36};
use super::input::{ByteReader, DecodeResult, Endian};
use crate::error::{Error, Result};

/// One segment as the commit records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentCommitInfo {
    pub name: String,
    /// The commit file (`segments_N`) that records the segment, to name it in errors.
    pub commit: String,
    /// `None` for a segment written by Lucene 4.x (segment ids came with 5.0), also when a
    /// Lucene 5.x commit lists it.
    pub id: Option<[u8; 16]>,
    pub codec: String,
    /// Generation of the `.liv` file; -1 when the segment has no hard deletes.
    pub del_gen: i64,
    pub del_count: i32,
    /// Generation of the newest `.fnm`; -1 means the segment's own.
    pub field_infos_gen: i64,
    pub doc_values_gen: i64,
    /// Soft-deleted documents that are not also hard-deleted (format ≥ 9).
    pub soft_del_count: i32,
    pub field_infos_files: Vec<String>,
    /// Doc-values update files by field number.
    pub doc_values_update_files: Vec<(i32, Vec<String>)>,
}

impl SegmentCommitInfo {
    /// The segment's newest field infos: `_3.fnm`, or `_3_<gen>.fnm` after doc-values updates.
    pub fn field_infos_file(&self) -> String {
        if self.field_infos_gen == -1 {
            format!("{}.fnm", self.name)
        } else {
            format!(
                "{}_{}.fnm",
                self.name,
                to_base36(self.field_infos_gen as u64)
            )
        }
    }

    /// `_3_2.liv`, or `_3_2.del` for a Lucene 4.x segment (no id): its codec keeps
    /// Lucene40LiveDocsFormat, also when a later Lucene deletes documents in it.
    pub fn live_docs_file(&self) -> Option<String> {
        let ext = if self.id.is_none() { "del" } else { "liv" };
        (self.del_gen != -1)
            .then(|| format!("{}_{}.{ext}", self.name, to_base36(self.del_gen as u64)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub file_name: String,
    pub format: i32,
    /// Lucene version that wrote this commit. Formats before 5.3 do not record it: for them this
    /// is the first Lucene version that wrote the format.
    pub lucene_version: (i32, i32, i32),
    pub index_created_major: Option<i32>,
    pub segments: Vec<SegmentCommitInfo>,
    pub user_data: Vec<(String, String)>,
}

// segments_N format versions (SegmentInfos of lucene-core 4.10.4, 5.5.5 and later).
const VERSION_40: i32 = 0;
const VERSION_46: i32 = 1;
const VERSION_48: i32 = 2;
const VERSION_49: i32 = 3;
const VERSION_50: i32 = 4;
const VERSION_51: i32 = 5;
const VERSION_53: i32 = 6;
const VERSION_70: i32 = 7;
const VERSION_72: i32 = 8;
const VERSION_74: i32 = 9;
const VERSION_86: i32 = 10;

/// Parses a whole `segments_N` file. Its footer (Lucene 4.8+) is verified by the caller; the
/// bare CRC32 that ends a Lucene 4.0–4.7 commit is verified here.
pub fn parse_commit(file_name: &str, data: &[u8]) -> Result<Commit> {
    let mut r = ByteReader::new(data, Endian::Big);
    let magic = r.be_i32().map_err(|e| Error::in_file(file_name, e))?;
    if magic as u32 != codec::CODEC_MAGIC {
        // Lucene 2.x/3.x commits start with a negative format number instead of a header.
        return Err(Error::unsupported_codec(
            file_name,
            "segments (pre-4.0, no codec header)",
            magic,
            format!("a Lucene 2.x/3.x commit format ({magic}; Lucene 3.x writes -9 to -11, as Elasticsearch 0.20 and older do); commits of Lucene 4.0 and later are read"),
        ));
    }
    r.set_position(0);
    let header = codec::read_header(&mut r).map_err(|e| Error::in_file(file_name, e))?;
    if header.codec != "segments" {
        return Err(Error::corrupt(
            file_name,
            format!("header names codec {:?}, not \"segments\"", header.codec),
        ));
    }
    if !(VERSION_40..=VERSION_86).contains(&header.version) {
        return Err(Error::unsupported_codec(file_name, "segments", header.version, format!(
                    "commit formats {VERSION_40} (Lucene 4.0) to {VERSION_86} (Lucene 8.6–10.x) are supported"
                )));
    }
    let format = header.version;
    if format < VERSION_48 {
        verify_trailing_crc(data).map_err(|e| Error::corrupt(file_name, e))?;
    }
    (|| {
        if format >= VERSION_50 {
            // The commit id and the generation suffix of an index header.
            r.skip(16)?;
            let n = r.u8()? as usize;
            r.skip(n)?;
        }
        parse_body(&mut r, file_name, format)
    })()
    .map_err(|e| Error::in_file(file_name, e))
}

/// Lucene 4.0–4.7 end a commit with the CRC32 of everything before it, as a long.
fn verify_trailing_crc(data: &[u8]) -> Result<(), String> {
    if data.len() < 8 {
        return Err("too short for its trailing checksum".into());
    }
    let (body, tail) = data.split_at(data.len() - 8);
    let stored = u64::from_be_bytes(tail.try_into().expect("8 bytes"));
    let actual = crc32fast::hash(body) as u64;
    if stored != actual {
        return Err(format!(
            "checksum mismatch: the trailing checksum says {stored:#010x}, the content has {actual:#010x}"
        ));
    }
    Ok(())
}

/// The first Lucene release of a commit format that does not record its writer's version.
fn first_version_of(format: i32) -> (i32, i32, i32) {
    match format {
        VERSION_40 => (4, 0, 0),
        VERSION_46 => (4, 6, 0),
        VERSION_48 => (4, 8, 0),
        VERSION_49 => (4, 9, 0),
        VERSION_50 => (5, 0, 0),
        _ => (5, 1, 0),
    }
}

fn parse_body(r: &mut ByteReader, file_name: &str, format: i32) -> DecodeResult<Commit> {
    let lucene_version = if format >= VERSION_53 {
        (r.vint()?, r.vint()?, r.vint()?)
    } else {
        first_version_of(format)
    };
    let index_created_major = if format >= VERSION_70 {
        Some(r.vint()?)
    } else {
        None
    };
    let _version = r.be_i64()?;
    let _counter = if format >= VERSION_72 {
        r.vlong()?
    } else {
        r.be_i32()? as i64
    };
    let num_segments = r.be_i32()?;
    if num_segments < 0 {
        return r.invalid(format!("negative segment count {num_segments}"));
    }
    if num_segments > 0 && format >= VERSION_53 {
        let _min_version = (r.vint()?, r.vint()?, r.vint()?);
    }
    let mut segments = Vec::with_capacity(num_segments.min(10_000) as usize);
    for _ in 0..num_segments {
        let name = r.string()?;
        let id = if format >= VERSION_70 {
            Some(r.bytes(16)?)
        } else if format >= VERSION_50 {
            // A Lucene 4.x segment in a Lucene 5.x commit has no id.
            match r.u8()? {
                0 => None,
                1 => Some(r.bytes(16)?),
                b => return r.invalid(format!("segment {name}: bad hasID byte {b}")),
            }
        } else {
            None
        };
        let id = id.map(|b| <[u8; 16]>::try_from(b).expect("16 bytes"));
        let codec = r.string()?;
        let del_gen = r.be_i64()?;
        let del_count = r.be_i32()?;
        let field_infos_gen = if format >= VERSION_46 { r.be_i64()? } else { -1 };
        let doc_values_gen = if format >= VERSION_49 {
            r.be_i64()?
        } else {
            field_infos_gen
        };
        let soft_del_count = if format >= VERSION_74 { r.be_i32()? } else { 0 };
        if format >= VERSION_86 {
            match r.u8()? {
                0 => {}
                1 => r.skip(16)?,
                m => {
                    return r.invalid(format!(
                        "segment {name}: bad SegmentCommitInfo id marker {m}"
                    ))
                }
            }
        }
        let mut field_infos_files = Vec::new();
        let mut doc_values_update_files = Vec::new();
        if (VERSION_46..VERSION_49).contains(&format) {
            // Lucene 4.6–4.8: the files of each update generation (LUCENE-5636), all kept.
            let n = r.be_i32()?;
            if n < 0 {
                return r.invalid("negative update generation count");
            }
            for _ in 0..n {
                let _gen = r.be_i64()?;
                field_infos_files.extend(r.legacy_set_of_strings()?);
            }
        } else if format >= VERSION_49 {
            field_infos_files = strings(r, format)?;
            let num_dv_fields = r.be_i32()?;
            if num_dv_fields < 0 {
                return r.invalid("negative doc-values update field count");
            }
            for _ in 0..num_dv_fields {
                let field = r.be_i32()?;
                doc_values_update_files.push((field, strings(r, format)?));
            }
        }
        if del_count < 0 || soft_del_count < 0 {
            return r.invalid(format!(
                "segment {name}: negative delete counts ({del_count}, {soft_del_count})"
            ));
        }
        segments.push(SegmentCommitInfo {
            commit: file_name.to_string(),
            name,
            id,
            codec,
            del_gen,
            del_count,
            field_infos_gen,
            doc_values_gen,
            soft_del_count,
            field_infos_files,
            doc_values_update_files,
        });
    }
    let user_data = if format >= VERSION_51 {
        r.map_of_strings()?
    } else {
        r.legacy_map_of_strings()?
    };
    let trailer = if format >= VERSION_48 {
        codec::FOOTER_LEN
    } else {
        8
    };
    if r.remaining() != trailer {
        return r.invalid(format!(
            "{} byte(s) between the commit data and the footer",
            r.remaining() as i64 - trailer as i64
        ));
    }
    Ok(Commit {
        file_name: file_name.to_string(),
        format,
        lucene_version,
        index_created_major,
        segments,
        user_data,
    })
}

/// A set of strings: a 4-byte count before Lucene 5.1, a VInt count after.
fn strings(r: &mut ByteReader, format: i32) -> DecodeResult<Vec<String>> {
    if format >= VERSION_51 {
        r.set_of_strings()
    } else {
        r.legacy_set_of_strings()
    }
}
