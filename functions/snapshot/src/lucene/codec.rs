//! CodecUtil: the header and footer around every Lucene file (always big-endian).

use super::input::{ByteReader, DecodeResult};

pub const CODEC_MAGIC: u32 = 0x3FD7_6C17;
pub const FOOTER_MAGIC: u32 = !CODEC_MAGIC;
pub const FOOTER_LEN: usize = 16;

/// A plain or index header as read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub codec: String,
    pub version: i32,
    /// Segment or commit id (index headers only).
    pub id: Option<[u8; 16]>,
    /// Suffix (index headers only): a generation in base 36, a doc-values format suffix, ….
    pub suffix: Option<String>,
}

/// Reads `magic | codec name | version`.
pub fn read_header(r: &mut ByteReader) -> DecodeResult<Header> {
    let magic = r.be_i32()? as u32;
    if magic != CODEC_MAGIC {
        return r.invalid(format!(
            "codec header magic {magic:#010x} where {CODEC_MAGIC:#010x} was expected (not a Lucene file, or corrupt)"
        ));
    }
    let codec = r.string()?;
    let version = r.be_i32()?;
    Ok(Header {
        codec,
        version,
        id: None,
        suffix: None,
    })
}

/// Reads a header followed by a 16-byte object id and a suffix.
pub fn read_index_header(r: &mut ByteReader) -> DecodeResult<Header> {
    let h = read_header(r)?;
    read_index_suffix(r, h)
}

/// Reads what an index header adds to a plain one (id and suffix), for files whose plain
/// header tells whether they have more (Lucene 4.x files have plain headers).
pub fn read_index_suffix(r: &mut ByteReader, mut h: Header) -> DecodeResult<Header> {
    let mut id = [0u8; 16];
    id.copy_from_slice(r.bytes(16)?);
    let n = r.u8()? as usize;
    let suffix = r.bytes(n)?;
    h.id = Some(id);
    h.suffix = Some(String::from_utf8_lossy(suffix).into_owned());
    Ok(h)
}

/// Whether a file of this header was written without a footer: Lucene added footers (and their
/// CRC32) to every file in 4.8 (LUCENE-5580); the formats below are the pre-4.8 versions of the
/// files that a Lucene 4.6/4.7 segment can hold which this reader opens (`segments` 0 and 1 end
/// with a bare CRC32 long instead, checked by the commit parser), and the Lucene 4.0–4.5 `.si`
/// that is read only to say which version wrote it.
/// Read in lucene-core 4.10.4: SegmentInfos, Lucene46SegmentInfoFormat, Lucene46FieldInfosFormat,
/// CompoundFileWriter, BitVector, CompressingStoredFieldsWriter (VERSION_CHECKSUM constants).
pub fn predates_footers(codec: &str, version: i32) -> bool {
    match codec {
        "segments" | "BitVector" => version < 2,
        "Lucene46SegmentInfo" | "Lucene46FieldInfos" => version < 1,
        "CompoundFileWriterEntries" | "CompoundFileWriterData" => version < 1,
        "Lucene41StoredFieldsData" | "Lucene41StoredFieldsIndex" => version < 2,
        // Lucene 4.0–4.5: read only to name the version (not supported).
        "Lucene40SegmentInfo" => true,
        _ => false,
    }
}

/// The codec name and version of a whole file whose header says it has no footer (see
/// [`predates_footers`]); a Lucene 4 `.del` starts with the int -2 before its header.
pub fn footerless_header(data: &[u8]) -> Option<(String, i32)> {
    let mut r = ByteReader::new(data, super::input::Endian::Big);
    let mut first = r.be_i32().ok()?;
    if first == -2 {
        first = r.be_i32().ok()?;
    }
    if first as u32 != CODEC_MAGIC {
        return None;
    }
    let codec = r.string().ok()?;
    let version = r.be_i32().ok()?;
    predates_footers(&codec, version).then_some((codec, version))
}

