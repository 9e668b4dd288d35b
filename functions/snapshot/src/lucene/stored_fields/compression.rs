//! The compression units of stored-field chunks: raw LZ4 and DEFLATE (Lucene 5–8.6), and the
//! preset-dictionary variants of Lucene 8.7 on.
//!
//! Each function decodes one unit from the front of `input` into `out`, whose length is the
//! unit's decompressed length, and returns how many input bytes it consumed, so that chunks
//! can be read one after another without the `.fdx` index.

use crate::lucene::input::{ByteReader, DecodeError, DecodeResult, Endian};

/// Raw LZ4 block as Lucene writes it, decoded until `out` is full.
///
/// Lucene stores no compressed length for these blocks, so the decoder must stop exactly where
/// Lucene's does: after the literals that reach the target length (a block of length 0 still
/// has its one token).
pub fn lz4_raw(input: &[u8], out: &mut [u8]) -> DecodeResult<usize> {
    lz4_raw_after(input, out, 0)
}

/// Like [`lz4_raw`], decoding into `out[dict_len..]`: matches may reach back into the
/// `dict_len` bytes already in front (Lucene's `LZ4.decompress(in, len, dest, dOff)`).
pub fn lz4_raw_after(input: &[u8], out: &mut [u8], dict_len: usize) -> DecodeResult<usize> {
    let end = out.len();
    let mut op = dict_len;
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
        if op + lit > end {
            return Err(bad(ip, "literals run past the decompressed length"));
        }
        out[op..op + lit].copy_from_slice(&input[ip..lit_end]);
        op += lit;
        ip = lit_end;
        if op >= end {
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
        if offset == 0 || offset > op {
            return Err(bad(ip, "match offset reaches before the block"));
        }
        if op + mlen > end {
            return Err(bad(ip, "match runs past the decompressed length"));
        }
        let from = op - offset;
        if offset >= mlen {
            out.copy_within(from..from + mlen, op);
        } else {
            // Overlapping copy: a run that repeats the last `offset` bytes.
            for k in 0..mlen {
                out[op + k] = out[from + k];
            }
        }
        op += mlen;
        if op >= end {
            break;
        }
    }
    Ok(ip)
}

/// Lucene50 HIGH_COMPRESSION: VInt compressed length, then a raw DEFLATE stream.
pub fn deflate_raw(input: &[u8], out: &mut [u8], order: Endian) -> DecodeResult<usize> {
    let mut r = ByteReader::new(input, order);
    let clen = r.vint_len()?;
    if clen == 0 {
        if !out.is_empty() {
            return r.invalid(format!("DEFLATE: empty stream for {} byte(s)", out.len()));
        }
        return Ok(r.position());
    }
    let at = r.position();
    let data = r.bytes(clen)?;
    inflate(data, out, None).map_err(|what| DecodeError::Invalid { at, what })?;
    Ok(r.position())
}

/// LZ4 with a preset dictionary (Lucene 8.7+ BEST_SPEED): a dictionary block and up to ten
/// sub-blocks, each decompressed with the dictionary in front of it.
pub fn lz4_with_dict(input: &[u8], out: &mut [u8], order: Endian) -> DecodeResult<usize> {
    let len = out.len();
    let mut r = ByteReader::new(input, order);
    let dict_len = r.vint_len()?;
    let block_len = r.vint_len()?;
    let dict_clen = r.vint_len()?;
    check_dict_layout(&r, "LZ4", dict_len, block_len, len)?;
    let num_blocks = if dict_len < len {
        (len - dict_len).div_ceil(block_len)
    } else {
        0
    };
    // The compressed lengths of the sub-blocks come first, then the data.
    let lengths_at = r.position();
    for _ in 0..num_blocks {
        r.vint_len()?;
    }
    let mut lengths = ByteReader::at(input, lengths_at, order);
    let at = r.position();
    let dict_src = r.bytes(dict_clen)?;
    decode_block(dict_src, &mut out[..dict_len], &[], at)?;
    let mut off = dict_len;
    for _ in 0..num_blocks {
        let c = lengths.vint_len()?;
        let at = r.position();
        let src = r.bytes(c)?;
        let n = block_len.min(len - off);
        let (head, tail) = out.split_at_mut(off);
        decode_block(src, &mut tail[..n], &head[..dict_len], at)?;
        off += n;
    }
    Ok(r.position())
}

