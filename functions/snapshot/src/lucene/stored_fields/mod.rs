//! Stored fields (`.fdt`): documents in compressed chunks, read front to back.
//!
//! The reader decodes chunk after chunk through a bounded read window, so neither the shard nor
//! the `.fdt` file is ever held whole; only the current chunk is decompressed. Chunk starts and
//! their first document id are exposed so a reader can later resume in the middle of a segment
//! without the `.fdx` index.

pub mod compression;
pub mod fields;
mod format;
mod index;
pub mod ints;
mod window;
pub mod zstd;

use super::codec;
use super::compound::SegmentFiles;
use super::directory::LuceneFile;
use super::input::{ByteReader, DecodeError, DecodeResult, Endian};
use crate::error::{Error, ErrorKind, Result};
use format::IntsEncoding;
pub use format::{Format, Slicing};
use window::Window;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Lucene50 BEST_SPEED: raw LZ4 blocks without a length.
    Lz4,
    /// Lucene50 BEST_COMPRESSION: VInt length + raw DEFLATE.
    Deflate,
    /// Lucene87/90 BEST_SPEED.
    Lz4WithDict,
    /// Lucene87/90 BEST_COMPRESSION.
    DeflateWithDict,
    /// Elasticsearch 8.14+ `ZstdStoredFields814` (both modes).
    ZstdEs814,
    /// OpenSearch custom-codecs `index.codec: zstd`.
    ZstdOsDict,
    /// OpenSearch custom-codecs `index.codec: zstd_no_dict`.
    ZstdOsNoDict,
}

impl Compression {
    /// The most output one input byte can give: LZ4 about 255:1, DEFLATE 1032:1, zstd 32768:1
    /// (an RLE block of 128 KiB from 4 bytes). With the bytes left in the file it bounds a
    /// chunk's length before a buffer of that length is allocated.
    pub fn max_expansion(self) -> u64 {
        match self {
            Compression::Lz4 | Compression::Lz4WithDict => 256,
            Compression::Deflate | Compression::DeflateWithDict => 1032,
            Compression::ZstdEs814 | Compression::ZstdOsDict | Compression::ZstdOsNoDict => 32768,
        }
    }

    /// Decodes one compression unit from the front of `input` into `out` (the unit's
    /// decompressed length); returns the bytes consumed.
    pub fn decode_unit(self, input: &[u8], out: &mut [u8], order: Endian) -> DecodeResult<usize> {
        match self {
            Compression::Lz4 => compression::lz4_raw(input, out),
            Compression::Deflate => compression::deflate_raw(input, out, order),
            Compression::Lz4WithDict => compression::lz4_with_dict(input, out, order),
            Compression::DeflateWithDict => compression::deflate_with_dict(input, out, order),
            Compression::ZstdEs814 => zstd::es814(input, out, order),
            Compression::ZstdOsDict => zstd::os_dict(input, out, order),
            Compression::ZstdOsNoDict => zstd::os_no_dict(input, out, order),
        }
    }
}

/// Where a chunk starts, so that reading can resume there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkStart {
    /// Offset of the chunk in the `.fdt` file.
    pub offset: u64,
    /// Id of the chunk's first document.
    pub doc_base: u32,
}

/// A document's serialized stored fields.
#[derive(Debug, Clone, Copy)]
pub struct RawDoc<'a> {
    pub doc: u32,
    pub num_fields: u32,
    pub bytes: &'a [u8],
}

/// Upper bound of the compressed size of a unit of `len` bytes in any of our formats, so that
/// the window holds a whole unit before it is decoded (LZ4's worst case is len + len/255 + 16,
/// DEFLATE's stored blocks add 5 bytes per 64 KiB, plus the VInt headers of ten sub-blocks).
fn compressed_bound(len: usize) -> usize {
    len + len / 64 + 1024
}

