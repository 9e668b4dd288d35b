//! The values of every doc-values field of a segment written with `Lucene90DocValuesFormat`
//! (Lucene 9.x and 10.x): numeric, binary, sorted, sorted-set and sorted-numeric, dense or sparse.
//!
//! Layout read from Lucene 9.12.3 `codecs/lucene90/Lucene90DocValuesProducer.java`
//! (`readFields`, `readNumeric`, `readBinary`, `readSorted`, `readSortedSet`,
//! `readSortedNumeric`, `getNumeric`, `VaryingBPVReader`) and `Lucene90DocValuesConsumer.java`.
//! The data file is read whole (and its checksum verified) on open; values are decoded per
//! document on demand.

use std::collections::HashMap;

use super::codec;
use super::compound::SegmentFiles;
use super::doc_values::read_indexed_disi;
use super::doc_values_packed::{direct_get, slice, Monotonic, TermsDict};
use super::field_infos::FieldInfos;
use super::input::{ByteReader, DecodeResult, Endian};
use crate::error::{Error, Result};

/// Which documents of a field have a value.
#[derive(Debug, Clone)]
enum Docs {
    None,
    All,
    /// The documents with a value, in order: a document's index among them is its rank.
    Some(Vec<u32>),
}

impl Docs {
    fn index(&self, doc: u32) -> Option<u64> {
        match self {
            Docs::None => None,
            Docs::All => Some(doc as u64),
            Docs::Some(docs) => docs.binary_search(&doc).ok().map(|i| i as u64),
        }
    }
}

/// `readNumeric`: how the values of the documents with one are encoded.
#[derive(Debug, Clone)]
struct Numeric {
    docs: Docs,
    num_values: u64,
    table: Option<Vec<i64>>,
    /// Blocks of 2^shift values each with its own width (`VaryingBPVReader`).
    block_shift: Option<u32>,
    bits: u8,
    min: i64,
    gcd: i64,
    values_offset: u64,
    values_length: u64,
}

#[derive(Debug, Clone)]
struct SortedNumeric {
    values: Numeric,
    /// Where each document's values start (absent when every document has one value).
    addresses: Option<(u64, u64, Monotonic)>,
}

#[derive(Debug, Clone)]
enum Entry {
    Numeric(Numeric),
    Binary {
        docs: Docs,
        data_offset: u64,
        data_length: u64,
        min_len: u32,
        max_len: u32,
        addresses: Option<(u64, u64, Monotonic)>,
    },
    Sorted(Numeric, TermsDict),
    SortedSet(SortedNumeric, TermsDict),
    SortedNumeric(SortedNumeric),
}

/// A document's values of one field, as the field's doc-values type keeps them.
#[derive(Debug, Clone, PartialEq)]
pub enum DocValue {
    /// Numeric and sorted-numeric (in ascending order, duplicates kept).
    Longs(Vec<i64>),
    /// Sorted, sorted-set (distinct terms, in term order) and binary.
    Bytes(Vec<Vec<u8>>),
}

/// The doc-values fields of one segment under one `Lucene90` suffix.
pub struct DocValuesFields {
    dvd: Vec<u8>,
    entries: HashMap<u32, Entry>,
    data_name: String,
    /// The last terms block decoded, per field: (field, block) → terms.
    block_cache: HashMap<u32, (u64, Vec<Vec<u8>>)>,
}

impl DocValuesFields {
    /// Opens `<segment>[_<gen>]_Lucene90_<suffix>.dvm/.dvd`; `fields` are the numbers of the
    /// fields whose entries are in that pair.
    pub fn open(
        files: &SegmentFiles,
        segment: &str,
        segment_id: Option<&[u8; 16]>,
        full_suffix: &str,
        infos: &FieldInfos,
        max_doc: u32,
    ) -> Result<DocValuesFields> {
        let meta_name = format!("{segment}_{full_suffix}.dvm");
        let data_name = format!("{segment}_{full_suffix}.dvd");
        let meta = files.open(&meta_name)?.read_verified()?;
        let mut r = ByteReader::new(&meta, Endian::Big);
        let header = codec::read_index_header(&mut r).map_err(|e| Error::in_file(&meta_name, e))?;
        if header.codec != "Lucene90DocValuesMetadata" || !(0..=2).contains(&header.version) {
            return Err(Error::unsupported_codec(
                &meta_name,
                header.codec.clone(),
                header.version,
                "expected Lucene90DocValuesMetadata version 0 to 2 (Lucene 9.0 to 10.x)",
            ));
        }
        if header.id.as_ref() != segment_id || header.suffix.as_deref() != Some(full_suffix) {
            return Err(Error::corrupt(&meta_name, "header does not match the segment"));
        }
        let dvd = files.open(&data_name)?.read_verified()?;
        let dh = codec::read_index_header(&mut ByteReader::new(&dvd, Endian::Big))
            .map_err(|e| Error::in_file(&data_name, e))?;
        if dh.codec != "Lucene90DocValuesData" || dh.version != header.version {
            return Err(Error::corrupt(
                &data_name,
                format!("header does not match its metadata file {meta_name}"),
            ));
        }
        r.set_order(Endian::Little);
        let entries = read_entries(&mut r, header.version, infos, &dvd, max_doc)
            .map_err(|e| Error::in_file(&meta_name, e))?;
        Ok(DocValuesFields {
            dvd,
            entries,
            data_name,
            block_cache: HashMap::new(),
        })
    }

