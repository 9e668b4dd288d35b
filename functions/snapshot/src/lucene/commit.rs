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
    pub id: [u8; 16],
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

    pub fn live_docs_file(&self) -> Option<String> {
        (self.del_gen != -1)
            .then(|| format!("{}_{}.liv", self.name, to_base36(self.del_gen as u64)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub file_name: String,
    pub format: i32,
    /// Lucene version that wrote this commit.
    pub lucene_version: (i32, i32, i32),
    pub index_created_major: Option<i32>,
    pub segments: Vec<SegmentCommitInfo>,
    pub user_data: Vec<(String, String)>,
}

const VERSION_53: i32 = 6;
const VERSION_70: i32 = 7;
const VERSION_72: i32 = 8;
const VERSION_74: i32 = 9;
const VERSION_86: i32 = 10;

/// Parses a whole `segments_N` file (its footer already verified by the caller).
pub fn parse_commit(file_name: &str, data: &[u8]) -> Result<Commit> {
    let mut r = ByteReader::new(data, Endian::Big);
    let header = codec::read_index_header(&mut r).map_err(|e| Error::in_file(file_name, e))?;
    if header.codec != "segments" {
        return Err(Error::corrupt(
            file_name,
            format!("header names codec {:?}, not \"segments\"", header.codec),
        ));
    }
    if !(VERSION_53..=VERSION_86).contains(&header.version) {
        return Err(Error::unsupported_codec(file_name, "segments", header.version, format!(
                    "commit formats {VERSION_53} (Lucene 6) to {VERSION_86} (Lucene 8.6–10.x) are supported"
                )));
    }
    parse_body(&mut r, file_name, header.version).map_err(|e| Error::in_file(file_name, e))
}

fn parse_body(r: &mut ByteReader, file_name: &str, format: i32) -> DecodeResult<Commit> {
    let lucene_version = (r.vint()?, r.vint()?, r.vint()?);
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
    if num_segments > 0 {
        let _min_version = (r.vint()?, r.vint()?, r.vint()?);
    }
    let mut segments = Vec::with_capacity(num_segments.min(10_000) as usize);
    for _ in 0..num_segments {
        let name = r.string()?;
        if format < VERSION_70 {
            let has_id = r.u8()?;
            if has_id != 1 {
                return r.invalid(format!("segment {name} has no id (hasID={has_id})"));
            }
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(r.bytes(16)?);
        let codec = r.string()?;
        let del_gen = r.be_i64()?;
        let del_count = r.be_i32()?;
        let field_infos_gen = r.be_i64()?;
        let doc_values_gen = r.be_i64()?;
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
        let field_infos_files = r.set_of_strings()?;
        let num_dv_fields = r.be_i32()?;
        if num_dv_fields < 0 {
            return r.invalid("negative doc-values update field count");
        }
        let mut doc_values_update_files = Vec::new();
        for _ in 0..num_dv_fields {
            let field = r.be_i32()?;
            doc_values_update_files.push((field, r.set_of_strings()?));
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
    let user_data = r.map_of_strings()?;
    if r.remaining() != codec::FOOTER_LEN {
        return r.invalid(format!(
            "{} byte(s) between the commit data and the footer",
            r.remaining() as i64 - codec::FOOTER_LEN as i64
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
