//! The packed encodings under Lucene90 doc values: `DirectReader` (values of a fixed bit width,
//! little-endian), `DirectMonotonicReader` (blocks of a line plus corrections), and the terms
//! dictionary (blocks of 64 terms, the first one plain, the other 63 prefix-coded and LZ4
//! compressed with the first term as dictionary).
//!
//! Read from Lucene 9.12.3: `util/packed/DirectReader.java`, `util/packed/DirectMonotonicReader.java`,
//! `codecs/lucene90/Lucene90DocValuesProducer.java` (`TermsDict`, `readTermDict`).

use super::input::{ByteReader, DecodeResult, Endian};

/// The `index`th value of `bits` bits from `data[offset..]`: values are packed back to back,
/// least significant bit first (every width DirectWriter uses reads this way).
pub fn direct_get(data: &[u8], offset: u64, bits: u8, index: u64) -> DecodeResult<u64> {
    if bits == 0 {
        return Ok(0);
    }
    if bits > 64 {
        return ByteReader::new(data, Endian::Little).invalid(format!("{bits} bits per value"));
    }
    let bit = index
        .checked_mul(bits as u64)
        .ok_or_else(|| too_far(data, offset))?;
    let start = offset + bit / 8;
    let shift = (bit % 8) as u32;
    let needed = (shift as usize + bits as usize).div_ceil(8);
    let mut word = [0u8; 16];
    let from = usize::try_from(start).map_err(|_| too_far(data, offset))?;
    // DirectWriter pads the end so that whole words can be read; a value must start inside.
    if from >= data.len() {
        return Err(too_far(data, start));
    }
    let avail = (data.len() - from).min(needed);
    word[..avail].copy_from_slice(&data[from..from + avail]);
    let v = u128::from_le_bytes(word) >> shift;
    let mask = if bits == 64 {
        u64::MAX as u128
    } else {
        (1u128 << bits) - 1
    };
    Ok((v & mask) as u64)
}

fn too_far(data: &[u8], at: u64) -> super::input::DecodeError {
    super::input::DecodeError::Invalid {
        at: at.min(usize::MAX as u64) as usize,
        what: format!("packed value beyond the data ({} byte(s))", data.len()),
    }
}

/// One block of a DirectMonotonic sequence: value(i) = min + (long)(avg * i) + packed(i).
#[derive(Debug, Clone)]
struct MonotonicBlock {
    min: i64,
    avg: f32,
    offset: u64,
    bits: u8,
}

/// The metadata of a DirectMonotonic sequence (in the `.dvm`), read with `loadMeta`'s layout.
#[derive(Debug, Clone)]
pub struct Monotonic {
    shift: u32,
    blocks: Vec<MonotonicBlock>,
    len: u64,
}

impl Monotonic {
    pub fn read_meta(r: &mut ByteReader, len: u64, shift: i32) -> DecodeResult<Monotonic> {
        if !(2..=30).contains(&shift) {
            return r.invalid(format!("monotonic block shift {shift}"));
        }
        let count = len.div_ceil(1u64 << shift);
        if count > r.remaining() as u64 / 21 {
            return r.invalid(format!("{count} monotonic blocks for {len} value(s)"));
        }
        let mut blocks = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let min = r.i64()?;
            let avg = f32::from_bits(r.i32()? as u32);
            let offset = r.i64()?;
            let bits = r.u8()?;
            if offset < 0 || bits > 64 {
                return r.invalid(format!("monotonic block at {offset} with {bits} bits"));
            }
            blocks.push(MonotonicBlock {
                min,
                avg,
                offset: offset as u64,
                bits,
            });
        }
        Ok(Monotonic {
            shift: shift as u32,
            blocks,
            len,
        })
    }

    /// The `index`th value; `data` is the slice the sequence was written to.
    pub fn get(&self, data: &[u8], index: u64) -> DecodeResult<i64> {
        if index >= self.len {
            return ByteReader::new(data, Endian::Little)
                .invalid(format!("monotonic index {index} of {}", self.len));
        }
        let b = &self.blocks[(index >> self.shift) as usize];
        let i = index & ((1u64 << self.shift) - 1);
        let packed = direct_get(data, b.offset, b.bits, i)?;
        // Java: `mins[block] + (long) (avgs[block] * blockIndex) + delta` (float arithmetic).
        Ok(b.min
            .wrapping_add((b.avg * i as f32) as i64)
            .wrapping_add(packed as i64))
    }
}

/// Where a terms dictionary lies, from `readTermDict`.
#[derive(Debug, Clone)]
pub struct TermsDict {
    pub size: u64,
    addresses: Monotonic,
    max_term_length: u32,
    max_block_length: u32,
    data_offset: u64,
    data_length: u64,
    addresses_offset: u64,
    addresses_length: u64,
}

/// Terms per LZ4 block (`TERMS_DICT_BLOCK_LZ4_SHIFT`).
const BLOCK_SHIFT: u32 = 6;

