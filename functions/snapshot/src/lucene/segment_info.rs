//! `.si`: a segment's document count, compound flag and attributes.

use super::codec;
use super::input::{ByteReader, DecodeError, DecodeResult, Endian};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The `.si` header codec, e.g. `Lucene70SegmentInfo`.
    pub format: String,
    /// Lucene version that wrote the segment.
    pub version: (i32, i32, i32),
    pub max_doc: u32,
    pub is_compound: bool,
    pub diagnostics: Vec<(String, String)>,
    pub files: Vec<String>,
    pub attributes: Vec<(String, String)>,
}

impl SegmentInfo {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn version_string(&self) -> String {
        format!("{}.{}.{}", self.version.0, self.version.1, self.version.2)
    }
}

/// Parses a whole `.si` file (footer verified by the caller) and checks its id (`None`: a
/// Lucene 4.x segment, whose `.si` has none).
pub fn parse_segment_info(
    file_name: &str,
    data: &[u8],
    segment_id: Option<&[u8; 16]>,
    commit: &str,
) -> Result<SegmentInfo> {
    let mut r = ByteReader::new(data, Endian::Big);
    let header = codec::read_header(&mut r).map_err(|e| Error::in_file(file_name, e))?;
    match (header.codec.as_str(), header.version) {
        ("Lucene46SegmentInfo", 0 | 1) if segment_id.is_none() => {
            return parse_lucene46(&mut r, header).map_err(|e| Error::in_file(file_name, e))
        }
        ("Lucene46SegmentInfo", _) if segment_id.is_some() => {
            return Err(Error::corrupt(
                file_name,
                format!("a Lucene 4 segment info (no segment id) where {commit} gives the segment an id"),
            ))
        }
        // Lucene 4.0–4.5 (Lucene40 to Lucene45 codecs; Elasticsearch 0.90).
        ("Lucene40SegmentInfo", v) => {
            return Err(Error::unsupported_codec(
                file_name,
                "Lucene40SegmentInfo",
                v,
                "a segment written by Lucene 4.0–4.5 (Elasticsearch 0.90); segments of Lucene 4.6 (Elasticsearch 1.0) and later are read",
            ))
        }
        // Lucene 3.x segments in a 4.x commit (codec "Lucene3x") have no .si of their own.
        _ => {}
    }
    let header = codec::read_index_suffix(&mut r, header).map_err(|e| Error::in_file(file_name, e))?;
    if header.id.as_ref() != segment_id {
        return Err(Error::corrupt(
            file_name,
            format!("segment id differs from the one in {commit} (file from another segment)"),
        ));
    }
    let (order, layout) = match (header.codec.as_str(), header.version) {
        ("Lucene50SegmentInfo", 0) => (Endian::Big, Layout::V50 { legacy_maps: true }),
        ("Lucene50SegmentInfo", 1) => (Endian::Big, Layout::V50 { legacy_maps: false }),
        ("Lucene62SegmentInfo", 0 | 1) => (Endian::Big, Layout::V50 { legacy_maps: false }),
        ("Lucene70SegmentInfo", 0) | ("Lucene86SegmentInfo", 0) => (Endian::Big, Layout::V70),
        ("Lucene90SegmentInfo", 0) => (Endian::Little, Layout::V90),
        (codec_name, version) => {
            return Err(Error::unsupported_codec(
                file_name,
                codec_name.to_string(),
                version,
                "unknown segment info format (Lucene 4.6 to 10.x are supported)",
            ))
        }
    };
    r.set_order(order);
    parse_body(&mut r, header.codec, layout).map_err(|e| Error::in_file(file_name, e))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Lucene50/62: version, docCount, isCompound, …; maps with 4-byte counts in Lucene50 v0.
    V50 { legacy_maps: bool },
    /// Lucene70/86: version, optional min version, docCount, isCompound, …
    V70,
    /// Lucene90 (little-endian), with a hasBlocks byte from 9.9 on.
    V90,
}

fn parse_body(r: &mut ByteReader, format: String, layout: Layout) -> DecodeResult<SegmentInfo> {
    let version = (r.i32()?, r.i32()?, r.i32()?);
    if !matches!(layout, Layout::V50 { .. }) {
        match r.u8()? {
            0 => {}
            1 => {
                r.skip(12)?;
            }
            b => return r.invalid(format!("bad hasMinVersion byte {b}")),
        }
    }
    let doc_count = r.i32()?;
    if doc_count < 0 {
        return r.invalid(format!("negative document count {doc_count}"));
    }
    // SegmentInfo.YES = 1, NO = -1.
    let is_compound = match r.u8()? {
        1 => true,
        0xFF | 0 => false,
        b => return r.invalid(format!("bad isCompoundFile byte {b}")),
    };
    // The Lucene99 format reuses the Lucene90 header; only the segment version tells that a
    // hasBlocks byte follows.
    if layout == Layout::V90 && version >= (9, 9, 0) {
        match r.u8()? {
            0 | 1 | 0xFF => {}
            b => return r.invalid(format!("bad hasBlocks byte {b}")),
        }
    }
    let (diagnostics, files, attributes) = if layout == (Layout::V50 { legacy_maps: true }) {
        (
            r.legacy_map_of_strings()?,
            r.legacy_set_of_strings()?,
            r.legacy_map_of_strings()?,
        )
    } else {
        (r.map_of_strings()?, r.set_of_strings()?, r.map_of_strings()?)
    };
    Ok(SegmentInfo {
        format,
        version,
        max_doc: doc_count as u32,
        is_compound,
        diagnostics,
        files,
        attributes,
    })
}

/// Lucene 4.6–4.10 `Lucene46SegmentInfo` (lucene-core 4.10.4, Lucene46SegmentInfoReader): a plain
/// header, the version as a string, docCount, isCompound, diagnostics and files (4-byte counts),
/// no attributes; a footer from version 1 (Lucene 4.8) on, else the data ends there.
fn parse_lucene46(r: &mut ByteReader, header: codec::Header) -> DecodeResult<SegmentInfo> {
    let at = r.position();
    let text = r.string()?;
    let version = parse_version(&text).ok_or_else(|| DecodeError::Invalid {
        at,
        what: format!("segment version {text:?} is not major.minor.bugfix"),
    })?;
    let doc_count = r.i32()?;
    if doc_count < 0 {
        return r.invalid(format!("negative document count {doc_count}"));
    }
    let is_compound = match r.u8()? {
        1 => true,
        0xFF => false,
        b => return r.invalid(format!("bad isCompoundFile byte {b}")),
    };
    let diagnostics = r.legacy_map_of_strings()?;
    let files = r.legacy_set_of_strings()?;
    let trailer = if header.version >= 1 { codec::FOOTER_LEN } else { 0 };
    if r.remaining() != trailer {
        return r.invalid(format!(
            "{} byte(s) after the file list",
            r.remaining() as i64 - trailer as i64
        ));
    }
    Ok(SegmentInfo {
        format: header.codec,
        version,
        max_doc: doc_count as u32,
        is_compound,
        diagnostics,
        files,
        attributes: Vec::new(),
    })
}

/// `Version.parse` of the forms Lucene 4 writes: `4.10.4`, `4.7` (a missing bugfix is 0).
fn parse_version(s: &str) -> Option<(i32, i32, i32)> {
    let mut parts = s.split('.').map(|p| p.parse::<i32>().ok());
    let major = parts.next()??;
    let minor = parts.next()??;
    let bugfix = parts.next().unwrap_or(Some(0))?;
    Some((major, minor, bugfix))
}
