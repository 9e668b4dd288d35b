//! Which documents of a segment are live by one commit, read without its stored fields: the
//! `.si`, the field infos, the live-docs file and the soft-deletes doc values, as
//! `lucene::segment::SegmentReader` applies them (hard deletes, then soft deletes, like Lucene's
//! `SoftDeletesDirectoryReaderWrapper`).

use crate::error::Result;
use crate::lucene::compound::SegmentFiles;
use crate::lucene::field_infos::FieldInfos;
use crate::lucene::live_docs::DocSet;
use crate::lucene::segment::{liveness, open_infos};
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
    let (info, field_infos) = open_infos(files, sci)?;
    let max_doc = info.max_doc;
    let verify_soft_deletes = opts.verify_checksums
        && field_infos
            .soft_deletes_field()
            .is_none_or(|field| field.dv_gen >= 0);
    let live = liveness(files, sci, &field_infos, max_doc, opts, verify_soft_deletes)?;
    Ok(OpenSegment {
        files: files.clone(),
        field_infos,
        max_doc,
        live,
    })
}
