//! Which documents of a segment are live by one commit, read without its stored fields: the
//! `.si`, the field infos, the live-docs file and the soft-deletes doc values, as
//! `lucene::segment::SegmentReader` applies them (hard deletes, then soft deletes, like Lucene's
//! `SoftDeletesDirectoryReaderWrapper`).

use crate::error::{Error, Result};
use crate::lucene::compound::{open_compound, SegmentFiles};
use crate::lucene::doc_values::read_soft_deletes;
use crate::lucene::field_infos::{parse_field_infos, FieldInfos};
use crate::lucene::live_docs::{read_live_docs, DocSet};
use crate::lucene::segment_info::parse_segment_info;
use crate::lucene::{Directory, ReadOptions, SegmentCommitInfo};

/// A segment's files and fields, opened for its liveness and its ids.
pub(super) struct OpenSegment {
    pub files: SegmentFiles,
    pub field_infos: FieldInfos,
    pub max_doc: u32,
    /// `None`: every document is live.
    pub live: Option<DocSet>,
}

impl OpenSegment {
    pub fn is_live(&self, doc: u32) -> bool {
        self.live.as_ref().is_none_or(|l| l.contains(doc))
    }
}

/// Opens segment `sci` of `dir` by its commit: its documents' liveness, not their fields.
///
/// A soft-deletes field in the segment's own doc values (generation -1, written at flush) is not
/// verified here: that data file is one of the segment's unchanged files, and verifying it would
/// read all of its doc values. Generation files (`.liv`, doc-values updates) always are.
pub(super) fn open(dir: &Directory, sci: &SegmentCommitInfo, opts: &ReadOptions) -> Result<OpenSegment> {
    let mut files = SegmentFiles {
        outer: dir.clone(),
        compound: None,
    };
    open_files(&mut files, sci, opts).map_err(|e| files.locate(e, sci))
}

fn open_files(
    files: &mut SegmentFiles,
    sci: &SegmentCommitInfo,
    opts: &ReadOptions,
) -> Result<OpenSegment> {
    let dir = files.outer.clone();
    let seg = sci.name.as_str();
    let si_name = format!("{seg}.si");
    let si = dir.open(&si_name)?.read_verified()?;
    let info = parse_segment_info(&si_name, &si, sci.id.as_ref(), &sci.commit)?;
    if info.is_compound {
        files.compound = Some(open_compound(&dir, seg, sci.id.as_ref())?);
    }
    let fnm_name = sci.field_infos_file();
    let fnm = files.open(&fnm_name)?.read_verified()?;
    let field_infos = parse_field_infos(&fnm_name, &fnm, sci.id.as_ref())?;
    let max_doc = info.max_doc;
    if sci.del_count as u64 + sci.soft_del_count as u64 > max_doc as u64 {
        return Err(Error::corrupt(
            &sci.commit,
            format!(
                "segment {seg}: {} hard and {} soft deletes in {max_doc} documents (by {si_name})",
                sci.del_count, sci.soft_del_count
            ),
        ));
    }
    let hard = match sci.live_docs_file() {
        Some(liv) => {
            let data = dir.open(&liv)?.read_verified()?;
            Some(read_live_docs(&liv, &data, sci, max_doc)?)
        }
        None if sci.del_count != 0 => {
            return Err(Error::corrupt(
                &sci.commit,
                format!("segment {seg} has {} deletes but no live-docs file", sci.del_count),
            ))
        }
        None => None,
    };
    let soft = match field_infos.soft_deletes_field() {
        Some(field) if sci.soft_del_count > 0 => {
            let opts = ReadOptions {
                verify_checksums: opts.verify_checksums && field.dv_gen >= 0,
                ..*opts
            };
            Some(read_soft_deletes(files, sci, &field_infos, field, max_doc, &opts)?)
        }
        None if sci.soft_del_count > 0 => {
            return Err(Error::corrupt(
                &fnm_name,
                format!(
                    "segment {seg} counts {} soft deletes (by {}) but has no soft-deletes field",
                    sci.soft_del_count, sci.commit
                ),
            ))
        }
        _ => None,
    };
    let live = match (hard, soft) {
        (None, None) => None,
        (Some(h), None) => Some(h),
        (h, Some(s)) => Some(DocSet::without(h.as_ref(), &s, max_doc)),
    };
    let count = live.as_ref().map_or(max_doc, DocSet::count);
    let expected = max_doc - sci.del_count as u32 - sci.soft_del_count as u32;
    if count != expected {
        return Err(Error::corrupt(
            &si_name,
            format!(
                "segment {seg}: {count} live document(s) after applying deletes, but {} implies {expected}",
                sci.commit
            ),
        ));
    }
    Ok(OpenSegment {
        files: files.clone(),
        field_infos,
        max_doc,
        live,
    })
}
