//! Just enough of the doc-values formats to find the documents that have a value in the
//! soft-deletes field (`__soft_deletes`): those documents are not live.
//!
//! A `.dvm` file lists its fields one after another with entries of varying length, so every
//! entry in front of the one we want has to be walked (Lucene70, Lucene80, Lucene90 layouts).

use super::codec;
use super::commit::SegmentCommitInfo;
use super::compound::SegmentFiles;
use super::field_infos::{FieldInfo, FieldInfos};
use super::input::{ByteReader, DecodeResult, Endian};
use super::live_docs::DocSet;
use super::segment::ReadOptions;
use crate::error::{Error, ErrorKind, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Lucene70,
    Lucene80,
    Lucene90,
}

/// Where the set of documents with a value lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocsWithField {
    /// No document has a value.
    None,
    /// Every document has a value.
    All,
    /// An IndexedDISI in the data file.
    Disi {
        offset: u64,
        length: u64,
        dense_rank_power: i8,
        num_values: u64,
    },
}

/// Reads which documents of a segment are soft-deleted.
///
/// `verify` streams the data file through CRC32 first (it can be large; it is read in windows
/// of `read_size`), so that a corrupt bit never turns into a wrong liveness decision.
pub fn read_soft_deletes(
    files: &SegmentFiles,
    segment: &SegmentCommitInfo,
    field_infos: &FieldInfos,
    field: &FieldInfo,
    max_doc: u32,
    opts: &ReadOptions,
) -> Result<DocSet> {
    let segment_id = segment.id.as_ref();
    let fnm_name = segment.field_infos_file();
    let segment = segment.name.as_str();
    let format = field.attribute("PerFieldDocValuesFormat.format");
    let suffix = field.attribute("PerFieldDocValuesFormat.suffix");
    let (Some(format), Some(suffix)) = (format, suffix) else {
        return Err(Error::in_file(
            &fnm_name,
            ErrorKind::Unsupported(format!(
                "soft-deletes field {} has no per-field doc-values format attributes",
                field.name
            )),
        ));
    };
    let layout = match format {
        "Lucene70" => Layout::Lucene70,
        "Lucene80" => Layout::Lucene80,
        "Lucene90" => Layout::Lucene90,
        other => {
            return Err(Error::unsupported_codec(&fnm_name, other.to_string(), 0, format!(
                        "doc-values format of the soft-deletes field {}; Lucene70, Lucene80 and Lucene90 are supported",
                        field.name
                    )))
        }
    };
    let full_suffix = if field.dv_gen >= 0 {
        format!(
            "{}_{format}_{suffix}",
            codec::to_base36(field.dv_gen as u64)
        )
    } else {
        format!("{format}_{suffix}")
    };
    let meta_name = format!("{segment}_{full_suffix}.dvm");
    let data_name = format!("{segment}_{full_suffix}.dvd");
    // The names come from the field's attributes and generation in the field infos.
    let named_by = |e: Error| named_by_field_infos(e, field, &fnm_name);
    let meta = files.open(&meta_name).map_err(named_by)?.read_verified()?;
    let (meta_codec, data_codec) = match layout {
        Layout::Lucene70 => ("Lucene70DocValuesMetadata", "Lucene70DocValuesData"),
        Layout::Lucene80 => ("Lucene80DocValuesMetadata", "Lucene80DocValuesData"),
        Layout::Lucene90 => ("Lucene90DocValuesMetadata", "Lucene90DocValuesData"),
    };
    let mut r = ByteReader::new(&meta, Endian::Big);
    let header = codec::read_index_header(&mut r).map_err(|e| Error::in_file(&meta_name, e))?;
    let max_version = match layout {
        Layout::Lucene70 => 0,
        Layout::Lucene80 => 2,
        Layout::Lucene90 => 2,
    };
    if header.codec != meta_codec || !(0..=max_version).contains(&header.version) {
        return Err(Error::unsupported_codec(
            &meta_name,
            header.codec.clone(),
            header.version,
            format!("expected {meta_codec} version 0 to {max_version}"),
        ));
    }
    if header.id.as_ref() != segment_id
        || header.suffix.as_deref() != Some(full_suffix.as_str())
    {
        return Err(Error::corrupt(
            &meta_name,
            "header does not match the segment",
        ));
    }
    r.set_order(if layout == Layout::Lucene90 {
        Endian::Little
    } else {
        Endian::Big
    });
    let walker = MetaWalker {
        layout,
        version: header.version,
        infos: field_infos,
    };
    let docs = walker
        .find(&mut r, field.number)
        .map_err(|e| Error::in_file(&meta_name, e))?
        .ok_or_else(|| {
            Error::corrupt(
                &meta_name,
                format!(
                    "no entry for the soft-deletes field {} (number {})",
                    field.name, field.number
                ),
            )
        })?;

    match docs {
        DocsWithField::None => Ok(DocSet::empty(max_doc)),
        DocsWithField::All => Ok(DocSet::full(max_doc)),
        DocsWithField::Disi {
            offset,
            length,
            dense_rank_power,
            num_values,
        } => {
            let data = files.open(&data_name).map_err(named_by)?;
            let head = data.read_at(0, (data.len() as usize).min(128))?;
            let h = codec::read_index_header(&mut ByteReader::new(&head, Endian::Big))
                .map_err(|e| Error::in_file(&data_name, e))?;
            if h.codec != data_codec
                || h.version != header.version
                || h.id.as_ref() != segment_id
            {
                return Err(Error::corrupt(
                    &data_name,
                    format!("header does not match its metadata file {meta_name}"),
                ));
            }
            if opts.verify_checksums {
                data.verify_streaming(opts.read_size)?;
            }
            // Where the set lies is the metadata's word: check it against the data file.
            if offset
                .checked_add(length)
                .is_none_or(|end| end > data.len())
            {
                return Err(Error::corrupt(
                    &meta_name,
                    format!(
                        "soft-deletes doc-id set at {offset}+{length} lies outside {data_name} ({} byte(s))",
                        data.len()
                    ),
                ));
            }
            let len = usize::try_from(length)
                .map_err(|_| Error::corrupt(&data_name, "doc-id set too large"))?;
            let bytes = data.read_at(offset, len)?;
            let order = if layout == Layout::Lucene90 {
                Endian::Little
            } else {
                Endian::Big
            };
            let has_rank = layout != Layout::Lucene70 && dense_rank_power != -1;
            let set =
                read_indexed_disi(&bytes, order, max_doc, has_rank.then_some(dense_rank_power))
                    .map_err(|e| {
                        // Where the set lies is the .dvm's word, how many docs the .si's.
                        Error::corrupt(
                            &data_name,
                            format!(
                                "soft-deletes doc-id set at {offset}+{length} (by {meta_name}) in a segment of {max_doc} (by {segment}.si): {e}"
                            ),
                        )
                    })?;
            if set.count() as u64 != num_values {
                return Err(Error::corrupt(
                    &data_name,
                    format!(
                        "soft-deletes doc-id set has {} doc(s), its metadata ({meta_name}) says {num_values}",
                        set.count()
                    ),
                ));
            }
            Ok(set)
        }
    }
}

