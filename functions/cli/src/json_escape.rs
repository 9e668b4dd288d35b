//! Writes strings as JSON string literals, fast: `_source` text is most of what `snapshot docs`
//! prints, and escaping it byte by byte cost more than decompressing it.
//!
//! Output is byte-identical to `serde_json`'s: `"` and `\` get a backslash, control characters
//! become `\b \t \n \f \r` or `\u00XX`, everything else (UTF-8 included) is copied. The x86-64
//! path handles 16 bytes at a time: blocks without control characters have a backslash put
//! before each `"` and `\` with one table-driven byte shuffle per half block.

/// Appends `s` as a JSON string literal, quotes included.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escape_into(out, s.as_bytes());
    out.push(b'"');
}

fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("ssse3") {
            // SAFETY: the CPU supports SSSE3, checked just above.
            unsafe { simd::escape(out, s) };
            return;
        }
    }
    escape_scalar(out, s);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// What follows the backslash for a byte that needs escaping (`u` for `\u00XX`), or 0.
const fn escape_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0A] = b'n';
    t[0x0C] = b'f';
    t[0x0D] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
}

static ESCAPE: [u8; 256] = escape_table();

fn escape_scalar(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let e = ESCAPE[b as usize];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        if e == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xF) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', e]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    /// For each 8-bit mask of "needs a backslash" bytes: the shuffle that spreads 8 source bytes
    /// over up to 16 output bytes, leaving a zero where a backslash goes (index 0x80), and the
    /// backslashes to OR into those places.
    const fn expand_tables() -> ([[u8; 16]; 256], [[u8; 16]; 256]) {
        let mut shuffle = [[0x80u8; 16]; 256];
        let mut backslash = [[0u8; 16]; 256];
        let mut m = 0;
        while m < 256 {
            let mut o = 0;
            let mut i = 0;
            while i < 8 {
                if (m >> i) & 1 == 1 {
                    backslash[m][o] = b'\\';
                    o += 1;
                }
                shuffle[m][o] = i as u8;
                o += 1;
                i += 1;
            }
            m += 1;
        }
        (shuffle, backslash)
    }

    static TABLES: ([[u8; 16]; 256], [[u8; 16]; 256]) = expand_tables();

    /// # Safety
    /// The CPU must support SSSE3.
    #[target_feature(enable = "ssse3")]
    pub unsafe fn escape(out: &mut Vec<u8>, s: &[u8]) {
        let (shuffle, backslash) = &TABLES;
        let quote = _mm_set1_epi8(b'"' as i8);
        let bslash = _mm_set1_epi8(b'\\' as i8);
        let ctrl_max = _mm_set1_epi8(0x1F);
        let mut i = 0;
        // Room for every byte doubled plus one 16-byte store past the end.
        out.reserve(2 * s.len() + 32);
        let mut len = out.len();
        while i + 16 <= s.len() {
            // SAFETY: i + 16 <= s.len(), so the unaligned 16-byte load stays inside `s`.
            let v = unsafe { _mm_loadu_si128(s.as_ptr().add(i) as *const __m128i) };
            // Unsigned v <= 0x1F  <=>  max(v, 0x1F) == 0x1F.
            let ctrl = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, ctrl_max), ctrl_max));
            if ctrl != 0 {
                // Rare in compact JSON: let the scalar code do this block, then re-reserve.
                // SAFETY: bytes up to `len` were written by the stores below.
                unsafe { out.set_len(len) };
                super::escape_scalar(out, &s[i..i + 16]);
                out.reserve(2 * (s.len() - i) + 32);
                len = out.len();
                i += 16;
                continue;
            }
            let special = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash));
            let mask = _mm_movemask_epi8(special) as usize;
            // SAFETY: `reserve` above left at least 2 * (remaining input) + 32 bytes of room,
            // and each 16 input bytes write at most 32 bytes (two stores of 16) while
            // advancing by at most 32.
            unsafe {
                let dst = out.as_mut_ptr().add(len);
                if mask == 0 {
                    _mm_storeu_si128(dst as *mut __m128i, v);
                    len += 16;
                } else {
                    let lo = mask & 0xFF;
                    let hi = mask >> 8;
                    let r0 = _mm_or_si128(
                        _mm_shuffle_epi8(
                            v,
                            _mm_loadu_si128(shuffle[lo].as_ptr() as *const __m128i),
                        ),
                        _mm_loadu_si128(backslash[lo].as_ptr() as *const __m128i),
                    );
                    _mm_storeu_si128(dst as *mut __m128i, r0);
                    let n0 = 8 + lo.count_ones() as usize;
                    let vh = _mm_srli_si128(v, 8);
                    let r1 = _mm_or_si128(
                        _mm_shuffle_epi8(
                            vh,
                            _mm_loadu_si128(shuffle[hi].as_ptr() as *const __m128i),
                        ),
                        _mm_loadu_si128(backslash[hi].as_ptr() as *const __m128i),
                    );
                    _mm_storeu_si128(dst.add(n0) as *mut __m128i, r1);
                    len += n0 + 8 + hi.count_ones() as usize;
                }
            }
            i += 16;
        }
        // SAFETY: every byte below `len` was written by a store above.
        unsafe { out.set_len(len) };
        super::escape_scalar(out, &s[i..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(s: &str) -> String {
        let mut out = Vec::new();
        write_json_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_serde_json_on_special_characters() {
        for s in [
            "",
            "plain",
            "\"",
            "\\",
            "a\"b\\c",
            "\u{0}\u{1}\u{1f}\u{7f}",
            "line\nbreak\ttab\r\u{8}\u{c}",
            "héllo wörld ✓ 🚀",
            "{\"key\":\"value with \\\"quotes\\\"\",\"n\":[1,2,3]}",
            "0123456789abcdef\"0123456789abcdef\\",
        ] {
            assert_eq!(ours(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn matches_serde_json_on_random_text_of_every_length() {
        // A small LCG, so the test needs no crate and is the same every run.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let alphabet: Vec<char> = "ab\"\\{}:, \n\t\u{1}é✓🚀0".chars().collect();
        for len in 0..300 {
            for _ in 0..8 {
                let s: String = (0..len)
                    .map(|_| {
                        x = x
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        alphabet[(x >> 33) as usize % alphabet.len()]
                    })
                    .collect();
                assert_eq!(ours(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
            }
        }
    }

    #[test]
    fn the_scalar_path_alone_matches_too() {
        let s = "x\"y\\z\u{2}\n".repeat(7);
        let mut out = Vec::new();
        escape_scalar(&mut out, s.as_bytes());
        let quoted = format!("\"{}\"", String::from_utf8(out).unwrap());
        assert_eq!(quoted, serde_json::to_string(&s).unwrap());
    }
}
