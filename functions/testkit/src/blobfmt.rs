//! The two encodings of repository metadata: ChecksumBlobStoreFormat blobs (`*.dat`, shard
//! `index-<gen>`) and the plain JSON of the root `index-N`.

use std::io::Write;

use flate2::write::DeflateEncoder;
use flate2::Compression;
use snapshot::repo::node::Node;
use snapshot::repo::smile::{self, EncodeOptions};

use crate::Error;

const CODEC_MAGIC: u32 = 0x3FD7_6C17;
const FOOTER_MAGIC: u32 = 0xC028_93E8;
const FOOTER_LEN: usize = 16;
/// ChecksumBlobStoreFormat has only ever written version 1.
const BLOB_VERSION: u32 = 1;
/// ES's DeflateCompressor marker, followed by a raw DEFLATE stream.
pub const DEFLATE_PREFIX: &[u8] = b"DFL\0";
/// OpenSearch's ZstdCompressor marker (2.10+, `compression_type: zstd`), followed by zstd frames.
pub const ZSTD_PREFIX: &[u8] = b"ZSTD\0";

/// How metadata blobs are compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MetadataCompression {
    /// Plain SMILE (`compress: false`).
    #[default]
    None,
    /// `DFL\0` + raw DEFLATE (`compress: true`).
    Deflate,
    /// `ZSTD\0` + one zstd frame (OpenSearch `compress: true, compression_type: zstd`).
    Zstd,
}

/// Codec names of the metadata blobs (`BlobStoreRepository` constants).
pub const CODEC_SNAPSHOT: &str = "snapshot";
pub const CODEC_METADATA: &str = "metadata";
pub const CODEC_INDEX_METADATA: &str = "index-metadata";
pub const CODEC_SHARD_SNAPSHOTS: &str = "snapshots";

/// Wraps `node` the way ES does: CodecUtil header, SMILE body with flags 0x05 (optionally
/// compressed), then the CodecUtil footer.
pub fn write_checksummed(codec: &str, node: &Node, compression: MetadataCompression) -> Vec<u8> {
    let smile = smile::encode(node, &EncodeOptions::ELASTICSEARCH);
    let mut out = Vec::with_capacity(smile.len() + 64);
    out.extend_from_slice(&CODEC_MAGIC.to_be_bytes());
    // CodecUtil writes the name as a Lucene string; codec names are short, so the VInt is one byte.
    out.push(codec.len() as u8);
    out.extend_from_slice(codec.as_bytes());
    out.extend_from_slice(&BLOB_VERSION.to_be_bytes());
    match compression {
        MetadataCompression::None => out.extend_from_slice(&smile),
        MetadataCompression::Deflate => {
            out.extend_from_slice(DEFLATE_PREFIX);
            out.extend_from_slice(&deflate(&smile));
        }
        MetadataCompression::Zstd => {
            out.extend_from_slice(ZSTD_PREFIX);
            out.extend_from_slice(&ruzstd::encoding::compress_to_vec(
                &smile[..],
                ruzstd::encoding::CompressionLevel::Fastest,
            ));
        }
    }
    out.extend_from_slice(&FOOTER_MAGIC.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    // CodecUtil's checksum covers everything before it, footer magic and algorithm id included.
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&u64::from(crc).to_be_bytes());
    out
}

/// Raw DEFLATE (no zlib header) at level 3, like ES's `DeflateCompressor`. Its stream is opened
/// with `syncFlush = true`, so a flush before closing leaves an empty sync block ahead of the
/// final one; one is written here too so that readers meet it.
fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::new(3));
    // Writing to a Vec cannot fail.
    enc.write_all(data).expect("deflate into memory");
    enc.flush().expect("deflate into memory");
    enc.finish().expect("deflate into memory")
}

/// A checksummed blob taken apart: its codec name, how the body was compressed, and the
/// decoded SMILE document. Verifies the footer CRC. Used by tests to read back what was written.
#[derive(Debug)]
pub struct ChecksummedBlob {
    pub codec: String,
    pub compression: MetadataCompression,
    pub document: Node,
}

