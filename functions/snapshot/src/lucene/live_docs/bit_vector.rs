//! Lucene 4.x `.del` files: `Lucene40LiveDocsFormat`, a `BitVector` of the live documents.
//!
//! Read in lucene-core 4.10.4 (`codecs/lucene40/BitVector.java`, `Lucene40LiveDocsFormat.java`):
//! the int -2, a plain header `BitVector` (0 = Lucene 4.0 where set bits were the *deleted*
//! documents, 1 = cleared d-gaps, 2 = Lucene 4.8 with a footer), then either the dense form
//! `size, count, ceil(size / 8) bytes` or the sparse form `-1, size, count` and pairs of
//! `VInt gap, byte` naming the bytes that hold a cleared bit. Bit `d & 7` of byte `d >> 3` (lowest
//! first) is document `d`; `count` is the number of set bits.

use super::DocSet;
use crate::error::{Error, Result};
use crate::lucene::codec::{self, FOOTER_LEN};
use crate::lucene::commit::SegmentCommitInfo;
use crate::lucene::input::{ByteReader, DecodeResult, Endian};

const DGAPS_CLEARED: i32 = 1;
const CHECKSUM: i32 = 2;

pub fn read(file_name: &str, data: &[u8], sci: &SegmentCommitInfo, max_doc: u32) -> Result<DocSet> {
    let mut r = ByteReader::new(data, Endian::Big);
    let first = r.be_i32().map_err(|e| Error::in_file(file_name, e))?;
    if first != -2 {
        // Before Lucene 3.x's last format the file began with the size, without a header.
        return Err(Error::unsupported_codec(
            file_name,
            "BitVector (no header)",
            first,
            "a deleted-documents file of Lucene 3.x or older; Lucene 4.x .del files (BitVector versions 0 to 2) are read",
        ));
    }
    let header = codec::read_header(&mut r).map_err(|e| Error::in_file(file_name, e))?;
    if header.codec != "BitVector" || !(0..=CHECKSUM).contains(&header.version) {
        return Err(Error::unsupported_codec(
            file_name,
            header.codec,
            header.version,
            "unknown Lucene 4 live docs format (BitVector versions 0 to 2 are read)",
        ));
    }
    let version = header.version;
    let (size, live, bytes) =
        read_bits(&mut r, version).map_err(|e| Error::in_file(file_name, e))?;
    // Version 2 ends with a footer (verified with the file); version 1 ends with the data;
    // version 0 files were sometimes written longer, so Lucene does not check their end.
    let trailer = match version {
        CHECKSUM => Some(FOOTER_LEN),
        DGAPS_CLEARED => Some(0),
        _ => None,
    };
    if trailer.is_some_and(|t| r.remaining() != t) {
        return Err(Error::corrupt(
            file_name,
            format!("{} byte(s) after the bits", r.remaining() as i64 - trailer.unwrap_or(0) as i64),
        ));
    }
    if size != max_doc as i64 {
        return Err(Error::corrupt(
            file_name,
            format!("a bit vector of {size} document(s) for a segment of {max_doc} (by {}.si)", sci.name),
        ));
    }
    let words = bytes
        .chunks(8)
        .map(|c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(w)
        })
        .collect();
    let set = DocSet::from_words(words, max_doc);
    let counted = set.count();
    let deleted = max_doc - counted;
    if counted as i64 != live || deleted != sci.del_count as u32 {
        return Err(Error::corrupt(
            file_name,
            format!(
                "{deleted} deleted document(s) in the bits, the file's count implies {}, {} says {}",
                max_doc as i64 - live,
                sci.commit,
                sci.del_count
            ),
        ));
    }
    Ok(set)
}

/// Returns (size, count of set bits as the file records it, the bits with live = set).
fn read_bits(r: &mut ByteReader, version: i32) -> DecodeResult<(i64, i64, Vec<u8>)> {
    let mut size = r.be_i32()?;
    let sparse = size == -1;
    if sparse {
        size = r.be_i32()?;
    }
    let count = r.be_i32()?;
    if size < 0 || count < 0 || count > size {
        return r.invalid(format!("bad size {size} or count {count}"));
    }
    let n = (size as usize).div_ceil(8);
    let inverted = version < DGAPS_CLEARED;
    let mut bytes = if sparse {
        // Version 0 lists the bytes with set (deleted) bits, later ones those with cleared bits.
        let fill = if inverted { 0x00 } else { 0xFF };
        let mut bytes = vec![fill; n];
        clear_unused(&mut bytes, size);
        let mut left = if inverted { count } else { size - count } as i64;
        let mut last = 0usize;
        while left > 0 {
            last += r.vint_len()?;
            let b = r.u8()?;
            let Some(slot) = bytes.get_mut(last) else {
                return r.invalid(format!("d-gap to byte {last} of {n}"));
            };
            *slot = b;
            let marked = if inverted { b.count_ones() } else { b.count_zeros() };
            left -= marked as i64;
        }
        bytes
    } else {
        r.bytes(n)?.to_vec()
    };
    let mut live = count as i64;
    if inverted {
        for b in &mut bytes {
            *b = !*b;
        }
        live = size as i64 - count as i64;
    }
    clear_unused(&mut bytes, size);
    Ok((size as i64, live, bytes))
}

/// Zeroes the bits past the last document in the last byte.
fn clear_unused(bytes: &mut [u8], size: i32) {
    let rest = size & 7;
    if let (Some(last), true) = (bytes.last_mut(), rest != 0) {
        *last &= (1u8 << rest) - 1;
    }
}