/// The header of a unit made of a dictionary and sub-blocks (the preset-dictionary formats and
/// OpenSearch's zstd): the dictionary fits in the unit, and sub-blocks have a length if any
/// bytes follow the dictionary.
pub(super) fn check_dict_layout(
    r: &ByteReader,
    codec: &str,
    dict_len: usize,
    block_len: usize,
    len: usize,
) -> DecodeResult<()> {
    if dict_len > len {
        return r.invalid(format!(
            "{codec} dictionary of {dict_len} byte(s) in a unit of {len}"
        ));
    }
    if block_len == 0 && dict_len < len {
        return r.invalid(format!("{codec} sub-block length 0"));
    }
    Ok(())
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
pub fn deflate_with_dict(input: &[u8], out: &mut [u8], order: Endian) -> DecodeResult<usize> {
    let len = out.len();
    let mut r = ByteReader::new(input, order);
    let dict_len = r.vint_len()?;
    let block_len = r.vint_len()?;
    check_dict_layout(&r, "DEFLATE", dict_len, block_len, len)?;
    let dict_clen = r.vint_len()?;
    if dict_clen == 0 {
        if dict_len != 0 {
            return r.invalid("DEFLATE dictionary stream is empty");
        }
    } else {
        let at = r.position();
        let src = r.bytes(dict_clen)?;
        inflate(src, &mut out[..dict_len], None)
            .map_err(|what| DecodeError::Invalid { at, what })?;
    }
    let mut off = dict_len;
    while off < len {
        let n = block_len.min(len - off);
        let clen = r.vint_len()?;
        let at = r.position();
        let src = r.bytes(clen)?;
        let (head, tail) = out.split_at_mut(off);
        inflate(src, &mut tail[..n], Some(&head[..dict_len]))
            .map_err(|what| DecodeError::Invalid { at, what })?;
        off += n;
    }
    Ok(r.position())
}

/// Inflates a raw DEFLATE stream that must fill `out` exactly and end there.
fn inflate(src: &[u8], out: &mut [u8], dict: Option<&[u8]>) -> Result<(), String> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut d = Decompress::new(false);
    if let Some(dict) = dict.filter(|d| !d.is_empty()) {
        d.set_dictionary(dict)
            .map_err(|e| format!("DEFLATE dictionary: {e}"))?;
    }
    let status = d
        .decompress(src, out, FlushDecompress::Finish)
        .map_err(|e| format!("DEFLATE: {e}"))?;
    if d.total_out() != out.len() as u64 || status != Status::StreamEnd {
        return Err(format!(
            "DEFLATE stream gave {} byte(s) (status {status:?}), expected {} and the end of the stream",
            d.total_out(),
            out.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lz4_raw_zero_length_reads_one_token() {
        assert_eq!(lz4_raw(&[0x00, 0xAA], &mut []).unwrap(), 1);
    }

    #[test]
    fn lz4_raw_decodes_literals_and_overlapping_matches() {
        // "abc" then a match of 6 at offset 3 -> "abcabcabc", then literal "!".
        let block = [0x32, b'a', b'b', b'c', 0x03, 0x00, 0x10, b'!'];
        let mut out = [0u8; 10];
        let used = lz4_raw(&block, &mut out).unwrap();
        assert_eq!(used, block.len());
        assert_eq!(&out, b"abcabcabc!");
    }

    #[test]
    fn lz4_raw_rejects_offsets_before_the_block() {
        let block = [0x12, b'a', 0x05, 0x00];
        let mut out = [0u8; 7];
        assert!(lz4_raw(&block, &mut out).is_err());
    }

    #[test]
    fn lz4_with_dict_empty_unit_consumes_its_four_bytes() {
        let used = lz4_with_dict(&[0, 0, 1, 0, 9], &mut [], Endian::Big).unwrap();
        assert_eq!(used, 4);
    }

    #[test]
    fn deflate_with_dict_empty_unit_consumes_three_bytes() {
        let used = deflate_with_dict(&[0, 0, 0, 7], &mut [], Endian::Big).unwrap();
        assert_eq!(used, 3);
    }

    #[test]
    fn inflate_checks_the_length() {
        use std::io::Write;
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"hello hello hello").unwrap();
        let z = e.finish().unwrap();
        let mut out = [0u8; 17];
        assert!(inflate(&z, &mut out, None).is_ok());
        assert_eq!(&out, b"hello hello hello");
        assert!(inflate(&z, &mut [0u8; 16], None).is_err());
        assert!(inflate(&z, &mut [0u8; 18], None).is_err());
    }
}
