//! Elasticsearch/OpenSearch meaning of Lucene stored fields: `_id` / `_uid`, `_routing`, `_source`.

pub mod uid;

use crate::lucene::field_infos::FieldInfos;
use crate::lucene::stored_fields::fields::{FieldEncoding, FieldIter, StoredValue};
use crate::lucene::stored_fields::RawDoc;

/// The field numbers of the fields we read, which differ from segment to segment.
#[derive(Debug, Clone, Copy, Default)]
pub struct EsFields {
    id: Option<u32>,
    uid: Option<u32>,
    source: Option<u32>,
    routing: Option<u32>,
}

impl EsFields {
    pub fn of(infos: &FieldInfos) -> EsFields {
        let n = |name: &str| infos.by_name(name).map(|f| f.number);
        EsFields {
            id: n("_id"),
            uid: n("_uid"),
            source: n("_source"),
            routing: n("_routing"),
        }
    }
}

/// A live document as the target needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    /// The mapping type, where the index stores one (`_uid` = `type#id`, indices of ES 5.x).
    pub doc_type: Option<String>,
    pub routing: Option<String>,
    /// The `_source` bytes exactly as stored.
    pub source: Vec<u8>,
}

/// What a stored document is to the migration. The `_source` is named by its byte range in
/// the serialized document, so callers can borrow it instead of copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted {
    Document {
        id: String,
        doc_type: Option<String>,
        routing: Option<String>,
        source: std::ops::Range<usize>,
    },
    /// No `_id`: a nested (block-join) child document, part of its parent.
    NestedChild,
    /// An id but no `_source` (`_source` disabled or synthetic): cannot be migrated.
    NoSource {
        id: String,
        doc_type: Option<String>,
        routing: Option<String>,
    },
}

/// Reads the ES fields of one stored document.
pub fn extract(
    doc: &RawDoc,
    fields: &EsFields,
    encoding: FieldEncoding,
) -> Result<Extracted, String> {
    let mut id: Option<String> = None;
    let mut doc_type: Option<String> = None;
    let mut routing: Option<String> = None;
    let mut source: Option<std::ops::Range<usize>> = None;
    let base = doc.bytes.as_ptr() as usize;
    for field in FieldIter::new(doc.bytes, doc.num_fields, encoding) {
        let (number, value) = field.map_err(|e| e.to_string())?;
        let n = Some(number);
        if n == fields.source {
            match value {
                StoredValue::Binary(b) => {
                    let start = b.as_ptr() as usize - base;
                    source = Some(start..start + b.len());
                }
                other => return Err(format!("_source has unexpected type {other:?}")),
            }
        } else if n == fields.id {
            id = Some(match value {
                StoredValue::Binary(b) => uid::decode_id(b)?,
                // Indices created by ES 6.0 alpha stored it as a string.
                StoredValue::String(s) => utf8(s, "_id")?,
                other => return Err(format!("_id has unexpected type {other:?}")),
            });
        } else if n == fields.uid {
            let StoredValue::String(s) = value else {
                return Err(format!("_uid has unexpected type {value:?}"));
            };
            let s = utf8(s, "_uid")?;
            let Some((t, i)) = s.split_once('#') else {
                return Err(format!("_uid {s:?} is not type#id"));
            };
            doc_type = Some(t.to_string());
            id = Some(i.to_string());
        } else if n == fields.routing {
            let StoredValue::String(s) = value else {
                return Err(format!("_routing has unexpected type {value:?}"));
            };
            routing = Some(utf8(s, "_routing")?);
        }
    }
    Ok(match (id, source) {
        (None, _) => Extracted::NestedChild,
        (Some(id), None) => Extracted::NoSource {
            id,
            doc_type,
            routing,
        },
        (Some(id), Some(source)) => Extracted::Document {
            id,
            doc_type,
            routing,
            source,
        },
    })
}

fn utf8(b: &[u8], what: &str) -> Result<String, String> {
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| format!("{what} is not valid UTF-8"))
}