pub fn read_checksummed(path: &str, data: &[u8]) -> Result<ChecksummedBlob, Error> {
    let bad = |reason: String| Error::BadBlob {
        path: path.to_string(),
        reason,
    };
    if data.len() < 9 + FOOTER_LEN || data[..4] != CODEC_MAGIC.to_be_bytes() {
        return Err(bad("no CodecUtil header".into()));
    }
    let footer = &data[data.len() - FOOTER_LEN..];
    if footer[..4] != FOOTER_MAGIC.to_be_bytes() || footer[4..8] != [0; 4] {
        return Err(bad("no CodecUtil footer".into()));
    }
    let stored = u64::from_be_bytes(footer[8..].try_into().expect("8 bytes"));
    let actual = u64::from(crc32fast::hash(&data[..data.len() - 8]));
    if stored != actual {
        return Err(bad(format!(
            "CRC32 {actual:#x} but the footer says {stored:#x}"
        )));
    }
    let name_len = usize::from(data[4]);
    let body_start = 5 + name_len + 4;
    if name_len > 127 || body_start > data.len() - FOOTER_LEN {
        return Err(bad("codec name runs past the footer".into()));
    }
    let codec = String::from_utf8_lossy(&data[5..5 + name_len]).into_owned();
    let version = u32::from_be_bytes(data[5 + name_len..body_start].try_into().expect("4 bytes"));
    if version != BLOB_VERSION {
        return Err(bad(format!("format version {version}")));
    }
    let body = &data[body_start..data.len() - FOOTER_LEN];
    let (compression, smile_bytes) = if let Some(deflated) = body.strip_prefix(DEFLATE_PREFIX) {
        let mut out = Vec::new();
        let mut dec = flate2::write::DeflateDecoder::new(&mut out);
        dec.write_all(deflated)
            .and_then(|_| dec.finish().map(|_| ()))
            .map_err(|e| bad(format!("DEFLATE: {e}")))?;
        (MetadataCompression::Deflate, out)
    } else if let Some(frames) = body.strip_prefix(ZSTD_PREFIX) {
        let out = snapshot::zstd::decode_stream(frames).map_err(bad)?;
        (MetadataCompression::Zstd, out)
    } else {
        (MetadataCompression::None, body.to_vec())
    };
    let document = smile::decode(&smile_bytes).map_err(|source| Error::Smile {
        path: path.to_string(),
        source,
    })?;
    Ok(ChecksummedBlob {
        codec,
        compression,
        document,
    })
}

/// JSON text of `node` with its keys in tree order (ES writes `index-N` in a fixed order;
/// `serde_json::Value` would sort them). Binary becomes base64, as Jackson's JSON does.
pub fn json_text(node: &Node) -> String {
    let mut out = String::new();
    write_json(node, &mut out);
    out
}

fn write_json(node: &Node, out: &mut String) {
    match node {
        Node::Object(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&quote(k));
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
        Node::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_json().to_string()),
    }
}

fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Node {
        Node::Object(vec![
            ("zeta".into(), Node::Int(1)),
            ("alpha".into(), Node::Binary(vec![0xFF; 300])),
        ])
    }

    #[test]
    fn blobs_read_back_with_and_without_compression() {
        for (compression, prefix) in [
            (MetadataCompression::None, &b""[..]),
            (MetadataCompression::Deflate, DEFLATE_PREFIX),
            (MetadataCompression::Zstd, ZSTD_PREFIX),
        ] {
            let blob = write_checksummed(CODEC_SNAPSHOT, &sample(), compression);
            assert_eq!(blob[..4], [0x3F, 0xD7, 0x6C, 0x17]);
            assert_eq!(blob[4..13], *b"\x08snapshot");
            assert!(blob[17..].starts_with(prefix));
            let back = read_checksummed("x", &blob).unwrap();
            assert_eq!(
                (back.codec.as_str(), back.compression),
                (CODEC_SNAPSHOT, compression)
            );
            assert_eq!(back.document, sample());
        }
    }

    #[test]
    fn a_flipped_byte_fails_the_checksum() {
        let mut blob = write_checksummed(CODEC_METADATA, &sample(), MetadataCompression::None);
        blob[20] ^= 1;
        assert!(matches!(
            read_checksummed("x", &blob),
            Err(Error::BadBlob { .. })
        ));
    }

    #[test]
    fn json_keeps_key_order() {
        assert!(json_text(&sample()).starts_with(r#"{"zeta":1,"alpha":"////"#));
    }
}