pub struct StoredFieldsReader {
    format: Format,
    file_name: String,
    /// The file that gives the chunk size (`.fdm`, or the `.fdt` itself before Lucene 8.7).
    sizes_from: String,
    max_doc: u32,
    chunk_size: usize,
    window: Window,
    /// Where the current chunk started.
    chunk: ChunkStart,
    meta: ChunkMeta,
    data: Vec<u8>,
    /// Next document id to return.
    next_doc: u32,
    /// Offset of the first chunk (just after the header).
    first_chunk: u64,
    /// Sees every compression unit as it is decoded (benchmarks).
    unit_tap: Option<UnitTap>,
    /// The chunk index (Lucene 8.7+), to start at a document without decoding what precedes it.
    index: Option<index::FieldsIndex>,
}

/// Receives a compression unit's compressed bytes and its decompressed length.
pub type UnitTap = Box<dyn FnMut(Compression, &[u8], usize) + Send>;

impl StoredFieldsReader {
    /// Opens the stored fields of a segment. `read_size` is the size of each ranged read.
    pub fn open(
        files: &SegmentFiles,
        segment: &str,
        segment_id: Option<&[u8; 16]>,
        max_doc: u32,
        read_size: usize,
    ) -> Result<StoredFieldsReader> {
        let fdt_name = format!("{segment}.fdt");
        let fdt = files.open(&fdt_name)?;
        let head_len = (fdt.len() as usize).min(256);
        let head = fdt.read_at(0, head_len)?;
        let mut r = ByteReader::new(&head, Endian::Big);
        let header = codec::read_header(&mut r).map_err(|e| Error::in_file(&fdt_name, e))?;
        // Lucene 4.x files (segments without an id) have plain headers.
        let header = if segment_id.is_some() {
            codec::read_index_suffix(&mut r, header).map_err(|e| Error::in_file(&fdt_name, e))?
        } else {
            header
        };
        if header.id.as_ref() != segment_id {
            return Err(Error::corrupt(
                &fdt_name,
                "segment id differs from the segment's",
            ));
        }
        let format = Format::from_header(&fdt_name, &header.codec, header.version)?;
        let mut index = None;
        let chunk_size = if format.chunk_size_in_meta {
            let fdm_name = format!("{segment}.fdm");
            let fdm = files.open(&fdm_name)?.read_verified()?;
            let mut m = ByteReader::new(&fdm, Endian::Big);
            let mh = codec::read_index_header(&mut m).map_err(|e| Error::in_file(&fdm_name, e))?;
            if Some(mh.codec.as_str()) != format.meta_codec || mh.id.as_ref() != segment_id {
                return Err(Error::corrupt(
                    &fdm_name,
                    format!(
                        "header {} v{} does not belong to {}",
                        mh.codec, mh.version, format.codec
                    ),
                ));
            }
            m.set_order(format.order);
            let chunk_size = m.vint().map_err(|e| Error::in_file(&fdm_name, e))?;
            // The fields index counts the segment's documents (Lucene checks it too): a
            // wrong count in the .si must not size anything. Lucene 8.7 writes the PackedInts
            // version before it.
            let num_docs = (|| {
                if format.ints == IntsEncoding::Packed {
                    m.vint()?;
                }
                m.i32()
            })()
            .map_err(|e| Error::in_file(&fdm_name, e))?;
            if num_docs as i64 != max_doc as i64 {
                return Err(Error::corrupt(
                    &fdm_name,
                    format!(
                        "the stored-fields index counts {num_docs} document(s), {segment}.si says {max_doc}"
                    ),
                ));
            }
            // Only a shortcut for seeking: without it (unreadable), reading decodes its way.
            index = files
                .open(&format!("{segment}.fdx"))
                .ok()
                .and_then(|fdx| index::FieldsIndex::parse(&mut m, fdx).ok());
            chunk_size
        } else {
            let cs = r.vint().map_err(|e| Error::in_file(&fdt_name, e))?;
            let piv = r.vint().map_err(|e| Error::in_file(&fdt_name, e))?;
            // PackedInts 1 (Lucene 4.2–4.10) and 2 (5.0+) pack the chunk header arrays alike.
            let lucene41 = format.slicing == Slicing::BigChunks;
            if !(piv == 2 || lucene41 && piv == 1) {
                return Err(Error::unsupported_codec(
                    &fdt_name,
                    format.codec.clone(),
                    format.version,
                    format!("PackedInts version {piv} (Lucene 4.2+ writes 1, Lucene 5+ 2)"),
                ));
            }
            cs
        };
        // Lucene 8.7+ keep the chunk size in the .fdm: errors it may cause name it.
        let sizes_from = if format.chunk_size_in_meta {
            format!("{segment}.fdm")
        } else {
            fdt_name.clone()
        };
        if chunk_size <= 0 {
            return Err(Error::corrupt(
                &sizes_from,
                format!("chunk size {chunk_size}"),
            ));
        }
        let first_chunk = r.position() as u64;
        let footer_len = if format.has_footer {
            codec::FOOTER_LEN as u64
        } else {
            0
        };
        if fdt.len() < first_chunk + footer_len {
            return Err(Error::corrupt(&fdt_name, "file too short"));
        }
        let data_end = if format.has_footer {
            let footer = fdt.read_at(fdt.len() - codec::FOOTER_LEN as u64, codec::FOOTER_LEN)?;
            codec::footer_checksum(&footer)
                .map_err(|e| Error::corrupt(&fdt_name, e.to_string()))?;
            fdt.len() - codec::FOOTER_LEN as u64
        } else {
            fdt.len()
        };
        Ok(StoredFieldsReader {
            format,
            file_name: fdt_name,
            sizes_from,
            max_doc,
            chunk_size: chunk_size as usize,
            window: Window::new(fdt, first_chunk, data_end, read_size.max(4096)),
            chunk: ChunkStart {
                offset: first_chunk,
                doc_base: 0,
            },
            meta: ChunkMeta::default(),
            data: Vec::new(),
            next_doc: 0,
            first_chunk,
            unit_tap: None,
            index,
        })
    }

