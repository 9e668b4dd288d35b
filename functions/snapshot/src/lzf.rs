//! LZF, as Elasticsearch 1.x compresses a `_source` (`_source.compress: true`), and metadata
//! blobs and mappings (`compress: true` repositories; 2.x still reads them).
//!
//! Elasticsearch 1.7 (`SourceFieldMapper`, `LZFCompressor`, `LZFCompressedStreamOutput`, read in
//! the 1.7.6 sources) writes through the shaded ning `compress-lzf` `ChunkEncoder` and
//! recognises it by its first bytes: `'Z' 'V'` and a chunk type of 0 or 1
//! (`LZFCompressor.isCompressed`). Each chunk (ning `LZFChunk`, compress-lzf 1.0.2) is
//! - `'Z' 'V' 0`, a 2-byte big-endian length, then that many bytes as they are, or
//! - `'Z' 'V' 1`, 2-byte big-endian compressed and uncompressed lengths, then an LZF block.
//!
//! An LZF block is a sequence of: a control byte `c < 32` and `c + 1` literal bytes; or a back
//! reference `c >= 32`, of length `(c >> 5) + 2` (when `c >> 5` is 7, plus the next byte) and
//! distance `((c & 31) << 8 | next byte) + 1` back from the end of the output.

const BLOCK_UNCOMPRESSED: u8 = 0;
const BLOCK_COMPRESSED: u8 = 1;

/// Whether bytes (a stored `_source`, a blob) are LZF-compressed, by the test Elasticsearch
/// itself applies.
pub fn is_compressed(source: &[u8]) -> bool {
    source.len() >= 3
        && source[0] == b'Z'
        && source[1] == b'V'
        && matches!(source[2], BLOCK_UNCOMPRESSED | BLOCK_COMPRESSED)
}

/// What is wrong with LZF data, with the offset in the compressed bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("LZF data at byte {at}: {what}")]
pub struct LzfError {
    pub at: usize,
    pub what: String,
}

fn err<T>(at: usize, what: impl Into<String>) -> Result<T, LzfError> {
    Err(LzfError {
        at,
        what: what.into(),
    })
}

/// Decompresses every chunk of `input` into `out` (cleared first).
pub fn decompress(input: &[u8], out: &mut Vec<u8>) -> Result<(), LzfError> {
    out.clear();
    let mut pos = 0;
    while pos < input.len() {
        let Some(head) = input.get(pos..pos + 5) else {
            return err(pos, "truncated chunk header");
        };
        if head[0] != b'Z' || head[1] != b'V' {
            return err(pos, format!("chunk starts {:#04x} {:#04x}, not 'ZV'", head[0], head[1]));
        }
        let len = u16::from_be_bytes([head[3], head[4]]) as usize;
        match head[2] {
            BLOCK_UNCOMPRESSED => {
                let Some(raw) = input.get(pos + 5..pos + 5 + len) else {
                    return err(pos, format!("chunk of {len} byte(s) is cut off"));
                };
                out.extend_from_slice(raw);
                pos += 5 + len;
            }
            BLOCK_COMPRESSED => {
                let Some(&[a, b]) = input.get(pos + 5..pos + 7) else {
                    return err(pos, "truncated chunk header");
                };
                let plain = u16::from_be_bytes([a, b]) as usize;
                let Some(block) = input.get(pos + 7..pos + 7 + len) else {
                    return err(pos, format!("chunk of {len} byte(s) is cut off"));
                };
                decode_block(block, plain, out).map_err(|mut e| {
                    e.at += pos + 7;
                    e
                })?;
                pos += 7 + len;
            }
            t => return err(pos + 2, format!("unknown chunk type {t}")),
        }
    }
    Ok(())
}

/// Appends the `plain` bytes that the LZF block `block` holds to `out`.
fn decode_block(block: &[u8], plain: usize, out: &mut Vec<u8>) -> Result<(), LzfError> {
    let start = out.len();
    let end = start + plain;
    out.reserve(plain);
    let mut i = 0;
    while i < block.len() {
        let c = block[i] as usize;
        i += 1;
        if c < 32 {
            let n = c + 1;
            let Some(lit) = block.get(i..i + n) else {
                return err(i - 1, format!("literal run of {n} byte(s) is cut off"));
            };
            if out.len() + n > end {
                return err(i - 1, "more output than the chunk header says");
            }
            out.extend_from_slice(lit);
            i += n;
        } else {
            let mut n = c >> 5;
            if n == 7 {
                let Some(&more) = block.get(i) else {
                    return err(i, "back reference length is cut off");
                };
                n += more as usize;
                i += 1;
            }
            n += 2;
            let Some(&low) = block.get(i) else {
                return err(i, "back reference distance is cut off");
            };
            i += 1;
            let dist = ((c & 31) << 8 | low as usize) + 1;
            if dist > out.len() - start {
                return err(i - 2, format!("back reference {dist} byte(s) before the start"));
            }
            if out.len() + n > end {
                return err(i - 2, "more output than the chunk header says");
            }
            // Byte by byte: a reference may overlap what it produces (runs).
            let from = out.len() - dist;
            for k in 0..n {
                let b = out[from + k];
                out.push(b);
            }
        }
    }
    if out.len() != end {
        return err(block.len(), format!("{} byte(s) where the chunk header says {plain}", out.len() - start));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decompressed(data: &[u8]) -> Result<Vec<u8>, LzfError> {
        let mut out = Vec::new();
        decompress(data, &mut out).map(|()| out)
    }

    #[test]
    fn bad_chunks_are_errors_naming_the_offset() {
        assert_eq!(decompressed(b"ZV\x00\x00\x05abc").unwrap_err().at, 0);
        let e = decompressed(b"ZV\x01\x00\x02\x00\x03\x20\x00").unwrap_err();
        assert!(e.what.contains("back reference"), "{e}");
        assert!(!is_compressed(b"ZV\x09\x00\x00"));
    }
}
