//! Lucene's flat vector files (`Lucene99FlatVectorsFormat`: `.vemf` metadata, `.vec` data), the
//! raw vectors behind `Lucene99HnswVectorsFormat` and behind the k-NN plugin's
//! `NativeEngines990KnnVectorsFormat` (faiss/nmslib fields): read so that vectors which
//! `_source` does not hold (k-NN derived source) can be put back.
//!
//! Per field (`PerFieldKnnVectorsFormat.format` / `.suffix` attributes in `.fnm`) the files are
//! `<segment>_<format>_<suffix>.vemf|.vec`. `.vemf` (index header
//! `Lucene99FlatVectorsFormatMeta` v0, suffix `<format>_<suffix>`; little-endian values) lists
//! the fields: `int fieldNumber` (−1 ends), `int encoding` (0 byte, 1 float32), `int similarity`,
//! `vlong dataOffset`, `vlong dataLength`, `vint dimension`, `int size`, then which documents
//! have a vector (`OrdToDocDISIReaderConfiguration`): `long docsWithFieldOffset` (−2 none, −1
//! every document, −3 reordered, else an IndexedDISI at that offset of `.vec`), `long length`,
//! `short jumpTableEntryCount`, `byte denseRankPower`, and when sparse `long addressesOffset`,
//! `vint blockShift`, DirectMonotonic block metas (`numBlocks × (long, int, long, byte)`),
//! `long addressesLength`. Vector `ord` is the rank of its document among those with one; its
//! floats are at `dataOffset + ord × dimension × 4`. Sources: Lucene 9.12 / 10.3
//! `codecs/lucene99/Lucene99FlatVectorsReader.java`, `codecs/lucene95/OrdToDocDISIReaderConfiguration.java`,
//! `util/packed/DirectMonotonicReader.java`; k-NN 2.19.1.0 / 3.5.0.0
//! `index/codec/KNN990Codec/NativeEngines990KnnVectorsFormat.java`.

use super::codec;
use super::compound::SegmentFiles;
use super::doc_values::read_indexed_disi;
use super::field_infos::FieldInfos;
use super::input::{ByteReader, DecodeResult, Endian};
use super::segment::ReadOptions;
use crate::error::{Error, Result};

pub const FORMAT_ATTRIBUTE: &str = "PerFieldKnnVectorsFormat.format";
pub const SUFFIX_ATTRIBUTE: &str = "PerFieldKnnVectorsFormat.suffix";
const META_CODEC: &str = "Lucene99FlatVectorsFormatMeta";
const DATA_CODEC: &str = "Lucene99FlatVectorsFormatData";

/// Which documents have a vector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ords {
    None,
    /// Every document: ord = doc.
    Every,
    /// The documents in increasing order: ord = index.
    Sparse(Vec<u32>),
}

/// The float vectors of one field in one segment.
#[derive(Debug, Clone)]
pub struct FieldVectors {
    pub field: String,
    pub dimension: usize,
    docs: Ords,
    /// `size × dimension` floats.
    values: Vec<f32>,
}

impl FieldVectors {
    /// Vector ordinal of `doc`, if it has a vector.
    pub fn ord(&self, doc: u32) -> Option<usize> {
        match &self.docs {
            Ords::None => None,
            Ords::Every => Some(doc as usize).filter(|&o| o * self.dimension < self.values.len()),
            Ords::Sparse(docs) => docs.binary_search(&doc).ok(),
        }
    }

    pub fn vector(&self, doc: u32) -> Option<&[f32]> {
        let ord = self.ord(doc)?;
        self.values
            .get(ord * self.dimension..(ord + 1) * self.dimension)
    }

