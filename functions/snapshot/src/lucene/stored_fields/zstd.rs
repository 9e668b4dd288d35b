//! zstd compression units of stored-field chunks: Elasticsearch 8.14+ (`ZstdStoredFields814`,
//! best_compression from 8.16) and the OpenSearch custom-codecs plugin (`index.codec: zstd` and
//! `zstd_no_dict`). Like the other units, each function decodes one unit from the front of
//! `input` into `out` (the unit's decompressed length) and returns the bytes it consumed.
//!
//! Layouts, from the writers (ES `Zstd814StoredFieldsFormat`, custom-codecs
//! `ZstdCompressionMode` / `ZstdNoDictCompressionMode`):
//! - ES: nothing for an empty unit; else VInt compressed length + one frame.
//! - OpenSearch, no dictionary: VInt block length, then `[VInt clen + frame]` per block of the
//!   unit (ten blocks at most).
//! - OpenSearch, dictionary: VInt dictionary length (L/60), VInt block length, the dictionary
//!   as `[VInt clen + frame]` (clen 0 when empty), then each block as `[VInt clen + frame]`
//!   compressed with the dictionary bytes as a zstd *raw-content* dictionary.
//!
//! Both OpenSearch writers emit their length prefixes for an empty unit too, though their
//! readers skip it; reading chunks one after another has to consume them.

use super::compression::check_dict_layout;
use crate::lucene::input::{ByteReader, DecodeError, DecodeResult, Endian};
use crate::zstd::decode_frame;

/// ES `ZstdStoredFields814`: an empty unit writes nothing.
pub fn es814(input: &[u8], out: &mut [u8], order: Endian) -> DecodeResult<usize> {
    if out.is_empty() {
        return Ok(0);
    }
    let mut r = ByteReader::new(input, order);
    let clen = r.vint_len()?;
    let at = r.position();
    let frame = r.bytes(clen)?;
    decode_frame(frame, out, None).map_err(|what| DecodeError::Invalid { at, what })?;
    Ok(r.position())
}

/// OpenSearch `CustomStoredFieldsZstdNoDict`.
pub fn os_no_dict(input: &[u8], out: &mut [u8], order: Endian) -> DecodeResult<usize> {
    let len = out.len();
    let mut r = ByteReader::new(input, order);
    let block_len = r.vint_len()?;
    if block_len == 0 && len > 0 {
        return r.invalid("zstd block length 0");
    }
    let mut off = 0;
    while off < len {
        let n = block_len.min(len - off);
        frame_at(&mut r, &mut out[off..off + n], None)?;
        off += n;
    }
    Ok(r.position())
}

/// OpenSearch `CustomStoredFieldsZstd`.
pub fn os_dict(input: &[u8], out: &mut [u8], order: Endian) -> DecodeResult<usize> {
    let len = out.len();
    let mut r = ByteReader::new(input, order);
    let dict_len = r.vint_len()?;
    let block_len = r.vint_len()?;
    check_dict_layout(&r, "zstd", dict_len, block_len, len)?;
    // The dictionary is compressed on its own; an empty one is a bare VInt 0.
    let at = r.position();
    if r.vint_len()? == 0 {
        if dict_len != 0 {
            return Err(DecodeError::Invalid {
                at,
                what: format!("zstd dictionary of {dict_len} byte(s) has no frame"),
            });
        }
    } else {
        r = ByteReader::at(input, at, order);
        frame_at(&mut r, &mut out[..dict_len], None)?;
    }
    let mut off = dict_len;
    while off < len {
        let n = block_len.min(len - off);
        let (head, tail) = out.split_at_mut(off);
        let dict = Some(&head[..dict_len]).filter(|d| !d.is_empty());
        frame_at(&mut r, &mut tail[..n], dict)?;
        off += n;
    }
    Ok(r.position())
}

/// Reads `[VInt clen + frame]` and decodes the frame into `out`.
fn frame_at(r: &mut ByteReader, out: &mut [u8], dict: Option<&[u8]>) -> DecodeResult<()> {
    let clen = r.vint_len()?;
    let at = r.position();
    if clen == 0 {
        return r.invalid(format!(
            "empty zstd frame where {} byte(s) were expected",
            out.len()
        ));
    }
    let frame = r.bytes(clen)?;
    decode_frame(frame, out, dict).map_err(|what| DecodeError::Invalid { at, what })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of ruzstd's own encoder (real libzstd frames are in the generated indexes).
    fn frame(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    fn vint(mut v: usize, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8 & 0x7F) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn unit(frame: &[u8]) -> Vec<u8> {
        let mut u = Vec::new();
        vint(frame.len(), &mut u);
        u.extend_from_slice(frame);
        u
    }

    #[test]
    fn es814_empty_unit_reads_nothing() {
        assert_eq!(es814(&[0x05, 0x01], &mut [], Endian::Little).unwrap(), 0);
    }

    #[test]
    fn es814_decodes_one_frame_and_checks_its_length() {
        let data = b"stored fields stored fields stored fields".repeat(20);
        let mut input = unit(&frame(&data));
        input.push(0xEE); // the next chunk
        let mut out = vec![0; data.len()];
        let used = es814(&input, &mut out, Endian::Little).unwrap();
        assert_eq!(used, input.len() - 1);
        assert_eq!(out, data);
        for wrong in [data.len() - 1, data.len() + 1] {
            let err = es814(&input, &mut vec![0; wrong], Endian::Little).unwrap_err();
            assert!(
                err.to_string().contains(&format!("expected {wrong}")),
                "{err}"
            );
        }
    }

    #[test]
    fn os_empty_units_consume_their_length_prefixes() {
        assert_eq!(os_no_dict(&[0, 9], &mut [], Endian::Little).unwrap(), 1);
        assert_eq!(os_dict(&[0, 0, 0, 9], &mut [], Endian::Little).unwrap(), 3);
    }

    #[test]
    fn os_no_dict_decodes_its_blocks() {
        let data: Vec<u8> = (0..1000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let block = data.len().div_ceil(10);
        let mut input = Vec::new();
        vint(block, &mut input);
        for piece in data.chunks(block) {
            input.extend(unit(&frame(piece)));
        }
        let mut out = vec![0; data.len()];
        assert_eq!(
            os_no_dict(&input, &mut out, Endian::Little).unwrap(),
            input.len()
        );
        assert_eq!(out, data);
    }
}
