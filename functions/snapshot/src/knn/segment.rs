//! Which fields of a segment have derived vectors, and their vectors.

use super::{derived_fields, DerivedField, DerivedSource};
use crate::error::{Error, ErrorKind, Result};
use crate::lucene::vectors::read_flat_vectors;
use crate::lucene::{ReadOptions, SegmentReader};

/// `None` for a segment without derived vector fields (its `_source` is complete as stored).
pub fn open(seg: &SegmentReader, opts: &ReadOptions) -> Result<Option<DerivedSource>> {
    let field_attributes: Vec<(String, &[(String, String)])> = seg
        .field_infos
        .fields
        .iter()
        .map(|f| (f.name.clone(), f.attributes.as_slice()))
        .collect();
    let Some((generation, fields)) = derived_fields(&seg.info.attributes, &field_attributes)
    else {
        return Ok(None);
    };
    // A field named by the segment but absent from its field infos has no vector here.
    let present: Vec<&str> = fields
        .iter()
        .map(|(f, _)| f.as_str())
        .filter(|f| seg.field_infos.by_name(f).is_some())
        .collect();
    let si = &seg.commit_info;
    // Vector files came with Lucene 9, whose segments all have ids (4.x ones have none).
    let Some(id) = &si.id else {
        return Err(Error::in_file(
            seg.commit_info.field_infos_file(),
            ErrorKind::Unsupported(format!(
                "segment {} names derived-source vector fields but has no segment id (a Lucene 4 segment)",
                si.name
            )),
        ));
    };
    let vectors = read_flat_vectors(
        seg.files(),
        &si.name,
        id,
        &seg.field_infos,
        seg.info.max_doc,
        &present,
        opts,
    )
    .map_err(|e| seg.locate(e))?;
    let mut out = Vec::new();
    for (path, nested) in fields {
        if seg.field_infos.by_name(&path).is_none() {
            continue;
        }
        let Some(v) = vectors.iter().find(|v| v.field == path) else {
            return Err(Error::in_file(
                seg.commit_info.field_infos_file(),
                ErrorKind::Unsupported(format!(
                    "segment {}: derived-source vector field {path} has no flat vector files we read",
                    si.name
                )),
            ));
        };
        out.push(DerivedField {
            path,
            nested,
            vectors: v.clone(),
        });
    }
    Ok(Some(DerivedSource { generation, fields: out }))
}
