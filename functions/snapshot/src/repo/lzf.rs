//! LZF, as Elasticsearch 1.x compresses metadata blobs (`compress: true` repositories) and
//! mappings: a sequence of chunks in the format of the Ning `compress-lzf` library that ES 1.x
//! embeds (`org.elasticsearch.common.compress.lzf.LZFCompressor`, ES 1.7.6; 2.x still reads it).
//!
//! A chunk is `'Z' 'V'`, a type byte, then either (type 0, stored) a big-endian u16 length and
//! that many bytes, or (type 1, compressed) a big-endian u16 compressed length, a big-endian
//! u16 uncompressed length and an LZF block. An LZF block is a sequence of control bytes: below
//! 32, `ctrl + 1` literal bytes follow; otherwise a back-reference of length `(ctrl >> 5) + 2`
//! (`7` means: add the next byte) at distance `((ctrl & 0x1f) << 8 | next byte) + 1`.

/// Whether `data` starts like an LZF chunk (ES's `LZFCompressor.isCompressed`).
pub fn is_lzf(data: &[u8]) -> bool {
    data.len() >= 3 && data[0] == b'Z' && data[1] == b'V' && data[2] <= 1
}

/// Decompresses every chunk of `data`. Errors name the byte offset of the chunk at fault.
pub fn decompress(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(data.len() * 3);
    let mut pos = 0;
    while pos < data.len() {
        let at = pos;
        let header = data
            .get(pos..pos + 3)
            .ok_or_else(|| format!("LZF: truncated chunk header at byte {at}"))?;
        if header[0] != b'Z' || header[1] != b'V' {
            return Err(format!("LZF: no chunk signature \"ZV\" at byte {at}"));
        }
        let u16_at = |p: usize| -> Result<usize, String> {
            data.get(p..p + 2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                .ok_or_else(|| format!("LZF: truncated chunk header at byte {at}"))
        };
        match header[2] {
            0 => {
                let len = u16_at(pos + 3)?;
                let body = data
                    .get(pos + 5..pos + 5 + len)
                    .ok_or_else(|| format!("LZF: stored chunk at byte {at} is cut short"))?;
                out.extend_from_slice(body);
                pos += 5 + len;
            }
            1 => {
                let clen = u16_at(pos + 3)?;
                let ulen = u16_at(pos + 5)?;
                let body = data
                    .get(pos + 7..pos + 7 + clen)
                    .ok_or_else(|| format!("LZF: compressed chunk at byte {at} is cut short"))?;
                let start = out.len();
                block(body, &mut out).map_err(|e| format!("LZF: chunk at byte {at}: {e}"))?;
                if out.len() - start != ulen {
                    return Err(format!(
                        "LZF: chunk at byte {at} gave {} byte(s), its header says {ulen}",
                        out.len() - start
                    ));
                }
                pos += 7 + clen;
            }
            t => return Err(format!("LZF: unknown chunk type {t} at byte {at}")),
        }
    }
    Ok(out)
}

/// One LZF block appended to `out`; back-references stay inside the block's own output.
fn block(input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let start = out.len();
    let mut i = 0;
    while i < input.len() {
        let ctrl = usize::from(input[i]);
        i += 1;
        if ctrl < 32 {
            let lit = input
                .get(i..i + ctrl + 1)
                .ok_or("a literal run goes past the end")?;
            out.extend_from_slice(lit);
            i += ctrl + 1;
            continue;
        }
        let mut len = ctrl >> 5;
        if len == 7 {
            len += usize::from(*input.get(i).ok_or("a length byte is missing")?);
            i += 1;
        }
        len += 2;
        let low = usize::from(*input.get(i).ok_or("a distance byte is missing")?);
        i += 1;
        let distance = ((ctrl & 0x1f) << 8 | low) + 1;
        if distance > out.len() - start {
            return Err(format!(
                "a back-reference reaches {distance} byte(s) back, only {} written",
                out.len() - start
            ));
        }
        // Overlapping copies repeat the bytes just written (run-length style).
        let from = out.len() - distance;
        for k in 0..len {
            let b = out[from + k];
            out.push(b);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_chunks_are_errors_naming_the_offset() {
        assert!(decompress(b"ZV\x00\x00\x05abc").unwrap_err().contains("byte 0"));
        assert!(decompress(b"ZV\x09").unwrap_err().contains("unknown chunk type 9"));
        // A back-reference before anything was written.
        let e = decompress(b"ZV\x01\x00\x02\x00\x03\x20\x00").unwrap_err();
        assert!(e.contains("back-reference"), "{e}");
    }
}
