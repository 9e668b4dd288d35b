//! The stored-fields index of Lucene 8.7+ (`FieldsIndexReader`): for every chunk of the `.fdt`,
//! its first document and its offset, kept as two `DirectMonotonic` arrays (their block
//! metadata in the `.fdm`, their packed values in the `.fdx`). With it a reader starts at the
//! chunk that holds a document instead of decoding every chunk before it, which is what lets a
//! range of a shard begin in the middle of a large segment.
//!
//! Lucene 9+ writes little-endian and its `DirectReader` packs values from the low bits; Lucene
//! 8.x writes big-endian and packs from the high bits (`DirectReader` of each version).

use super::ChunkStart;
use crate::lucene::directory::LuceneFile;
use crate::lucene::input::{ByteReader, DecodeResult, Endian};

/// One block of a `DirectMonotonicReader`: value `i` of the block is
/// `min + (long)(avg * i) + packed[i]`, the packed values `bits` wide from `offset`.
#[derive(Debug, Clone, Copy)]
struct Block {
    min: i64,
    avg: f32,
    offset: u64,
    bits: u8,
}

/// A monotonic array's metadata and where its packed values are in the `.fdx`.
#[derive(Debug, Clone)]
struct Monotonic {
    blocks: Vec<Block>,
    start: u64,
    end: u64,
}

/// The chunk index of one segment's stored fields, read from the `.fdm` when the segment is
/// opened; the `.fdx` values are read on the first lookup.
pub(super) struct FieldsIndex {
    fdx: LuceneFile,
    order: Endian,
    chunks: u32,
    block_shift: u32,
    docs: Monotonic,
    starts: Monotonic,
    loaded: Option<(Vec<u8>, Vec<u8>)>,
}

fn load_meta(
    m: &mut ByteReader,
    values: u32,
    block_shift: u32,
) -> DecodeResult<Vec<Block>> {
    let count = (values as u64).div_ceil(1u64 << block_shift);
    let mut blocks = Vec::with_capacity(count.min(1 << 20) as usize);
    for _ in 0..count {
        let min = m.i64()?;
        let avg = f32::from_bits(m.i32()? as u32);
        let offset = m.i64()?;
        let bits = m.u8()?;
        if offset < 0 || bits > 64 {
            return m.invalid(format!("monotonic block at {offset} of {bits} bits"));
        }
        blocks.push(Block {
            min,
            avg,
            offset: offset as u64,
            bits,
        });
    }
    Ok(blocks)
}

impl FieldsIndex {
    /// Reads the index's metadata from the `.fdm`, positioned just after the document count.
    pub(super) fn parse(m: &mut ByteReader, fdx: LuceneFile) -> DecodeResult<FieldsIndex> {
        let block_shift = m.i32()?;
        let chunks = m.i32()?;
        if !(2..=30).contains(&block_shift) || chunks < 0 {
            return m.invalid(format!(
                "fields index of {chunks} chunk(s) in blocks of 2^{block_shift}"
            ));
        }
        let (block_shift, chunks) = (block_shift as u32, chunks as u32);
        let docs_start = m.i64()?;
        let docs_blocks = load_meta(m, chunks, block_shift)?;
        let starts_start = m.i64()?;
        let starts_blocks = load_meta(m, chunks, block_shift)?;
        let starts_end = m.i64()?;
        if docs_start < 0 || starts_start < docs_start || starts_end < starts_start {
            return m.invalid("fields index pointers out of order");
        }
        Ok(FieldsIndex {
            order: m.order(),
            fdx,
            chunks,
            block_shift,
            docs: Monotonic {
                blocks: docs_blocks,
                start: docs_start as u64,
                end: starts_start as u64,
            },
            starts: Monotonic {
                blocks: starts_blocks,
                start: starts_start as u64,
                end: starts_end as u64,
            },
            loaded: None,
        })
    }

    /// The chunk that holds `doc` (the last chunk whose first document is at most `doc`).
    pub(super) fn chunk_of(&mut self, doc: u32) -> crate::error::Result<Option<ChunkStart>> {
        if self.chunks == 0 {
            return Ok(None);
        }
        if self.loaded.is_none() {
            let read = |m: &Monotonic| self.fdx.read_at(m.start, (m.end - m.start) as usize);
            self.loaded = Some((read(&self.docs)?, read(&self.starts)?));
        }
        let (docs, starts) = self.loaded.as_ref().expect("loaded above");
        let get = |m: &Monotonic, data: &[u8], i: u32| value(m, data, i, self.block_shift, self.order);
        // Binary search: the last i with docs[i] <= doc.
        let (mut lo, mut hi) = (0u32, self.chunks);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if get(&self.docs, docs, mid) <= doc as i64 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let first = get(&self.docs, docs, lo);
        let offset = get(&self.starts, starts, lo);
        if first < 0 || first > doc as i64 || offset < 0 {
            return Ok(None);
        }
        Ok(Some(ChunkStart {
            offset: offset as u64,
            doc_base: first as u32,
        }))
    }
}

/// Value `i` of a monotonic array.
fn value(m: &Monotonic, data: &[u8], i: u32, shift: u32, order: Endian) -> i64 {
    let Some(b) = m.blocks.get((i >> shift) as usize) else {
        return -1;
    };
    let j = (i & ((1 << shift) - 1)) as u64;
    // Java: (long) (float * long), in float arithmetic.
    let base = b.min.wrapping_add((b.avg * j as f32) as i64);
    if b.bits == 0 {
        return base;
    }
    base.wrapping_add(packed(data, b.offset, b.bits, j, order) as i64)
}

/// The `j`th value of `bits` bits packed from byte `offset` (`DirectReader`).
fn packed(data: &[u8], offset: u64, bits: u8, j: u64, order: Endian) -> u64 {
    let bit = j * bits as u64;
    let at = (offset + bit / 8) as usize;
    let mut word = [0u8; 8];
    let have = data.len().saturating_sub(at).min(8);
    word[..have].copy_from_slice(&data[at.min(data.len())..at.min(data.len()) + have]);
    let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let within = (bit % 8) as u32;
    match order {
        Endian::Little => (u64::from_le_bytes(word) >> within) & mask,
        Endian::Big => (u64::from_be_bytes(word) >> (64 - bits as u32 - within)) & mask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_values_read_in_both_orders() {
        // 12-bit values 0xABC, 0x123 packed little-endian from the low bits: bytes BC 3A 12.
        let le = [0xBC, 0x3A, 0x12];
        assert_eq!(packed(&le, 0, 12, 0, Endian::Little), 0xABC);
        assert_eq!(packed(&le, 0, 12, 1, Endian::Little), 0x123);
        // The same values packed big-endian from the high bits: AB C1 23.
        let be = [0xAB, 0xC1, 0x23];
        assert_eq!(packed(&be, 0, 12, 0, Endian::Big), 0xABC);
        assert_eq!(packed(&be, 0, 12, 1, Endian::Big), 0x123);
        // 1-bit values: LSB first vs MSB first.
        assert_eq!(packed(&[0b0000_0010], 0, 1, 1, Endian::Little), 1);
        assert_eq!(packed(&[0b0100_0000], 0, 1, 1, Endian::Big), 1);
    }
}
