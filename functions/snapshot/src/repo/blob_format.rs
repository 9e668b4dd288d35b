//! ChecksumBlobStoreFormat: the wrapper around every `*.dat` metadata blob.
//!
//! `magic | codec name | version 1 | body | footer(CRC32)`, where the body is a SMILE document,
//! optionally prefixed by `DFL\0` and DEFLATE-compressed (repositories with `compress: true`),
//! or by `ZSTD\0` and zstd-compressed (OpenSearch 2.10+ with `compression_type: zstd`).

use super::node::Node;
use super::smile;
use crate::error::{Error, ErrorKind, Result};
use crate::lucene::codec;
use crate::lucene::input::{ByteReader, Endian};
use crate::zstd;

const DEFLATE_PREFIX: &[u8] = b"DFL\0";
const ZSTD_PREFIX: &[u8] = b"ZSTD\0";
const LZF_PREFIX: &[u8] = b"ZV";

/// Verifies and decodes a metadata blob whose header must name `codec_name`.
pub fn decode(blob: &str, data: &[u8], codec_name: &str) -> Result<Node> {
    codec::verify_footer(data).map_err(|e| Error::corrupt(blob, e.to_string()))?;
    let mut r = ByteReader::new(data, Endian::Big);
    let header = codec::read_header(&mut r).map_err(|e| Error::in_file(blob, e))?;
    if header.codec != codec_name {
        return Err(Error::corrupt(
            blob,
            format!(
                "blob header names codec {:?}, expected {codec_name:?}",
                header.codec
            ),
        ));
    }
    if header.version != 1 {
        return Err(Error::unsupported_codec(
            blob,
            header.codec,
            header.version,
            "metadata blob format version 1 is the only one written by ES 5+ and OpenSearch",
        ));
    }
    let body = &data[r.position()..data.len() - codec::FOOTER_LEN];
    let inflated;
    let smile_bytes = if let Some(compressed) = body.strip_prefix(DEFLATE_PREFIX) {
        inflated = inflate_all(compressed).map_err(|e| Error::corrupt(blob, e))?;
        &inflated[..]
    } else if let Some(compressed) = body.strip_prefix(ZSTD_PREFIX) {
        // OpenSearch 2.10+ with `compression_type: zstd`.
        inflated = zstd::decode_stream(compressed).map_err(|e| Error::corrupt(blob, e))?;
        &inflated[..]
    } else if body.starts_with(LZF_PREFIX) {
        return Err(Error::in_file(
            blob,
            ErrorKind::Unsupported("LZF-compressed metadata of Elasticsearch before 5.0".into()),
        ));
    } else {
        body
    };
    smile::decode(smile_bytes).map_err(|e| Error::corrupt(blob, format!("SMILE: {e}")))
}

/// Inflates a raw DEFLATE stream of unknown length (ES writes it with sync flushes).
pub fn inflate_all(data: &[u8]) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::with_capacity(data.len() * 4);
    flate2::read::DeflateDecoder::new(data)
        .read_to_end(&mut out)
        .map_err(|e| format!("DEFLATE-compressed metadata: {e}"))?;
    Ok(out)
}
