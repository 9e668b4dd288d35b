//! The compression units of stored-field chunks: raw LZ4 and DEFLATE (Lucene 5–8.6), and the
//! preset-dictionary variants of Lucene 8.7 on.
//!
//! Each function decodes one unit of known decompressed length from the front of `input`,
//! appends exactly that many bytes to `out` and returns how many input bytes it consumed, so
//! that chunks can be read one after another without the `.fdx` index.

use crate::lucene::input::{ByteReader, DecodeError, DecodeResult, Endian};

/// Raw LZ4 block as Lucene writes it, decoded until `len` bytes are produced.
///
/// Lucene stores no compressed length for these blocks, so the decoder must stop exactly where
/// Lucene's does: after the literals that reach the target length (a block of length 0 still
/// has its one token).
pub fn lz4_raw(input: &[u8], len: usize, out: &mut Vec<u8>) -> DecodeResult<usize> {
    let start = out.len();
    let end = start + len;
    out.reserve(len);
    let mut ip = 0usize;
    let bad = |at: usize, what: &str| DecodeError::Invalid {
        at,
        what: format!("LZ4: {what}"),
    };
    let truncated = |at: usize| DecodeError::Truncated {
        at,
        wanted: 1,
        len: input.len(),
    };
    loop {
        let token = *input.get(ip).ok_or_else(|| truncated(ip))?;
        ip += 1;
        let mut lit = (token >> 4) as usize;
        if lit == 0x0F {
            loop {
                let b = *input.get(ip).ok_or_else(|| truncated(ip))?;
                ip += 1;
                lit += b as usize;
                if b != 0xFF {
                    break;
                }
            }
        }
        let lit_end = ip
            .checked_add(lit)
            .ok_or_else(|| bad(ip, "literal length overflow"))?;
        if lit_end > input.len() {
            return Err(truncated(input.len()));
        }
        if out.len() + lit > end {
            return Err(bad(ip, "literals run past the decompressed length"));
        }
        out.extend_from_slice(&input[ip..lit_end]);
        ip = lit_end;
        if out.len() >= end {
            break;
        }
        if ip + 2 > input.len() {
            return Err(truncated(ip));
        }
        // The match offset is little-endian in every Lucene version.
        let offset = u16::from_le_bytes([input[ip], input[ip + 1]]) as usize;
        ip += 2;
        let mut mlen = (token & 0x0F) as usize;
        if mlen == 0x0F {
            loop {
                let b = *input.get(ip).ok_or_else(|| truncated(ip))?;
                ip += 1;
                mlen += b as usize;
                if b != 0xFF {
                    break;
                }
            }
        }
        mlen += 4;
        let pos = out.len();
        if offset == 0 || offset > pos - start {
            return Err(bad(ip, "match offset reaches before the block"));
        }
        if pos + mlen > end {
            return Err(bad(ip, "match runs past the decompressed length"));
        }
        copy_match(out, offset, mlen);
        if out.len() >= end {
            break;
        }
    }
    Ok(ip)
}

/// Appends `len` bytes copied from `offset` bytes back; the ranges may overlap (run-length).
#[inline]
fn copy_match(out: &mut Vec<u8>, offset: usize, len: usize) {
    let from = out.len() - offset;
    if offset >= len {
        out.extend_from_within(from..from + len);
    } else {
        for i in 0..len {
            let b = out[from + i];
            out.push(b);
        }
    }
}

/// Lucene50 HIGH_COMPRESSION: VInt compressed length, then a raw DEFLATE stream.
pub fn deflate_raw(
    input: &[u8],
    len: usize,
    out: &mut Vec<u8>,
    order: Endian,
) -> DecodeResult<usize> {
    let mut r = ByteReader::new(input, order);
    let clen = r.vint_len()?;
    if clen == 0 {
        if len != 0 {
            return r.invalid(format!("DEFLATE: empty stream for {len} byte(s)"));
        }
        return Ok(r.position());
    }
    let at = r.position();
    let data = r.bytes(clen)?;
    inflate(data, len, None, out).map_err(|what| DecodeError::Invalid { at, what })?;
    Ok(r.position())
}

/// LZ4 with a preset dictionary (Lucene 8.7+ BEST_SPEED): a dictionary block and up to ten
/// sub-blocks, each decompressed with the dictionary in front of it.
pub fn lz4_with_dict(
    input: &[u8],
    len: usize,
    out: &mut Vec<u8>,
    order: Endian,
) -> DecodeResult<usize> {
    let mut r = ByteReader::new(input, order);
    let dict_len = r.vint_len()?;
    let block_len = r.vint_len()?;
    let dict_clen = r.vint_len()?;
    if dict_len > len {
        return r.invalid(format!(
            "LZ4 dictionary of {dict_len} byte(s) in a unit of {len}"
        ));
    }
    if block_len == 0 && dict_len < len {
        return r.invalid("LZ4 sub-block length 0");
    }
    let num_blocks = if dict_len < len {
        (len - dict_len).div_ceil(block_len)
    } else {
        0
    };
    let mut block_clens = [0usize; 16];
    let mut many = Vec::new();
    let clens: &mut [usize] = if num_blocks <= 16 {
        &mut block_clens[..num_blocks]
    } else {
        many.resize(num_blocks, 0);
        &mut many
    };
    for c in clens.iter_mut() {
        *c = r.vint_len()?;
    }
    let start = out.len();
    out.resize(start + len, 0);
    let at = r.position();
    let dict_src = r.bytes(dict_clen)?;
    decode_block(dict_src, &mut out[start..start + dict_len], &[], at)?;
    let mut off = dict_len;
    for &c in clens.iter() {
        let at = r.position();
        let src = r.bytes(c)?;
        let n = block_len.min(len - off);
        let (head, tail) = out[start..].split_at_mut(off);
        decode_block(src, &mut tail[..n], &head[..dict_len], at)?;
        off += n;
    }
    Ok(r.position())
}