    /// Lets `tap` see every compression unit decoded from now on (for measuring the codec's
    /// own speed on the same data).
    pub fn set_unit_tap(&mut self, tap: Option<UnitTap>) {
        self.unit_tap = tap;
    }

    pub fn format(&self) -> &Format {
        &self.format
    }

    pub fn file(&self) -> &LuceneFile {
        &self.window.file
    }

    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// The chunk that holds the document returned last (or the next one, before any).
    pub fn current_chunk(&self) -> ChunkStart {
        self.chunk
    }

    /// The chunk that holds `doc` by the segment's chunk index (Lucene 8.7+; `None` without one).
    pub fn indexed_chunk_of(&mut self, doc: u32) -> Result<Option<ChunkStart>> {
        match &mut self.index {
            Some(index) => index.chunk_of(doc),
            None => Ok(None),
        }
    }

    /// The chunk that the next call to `read_next` reads from: the current one while it has
    /// documents left, else the one after it.
    pub fn next_chunk_start(&self) -> ChunkStart {
        if self.next_doc < self.chunk.doc_base + self.meta.chunk_docs {
            self.chunk
        } else {
            ChunkStart {
                offset: self.window.offset(),
                doc_base: self.next_doc,
            }
        }
    }

    /// Continues at document `doc`, reading from the chunk that starts at `chunk` (from an
    /// earlier `next_chunk_start`). Without a chunk, reads from the first chunk and skips.
    pub fn seek(&mut self, doc: u32, chunk: Option<ChunkStart>) -> Result<()> {
        let chunk = match (chunk, &mut self.index) {
            (None, Some(index)) if doc > 0 && doc < self.max_doc => index.chunk_of(doc)?,
            _ => chunk,
        };
        let start = chunk.unwrap_or(ChunkStart {
            offset: self.first_chunk,
            doc_base: 0,
        });
        if start.doc_base > doc
            || start.offset < self.first_chunk
            || start.offset > self.window.data_end
        {
            return Err(Error::in_file(
                &self.file_name,
                ErrorKind::BadPosition(format!(
                    "chunk at offset {} (first doc {}) cannot hold doc {doc}",
                    start.offset, start.doc_base
                )),
            ));
        }
        self.window.seek(start.offset);
        self.chunk = start;
        self.meta.chunk_docs = 0;
        self.next_doc = start.doc_base;
        while self.next_doc < doc {
            if self.read_next()?.is_none() {
                return Err(Error::in_file(
                    &self.file_name,
                    ErrorKind::BadPosition(format!(
                        "doc {doc} is past the segment's {} docs",
                        self.max_doc
                    )),
                ));
            }
        }
        Ok(())
    }

