//! Lucene's `DataInput` primitives over an in-memory byte slice.
//!
//! Fixed-width integers are big-endian in files written by Lucene ≤ 8 and little-endian from
//! Lucene 9 on (LUCENE-9047); the caller picks the order per file from its header codec.
//! CodecUtil headers, footers and `segments_N` are big-endian in every version and use the
//! explicit `be_*` methods.

use std::fmt;

/// Byte order of a file's fixed-width integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    Big,
    Little,
}

/// A decoding failure inside one file; the caller adds which file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The data ended before a value was complete.
    Truncated {
        at: usize,
        wanted: usize,
        len: usize,
    },
    /// The bytes are there but do not form a valid value.
    Invalid { at: usize, what: String },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { at, wanted, len } => write!(
                f,
                "truncated: needed {wanted} byte(s) at offset {at} but the data has {len}"
            ),
            DecodeError::Invalid { at, what } => write!(f, "at offset {at}: {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

pub type DecodeResult<T> = Result<T, DecodeError>;

/// A cursor over bytes with Lucene's encodings.
#[derive(Clone)]
pub struct ByteReader<'a> {
    buf: &'a [u8],
    pos: usize,
    order: Endian,
}

impl<'a> ByteReader<'a> {
    pub fn new(buf: &'a [u8], order: Endian) -> Self {
        ByteReader { buf, pos: 0, order }
    }

    pub fn at(buf: &'a [u8], pos: usize, order: Endian) -> Self {
        ByteReader { buf, pos, order }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn set_position(&mut self, pos: usize) {
        self.pos = pos;
    }

    pub fn order(&self) -> Endian {
        self.order
    }

    pub fn set_order(&mut self, order: Endian) {
        self.order = order;
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn data(&self) -> &'a [u8] {
        self.buf
    }

    pub fn invalid<T>(&self, what: impl Into<String>) -> DecodeResult<T> {
        Err(DecodeError::Invalid {
            at: self.pos,
            what: what.into(),
        })
    }

    #[inline]
    pub fn bytes(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(DecodeError::Truncated {
                at: self.pos,
                wanted: n,
                len: self.buf.len(),
            }),
        }
    }