/// A doc-values file that is missing was named by the soft-deletes field's entry in `fnm`.
fn named_by_field_infos(mut e: Error, field: &FieldInfo, fnm: &str) -> Error {
    if let ErrorKind::MissingFile { needed_by, .. } = &mut e.kind {
        needed_by.get_or_insert_with(|| format!("the soft-deletes field {} of {fnm}", field.name));
    }
    e
}

struct MetaWalker<'a> {
    layout: Layout,
    version: i32,
    infos: &'a FieldInfos,
}

impl MetaWalker<'_> {
    /// Walks the entries until the one of `wanted`; returns where its documents are.
    fn find(&self, r: &mut ByteReader, wanted: u32) -> DecodeResult<Option<DocsWithField>> {
        loop {
            let number = r.i32()?;
            if number == -1 {
                return Ok(None);
            }
            let Some(info) = u32::try_from(number)
                .ok()
                .and_then(|n| self.infos.by_number(n))
            else {
                return r.invalid(format!("entry for unknown field number {number}"));
            };
            let kind = r.u8()?;
            if self.layout == Layout::Lucene90 && info.has_skip_index {
                // offset, length, max, min (longs), docCount, maxDocId (ints) [+ maxValueCount]
                r.skip(4 * 8 + 2 * 4)?;
                if self.version >= 2 {
                    r.skip(4)?;
                }
            }
            let docs = match kind {
                0 => self.numeric(r)?,
                1 => self.binary(r, info)?,
                2 => self.sorted(r)?,
                3 => self.sorted_set(r)?,
                4 => self.sorted_numeric(r)?,
                t => {
                    return r.invalid(format!(
                        "unknown doc-values entry type {t} for field {}",
                        info.name
                    ))
                }
            };
            if info.number == wanted {
                if kind != 0 {
                    return r.invalid(format!(
                        "soft-deletes field {} is stored as doc-values type {kind}, not numeric",
                        info.name
                    ));
                }
                return Ok(Some(docs));
            }
        }
    }

    /// docsWithField offset/length, then (Lucene80/90) jump table count and dense rank power.
    fn docs_with_field(&self, r: &mut ByteReader) -> DecodeResult<(i64, i64, i8)> {
        let offset = r.i64()?;
        let length = r.i64()?;
        let rank = if self.layout == Layout::Lucene70 {
            -1
        } else {
            r.i16()?;
            r.u8()? as i8
        };
        Ok((offset, length, rank))
    }

    fn numeric(&self, r: &mut ByteReader) -> DecodeResult<DocsWithField> {
        let (offset, length, rank) = self.docs_with_field(r)?;
        let num_values = r.i64()?;
        let table_size = r.i32()?;
        if table_size > 256 {
            return r.invalid(format!("numeric table size {table_size}"));
        }
        if table_size > 0 {
            r.skip(table_size as usize * 8)?;
        }
        // bitsPerValue, min, gcd, valuesOffset, valuesLength [, valueJumpTableOffset]
        r.skip(1 + 4 * 8)?;
        if self.layout != Layout::Lucene70 {
            r.skip(8)?;
        }
        Ok(match offset {
            -2 => DocsWithField::None,
            -1 => DocsWithField::All,
            o if o >= 0 && length >= 0 => DocsWithField::Disi {
                offset: o as u64,
                length: length as u64,
                dense_rank_power: rank,
                num_values: num_values.max(0) as u64,
            },
            o => return r.invalid(format!("docsWithField offset {o}")),
        })
    }

    fn monotonic_meta(
        &self,
        r: &mut ByteReader,
        num_values: i64,
        block_shift: i32,
    ) -> DecodeResult<()> {
        if !(2..=30).contains(&block_shift) || num_values < 0 {
            return r.invalid(format!(
                "monotonic block shift {block_shift} for {num_values} value(s)"
            ));
        }
        let blocks = (num_values as u64).div_ceil(1u64 << block_shift);
        // min (long), avg (int), offset (long), bits per value (byte)
        r.skip(blocks as usize * 21)
    }

    fn binary(&self, r: &mut ByteReader, info: &FieldInfo) -> DecodeResult<DocsWithField> {
        r.skip(16)?; // dataOffset, dataLength
        self.docs_with_field(r)?;
        let num_docs = r.i32()?;
        let min_len = r.i32()?;
        let max_len = r.i32()?;
        let compressed = match self.layout {
            Layout::Lucene80 if self.version >= 2 => {
                info.attribute("Lucene80DocValuesFormat.mode") == Some("BEST_COMPRESSION")
            }
            Layout::Lucene80 => self.version >= 1,
            _ => false,
        };
        if (compressed && num_docs > 0) || min_len < max_len {
            r.skip(8)?; // addressesOffset
            let mut num_addresses = num_docs as i64 + 1;
            if compressed {
                num_addresses = r.vint()? as i64; // numCompressedChunks
                r.vint()?; // docsPerChunkShift
                r.vint()?; // maxUncompressedChunkSize
            }
            let shift = r.vint()?;
            self.monotonic_meta(r, num_addresses, shift)?;
            r.skip(8)?; // addressesLength
        }
        Ok(DocsWithField::None)
    }

    fn sorted(&self, r: &mut ByteReader) -> DecodeResult<DocsWithField> {
        match self.layout {
            Layout::Lucene90 => {
                self.numeric(r)?;
            }
            _ => {
                self.docs_with_field(r)?;
                r.skip(4 + 1 + 16)?; // numDocsWithField, bitsPerValue, ordsOffset, ordsLength
            }
        }
        self.terms_dict(r)?;
        Ok(DocsWithField::None)
    }

    fn sorted_set(&self, r: &mut ByteReader) -> DecodeResult<DocsWithField> {
        match r.u8()? {
            0 => return self.sorted(r),
            1 => {}
            b => return r.invalid(format!("sorted-set multiValued flag {b}")),
        }
        match self.layout {
            Layout::Lucene90 => {
                self.sorted_numeric(r)?;
            }
            _ => {
                self.docs_with_field(r)?;
                r.skip(1 + 16)?; // bitsPerValue, ordsOffset, ordsLength
                let num_docs = r.i32()?;
                r.skip(8)?; // addressesOffset
                let shift = r.vint()?;
                self.monotonic_meta(r, num_docs as i64 + 1, shift)?;
                r.skip(8)?; // addressesLength
            }
        }
        self.terms_dict(r)?;
        Ok(DocsWithField::None)
    }

    fn sorted_numeric(&self, r: &mut ByteReader) -> DecodeResult<DocsWithField> {
        // Same leading layout as numeric; numValues is needed to know if addresses follow.
        let start = r.position();
        self.docs_with_field(r)?;
        let num_values = r.i64()?;
        r.set_position(start);
        self.numeric(r)?;
        let num_docs = r.i32()?;
        if num_docs as i64 != num_values {
            r.skip(8)?; // addressesOffset
            let shift = r.vint()?;
            self.monotonic_meta(r, num_docs as i64 + 1, shift)?;
            r.skip(8)?; // addressesLength
        }
        Ok(DocsWithField::None)
    }

    fn terms_dict(&self, r: &mut ByteReader) -> DecodeResult<()> {
        let size = r.vlong()?;
        let (block_shift_of_terms, compressed) = match self.layout {
            Layout::Lucene70 => (r.i32()?, false),
            Layout::Lucene80 => {
                let code = r.i32()?;
                if code == (6 << 16) | 1 {
                    (6, true)
                } else {
                    (code, false)
                }
            }
            Layout::Lucene90 => (6, true),
        };
        if !(0..=30).contains(&block_shift_of_terms) {
            return r.invalid(format!(
                "terms dictionary block shift {block_shift_of_terms}"
            ));
        }
        let shift = r.i32()?;
        let addresses = (size as u64).div_ceil(1u64 << block_shift_of_terms);
        self.monotonic_meta(r, addresses as i64, shift)?;
        r.skip(4)?; // maxTermLength
        if compressed {
            r.skip(4)?; // maxBlockLength
        }
        r.skip(32)?; // termsData offset/length, termsAddresses offset/length
        let index_shift = r.i32()?;
        if !(0..=30).contains(&index_shift) {
            return r.invalid(format!("terms index shift {index_shift}"));
        }
        let index_size = (size as u64).div_ceil(1u64 << index_shift);
        self.monotonic_meta(r, 1 + index_size as i64, shift)?;
        r.skip(32)?; // termsIndex offset/length, termsIndexAddresses offset/length
        Ok(())
    }
}