    /// The next document in id order, or `None` after the last one.
    pub fn read_next(&mut self) -> Result<Option<RawDoc<'_>>> {
        if self.next_doc >= self.max_doc {
            return Ok(None);
        }
        if self.next_doc >= self.chunk.doc_base + self.meta.chunk_docs {
            self.read_chunk()?;
        }
        self.next_doc += 1;
        Ok(self.last())
    }

    /// The document returned by the last call to `read_next`, again.
    pub fn last(&self) -> Option<RawDoc<'_>> {
        let doc = self.next_doc.checked_sub(1)?;
        let i = doc.checked_sub(self.chunk.doc_base)? as usize;
        if i >= self.meta.chunk_docs as usize {
            return None;
        }
        let (from, to) = (
            self.meta.offsets[i] as usize,
            self.meta.offsets[i + 1] as usize,
        );
        Some(RawDoc {
            doc,
            num_fields: self.meta.num_fields[i],
            bytes: &self.data[from..to],
        })
    }

    fn corrupt(&self, offset: u64, e: DecodeError) -> Error {
        Error::corrupt(
            &self.file_name,
            format!(
                "stored-fields chunk at offset {offset} (doc {}, units of {} byte(s) by {}): {e}",
                self.next_doc, self.chunk_size, self.sizes_from
            ),
        )
    }

    fn read_chunk(&mut self) -> Result<()> {
        let start = self.window.offset();
        // The header: retried with a larger window if it straddles the end of the current one.
        let mut want = 64 * 1024;
        self.window.fill(1)?;
        if self.window.available().is_empty() {
            return Err(Error::corrupt(
                &self.file_name,
                format!(
                    "the data ends at doc {} of the {} that {} gives the segment",
                    self.next_doc,
                    self.max_doc,
                    self.file_name.replace(".fdt", ".si")
                ),
            ));
        }
        let (header_len, total_len, sliced) = loop {
            self.window.fill(want)?;
            let mut r = ByteReader::new(self.window.available(), self.format.order);
            match self.meta.parse(
                &mut r,
                &self.format,
                self.next_doc,
                self.max_doc,
                &self.file_name,
            ) {
                Ok((total, sliced)) => break (r.position(), total, sliced),
                Err(DecodeError::Truncated { .. }) if !self.window.at_end() => {
                    want = self.window.available().len() * 2
                }
                Err(e) => return Err(self.corrupt(start, e)),
            }
        };
        self.window.consume(header_len);
        // The lengths come from the chunk header: check them against what the compressed
        // bytes left in the file could give before allocating room for them.
        let left = self.window.data_end - self.window.offset();
        let most = left.saturating_mul(self.format.compression.max_expansion());
        if total_len as u64 > most {
            return Err(self.corrupt(
                start,
                DecodeError::Invalid {
                    at: 0,
                    what: format!(
                        "chunk of {total_len} byte(s) cannot come from the {left} compressed byte(s) left in the file"
                    ),
                },
            ));
        }
        self.chunk = ChunkStart {
            offset: start,
            doc_base: self.next_doc,
        };

        // Give memory back after an outsized chunk (a huge document).
        let normal = 2 * self.chunk_size + (1 << 20);
        if self.data.len() > 4 * normal && total_len <= normal {
            self.data.truncate(normal);
            self.data.shrink_to_fit();
        }
        // Lucene 4.2–4.10 slice every chunk of at least twice the chunk size.
        let sliced = sliced
            || self.format.slicing == Slicing::BigChunks && total_len >= 2 * self.chunk_size;
        if sliced {
            let mut done = 0;
            while done < total_len {
                let unit = self.chunk_size.min(total_len - done);
                self.decode_unit(done, unit, start)?;
                done += unit;
            }
        } else {
            self.decode_unit(0, total_len, start)?;
        }
        Ok(())
    }

    /// Decodes one compression unit from the window and appends it to `data`.
    /// Decodes one compression unit of `len` bytes from the window into `data[at..at + len]`.
    fn decode_unit(&mut self, at: usize, len: usize, chunk_offset: u64) -> Result<()> {
        let mut want = compressed_bound(len);
        // The buffer only grows (zero-filled once); chunks overwrite it in place.
        if self.data.len() < at + len {
            self.data.resize(at + len, 0);
        }
        loop {
            self.window.fill(want)?;
            let input = self.window.available();
            let order = self.format.order;
            let out = &mut self.data[at..at + len];
            let res = self.format.compression.decode_unit(input, out, order);
            match res {
                Ok(used) => {
                    if let Some(tap) = &mut self.unit_tap {
                        tap(self.format.compression, &input[..used], len);
                    }
                    self.window.consume(used);
                    return Ok(());
                }
                Err(DecodeError::Truncated { .. }) if !self.window.at_end() => {
                    want = self.window.available().len() * 2;
                }
                Err(e) => return Err(self.corrupt(chunk_offset, e)),
            }
        }
    }
}

