//! The layout of a `.fdt` file, from its header codec and version.

use super::fields::FieldEncoding;
use super::Compression;
use crate::error::{Error, Result};
use crate::lucene::codec;
use crate::lucene::input::Endian;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IntsEncoding {
    Packed,
    StoredFieldsInts,
}

/// How a `.fdt` file is laid out, from its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pub codec: String,
    pub version: i32,
    pub compression: Compression,
    pub order: Endian,
    pub(super) ints: IntsEncoding,
    /// `chunkDocs = token >> shift` (1 before Lucene 8.9, 2 after, which added a dirty bit).
    pub(super) token_shift: u32,
    pub(super) chunk_size_in_meta: bool,
    pub(super) meta_codec: Option<&'static str>,
    /// How a chunk says it is cut into units of the chunk size.
    pub slicing: Slicing,
    /// Lucene 4.x numbers in fixed width (see [`FieldEncoding`]).
    fixed_numerics: bool,
    /// Lucene 4.0–4.7 `.fdt` files end without a footer.
    pub has_footer: bool,
}

/// How a chunk too big for one compression unit is marked (then each unit holds `chunk size`
/// bytes, the last one the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slicing {
    /// Lucene 5.0+: the low bit of the chunk's doc-count token.
    TokenBit,
    /// Lucene 4.2–4.10 (`Lucene41StoredFields` version 1+, CompressingStoredFieldsReader
    /// 4.10.4): a chunk of at least twice the chunk size, no marker; its doc count is a plain VInt.
    BigChunks,
}

impl Format {
    pub(super) fn from_header(file: &str, codec_name: &str, version: i32) -> Result<Format> {
        use Compression::*;
        let lucene90_layout = |compression| {
            (
                compression,
                Endian::Little,
                IntsEncoding::StoredFieldsInts,
                2,
                true,
                Some("Lucene90FieldsIndexMeta"),
            )
        };
        let (compression, order, ints, shift, in_meta, meta) = match (codec_name, version) {
            // Lucene 4.2–4.10 (lucene-core 4.10.4, CompressingStoredFieldsWriter): 1 = 4.2
            // (chunk size in the header, big chunks), 2 = 4.8 (footer). Version 0 only comes
            // from Lucene 4.1, whose segments (Lucene40SegmentInfo) are refused before.
            ("Lucene41StoredFieldsData", 1..=2) => {
                (Lz4, Endian::Big, IntsEncoding::Packed, 0, false, None)
            }
            // Version 0 = Lucene 5.0–5.4, 1 = 5.5+ (chunk statistics after the chunks).
            ("Lucene50StoredFieldsFastData", 0..=2) => {
                (Lz4, Endian::Big, IntsEncoding::Packed, 1, false, None)
            }
            ("Lucene50StoredFieldsHighData", 0..=2) => {
                (Deflate, Endian::Big, IntsEncoding::Packed, 1, false, None)
            }
            ("Lucene87StoredFieldsFastData", 3 | 4) => (
                Lz4WithDict,
                Endian::Big,
                IntsEncoding::Packed,
                if version >= 4 { 2 } else { 1 },
                true,
                Some("Lucene85FieldsIndexMeta"),
            ),
            ("Lucene87StoredFieldsHighData", 3 | 4) => (
                DeflateWithDict,
                Endian::Big,
                IntsEncoding::Packed,
                if version >= 4 { 2 } else { 1 },
                true,
                Some("Lucene85FieldsIndexMeta"),
            ),
            ("Lucene90StoredFieldsFastData", 1) => lucene90_layout(Lz4WithDict),
            ("Lucene90StoredFieldsHighData", 1) => lucene90_layout(DeflateWithDict),
            // Lucene90CompressingStoredFieldsFormat with the compression modes of others.
            ("ZstdStoredFields814", 1) => lucene90_layout(ZstdEs814),
            ("CustomStoredFieldsZstd", 1) => lucene90_layout(ZstdOsDict),
            ("CustomStoredFieldsZstdNoDict", 1) => lucene90_layout(ZstdOsNoDict),
            (name, v) => {
                let lower = name.to_ascii_lowercase();
                let why = if lower.contains("qat") {
                    "hardware (QAT) compressed stored fields are not supported".to_string()
                } else if lower.contains("zstd") {
                    "a zstd stored fields format this reader does not know; it reads Elasticsearch's ZstdStoredFields814 and OpenSearch's CustomStoredFieldsZstd and CustomStoredFieldsZstdNoDict".to_string()
                } else {
                    "unknown stored fields format; supported are Lucene41 (Lucene 4.1–4.10), Lucene50 (Lucene 5.0–8.6), Lucene87 (8.7–8.11) and Lucene90 (9.x–10.x) in fast and best-compression modes, Elasticsearch's ZstdStoredFields814 and OpenSearch's CustomStoredFieldsZstd and CustomStoredFieldsZstdNoDict".to_string()
                };
                return Err(Error::unsupported_codec(file, name.to_string(), v, why));
            }
        };
        let lucene41 = codec_name == "Lucene41StoredFieldsData";
        let slicing = if lucene41 {
            Slicing::BigChunks
        } else {
            Slicing::TokenBit
        };
        Ok(Format {
            slicing,
            fixed_numerics: lucene41,
            has_footer: !codec::predates_footers(codec_name, version),
            codec: codec_name.to_string(),
            version,
            compression,
            order,
            ints,
            token_shift: shift,
            chunk_size_in_meta: in_meta,
            meta_codec: meta,
        })
    }
}

impl Format {
    /// How the fields of a document of this format are read.
    pub fn field_encoding(&self) -> FieldEncoding {
        FieldEncoding {
            order: self.order,
            fixed_numerics: self.fixed_numerics,
        }
    }
}
