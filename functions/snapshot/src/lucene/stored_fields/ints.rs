//! The per-chunk arrays of field counts and document lengths.

use crate::lucene::input::{ByteReader, DecodeResult};

/// Lucene ≤ 8 (`saveInts`): VInt bits per value, then PackedInts with no header, most
/// significant bit first (packedIntsVersion 2, byte-aligned).
pub fn read_packed(r: &mut ByteReader, count: usize, out: &mut Vec<u32>) -> DecodeResult<()> {
    out.clear();
    let bits = r.vint()?;
    if bits == 0 {
        let v = r.vint()?;
        if v < 0 {
            return r.invalid(format!("negative value {v}"));
        }
        out.resize(count, v as u32);
        return Ok(());
    }
    if !(1..=31).contains(&bits) {
        return r.invalid(format!("{bits} bits per value"));
    }
    let bits = bits as u32;
    let nbytes = (count as u64 * bits as u64).div_ceil(8) as usize;
    let data = r.bytes(nbytes)?;
    let mask = (1u64 << bits) - 1;
    let mut acc: u64 = 0;
    let mut have: u32 = 0;
    let mut i = 0;
    for _ in 0..count {
        while have < bits {
            acc = (acc << 8) | data[i] as u64;
            i += 1;
            have += 8;
        }
        have -= bits;
        out.push(((acc >> have) & mask) as u32);
        acc &= (1u64 << have) - 1;
    }
    Ok(())
}

/// Lucene ≥ 9 (`StoredFieldsInts`): a byte of bits per value (0, 8, 16 or 32); blocks of 128
/// values interleaved in little-endian longs, then the tail one value at a time.
pub fn read_stored_fields_ints(
    r: &mut ByteReader,
    count: usize,
    out: &mut Vec<u32>,
) -> DecodeResult<()> {
    out.clear();
    out.resize(count, 0);
    let bpv = r.u8()?;
    let full = count - count % 128;
    match bpv {
        0 => {
            let v = r.vint()?;
            out.fill(v as u32);
        }
        8 => {
            for k in (0..full).step_by(128) {
                let block = r.bytes(16 * 8)?;
                for i in 0..16 {
                    let l =
                        u64::from_le_bytes(block[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
                    for j in 0..8 {
                        out[k + 16 * j + i] = ((l >> (56 - 8 * j)) & 0xFF) as u32;
                    }
                }
            }
            for v in &mut out[full..] {
                *v = r.u8()? as u32;
            }
        }
        16 => {
            for k in (0..full).step_by(128) {
                let block = r.bytes(32 * 8)?;
                for i in 0..32 {
                    let l =
                        u64::from_le_bytes(block[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
                    for j in 0..4 {
                        out[k + 32 * j + i] = ((l >> (48 - 16 * j)) & 0xFFFF) as u32;
                    }
                }
            }
            for v in &mut out[full..] {
                *v = r.i16()? as u16 as u32;
            }
        }
        32 => {
            for k in (0..full).step_by(128) {
                let block = r.bytes(64 * 8)?;
                for i in 0..64 {
                    let l =
                        u64::from_le_bytes(block[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
                    out[k + i] = (l >> 32) as u32;
                    out[k + 64 + i] = l as u32;
                }
            }
            for v in &mut out[full..] {
                *v = r.i32()? as u32;
            }
        }
        b => return r.invalid(format!("unsupported {b} bits per value")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lucene::input::Endian;

    #[test]
    fn packed_ints_are_msb_first() {
        // 3 values of 5 bits: 1, 2, 31 -> 00001 00010 11111 (+1 pad bit)
        let data = [5u8, 0b0000_1000, 0b1011_1110];
        let mut r = ByteReader::new(&data, Endian::Big);
        let mut out = Vec::new();
        read_packed(&mut r, 3, &mut out).unwrap();
        assert_eq!(out, vec![1, 2, 31]);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn packed_ints_all_equal() {
        let data = [0u8, 7];
        let mut out = Vec::new();
        read_packed(&mut ByteReader::new(&data, Endian::Big), 4, &mut out).unwrap();
        assert_eq!(out, vec![7; 4]);
    }

    #[test]
    fn stored_fields_ints_8_bit_block_and_tail() {
        let count = 130;
        let values: Vec<u32> = (0..count).map(|i| (i * 7 % 251) as u32).collect();
        let mut data = vec![8u8];
        for i in 0..16 {
            let mut l: u64 = 0;
            for j in 0..8 {
                l |= (values[16 * j + i] as u64) << (56 - 8 * j);
            }
            data.extend_from_slice(&l.to_le_bytes());
        }
        data.push(values[128] as u8);
        data.push(values[129] as u8);
        let mut out = Vec::new();
        let mut r = ByteReader::new(&data, Endian::Little);
        read_stored_fields_ints(&mut r, count, &mut out).unwrap();
        assert_eq!(out, values);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn stored_fields_ints_32_bit_tail_is_little_endian() {
        let data = [32u8, 1, 0, 1, 0];
        let mut out = Vec::new();
        read_stored_fields_ints(&mut ByteReader::new(&data, Endian::Little), 1, &mut out).unwrap();
        assert_eq!(out, vec![65537]);
    }
}