impl TermsDict {
    pub fn read_meta(r: &mut ByteReader) -> DecodeResult<TermsDict> {
        let size = r.vlong()?;
        if size < 0 {
            return r.invalid(format!("terms dictionary of {size} terms"));
        }
        let size = size as u64;
        let shift = r.i32()?;
        let addresses = Monotonic::read_meta(r, size.div_ceil(1 << BLOCK_SHIFT), shift)?;
        let max_term_length = r.i32()?;
        let max_block_length = r.i32()?;
        let data_offset = r.i64()?;
        let data_length = r.i64()?;
        let addresses_offset = r.i64()?;
        let addresses_length = r.i64()?;
        // The reverse index (for seeking by term) is not needed to look terms up by ordinal.
        let index_shift = r.i32()?;
        if !(0..=30).contains(&index_shift) {
            return r.invalid(format!("terms index shift {index_shift}"));
        }
        Monotonic::read_meta(r, 1 + size.div_ceil(1 << index_shift), shift)?;
        r.skip(32)?;
        if [max_term_length, max_block_length].iter().any(|v| *v < 0)
            || [data_offset, data_length, addresses_offset, addresses_length]
                .iter()
                .any(|v| *v < 0)
        {
            return r.invalid("negative terms dictionary length or offset");
        }
        Ok(TermsDict {
            size,
            addresses,
            max_term_length: max_term_length as u32,
            max_block_length: max_block_length as u32,
            data_offset: data_offset as u64,
            data_length: data_length as u64,
            addresses_offset: addresses_offset as u64,
            addresses_length: addresses_length as u64,
        })
    }

    /// The terms of block `block` (up to 64), decoded from the data file's bytes.
    pub fn block(&self, dvd: &[u8], block: u64) -> DecodeResult<Vec<Vec<u8>>> {
        let addresses = slice(dvd, self.addresses_offset, self.addresses_length)?;
        let terms = slice(dvd, self.data_offset, self.data_length)?;
        let at = self.addresses.get(addresses, block)?;
        let mut r = ByteReader::new(terms, Endian::Little);
        if at < 0 || at as usize >= terms.len() {
            return r.invalid(format!("terms block {block} at {at}"));
        }
        r.set_position(at as usize);
        let first_len = r.vint_len()?;
        if first_len > self.max_term_length as usize {
            return r.invalid(format!("term of {first_len} bytes"));
        }
        let first = r.bytes(first_len)?.to_vec();
        let count = (self.size - (block << BLOCK_SHIFT)).min(1 << BLOCK_SHIFT);
        let mut out = Vec::with_capacity(count as usize);
        out.push(first);
        if count == 1 {
            return Ok(out);
        }
        let len = r.vint_len()?;
        if len > self.max_block_length as usize {
            return r.invalid(format!("terms block of {len} bytes, at most {}", self.max_block_length));
        }
        let mut buf = vec![0u8; first_len + len];
        buf[..first_len].copy_from_slice(&out[0]);
        // No compressed length is stored: decoding stops when the block is full.
        let at = r.position();
        super::stored_fields::compression::lz4_raw_after(&terms[at..], &mut buf, first_len)
            .map_err(|e| super::input::DecodeError::Invalid {
                at,
                what: format!("LZ4 terms block {block}: {e}"),
            })?;
        let mut b = ByteReader::new(&buf[first_len..], Endian::Little);
        for _ in 1..count {
            let token = b.u8()?;
            let mut prefix = (token & 0x0F) as usize;
            let mut suffix = 1 + (token >> 4) as usize;
            if prefix == 15 {
                prefix += b.vint_len()?;
            }
            if suffix == 16 {
                suffix += b.vint_len()?;
            }
            let prev = out.last().expect("the first term");
            if prefix > prev.len() {
                return b.invalid(format!("prefix of {prefix} bytes after a term of {}", prev.len()));
            }
            let mut term = prev[..prefix].to_vec();
            term.extend_from_slice(b.bytes(suffix)?);
            out.push(term);
        }
        Ok(out)
    }
}

/// `data[offset..offset + length]`, or an error naming the range.
pub fn slice(data: &[u8], offset: u64, length: u64) -> DecodeResult<&[u8]> {
    let end = offset.checked_add(length);
    match end {
        Some(end) if end <= data.len() as u64 => Ok(&data[offset as usize..end as usize]),
        _ => ByteReader::new(data, Endian::Little).invalid(format!(
            "range {offset}+{length} beyond the data file ({} byte(s))",
            data.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_values_read_across_byte_boundaries() {
        // 12-bit values 0xABC, 0x123 packed LSB first: BC 3A 12
        let data = [0xBC, 0x3A, 0x12, 0, 0, 0, 0, 0];
        assert_eq!(direct_get(&data, 0, 12, 0).unwrap(), 0xABC);
        assert_eq!(direct_get(&data, 0, 12, 1).unwrap(), 0x123);
        assert_eq!(direct_get(&data, 0, 1, 2).unwrap(), 1);
        assert!(direct_get(&data, 0, 64, 2).is_err());
    }
}
