//! `.si`: a segment's document count, compound flag and attributes.

use super::codec;
use super::input::{ByteReader, DecodeResult, Endian};
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

/// Parses a whole `.si` file (footer verified by the caller) and checks its id.
pub fn parse_segment_info(
    file_name: &str,
    data: &[u8],
    segment_id: &[u8; 16],
    commit: &str,
) -> Result<SegmentInfo> {
    let mut r = ByteReader::new(data, Endian::Big);
    let header = codec::read_index_header(&mut r).map_err(|e| Error::in_file(file_name, e))?;
    if header.id.as_ref() != Some(segment_id) {
        return Err(Error::corrupt(
            file_name,
            format!("segment id differs from the one in {commit} (file from another segment)"),
        ));
    }
    let (order, layout) = match (header.codec.as_str(), header.version) {
        ("Lucene50SegmentInfo", 1) => (Endian::Big, Layout::V50),
        ("Lucene62SegmentInfo", 0 | 1) => (Endian::Big, Layout::V50),
        ("Lucene70SegmentInfo", 0) | ("Lucene86SegmentInfo", 0) => (Endian::Big, Layout::V70),
        ("Lucene90SegmentInfo", 0) => (Endian::Little, Layout::V90),
        (codec_name, version) => {
            return Err(Error::unsupported_codec(
                file_name,
                codec_name.to_string(),
                version,
                "unknown segment info format (Lucene 6.0 to 10.x are supported)",
            ))
        }
    };
    r.set_order(order);
    parse_body(&mut r, header.codec, layout).map_err(|e| Error::in_file(file_name, e))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Lucene50/62: version, docCount, isCompound, …
    V50,
    /// Lucene70/86: version, optional min version, docCount, isCompound, …
    V70,
    /// Lucene90 (little-endian), with a hasBlocks byte from 9.9 on.
    V90,
}

fn parse_body(r: &mut ByteReader, format: String, layout: Layout) -> DecodeResult<SegmentInfo> {
    let version = (r.i32()?, r.i32()?, r.i32()?);
    if layout != Layout::V50 {
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
    let diagnostics = r.map_of_strings()?;
    let files = r.set_of_strings()?;
    let attributes = r.map_of_strings()?;
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