    pub fn skip(&mut self, n: usize) -> DecodeResult<()> {
        self.bytes(n).map(|_| ())
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let s = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    #[inline]
    pub fn u8(&mut self) -> DecodeResult<u8> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(DecodeError::Truncated {
                at: self.pos,
                wanted: 1,
                len: self.buf.len(),
            }),
        }
    }

    pub fn i16(&mut self) -> DecodeResult<i16> {
        let a = self.array::<2>()?;
        Ok(match self.order {
            Endian::Big => i16::from_be_bytes(a),
            Endian::Little => i16::from_le_bytes(a),
        })
    }

    pub fn i32(&mut self) -> DecodeResult<i32> {
        let a = self.array::<4>()?;
        Ok(match self.order {
            Endian::Big => i32::from_be_bytes(a),
            Endian::Little => i32::from_le_bytes(a),
        })
    }

    pub fn i64(&mut self) -> DecodeResult<i64> {
        let a = self.array::<8>()?;
        Ok(match self.order {
            Endian::Big => i64::from_be_bytes(a),
            Endian::Little => i64::from_le_bytes(a),
        })
    }

    pub fn be_i32(&mut self) -> DecodeResult<i32> {
        Ok(i32::from_be_bytes(self.array::<4>()?))
    }

    pub fn be_i64(&mut self) -> DecodeResult<i64> {
        Ok(i64::from_be_bytes(self.array::<8>()?))
    }

    pub fn le_i64(&mut self) -> DecodeResult<i64> {
        Ok(i64::from_le_bytes(self.array::<8>()?))
    }

    /// Variable-length int: 7 bits a byte, least significant group first, at most 5 bytes.
    #[inline]
    pub fn vint(&mut self) -> DecodeResult<i32> {
        let start = self.pos;
        let mut result: u32 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.u8()?;
            result |= ((b & 0x7F) as u32) << shift;
            if b & 0x80 == 0 {
                return Ok(result as i32);
            }
        }
        Err(DecodeError::Invalid {
            at: start,
            what: "VInt longer than 5 bytes".into(),
        })
    }

    /// A VInt that must not be negative, as a usize (lengths and counts).
    #[inline]
    pub fn vint_len(&mut self) -> DecodeResult<usize> {
        let at = self.pos;
        let v = self.vint()?;
        if v < 0 {
            return Err(DecodeError::Invalid {
                at,
                what: format!("negative length {v}"),
            });
        }
        Ok(v as usize)
    }

    /// Variable-length long, at most 9 bytes (Lucene forbids negative VLongs, except
    /// `readVLong` of 10 bytes in a few old writers that we do not need).
    #[inline]
    pub fn vlong(&mut self) -> DecodeResult<i64> {
        let start = self.pos;
        let mut result: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = self.u8()?;
            result |= ((b & 0x7F) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(result as i64);
            }
        }
        Err(DecodeError::Invalid {
            at: start,
            what: "VLong longer than 10 bytes".into(),
        })
    }

    pub fn zint(&mut self) -> DecodeResult<i32> {
        let v = self.vint()? as u32;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    pub fn zlong(&mut self) -> DecodeResult<i64> {
        let v = self.vlong()? as u64;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// VInt length + UTF-8 bytes.
    pub fn string(&mut self) -> DecodeResult<String> {
        let at = self.pos;
        let n = self.vint_len()?;
        let b = self.bytes(n)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(DecodeError::Invalid {
                at,
                what: "string is not valid UTF-8".into(),
            }),
        }
    }

    pub fn map_of_strings(&mut self) -> DecodeResult<Vec<(String, String)>> {
        let n = self.vint_len()?;
        self.string_pairs(n)
    }

    fn string_pairs(&mut self, n: usize) -> DecodeResult<Vec<(String, String)>> {
        let mut out = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let k = self.string()?;
            let v = self.string()?;
            out.push((k, v));
        }
        Ok(out)
    }

    pub fn set_of_strings(&mut self) -> DecodeResult<Vec<String>> {
        let n = self.vint_len()?;
        self.strings(n)
    }

    /// Lucene 4.x–5.0 `readStringStringMap`: the count is a 4-byte int (the file's order).
    pub fn legacy_map_of_strings(&mut self) -> DecodeResult<Vec<(String, String)>> {
        let n = self.legacy_count()?;
        self.string_pairs(n)
    }

    /// Lucene 4.x–5.0 `readStringSet`: the count is a 4-byte int (the file's order).
    pub fn legacy_set_of_strings(&mut self) -> DecodeResult<Vec<String>> {
        let n = self.legacy_count()?;
        self.strings(n)
    }

    fn legacy_count(&mut self) -> DecodeResult<usize> {
        let n = self.i32()?;
        // Each entry takes at least one byte: a count beyond the data is not a count.
        if n < 0 || n as usize > self.remaining() {
            return self.invalid(format!("bad collection size {n}"));
        }
        Ok(n as usize)
    }

    fn strings(&mut self, n: usize) -> DecodeResult<Vec<String>> {
        let mut out = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            out.push(self.string()?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vint_round_values() {
        let data = [0x00, 0x7F, 0x80, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F];
        let mut r = ByteReader::new(&data, Endian::Big);
        assert_eq!(r.vint().unwrap(), 0);
        assert_eq!(r.vint().unwrap(), 127);
        assert_eq!(r.vint().unwrap(), 128);
        assert_eq!(r.vint().unwrap(), -1);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn zigzag_decodes_negative_values() {
        let data = [0x01, 0x02, 0x03];
        let mut r = ByteReader::new(&data, Endian::Big);
        assert_eq!(r.zint().unwrap(), -1);
        assert_eq!(r.zint().unwrap(), 1);
        assert_eq!(r.zlong().unwrap(), -2);
    }

    #[test]
    fn fixed_width_follows_the_byte_order() {
        let data = [0x00, 0x00, 0x00, 0x01];
        assert_eq!(ByteReader::new(&data, Endian::Big).i32().unwrap(), 1);
        assert_eq!(
            ByteReader::new(&data, Endian::Little).i32().unwrap(),
            1 << 24
        );
    }

    #[test]
    fn reading_past_the_end_is_an_error_not_a_panic() {
        let data = [0x80, 0x80];
        let mut r = ByteReader::new(&data, Endian::Big);
        assert!(matches!(r.vint(), Err(DecodeError::Truncated { .. })));
        let mut r = ByteReader::new(&data, Endian::Big);
        assert!(r.bytes(3).is_err());
        assert!(r.i64().is_err());
    }
}