/// Checks the footer of a whole file held in memory and that the CRC32 of everything before the
/// checksum matches. Returns the stored checksum.
pub fn verify_footer(data: &[u8]) -> Result<u64, FooterError> {
    let stored = footer_checksum(data)?;
    let mut h = crc32fast::Hasher::new();
    h.update(&data[..data.len() - 8]);
    let actual = h.finalize() as u64;
    if actual != stored {
        return Err(FooterError::Mismatch { stored, actual });
    }
    Ok(stored)
}

/// Validates the footer's shape and returns the checksum it records (without computing one).
pub fn footer_checksum(data: &[u8]) -> Result<u64, FooterError> {
    if data.len() < FOOTER_LEN {
        return Err(FooterError::TooShort(data.len()));
    }
    let f = &data[data.len() - FOOTER_LEN..];
    let magic = u32::from_be_bytes([f[0], f[1], f[2], f[3]]);
    if magic != FOOTER_MAGIC {
        return Err(FooterError::BadMagic(magic));
    }
    let algorithm = u32::from_be_bytes([f[4], f[5], f[6], f[7]]);
    if algorithm != 0 {
        return Err(FooterError::BadAlgorithm(algorithm));
    }
    let mut c = [0u8; 8];
    c.copy_from_slice(&f[8..]);
    let stored = u64::from_be_bytes(c);
    if stored >> 32 != 0 {
        return Err(FooterError::BadChecksum(stored));
    }
    Ok(stored)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FooterError {
    #[error("file of {0} byte(s) is too short to hold a footer")]
    TooShort(usize),
    #[error("footer magic {0:#010x} is wrong (truncated or corrupt file)")]
    BadMagic(u32),
    #[error("footer names checksum algorithm {0}, only 0 (CRC32) exists")]
    BadAlgorithm(u32),
    #[error("footer checksum {0:#x} has bits above 32 set")]
    BadChecksum(u64),
    #[error("checksum mismatch: footer says {stored:#010x}, content has {actual:#010x}")]
    Mismatch { stored: u64, actual: u64 },
}

/// Java's `Long.toString(v, 36)` for a non-negative value: how snapshots record file checksums
/// and how Lucene names generations.
pub fn to_base36(mut v: u64) -> String {
    if v == 0 {
        return "0".into();
    }
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while v > 0 {
        out.push(digits[(v % 36) as usize]);
        v /= 36;
    }
    out.reverse();
    String::from_utf8(out).expect("ascii digits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lucene::input::Endian;

    fn with_footer(mut body: Vec<u8>) -> Vec<u8> {
        body.extend_from_slice(&FOOTER_MAGIC.to_be_bytes());
        body.extend_from_slice(&0u32.to_be_bytes());
        let crc = crc32fast::hash(&body) as u64;
        body.extend_from_slice(&crc.to_be_bytes());
        body
    }

    #[test]
    fn footer_verifies_and_detects_a_flipped_byte() {
        let mut file = with_footer(b"some lucene bytes".to_vec());
        assert!(verify_footer(&file).is_ok());
        file[3] ^= 0x10;
        assert!(matches!(
            verify_footer(&file),
            Err(FooterError::Mismatch { .. })
        ));
        assert!(matches!(
            verify_footer(&file[..file.len() - 1]),
            Err(FooterError::BadMagic(_))
        ));
    }

    #[test]
    fn index_header_round() {
        let mut b = CODEC_MAGIC.to_be_bytes().to_vec();
        b.push(5);
        b.extend_from_slice(b"Hello");
        b.extend_from_slice(&3i32.to_be_bytes());
        b.extend_from_slice(&[7u8; 16]);
        b.push(2);
        b.extend_from_slice(b"1a");
        let h = read_index_header(&mut ByteReader::new(&b, Endian::Little)).unwrap();
        assert_eq!(h.codec, "Hello");
        assert_eq!(h.version, 3);
        assert_eq!(h.id, Some([7u8; 16]));
        assert_eq!(h.suffix.as_deref(), Some("1a"));
    }

    #[test]
    fn base36_matches_java() {
        assert_eq!(to_base36(0), "0");
        assert_eq!(to_base36(35), "z");
        assert_eq!(to_base36(36), "10");
        assert_eq!(to_base36(4_294_967_295), "1z141z3");
    }
}
