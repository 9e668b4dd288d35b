//! The `_id`, mapping type and `_routing` of chosen documents of a segment: what a delete in the
//! target needs. Only the stored-fields chunks that hold those documents are read.

use super::liveness::OpenSegment;
use super::{Deletion, DocumentKey};
use crate::error::{Error, Result};
use crate::es::uid;
use crate::lucene::stored_fields::fields::{FieldIter, StoredValue};
use crate::lucene::stored_fields::{RawDoc, StoredFieldsReader};
use crate::lucene::{ReadOptions, SegmentCommitInfo};

/// Which documents to read.
pub(super) enum Which<'a> {
    /// These documents, in increasing order.
    Docs(&'a [u32]),
    /// Every live document.
    Live,
}

/// What was read besides the keys.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Read {
    /// Documents without an `_id`: nested children (deleted with their parent).
    pub without_id: u64,
}

/// Calls `each` with the key and routing of the chosen documents of `seg` that have an `_id`.
/// A whole-segment read verifies the stored-fields file first when `opts` asks for it; a read
/// of a few documents does not (that would read the whole file): their chunks are still
/// decoded and bounds-checked, and the file's checksum is the manifest's, unchanged since the
/// previous snapshot was read.
pub(super) fn read_keys(
    seg: &OpenSegment,
    sci: &SegmentCommitInfo,
    which: Which,
    opts: &ReadOptions,
    mut each: impl FnMut(DocumentKey, Option<String>),
) -> Result<Read> {
    let name = sci.name.as_str();
    let mut stored =
        StoredFieldsReader::open(&seg.files, name, sci.id.as_ref(), seg.max_doc, opts.read_size)
            .map_err(|e| seg.files.locate(e, sci))?;
    let encoding = stored.format().field_encoding();
    let fields = Fields::of(seg);
    let mut read = Read::default();
    let mut take = |raw: RawDoc, read: &mut Read| -> Result<()> {
        match key_of(&raw, &fields, encoding) {
            Ok(Some((key, routing))) => each(key, routing),
            Ok(None) => read.without_id += 1,
            Err(what) => {
                let e = Error::corrupt(
                    format!("{name}.fdt"),
                    format!("document {} of segment {name}: {what}", raw.doc),
                );
                return Err(seg.files.locate(e, sci));
            }
        }
        Ok(())
    };
    match which {
        Which::Live => {
            if opts.verify_checksums && stored.format().has_footer {
                let file = stored.file().clone();
                file.verify_streaming(opts.read_size)
                    .map_err(|e| seg.files.locate(e, sci))?;
            }
            while let Some(raw) = stored.read_next().map_err(|e| seg.files.locate(e, sci))? {
                if seg.is_live(raw.doc) {
                    take(raw, &mut read)?;
                }
            }
        }
        Which::Docs(docs) => {
            // The next document `read_next` returns; `None` before the first read.
            let mut next: Option<u32> = None;
            for &doc in docs {
                let chunk = stored.indexed_chunk_of(doc)?;
                // Read on within the chunk being read (or, without a chunk index, from where
                // reading is); jump with the index to another chunk.
                let here = stored.current_chunk();
                let read_on = match (next, chunk) {
                    (Some(n), Some(c)) => doc >= n && c.doc_base == here.doc_base,
                    (Some(n), None) => doc >= n,
                    (None, _) => false,
                };
                let mut at = if read_on {
                    next.expect("read on")
                } else {
                    stored
                        .seek(doc, chunk)
                        .map_err(|e| seg.files.locate(e, sci))?;
                    doc
                };
                while at < doc {
                    stored.read_next().map_err(|e| seg.files.locate(e, sci))?;
                    at += 1;
                }
                let raw = stored.read_next().map_err(|e| seg.files.locate(e, sci))?;
                let Some(raw) = raw.filter(|r| r.doc == doc) else {
                    let e = Error::corrupt(
                        format!("{name}.fdt"),
                        format!("document {doc} is past the segment's {} documents", seg.max_doc),
                    );
                    return Err(seg.files.locate(e, sci));
                };
                next = Some(doc + 1);
                take(raw, &mut read)?;
            }
        }
    }
    Ok(read)
}

/// The field numbers of `_id`, `_uid` (ES ≤ 5: `type#id`) and `_routing` in one segment.
struct Fields {
    id: Option<u32>,
    uid: Option<u32>,
    routing: Option<u32>,
}

impl Fields {
    fn of(seg: &OpenSegment) -> Fields {
        let n = |name: &str| seg.field_infos.by_name(name).map(|f| f.number);
        Fields {
            id: n("_id"),
            uid: n("_uid"),
            routing: n("_routing"),
        }
    }
}

/// The key and routing of a stored document; `None` without an `_id` (a nested child). Read as
/// `es::extract` reads them, `_source` aside: a document without `_source` needs its delete too
/// when it was migrated with a rebuilt one.
fn key_of(
    raw: &RawDoc,
    fields: &Fields,
    encoding: crate::lucene::stored_fields::fields::FieldEncoding,
) -> std::result::Result<Option<(DocumentKey, Option<String>)>, String> {
    let (mut id, mut doc_type, mut routing) = (None, None, None);
    let text = |b: &[u8], what: &str| {
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| format!("{what} is not valid UTF-8"))
    };
    for field in FieldIter::new(raw.bytes, raw.num_fields, encoding) {
        let (number, value) = field.map_err(|e| e.to_string())?;
        let n = Some(number);
        if n == fields.id {
            id = Some(match value {
                StoredValue::Binary(b) => uid::decode_id(b)?,
                StoredValue::String(s) => text(s, "_id")?,
                other => return Err(format!("_id has unexpected type {other:?}")),
            });
        } else if n == fields.uid {
            let StoredValue::String(s) = value else {
                return Err(format!("_uid has unexpected type {value:?}"));
            };
            let s = text(s, "_uid")?;
            let (t, i) = s
                .split_once('#')
                .ok_or_else(|| format!("_uid {s:?} is not type#id"))?;
            doc_type = Some(t.to_string());
            id = Some(i.to_string());
        } else if n == fields.routing {
            let StoredValue::String(s) = value else {
                return Err(format!("_routing has unexpected type {value:?}"));
            };
            routing = Some(text(s, "_routing")?);
        }
    }
    Ok(id.map(|id| (DocumentKey { doc_type, id }, routing)))
}

impl Deletion {
    pub(super) fn new(key: DocumentKey, routing: Option<String>) -> Deletion {
        Deletion {
            id: key.id,
            doc_type: key.doc_type,
            routing,
        }
    }
}
