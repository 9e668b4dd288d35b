//! Ranges of a shard: the sizes a shard can be split by (from its commit and segment infos,
//! without reading a document) and where a reader of one range stops.

use super::{Position, ShardReader};
use crate::error::{Error, ErrorKind, Result};
use crate::lucene;

/// One segment of a shard's commit, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSize {
    pub name: String,
    /// Documents the segment holds, deleted ones included (document numbers are `0..max_doc`).
    pub max_doc: u32,
    /// Live documents by the commit: `max_doc` − hard deletes − soft deletes.
    pub live: u64,
    /// Bytes of the segment's files in the snapshot.
    pub bytes: u64,
}

/// True once (segment `seg`, document `doc`) is at or after a range's end.
pub(super) fn past(end: Option<(usize, u32)>, seg: usize, doc: u32) -> bool {
    end.is_some_and(|(s, d)| seg > s || (seg == s && doc >= d))
}

/// Whether the reader reads segment `seg` (by its index in the commit).
pub(super) fn included(only: Option<&[bool]>, seg: usize) -> bool {
    only.is_none_or(|o| o.get(seg).copied().unwrap_or(false))
}

impl ShardReader {
    /// Reads only the named segments of the commit (in the commit's order), e.g. those new since
    /// a previous snapshot. Positions stay those of the whole shard: a position in a segment
    /// that is not read is refused by [`ShardReader::seek`]. Stats count the segments read.
    pub fn restrict_to_segments<S: AsRef<str>>(&mut self, names: &[S]) -> Result<()> {
        let mut only = vec![false; self.commit.segments.len()];
        for name in names {
            let name = name.as_ref();
            let Some(i) = self.commit.segments.iter().position(|s| s.name == name) else {
                return Err(Error::new(
                    self.location.clone(),
                    ErrorKind::BadPosition(format!(
                        "segment {name} is not in the shard's commit {}",
                        self.commit.file_name
                    )),
                ));
            };
            only[i] = true;
        }
        self.stats.segments = only.iter().filter(|o| **o).count();
        self.only = Some(only);
        Ok(())
    }

    /// The commit's segments with their sizes; reads only the small `.si` files.
    pub fn segment_sizes(&self) -> Result<Vec<SegmentSize>> {
        let mut out = Vec::with_capacity(self.commit.segments.len());
        for sci in &self.commit.segments {
            let name = format!("{}.si", sci.name);
            let data = self.dir.open(&name).and_then(|f| f.read_verified());
            let info = data
                .and_then(|d| {
                    lucene::segment_info::parse_segment_info(&name, &d, sci.id.as_ref(), &sci.commit)
                })
                .map_err(|e| self.locate(e))?;
            // `_3.cfs`, `_3_Lucene90_0.dvd`, `_3_1.liv`: the segment's name then `.` or `_`.
            let bytes = self
                .dir
                .names()
                .filter(|f| {
                    f.strip_prefix(sci.name.as_str())
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('_'))
                })
                .filter_map(|f| self.dir.open(f).ok().map(|f| f.len()))
                .sum();
            out.push(SegmentSize {
                name: sci.name.clone(),
                max_doc: info.max_doc,
                live: (info.max_doc as u64)
                    .saturating_sub(sci.del_count as u64 + sci.soft_del_count as u64),
                bytes,
            });
        }
        Ok(out)
    }

    /// Reads only up to `end` (exclusive; `None`: the end of the shard), so that several
    /// readers can share one shard. Deleted documents are skipped in every range alike.
    pub fn set_end(&mut self, end: Option<&Position>) -> Result<()> {
        self.end = match end {
            None => None,
            Some(p) if p.is_start() => Some((0, 0)),
            Some(p) => {
                let Some(i) = self.commit.segments.iter().position(|s| s.name == p.segment)
                else {
                    return Err(Error::new(
                        self.location.clone(),
                        ErrorKind::BadPosition(format!(
                            "range end: segment {} is not in the shard's commit {}",
                            p.segment, self.commit.file_name
                        )),
                    ));
                };
                Some((i, p.doc))
            }
        };
        Ok(())
    }
}