    pub fn has(&self, field: u32) -> bool {
        self.entries.contains_key(&field)
    }

    /// The values of `field` in `doc` (`None`: the document has none).
    pub fn get(&mut self, field: u32, doc: u32) -> Result<Option<DocValue>> {
        self.value(field, doc)
            .map_err(|e| Error::in_file(&self.data_name, e))
    }

    fn value(&mut self, field: u32, doc: u32) -> DecodeResult<Option<DocValue>> {
        let Some(entry) = self.entries.get(&field) else {
            return Ok(None);
        };
        let dvd = &self.dvd[..];
        Ok(match entry {
            Entry::Numeric(n) => match n.docs.index(doc) {
                None => None,
                Some(i) => Some(DocValue::Longs(vec![numeric(dvd, n, i)?])),
            },
            Entry::SortedNumeric(sn) => sorted_numeric(dvd, sn, doc)?.map(DocValue::Longs),
            Entry::Binary {
                docs,
                data_offset,
                data_length,
                min_len,
                max_len,
                addresses,
            } => {
                let Some(i) = docs.index(doc) else {
                    return Ok(None);
                };
                let data = slice(dvd, *data_offset, *data_length)?;
                let (start, end) = match addresses {
                    Some((off, len, m)) => {
                        let a = slice(dvd, *off, *len)?;
                        (m.get(a, i)? as u64, m.get(a, i + 1)? as u64)
                    }
                    None => {
                        debug_assert_eq!(min_len, max_len);
                        (i * *min_len as u64, (i + 1) * *min_len as u64)
                    }
                };
                if start > end {
                    return ByteReader::new(data, Endian::Little)
                        .invalid(format!("binary value {i} at {start}..{end}"));
                }
                Some(DocValue::Bytes(vec![slice(data, start, end - start)?.to_vec()]))
            }
            Entry::Sorted(ords, _) => match ords.docs.index(doc) {
                None => None,
                Some(i) => {
                    let ord = numeric(dvd, ords, i)?;
                    Some(DocValue::Bytes(vec![self.term(field, ord)?]))
                }
            },
            Entry::SortedSet(ords, _) => match sorted_numeric(dvd, ords, doc)? {
                None => None,
                Some(ords) => {
                    let mut terms = Vec::with_capacity(ords.len());
                    for ord in ords {
                        terms.push(self.term(field, ord)?);
                    }
                    Some(DocValue::Bytes(terms))
                }
            },
        })
    }

    fn term(&mut self, field: u32, ord: i64) -> DecodeResult<Vec<u8>> {
        let terms = match self.entries.get(&field) {
            Some(Entry::Sorted(_, t) | Entry::SortedSet(_, t)) => t,
            _ => unreachable!("only sorted fields have terms"),
        };
        if ord < 0 || ord as u64 >= terms.size {
            return ByteReader::new(&self.dvd, Endian::Little)
                .invalid(format!("ordinal {ord} of {} terms", terms.size));
        }
        let block = (ord as u64) >> 6;
        let cached = matches!(self.block_cache.get(&field), Some((b, _)) if *b == block);
        if !cached {
            let decoded = terms.block(&self.dvd, block)?;
            self.block_cache.insert(field, (block, decoded));
        }
        let (_, decoded) = &self.block_cache[&field];
        decoded
            .get((ord as u64 & 63) as usize)
            .cloned()
            .ok_or_else(|| super::input::DecodeError::Invalid {
                at: 0,
                what: format!("terms block {block} lacks ordinal {ord}"),
            })
    }
}

