//! The stored fields of one document: `VLong (field number << 3 | type)` then the value.

use crate::lucene::input::{ByteReader, DecodeResult, Endian};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StoredValue<'a> {
    /// UTF-8 as Lucene wrote it (not validated here).
    String(&'a [u8]),
    Binary(&'a [u8]),
    Int(i32),
    Float(f32),
    Long(i64),
    Double(f64),
}

/// How a format writes the values of a document's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldEncoding {
    pub order: Endian,
    /// Lucene 4.x (`Lucene41StoredFields`): numbers as plain 4- and 8-byte values
    /// (`writeInt`/`writeLong` in CompressingStoredFieldsWriter 4.10.4); Lucene 5.0 on write
    /// ZInt, ZFloat, TLong and ZDouble.
    pub fixed_numerics: bool,
}

impl From<Endian> for FieldEncoding {
    fn from(order: Endian) -> Self {
        FieldEncoding {
            order,
            fixed_numerics: false,
        }
    }
}

/// Iterates the fields of a serialized document; after the last field the bytes must be used up.
pub struct FieldIter<'a> {
    r: ByteReader<'a>,
    left: u32,
    fixed_numerics: bool,
}

impl<'a> FieldIter<'a> {
    pub fn new(doc: &'a [u8], num_fields: u32, encoding: impl Into<FieldEncoding>) -> Self {
        let e = encoding.into();
        FieldIter {
            r: ByteReader::new(doc, e.order),
            left: num_fields,
            fixed_numerics: e.fixed_numerics,
        }
    }

    fn read(&mut self) -> DecodeResult<(u32, StoredValue<'a>)> {
        let fixed = self.fixed_numerics;
        let r = &mut self.r;
        let info = r.vlong()? as u64;
        let number = info >> 3;
        if number > u32::MAX as u64 {
            return r.invalid(format!("field number {number} out of range"));
        }
        let value = match info & 7 {
            0 => {
                let n = r.vint_len()?;
                StoredValue::String(r.bytes(n)?)
            }
            1 => {
                let n = r.vint_len()?;
                StoredValue::Binary(r.bytes(n)?)
            }
            2 if fixed => StoredValue::Int(r.i32()?),
            3 if fixed => StoredValue::Float(f32::from_bits(r.i32()? as u32)),
            4 if fixed => StoredValue::Long(r.i64()?),
            5 if fixed => StoredValue::Double(f64::from_bits(r.i64()? as u64)),
            2 => StoredValue::Int(r.zint()?),
            3 => StoredValue::Float(read_zfloat(r)?),
            4 => StoredValue::Long(read_tlong(r)?),
            5 => StoredValue::Double(read_zdouble(r)?),
            t => return r.invalid(format!("unknown stored field type {t}")),
        };
        Ok((number as u32, value))
    }
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = DecodeResult<(u32, StoredValue<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            if self.r.remaining() != 0 {
                let e = self.r.invalid(format!(
                    "{} byte(s) left after the last field",
                    self.r.remaining()
                ));
                self.r.set_position(self.r.len());
                return Some(e);
            }
            return None;
        }
        self.left -= 1;
        let item = self.read();
        if item.is_err() {
            self.left = 0;
            self.r.set_position(self.r.len());
        }
        Some(item)
    }
}

fn read_zfloat(r: &mut ByteReader) -> DecodeResult<f32> {
    let b = r.u8()? as u32;
    if b == 0xFF {
        Ok(f32::from_bits(r.i32()? as u32))
    } else if b & 0x80 != 0 {
        Ok((b & 0x7F) as f32 - 1.0)
    } else {
        let bits = (b << 24) | ((r.i16()? as u16 as u32) << 8) | r.u8()? as u32;
        Ok(f32::from_bits(bits))
    }
}

fn read_zdouble(r: &mut ByteReader) -> DecodeResult<f64> {
    let b = r.u8()? as u64;
    if b == 0xFF {
        Ok(f64::from_bits(r.i64()? as u64))
    } else if b == 0xFE {
        Ok(f32::from_bits(r.i32()? as u32) as f64)
    } else if b & 0x80 != 0 {
        Ok((b & 0x7F) as f64 - 1.0)
    } else {
        let bits = (b << 56)
            | ((r.i32()? as u32 as u64) << 24)
            | ((r.i16()? as u16 as u64) << 8)
            | r.u8()? as u64;
        Ok(f64::from_bits(bits))
    }
}

fn read_tlong(r: &mut ByteReader) -> DecodeResult<i64> {
    let header = r.u8()? as u64;
    let mut bits = header & 0x1F;
    if header & 0x20 != 0 {
        bits |= (r.vlong()? as u64) << 5;
    }
    let v = ((bits >> 1) as i64) ^ -((bits & 1) as i64);
    Ok(match header & 0xC0 {
        0x40 => v.wrapping_mul(1000),
        0x80 => v.wrapping_mul(3_600_000),
        0xC0 => v.wrapping_mul(86_400_000),
        _ => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_binary_and_string_fields_and_checks_the_end() {
        // field 1 BYTE_ARR "ab", field 2 STRING "c"
        let doc = [(1 << 3) | 1, 2, b'a', b'b', 2 << 3, 1, b'c'];
        let fields: Vec<_> = FieldIter::new(&doc, 2, Endian::Big)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            fields,
            vec![
                (1, StoredValue::Binary(b"ab")),
                (2, StoredValue::String(b"c"))
            ]
        );
        let extra = [(1 << 3) | 1, 0, 9];
        let r: Result<Vec<_>, _> = FieldIter::new(&extra, 1, Endian::Big).collect();
        assert!(r.is_err());
    }

    #[test]
    fn tlong_applies_the_time_unit() {
        // zigzag(3) = 6, SECOND encoding
        let doc = [(1 << 3) | 4, 0x40 | 6];
        let f: Vec<_> = FieldIter::new(&doc, 1, Endian::Big)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(f[0].1, StoredValue::Long(3000));
    }

    #[test]
    fn small_zfloat_and_zdouble() {
        let doc = [(1 << 3) | 3, 0x80 | 3, (2 << 3) | 5, 0x80];
        let f: Vec<_> = FieldIter::new(&doc, 2, Endian::Little)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(f[0].1, StoredValue::Float(2.0));
        assert_eq!(f[1].1, StoredValue::Double(-1.0));
    }
}
