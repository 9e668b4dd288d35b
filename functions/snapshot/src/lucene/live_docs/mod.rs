//! `.liv`: which documents of a segment are not hard-deleted.

use super::codec;
use super::commit::SegmentCommitInfo;
use super::input::{ByteReader, Endian};
use crate::error::{Error, Result};

mod bit_vector;

/// A fixed-size set of document ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocSet {
    words: Vec<u64>,
    len: u32,
}

impl DocSet {
    pub fn empty(len: u32) -> Self {
        DocSet {
            words: vec![0; (len as usize).div_ceil(64)],
            len,
        }
    }

    pub fn full(len: u32) -> Self {
        let mut s = DocSet::empty(len);
        for d in 0..len {
            s.insert(d);
        }
        s
    }

    pub fn from_words(words: Vec<u64>, len: u32) -> Self {
        DocSet { words, len }
    }

    /// The documents of `of` (all `len` when `None`) that are not in `minus`, a word at a time.
    pub fn without(of: Option<&DocSet>, minus: &DocSet, len: u32) -> DocSet {
        let n = (len as usize).div_ceil(64);
        let word = |s: &DocSet, i: usize| s.words.get(i).copied().unwrap_or(0);
        let words = (0..n)
            .map(|i| of.map_or(u64::MAX, |o| word(o, i)) & !word(minus, i))
            .collect();
        DocSet::from_words(words, len)
    }

    #[inline]
    pub fn contains(&self, doc: u32) -> bool {
        doc < self.len && (self.words[(doc >> 6) as usize] >> (doc & 63)) & 1 == 1
    }

    #[inline]
    pub fn insert(&mut self, doc: u32) {
        if doc < self.len {
            self.words[(doc >> 6) as usize] |= 1u64 << (doc & 63);
        }
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn count(&self) -> u32 {
        let full = (self.len / 64) as usize;
        let mut c: u32 = self.words[..full].iter().map(|w| w.count_ones()).sum();
        let rest = self.len % 64;
        if rest != 0 {
            c += (self.words[full] & ((1u64 << rest) - 1)).count_ones();
        }
        c
    }
}

/// Reads the live-docs bitset (bit set = live) of a segment of `max_doc` documents and checks
/// it against the commit's delete count.
pub fn read_live_docs(
    file_name: &str,
    data: &[u8],
    sci: &SegmentCommitInfo,
    max_doc: u32,
) -> Result<DocSet> {
    let (segment_id, del_gen, del_count) = (sci.id.as_ref(), sci.del_gen, sci.del_count as u32);
    if segment_id.is_none() {
        return bit_vector::read(file_name, data, sci, max_doc);
    }
    let mut r = ByteReader::new(data, Endian::Big);
    let header = codec::read_index_header(&mut r).map_err(|e| Error::in_file(file_name, e))?;
    let order = match (header.codec.as_str(), header.version) {
        ("Lucene50LiveDocs", 0) => Endian::Big,
        ("Lucene90LiveDocs", 0) => Endian::Little,
        (c, v) => {
            return Err(Error::unsupported_codec(
                file_name,
                c.to_string(),
                v,
                "unknown live docs format",
            ))
        }
    };
    if header.id.as_ref() != segment_id
        || header.suffix.as_deref() != Some(codec::to_base36(del_gen as u64).as_str())
    {
        return Err(Error::corrupt(
            file_name,
            "header does not match the segment and generation",
        ));
    }
    r.set_order(order);
    let n = (max_doc as usize).div_ceil(64);
    // The document count is the .si's word: check it against the bytes here before sizing
    // the bitset by it.
    if r.remaining() < n * 8 + codec::FOOTER_LEN {
        return Err(Error::corrupt(
            file_name,
            format!(
                "a bitset of {max_doc} document(s) (by {}.si) needs {} byte(s), the file has {} left",
                sci.name,
                n * 8,
                r.remaining().saturating_sub(codec::FOOTER_LEN)
            ),
        ));
    }
    let mut words = Vec::with_capacity(n);
    for _ in 0..n {
        words.push(r.i64().map_err(|e| Error::in_file(file_name, e))? as u64);
    }
    let set = DocSet::from_words(words, max_doc);
    let live = set.count();
    if max_doc - live != del_count {
        return Err(Error::corrupt(
            file_name,
            format!(
                "{} deleted document(s) in the bitset of {max_doc} (by {}.si), {} says {del_count}",
                max_doc - live,
                sci.name,
                sci.commit
            ),
        ));
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_set_counts_only_bits_below_its_length() {
        let mut s = DocSet::from_words(vec![u64::MAX], 3);
        assert_eq!(s.count(), 3);
        assert!(s.contains(2) && !s.contains(3));
        s = DocSet::empty(130);
        s.insert(129);
        s.insert(0);
        assert_eq!(s.count(), 2);
        assert_eq!(DocSet::full(70).count(), 70);
    }
}