fn read_entries(
    r: &mut ByteReader,
    version: i32,
    infos: &FieldInfos,
    dvd: &[u8],
    max_doc: u32,
) -> DecodeResult<HashMap<u32, Entry>> {
    let mut entries = HashMap::new();
    loop {
        let number = r.i32()?;
        if number == -1 {
            return Ok(entries);
        }
        let Some(info) = u32::try_from(number).ok().and_then(|n| infos.by_number(n)) else {
            return r.invalid(format!("entry for unknown field number {number}"));
        };
        let kind = r.u8()?;
        if info.has_skip_index {
            // offset, length, max, min (longs), docCount, maxDocId (ints) [+ maxValueCount]
            r.skip(4 * 8 + 2 * 4)?;
            if version >= 2 {
                r.skip(4)?;
            }
        }
        let entry = match kind {
            0 => {
                let n = read_numeric(r, dvd, max_doc)?;
                check_count(r, &n.docs, n.num_values)?;
                Entry::Numeric(n)
            }
            1 => read_binary(r, dvd, max_doc)?,
            2 => {
                let ords = read_numeric(r, dvd, max_doc)?;
                check_count(r, &ords.docs, ords.num_values)?;
                Entry::Sorted(ords, TermsDict::read_meta(r)?)
            }
            3 => match r.u8()? {
                0 => {
                    let ords = read_numeric(r, dvd, max_doc)?;
                    check_count(r, &ords.docs, ords.num_values)?;
                    Entry::Sorted(ords, TermsDict::read_meta(r)?)
                }
                1 => {
                    let ords = read_sorted_numeric(r, dvd, max_doc)?;
                    Entry::SortedSet(ords, TermsDict::read_meta(r)?)
                }
                b => return r.invalid(format!("sorted-set multiValued flag {b}")),
            },
            4 => Entry::SortedNumeric(read_sorted_numeric(r, dvd, max_doc)?),
            t => return r.invalid(format!("unknown doc-values type {t} for field {}", info.name)),
        };
        entries.insert(info.number, entry);
    }
}

/// docsWithFieldOffset/Length, jumpTableEntryCount, denseRankPower; the documents resolved.
fn read_docs(r: &mut ByteReader, dvd: &[u8], max_doc: u32) -> DecodeResult<Docs> {
    let offset = r.i64()?;
    let length = r.i64()?;
    r.i16()?;
    let rank = r.u8()? as i8;
    Ok(match offset {
        -2 => Docs::None,
        -1 => Docs::All,
        o if o >= 0 && length >= 0 => {
            let bytes = slice(dvd, o as u64, length as u64)?;
            let rank = (rank != -1).then_some(rank);
            let set = read_indexed_disi(bytes, Endian::Little, max_doc, rank)?;
            Docs::Some((0..max_doc).filter(|d| set.contains(*d)).collect())
        }
        o => return r.invalid(format!("docsWithField offset {o}")),
    })
}

/// A sparse set must hold as many documents as its entry counts.
fn check_count(r: &ByteReader, docs: &Docs, count: u64) -> DecodeResult<()> {
    match docs {
        Docs::Some(d) if d.len() as u64 != count => r.invalid(format!(
            "doc-id set has {} doc(s), its entry says {count}",
            d.len()
        )),
        _ => Ok(()),
    }
}

fn read_numeric(r: &mut ByteReader, dvd: &[u8], max_doc: u32) -> DecodeResult<Numeric> {
    let docs = read_docs(r, dvd, max_doc)?;
    let num_values = r.i64()?;
    if num_values < 0 {
        return r.invalid(format!("{num_values} values"));
    }
    let table_size = r.i32()?;
    if table_size > 256 {
        return r.invalid(format!("numeric table size {table_size}"));
    }
    let table = if table_size >= 0 {
        let mut t = Vec::with_capacity(table_size as usize);
        for _ in 0..table_size {
            t.push(r.i64()?);
        }
        Some(t)
    } else {
        None
    };
    let block_shift = (table_size < -1).then_some((-2 - table_size) as u32);
    if block_shift.is_some_and(|s| s > 30) {
        return r.invalid(format!("numeric block shift {}", -2 - table_size));
    }
    let bits = r.u8()?;
    let min = r.i64()?;
    let gcd = r.i64()?;
    let values_offset = r.i64()?;
    let values_length = r.i64()?;
    r.i64()?; // valueJumpTableOffset: blocks are walked from the start instead
    if values_offset < 0 || values_length < 0 || (block_shift.is_none() && bits > 64) {
        return r.invalid(format!(
            "numeric values at {values_offset}+{values_length}, {bits} bits"
        ));
    }
    Ok(Numeric {
        docs,
        num_values: num_values as u64,
        table,
        block_shift,
        bits,
        min,
        gcd,
        values_offset: values_offset as u64,
        values_length: values_length as u64,
    })
}