    /// The documents with a vector in `from..to`, in order.
    pub fn docs_in(&self, from: u32, to: u32) -> Vec<u32> {
        match &self.docs {
            Ords::None => Vec::new(),
            Ords::Every => (from..to.min(self.len() as u32)).collect(),
            Ords::Sparse(docs) => {
                let lo = docs.partition_point(|&d| d < from);
                let hi = docs.partition_point(|&d| d < to);
                docs[lo..hi].to_vec()
            }
        }
    }

    /// How many documents have a vector.
    pub fn len(&self) -> usize {
        self.values.len() / self.dimension.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads the float vectors of the fields named in `wanted` (all vector fields when empty).
pub fn read_flat_vectors(
    files: &SegmentFiles,
    segment: &str,
    segment_id: &[u8; 16],
    field_infos: &FieldInfos,
    max_doc: u32,
    wanted: &[&str],
    opts: &ReadOptions,
) -> Result<Vec<FieldVectors>> {
    // Fields grouped by the per-field format's files.
    let mut groups: Vec<(String, Vec<u32>)> = Vec::new();
    for f in &field_infos.fields {
        if !wanted.is_empty() && !wanted.contains(&f.name.as_str()) {
            continue;
        }
        let (Some(format), Some(suffix)) =
            (f.attribute(FORMAT_ATTRIBUTE), f.attribute(SUFFIX_ATTRIBUTE))
        else {
            continue;
        };
        let files_suffix = format!("{format}_{suffix}");
        match groups.iter_mut().find(|(s, _)| *s == files_suffix) {
            Some((_, numbers)) => numbers.push(f.number),
            None => groups.push((files_suffix, vec![f.number])),
        }
    }
    let mut out = Vec::new();
    for (files_suffix, numbers) in groups {
        let meta_name = format!("{segment}_{files_suffix}.vemf");
        let data_name = format!("{segment}_{files_suffix}.vec");
        let meta = files.open(&meta_name).map_err(|e| {
            // An old or other vector format (Lucene 9.1–9.5 HNSW, k-NN 2.x binary doc values).
            if matches!(e.kind, crate::error::ErrorKind::MissingFile { .. }) {
                Error::unsupported_codec(
                    &meta_name,
                    files_suffix.clone(),
                    -1,
                    "vectors of this per-field format are not in Lucene99 flat vector files",
                )
            } else {
                e
            }
        })?;
        let meta = meta.read_verified()?;
        let entries = parse_meta(&meta_name, &meta, segment_id, &files_suffix)?;
        let data = files.open(&data_name)?;
        let head = data.read_at(0, (data.len() as usize).min(256))?;
        let h = codec::read_index_header(&mut ByteReader::new(&head, Endian::Big))
            .map_err(|e| Error::in_file(&data_name, e))?;
        if h.codec != DATA_CODEC || h.id.as_ref() != Some(segment_id) {
            return Err(Error::corrupt(
                &data_name,
                format!(
                    "header {} v{} does not match its metadata file {meta_name}",
                    h.codec, h.version
                ),
            ));
        }
        if opts.verify_checksums {
            data.verify_streaming(opts.read_size)?;
        }
        for e in entries.iter().filter(|e| numbers.contains(&e.number)) {
            let field = field_infos
                .by_number(e.number)
                .map(|f| f.name.clone())
                .unwrap_or_default();
            out.push(read_field(&data, &data_name, e, field, max_doc)?);
        }
    }
    Ok(out)
}

struct Entry {
    number: u32,
    encoding: i32,
    data_offset: u64,
    data_length: u64,
    dimension: usize,
    size: usize,
    docs_offset: i64,
    docs_length: i64,
    dense_rank_power: i8,
}

fn parse_meta(name: &str, data: &[u8], id: &[u8; 16], suffix: &str) -> Result<Vec<Entry>> {
    let mut r = ByteReader::new(data, Endian::Big);
    let h = codec::read_index_header(&mut r).map_err(|e| Error::in_file(name, e))?;
    if h.codec != META_CODEC || h.version != 0 {
        return Err(Error::unsupported_codec(
            name,
            h.codec,
            h.version,
            "only Lucene99FlatVectorsFormatMeta version 0 (Lucene 9.9 to 10.x) is read",
        ));
    }
    if h.id.as_ref() != Some(id) || h.suffix.as_deref() != Some(suffix) {
        return Err(Error::corrupt(
            name,
            "header names another segment or format suffix",
        ));
    }
    r.set_order(Endian::Little);
    entries(&mut r).map_err(|e| Error::in_file(name, e))
}

fn entries(r: &mut ByteReader) -> DecodeResult<Vec<Entry>> {
    let mut out = Vec::new();
    loop {
        let number = r.i32()?;
        if number == -1 {
            return Ok(out);
        }
        let encoding = r.i32()?;
        let _similarity = r.i32()?;
        let data_offset = r.vlong()? as u64;
        let data_length = r.vlong()? as u64;
        let dimension = r.vint()? as usize;
        let size = r.i32()?;
        if number < 0 || size < 0 {
            return r.invalid(format!("field {number} with {size} vectors"));
        }
        let docs_offset = r.i64()?;
        let docs_length = r.i64()?;
        let _jump_table_entries = r.i16()?;
        let dense_rank_power = r.u8()? as i8;
        if docs_offset == -3 {
            return r.invalid("reordered vector ordinals (Lucene 10.4+) are not read");
        }
        if docs_offset >= 0 {
            let _addresses_offset = r.i64()?;
            let block_shift = r.vint()?;
            if !(1..=30).contains(&block_shift) {
                return r.invalid(format!("ord-to-doc block shift {block_shift}"));
            }
            let blocks = ((size as u64).saturating_sub(1) >> block_shift) + 1;
            r.skip(blocks as usize * 21)?; // min, avg, offset, bitsRequired per block
            let _addresses_length = r.i64()?;
        }
        out.push(Entry {
            number: number as u32,
            encoding,
            data_offset,
            data_length,
            dimension,
            size: size as usize,
            docs_offset,
            docs_length,
            dense_rank_power,
        });
    }
}

fn read_field(
    data: &super::directory::LuceneFile,
    name: &str,
    e: &Entry,
    field: String,
    max_doc: u32,
) -> Result<FieldVectors> {
    if e.encoding != 1 {
        return Err(Error::in_file(
            name,
            crate::error::ErrorKind::Unsupported(format!(
                "field {field}: vector encoding {} (only float32 vectors are read)",
                e.encoding
            )),
        ));
    }
    let expected = (e.size * e.dimension * 4) as u64;
    if e.data_length != expected || e.data_offset + e.data_length > data.len() {
        return Err(Error::corrupt(
            name,
            format!(
                "field {field}: {} vectors of {} floats at {}+{} (file of {} bytes)",
                e.size,
                e.dimension,
                e.data_offset,
                e.data_length,
                data.len()
            ),
        ));
    }
    let bytes = data.read_at(e.data_offset, e.data_length as usize)?;
    let values = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let docs = match e.docs_offset {
        -2 => Ords::None,
        -1 => Ords::Every,
        offset => {
            let disi = data.read_at(offset as u64, e.docs_length as usize)?;
            let power = (e.dense_rank_power != -1).then_some(e.dense_rank_power);
            let set = read_indexed_disi(&disi, Endian::Little, max_doc, power)
                .map_err(|err| Error::corrupt(name, format!("field {field}: {err}")))?;
            let docs: Vec<u32> = (0..max_doc).filter(|&d| set.contains(d)).collect();
            if docs.len() != e.size {
                return Err(Error::corrupt(
                    name,
                    format!(
                        "field {field}: {} documents with a vector, metadata says {}",
                        docs.len(),
                        e.size
                    ),
                ));
            }
            Ords::Sparse(docs)
        }
    };
    Ok(FieldVectors {
        field,
        dimension: e.dimension,
        docs,
        values,
    })
}