/// The header of the current chunk: per-document field counts and lengths.
#[derive(Debug, Default)]
struct ChunkMeta {
    chunk_docs: u32,
    num_fields: Vec<u32>,
    lengths: Vec<u32>,
    /// Document i of the chunk is `data[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
}

impl ChunkMeta {
    /// Parses a chunk header; returns the decompressed length and whether the chunk is sliced.
    fn parse(
        &mut self,
        r: &mut ByteReader,
        format: &Format,
        next_doc: u32,
        max_doc: u32,
        fdt_name: &str,
    ) -> DecodeResult<(usize, bool)> {
        let doc_base = r.vint()?;
        if doc_base as u32 != next_doc {
            return r.invalid(format!(
                "chunk starts at doc {doc_base}, expected {next_doc} (misaligned or corrupt)"
            ));
        }
        let token = r.vint()? as u32;
        let chunk_docs = token >> format.token_shift;
        let sliced = format.slicing == Slicing::TokenBit && token & 1 == 1;
        if chunk_docs == 0 || next_doc as u64 + chunk_docs as u64 > max_doc as u64 {
            return r.invalid(format!(
                "chunk of {chunk_docs} doc(s) at doc {next_doc} in a segment of {max_doc} (by {})",
                fdt_name.replace(".fdt", ".si")
            ));
        }
        let n = chunk_docs as usize;
        if n == 1 {
            self.num_fields.clear();
            self.num_fields.push(r.vint()? as u32);
            self.lengths.clear();
            self.lengths.push(r.vint()? as u32);
        } else {
            match format.ints {
                IntsEncoding::Packed => {
                    ints::read_packed(r, n, &mut self.num_fields)?;
                    ints::read_packed(r, n, &mut self.lengths)?;
                }
                IntsEncoding::StoredFieldsInts => {
                    ints::read_stored_fields_ints(r, n, &mut self.num_fields)?;
                    ints::read_stored_fields_ints(r, n, &mut self.lengths)?;
                }
            }
        }
        self.offsets.clear();
        self.offsets.push(0);
        let mut total: u64 = 0;
        for i in 0..n {
            let len = self.lengths[i];
            if (len == 0) != (self.num_fields[i] == 0) {
                return r.invalid(format!(
                    "doc {} has length {len} and {} field(s)",
                    next_doc as usize + i,
                    self.num_fields[i]
                ));
            }
            total += len as u64;
            if total > i32::MAX as u64 {
                return r.invalid("chunk longer than 2 GiB");
            }
            self.offsets.push(total as u32);
        }
        self.chunk_docs = chunk_docs;
        Ok((total as usize, sliced))
    }
}