fn read_sorted_numeric(r: &mut ByteReader, dvd: &[u8], max_doc: u32) -> DecodeResult<SortedNumeric> {
    let values = read_numeric(r, dvd, max_doc)?;
    let num_docs = r.i32()?;
    if num_docs < 0 {
        return r.invalid(format!("{num_docs} documents with values"));
    }
    check_count(r, &values.docs, num_docs as u64)?;
    let addresses = if num_docs as u64 != values.num_values {
        let offset = r.i64()?;
        let shift = r.vint()?;
        let m = Monotonic::read_meta(r, num_docs as u64 + 1, shift)?;
        let length = r.i64()?;
        if offset < 0 || length < 0 {
            return r.invalid("negative addresses offset or length");
        }
        Some((offset as u64, length as u64, m))
    } else {
        None
    };
    Ok(SortedNumeric { values, addresses })
}

fn read_binary(r: &mut ByteReader, dvd: &[u8], max_doc: u32) -> DecodeResult<Entry> {
    let data_offset = r.i64()?;
    let data_length = r.i64()?;
    let docs = read_docs(r, dvd, max_doc)?;
    let num_docs = r.i32()?;
    if num_docs < 0 {
        return r.invalid(format!("{num_docs} documents with values"));
    }
    check_count(r, &docs, num_docs as u64)?;
    let min_len = r.i32()?;
    let max_len = r.i32()?;
    if data_offset < 0 || data_length < 0 || min_len < 0 || max_len < min_len {
        return r.invalid(format!(
            "binary data at {data_offset}+{data_length}, lengths {min_len}..{max_len}"
        ));
    }
    let addresses = if min_len < max_len {
        let offset = r.i64()?;
        let shift = r.vint()?;
        let m = Monotonic::read_meta(r, num_docs as u64 + 1, shift)?;
        let length = r.i64()?;
        if offset < 0 || length < 0 {
            return r.invalid("negative addresses offset or length");
        }
        Some((offset as u64, length as u64, m))
    } else {
        None
    };
    Ok(Entry::Binary {
        docs,
        data_offset: data_offset as u64,
        data_length: data_length as u64,
        min_len: min_len as u32,
        max_len: max_len as u32,
        addresses,
    })
}

/// The `index`th value of a numeric entry (`getNumeric`).
fn numeric(dvd: &[u8], n: &Numeric, index: u64) -> DecodeResult<i64> {
    if n.bits == 0 {
        return Ok(n.min);
    }
    let data = slice(dvd, n.values_offset, n.values_length)?;
    if let Some(shift) = n.block_shift {
        return varying(data, n, shift, index);
    }
    let packed = direct_get(data, 0, n.bits, index)?;
    Ok(match &n.table {
        Some(t) => *t.get(packed as usize).ok_or_else(|| super::input::DecodeError::Invalid {
            at: 0,
            what: format!("table index {packed} of {}", t.len()),
        })?,
        None => n.gcd.wrapping_mul(packed as i64).wrapping_add(n.min),
    })
}

/// `VaryingBPVReader`: blocks of `bitsPerValue (byte), delta (long)[, length (int), packed]`.
fn varying(data: &[u8], n: &Numeric, shift: u32, index: u64) -> DecodeResult<i64> {
    let block = index >> shift;
    let mut r = ByteReader::new(data, Endian::Little);
    for b in 0..=block {
        let bits = r.u8()?;
        let delta = r.i64()?;
        let (at, len) = if bits == 0 {
            (r.position(), 0)
        } else {
            let len = r.i32()?;
            if len < 0 {
                return r.invalid(format!("numeric block of {len} bytes"));
            }
            (r.position(), len as usize)
        };
        if b == block {
            let packed = direct_get(&data[..at + len.min(data.len() - at)], at as u64, bits, index & ((1 << shift) - 1))?;
            return Ok(n.gcd.wrapping_mul(packed as i64).wrapping_add(delta));
        }
        r.skip(len)?;
    }
    unreachable!("the loop returns at the wanted block")
}

fn sorted_numeric(dvd: &[u8], sn: &SortedNumeric, doc: u32) -> DecodeResult<Option<Vec<i64>>> {
    let Some(i) = sn.values.docs.index(doc) else {
        return Ok(None);
    };
    let (start, end) = match &sn.addresses {
        None => (i, i + 1),
        Some((off, len, m)) => {
            let a = slice(dvd, *off, *len)?;
            (m.get(a, i)? as u64, m.get(a, i + 1)? as u64)
        }
    };
    if start > end || end > sn.values.num_values {
        return ByteReader::new(dvd, Endian::Little).invalid(format!(
            "values {start}..{end} of {}",
            sn.values.num_values
        ));
    }
    (start..end).map(|k| numeric(dvd, &sn.values, k)).collect::<DecodeResult<Vec<_>>>().map(Some)
}