fn decode_block(src: &[u8], dst: &mut [u8], dict: &[u8], at: usize) -> DecodeResult<()> {
    let n = lz4_flex::block::decompress_into_with_dict(src, dst, dict).map_err(|e| {
        DecodeError::Invalid {
            at,
            what: format!("LZ4 block: {e}"),
        }
    })?;
    if n != dst.len() {
        return Err(DecodeError::Invalid {
            at,
            what: format!(
                "LZ4 block decompressed to {n} byte(s), expected {}",
                dst.len()
            ),
        });
    }
    Ok(())
}

/// DEFLATE with a preset dictionary (Lucene 8.7+ BEST_COMPRESSION).
pub fn deflate_with_dict(
    input: &[u8],
    len: usize,
    out: &mut Vec<u8>,
    order: Endian,
) -> DecodeResult<usize> {
    let mut r = ByteReader::new(input, order);
    let dict_len = r.vint_len()?;
    let block_len = r.vint_len()?;
    if dict_len > len {
        return r.invalid(format!(
            "DEFLATE dictionary of {dict_len} byte(s) in a unit of {len}"
        ));
    }
    if block_len == 0 && dict_len < len {
        return r.invalid("DEFLATE sub-block length 0");
    }
    let start = out.len();
    let dict_clen = r.vint_len()?;
    if dict_clen == 0 {
        if dict_len != 0 {
            return r.invalid("DEFLATE dictionary stream is empty");
        }
    } else {
        let at = r.position();
        let src = r.bytes(dict_clen)?;
        inflate(src, dict_len, None, out).map_err(|what| DecodeError::Invalid { at, what })?;
    }
    // A copy, because the blocks are appended to the same buffer (it is at most len / 60).
    let dict = out[start..start + dict_len].to_vec();
    let mut off = dict_len;
    while off < len {
        let n = block_len.min(len - off);
        let clen = r.vint_len()?;
        let at = r.position();
        let src = r.bytes(clen)?;
        inflate(src, n, Some(&dict), out).map_err(|what| DecodeError::Invalid { at, what })?;
        off += n;
    }
    Ok(r.position())
}

/// Inflates a raw DEFLATE stream that must produce exactly `len` bytes and end there.
fn inflate(src: &[u8], len: usize, dict: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), String> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut d = Decompress::new(false);
    if let Some(dict) = dict {
        if !dict.is_empty() {
            d.set_dictionary(dict)
                .map_err(|e| format!("DEFLATE dictionary: {e}"))?;
        }
    }
    let start = out.len();
    out.reserve(len + 1);
    // One spare byte of room shows a stream that would produce more than `len`.
    let status = d
        .decompress_vec(src, out, FlushDecompress::Finish)
        .map_err(|e| format!("DEFLATE: {e}"))?;
    let produced = out.len() - start;
    if produced != len || status != Status::StreamEnd {
        out.truncate(start);
        return Err(format!(
            "DEFLATE stream gave {produced} byte(s) (status {status:?}), expected {len} and the end of the stream"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lz4_raw_zero_length_reads_one_token() {
        let mut out = Vec::new();
        assert_eq!(lz4_raw(&[0x00, 0xAA], 0, &mut out).unwrap(), 1);
        assert!(out.is_empty());
    }

    #[test]
    fn lz4_raw_decodes_literals_and_overlapping_matches() {
        // "abc" then a match of 6 at offset 3 -> "abcabcabc", then literal "!".
        let block = [0x32, b'a', b'b', b'c', 0x03, 0x00, 0x10, b'!'];
        let mut out = vec![0xEE]; // bytes already in the buffer are not part of the block
        let used = lz4_raw(&block, 10, &mut out).unwrap();
        assert_eq!(used, block.len());
        assert_eq!(&out[1..], b"abcabcabc!");
    }

    #[test]
    fn lz4_raw_rejects_offsets_before_the_block() {
        let block = [0x12, b'a', 0x05, 0x00];
        let mut out = vec![0u8; 10];
        assert!(lz4_raw(&block, 7, &mut out).is_err());
    }

    #[test]
    fn lz4_with_dict_empty_unit_consumes_its_four_bytes() {
        let mut out = Vec::new();
        let used = lz4_with_dict(&[0, 0, 1, 0, 9], 0, &mut out, Endian::Big).unwrap();
        assert_eq!(used, 4);
    }

    #[test]
    fn deflate_with_dict_empty_unit_consumes_three_bytes() {
        let mut out = Vec::new();
        let used = deflate_with_dict(&[0, 0, 0, 7], 0, &mut out, Endian::Big).unwrap();
        assert_eq!(used, 3);
    }

    #[test]
    fn inflate_checks_the_length() {
        use std::io::Write;
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"hello hello hello").unwrap();
        let z = e.finish().unwrap();
        let mut out = Vec::new();
        assert!(inflate(&z, 17, None, &mut out).is_ok());
        assert_eq!(out, b"hello hello hello");
        let mut out = Vec::new();
        assert!(inflate(&z, 16, None, &mut out).is_err());
        let mut out = Vec::new();
        assert!(inflate(&z, 18, None, &mut out).is_err());
    }
}