/// Decodes an IndexedDISI (blocks of 65,536 doc ids: sparse list, dense bitmap or all).
pub fn read_indexed_disi(
    data: &[u8],
    order: Endian,
    max_doc: u32,
    dense_rank_power: Option<i8>,
) -> DecodeResult<DocSet> {
    let mut r = ByteReader::new(data, order);
    let mut set = DocSet::empty(max_doc);
    let mut prev_block: i32 = -1;
    loop {
        let block = r.i16()? as u16 as u32;
        let cardinality = r.i16()? as u16 as u32 + 1;
        if block == 0x7FFF {
            // The NO_MORE_DOCS sentinel: a sparse block with the single value 0xFFFF.
            if cardinality != 1 || r.i16()? as u16 != 0xFFFF {
                return r.invalid("bad end-of-set block");
            }
            return Ok(set);
        }
        if block as i32 <= prev_block {
            return r.invalid(format!("block {block} after block {prev_block}"));
        }
        prev_block = block as i32;
        let base = block << 16;
        if base >= max_doc {
            return r.invalid(format!(
                "block {block} is beyond the segment's {max_doc} docs"
            ));
        }
        if cardinality <= 4095 {
            let mut last: i32 = -1;
            for _ in 0..cardinality {
                let low = r.i16()? as u16 as i32;
                if low <= last {
                    return r.invalid("sparse block doc ids are not increasing");
                }
                last = low;
                let doc = base + low as u32;
                if doc >= max_doc {
                    return r.invalid(format!("doc {doc} is beyond the segment's {max_doc} docs"));
                }
                set.insert(doc);
            }
        } else if cardinality == 65536 {
            if base + 65536 > max_doc {
                return r.invalid(format!(
                    "full block {block} is beyond the segment's {max_doc} docs"
                ));
            }
            for doc in base..base + 65536 {
                set.insert(doc);
            }
        } else {
            if let Some(p) = dense_rank_power {
                if !(7..=15).contains(&p) {
                    return r.invalid(format!("dense rank power {p}"));
                }
                r.skip(1024 >> (p - 7))?;
            }
            let mut count = 0;
            for w in 0..1024u32 {
                let mut word = r.i64()? as u64;
                count += word.count_ones();
                while word != 0 {
                    let bit = word.trailing_zeros();
                    let doc = base + w * 64 + bit;
                    if doc >= max_doc {
                        return r
                            .invalid(format!("doc {doc} is beyond the segment's {max_doc} docs"));
                    }
                    set.insert(doc);
                    word &= word - 1;
                }
            }
            if count != cardinality {
                return r.invalid(format!(
                    "dense block has {count} doc(s), header says {cardinality}"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be16(v: u16) -> [u8; 2] {
        v.to_be_bytes()
    }

    #[test]
    fn sparse_disi_then_sentinel() {
        let mut d = Vec::new();
        d.extend(be16(0));
        d.extend(be16(1)); // 2 docs
        d.extend(be16(3));
        d.extend(be16(9));
        d.extend(be16(0x7FFF));
        d.extend(be16(0));
        d.extend(be16(0xFFFF));
        let set = read_indexed_disi(&d, Endian::Big, 10, None).unwrap();
        assert_eq!(set.count(), 2);
        assert!(set.contains(3) && set.contains(9) && !set.contains(4));
    }

    #[test]
    fn dense_block_with_rank_table() {
        let mut d = Vec::new();
        d.extend(0u16.to_le_bytes());
        d.extend((4096u16 - 1).to_le_bytes());
        d.extend(vec![0u8; 256]); // rank table for power 9
        for w in 0..1024 {
            let word: u64 = if w < 64 { u64::MAX } else { 0 };
            d.extend(word.to_le_bytes());
        }
        d.extend(0x7FFFu16.to_le_bytes());
        d.extend(0u16.to_le_bytes());
        d.extend(0xFFFFu16.to_le_bytes());
        let set = read_indexed_disi(&d, Endian::Little, 5000, Some(9)).unwrap();
        assert_eq!(set.count(), 4096);
        assert!(set.contains(4095) && !set.contains(4096));
    }

    #[test]
    fn truncated_disi_is_an_error() {
        let d = [0u8, 0, 0, 1, 0];
        assert!(read_indexed_disi(&d, Endian::Big, 10, None).is_err());
    }
}
