//! One segment of a commit: its info, fields, which documents are live, and its stored fields.

use super::commit::SegmentCommitInfo;
use super::compound::{open_compound, SegmentFiles};
use super::directory::Directory;
use super::doc_values;
use super::field_infos::{parse_field_infos, FieldInfos};
use super::live_docs::{read_live_docs, DocSet};
use super::segment_info::{parse_segment_info, SegmentInfo};
use super::stored_fields::{ChunkStart, RawDoc, StoredFieldsReader};
use crate::error::{Error, Result};

/// How files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Bytes asked for in each ranged read of a large file (the read window).
    pub read_size: usize,
    /// Verify the CRC32 of every file read (the stored-fields and doc-values data files in a
    /// streaming pre-pass) before any of its documents is returned.
    pub verify_checksums: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            read_size: 8 << 20,
            verify_checksums: true,
        }
    }
}

/// Counts of what a segment holds besides live documents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LivenessCounts {
    pub max_doc: u32,
    pub hard_deleted: u32,
    /// Soft-deleted and not also hard-deleted (as the commit counts them).
    pub soft_deleted: u32,
    pub live: u32,
}

pub struct SegmentReader {
    pub commit_info: SegmentCommitInfo,
    pub info: SegmentInfo,
    pub field_infos: FieldInfos,
    /// `None` when every document is live.
    live: Option<DocSet>,
    pub counts: LivenessCounts,
    stored: StoredFieldsReader,
    /// To name the compound file around a file that an error is about.
    files: SegmentFiles,
}

impl SegmentReader {
    pub fn open(
        dir: &Directory,
        sci: &SegmentCommitInfo,
        opts: &ReadOptions,
    ) -> Result<SegmentReader> {
        let mut files = SegmentFiles {
            outer: dir.clone(),
            compound: None,
        };
        SegmentReader::open_files(&mut files, sci, opts).map_err(|e| files.locate(e, sci))
    }

    fn open_files(
        files: &mut SegmentFiles,
        sci: &SegmentCommitInfo,
        opts: &ReadOptions,
    ) -> Result<SegmentReader> {
        let (info, field_infos) = open_infos(files, sci)?;
        let files = &*files;
        let max_doc = info.max_doc;
        // Opened first: its index checks the document count that sizes liveness below.
        let seg = sci.name.as_str();
        let stored = StoredFieldsReader::open(files, seg, sci.id.as_ref(), max_doc, opts.read_size)?;
        let live = liveness(files, sci, &field_infos, max_doc, opts, opts.verify_checksums)?;
        let live_count = live.as_ref().map_or(max_doc, DocSet::count);
        // Lucene 4.0–4.7 `.fdt` files have no checksum to verify.
        if opts.verify_checksums && stored.format().has_footer {
            stored.file().verify_streaming(opts.read_size)?;
        }
        Ok(SegmentReader {
            commit_info: sci.clone(),
            info,
            field_infos,
            live,
            counts: LivenessCounts {
                max_doc,
                hard_deleted: sci.del_count as u32,
                soft_deleted: sci.soft_del_count as u32,
                live: live_count,
            },
            stored,
            files: files.clone(),
        })
    }

    pub fn name(&self) -> &str {
        &self.commit_info.name
    }

    /// Names the compound file around the file an error of this segment is about.
    pub fn locate(&self, e: Error) -> Error {
        self.files.locate(e, &self.commit_info)
    }

    /// The segment's files (inside its compound file or not), for readers of other formats.
    pub fn files(&self) -> &SegmentFiles {
        &self.files
    }

    pub fn is_live(&self, doc: u32) -> bool {
        self.live.as_ref().is_none_or(|l| l.contains(doc))
    }

    pub fn stored_fields(&self) -> &StoredFieldsReader {
        &self.stored
    }

    pub fn stored_fields_mut(&mut self) -> &mut StoredFieldsReader {
        &mut self.stored
    }

    /// Positions the reader so that the next live document returned has an id ≥ `doc`.
    pub fn seek(&mut self, doc: u32, chunk: Option<ChunkStart>) -> Result<()> {
        self.stored.seek(doc, chunk)
    }

    /// Where reading would continue: the next document id and the chunk it is in.
    pub fn resume_point(&self) -> ChunkStart {
        self.stored.next_chunk_start()
    }

    /// The next live document, skipping deleted ones.
    pub fn next_live(&mut self) -> Result<Option<RawDoc<'_>>> {
        loop {
            // Decide liveness before borrowing the document (the borrow ends the loop).
            let read = self.stored.read_next();
            let doc = match read.map_err(|e| self.files.locate(e, &self.commit_info))? {
                None => return Ok(None),
                Some(d) => d.doc,
            };
            if self.live.as_ref().is_none_or(|l| l.contains(doc)) {
                break;
            }
        }
        Ok(self.stored.last())
    }
}

/// Opens segment `sci`'s `.si` (and its compound file) and field infos.
pub(crate) fn open_infos(
    files: &mut SegmentFiles,
    sci: &SegmentCommitInfo,
) -> Result<(SegmentInfo, FieldInfos)> {
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
    Ok((info, field_infos))
}

/// Which documents of segment `sci` are live by its commit (`None`: all), as Lucene applies
/// deletes: hard deletes (`.liv`/`.del`), then, like its soft-deletes wrapper, every document
/// with a value in the soft-deletes field; checked against the commit's counts.
/// `verify_soft_deletes`: whether to verify the doc-values file that holds the soft deletes.
pub(crate) fn liveness(
    files: &SegmentFiles,
    sci: &SegmentCommitInfo,
    field_infos: &FieldInfos,
    max_doc: u32,
    opts: &ReadOptions,
    verify_soft_deletes: bool,
) -> Result<Option<DocSet>> {
    let seg = sci.name.as_str();
    let si_name = format!("{seg}.si");
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
        Some(liv_name) => {
            let data = files.outer.open(&liv_name)?.read_verified()?;
            Some(read_live_docs(&liv_name, &data, sci, max_doc)?)
        }
        None if sci.del_count != 0 => {
            return Err(Error::corrupt(
                &sci.commit,
                format!("segment {seg} has {} deletes but no live-docs file", sci.del_count),
            ))
        }
        None => None,
    };
    // With softDelCount 0 nothing can be soft-deleted.
    let soft = match field_infos.soft_deletes_field() {
        Some(field) if sci.soft_del_count > 0 => {
            let opts = ReadOptions {
                verify_checksums: verify_soft_deletes,
                ..*opts
            };
            Some(doc_values::read_soft_deletes(
                files,
                sci,
                field_infos,
                field,
                max_doc,
                &opts,
            )?)
        }
        None if sci.soft_del_count > 0 => {
            return Err(Error::corrupt(
                sci.field_infos_file(),
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
    let live_count = live.as_ref().map_or(max_doc, DocSet::count);
    let expected = max_doc - sci.del_count as u32 - sci.soft_del_count as u32;
    if live_count != expected {
        return Err(Error::corrupt(
            &si_name,
            format!(
                "segment {seg}: {live_count} live document(s) after applying deletes, but {} implies {expected} ({max_doc} - {} hard - {} soft)",
                sci.commit, sci.del_count, sci.soft_del_count
            ),
        ));
    }
    Ok(live)
}
