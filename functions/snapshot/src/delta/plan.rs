//! The plan of a delta: per shard, which segments of the current commit are unchanged since the
//! previous snapshot and which are new, and which previous segments are gone. Made from the
//! shard manifests (`snap-<uuid>.dat`: file names, lengths, checksums), both commits
//! (`segments_N`) and the current segments' `.si` files: never a stored field, a live-docs file
//! or a doc-values file.

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::lucene::{self, Commit, Directory, SegmentCommitInfo};
use crate::repo::{FileInfo, IndexMetadata, ShardSnapshot, Snapshot};

/// What became of an index between the two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexChange {
    /// In both, the same index (same `index.uuid`, same number of shards): shards are planned.
    Same,
    /// Only in the current snapshot: migrated whole.
    New,
    /// Deleted and created again under the same name (another `index.uuid`, or another number
    /// of shards): migrated whole, and the previous index's documents that the current one does
    /// not hold are stale in the target (see [`super::stale_documents`]).
    Recreated {
        previous_uuid: Option<String>,
        uuid: Option<String>,
    },
}

/// An index of the current snapshot and what to do with it.
#[derive(Debug, Clone)]
pub struct IndexPlan {
    pub index: String,
    pub change: IndexChange,
    /// One per shard of the current index, for [`IndexChange::Same`] only.
    pub shards: Vec<ShardPlan>,
}

/// The plan of a whole snapshot against a previous one.
#[derive(Debug, Clone)]
pub struct SnapshotPlan {
    pub previous: String,
    pub current: String,
    /// The current snapshot's indices, by name.
    pub indices: Vec<IndexPlan>,
    /// Indices of the previous snapshot that the current one lacks: reported, never deleted in
    /// the target unless the user asks for it.
    pub gone_indices: Vec<String>,
}

/// One segment of the current commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentPlan {
    pub name: String,
    pub change: SegmentChange,
    /// Bytes of the segment's own files (its `.si` file list), generation files excluded.
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentChange {
    /// Same name, id and files (lengths and checksums) as in the previous commit. Documents
    /// deleted since (by the two commits' delete counts) are read for their ids only.
    Unchanged { deleted_since: u32 },
    /// Not in the previous commit: its live documents are indexed.
    New,
}

/// A segment of the previous commit that the current one no longer has (merged away, or the
/// shard's copy changed): its live documents are deleted unless a new segment holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoneSegment {
    pub name: String,
    /// Live documents by the previous commit.
    pub live: u64,
    pub bytes: u64,
}

/// The delta of one shard present in both snapshots.
#[derive(Debug, Clone)]
pub struct ShardPlan {
    pub index: String,
    pub shard: u32,
    /// The current commit's segments, in its order.
    pub segments: Vec<SegmentPlan>,
    pub gone: Vec<GoneSegment>,
    /// Bytes of the current shard snapshot's files.
    pub total_bytes: u64,
}

impl ShardPlan {
    /// Names of the segments whose live documents are indexed, in commit order.
    pub fn new_segments(&self) -> Vec<String> {
        self.segments
            .iter()
            .filter(|s| s.change == SegmentChange::New)
            .map(|s| s.name.clone())
            .collect()
    }

    /// Whether there is nothing to index and nothing to delete.
    pub fn is_empty(&self) -> bool {
        self.gone.iter().all(|g| g.live == 0)
            && self.segments.iter().all(|s| {
                matches!(
                    s.change,
                    SegmentChange::Unchanged { deleted_since: 0 }
                )
            })
    }

    /// Bytes of the new segments: what indexing the delta reads at most.
    pub fn new_bytes(&self) -> u64 {
        self.segments
            .iter()
            .filter(|s| s.change == SegmentChange::New)
            .map(|s| s.bytes)
            .sum()
    }
}

/// `index.uuid` from the index settings (flat or nested form).
fn index_uuid(meta: &IndexMetadata) -> Option<String> {
    let s = &meta.settings;
    s.get("index.uuid")
        .or_else(|| s.get("index").and_then(|i| i.get("uuid")))
        .and_then(|n| n.as_str())
        .map(str::to_string)
}

/// Plans `current` against `previous` (two snapshots of one repository, or of two: only their
/// contents are compared).
pub fn plan_snapshot(previous: &Snapshot, current: &Snapshot) -> Result<SnapshotPlan> {
    let before: Vec<String> = previous.index_names();
    let mut indices = Vec::new();
    let mut now = current.index_names();
    now.sort();
    for name in &now {
        let meta = current.index(name)?;
        if !before.contains(name) {
            indices.push(IndexPlan {
                index: name.clone(),
                change: IndexChange::New,
                shards: Vec::new(),
            });
            continue;
        }
        let old = previous.index(name)?;
        let (uuid, previous_uuid) = (index_uuid(&meta), index_uuid(&old));
        // A missing uuid (none recorded) is not a difference; another shard count always is.
        let recreated = matches!((&uuid, &previous_uuid), (Some(a), Some(b)) if a != b)
            || meta.number_of_shards != old.number_of_shards;
        if recreated {
            indices.push(IndexPlan {
                index: name.clone(),
                change: IndexChange::Recreated {
                    previous_uuid,
                    uuid,
                },
                shards: Vec::new(),
            });
            continue;
        }
        let shards = (0..meta.number_of_shards)
            .map(|shard| {
                let prev = ShardSide::open(previous, &old, shard)?;
                let curr = ShardSide::open(current, &meta, shard)?;
                plan_shard(&prev, &curr)
            })
            .collect::<Result<Vec<_>>>()?;
        indices.push(IndexPlan {
            index: name.clone(),
            change: IndexChange::Same,
            shards,
        });
    }
    let mut gone_indices: Vec<String> = before.into_iter().filter(|i| !now.contains(i)).collect();
    gone_indices.sort();
    Ok(SnapshotPlan {
        previous: previous.name().to_string(),
        current: current.name().to_string(),
        indices,
        gone_indices,
    })
}

/// One shard as one snapshot holds it: its manifest, its files and its commit.
pub struct ShardSide {
    pub files: ShardSnapshot,
    pub dir: Directory,
    pub commit: Commit,
    pub location: Location,
}

impl ShardSide {
    /// Reads the shard's manifest and commit (`segments_N`, usually inline in the manifest).
    pub fn open(snapshot: &Snapshot, index: &IndexMetadata, shard: u32) -> Result<ShardSide> {
        let files = snapshot.shard(index, shard)?;
        let dir = snapshot.shard_directory(&files)?;
        let location = Location {
            index: Some(index.name.clone()),
            shard: Some(shard),
            ..snapshot.location()
        };
        let commit = lucene::read_commit(&dir).map_err(|e| dir.locate(e.within(&location)))?;
        Ok(ShardSide {
            files,
            dir,
            commit,
            location,
        })
    }

    fn file(&self, name: &str) -> Option<&FileInfo> {
        self.files.files.iter().find(|f| f.physical_name == name)
    }

    /// The files of a segment by its `.si`, with the `.si` itself.
    fn segment_files(&self, sci: &SegmentCommitInfo) -> Result<Vec<String>> {
        let name = format!("{}.si", sci.name);
        let data = self.dir.open(&name).and_then(|f| f.read_verified());
        let info = data
            .and_then(|d| {
                lucene::segment_info::parse_segment_info(&name, &d, sci.id.as_ref(), &sci.commit)
            })
            .map_err(|e| self.dir.locate(e.within(&self.location)))?;
        let mut files = info.files;
        if !files.contains(&name) {
            files.push(name);
        }
        files.sort();
        Ok(files)
    }

    /// Bytes of the files of the shard that belong to segment `seg` (`_3.cfs`, `_3_1.liv`, …).
    fn segment_bytes(&self, seg: &str) -> u64 {
        self.files
            .files
            .iter()
            .filter(|f| {
                f.physical_name
                    .strip_prefix(seg)
                    .is_some_and(|r| r.starts_with('.') || r.starts_with('_'))
            })
            .map(|f| f.length)
            .sum()
    }
}

/// The same bytes in both snapshots: same name, length and checksum; where a writer recorded no
/// checksum (ES 1.x, files of Lucene before 4.8), only the very same blob of the same shard
/// folder proves it (a snapshot reuses a blob only for a file it found identical).
fn same_file(a: &FileInfo, b: &FileInfo, same_folder: bool) -> bool {
    if a.physical_name != b.physical_name || a.length != b.length {
        return false;
    }
    if a.checksum.is_empty() || b.checksum.is_empty() {
        return same_folder && a.blob_name == b.blob_name && !a.is_virtual();
    }
    a.checksum == b.checksum
}

/// Plans one shard present in both snapshots.
pub fn plan_shard(previous: &ShardSide, current: &ShardSide) -> Result<ShardPlan> {
    let before: BTreeMap<&str, &SegmentCommitInfo> = previous
        .commit
        .segments
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let same_folder = previous.files.folder == current.files.folder;
    let mut segments = Vec::with_capacity(current.commit.segments.len());
    let mut kept = Vec::new();
    for sci in &current.commit.segments {
        let files = current.segment_files(sci)?;
        let bytes = files
            .iter()
            .filter_map(|f| current.file(f))
            .map(|f| f.length)
            .sum();
        let unchanged = before.get(sci.name.as_str()).filter(|old| {
            old.id == sci.id
                && files.iter().all(|f| match (previous.file(f), current.file(f)) {
                    (Some(a), Some(b)) => same_file(a, b, same_folder),
                    _ => false,
                })
        });
        let change = match unchanged {
            None => SegmentChange::New,
            Some(old) => {
                // Deletes only accumulate in a segment: equal counts mean equal live docs.
                let was = old.del_count as i64 + old.soft_del_count as i64;
                let is = sci.del_count as i64 + sci.soft_del_count as i64;
                if is < was {
                    return Err(Error::new(
                        current.location.clone(),
                        ErrorKind::Corrupt(format!(
                            "segment {} counts {is} deleted document(s) in {} but {was} in the previous snapshot's {}: deletes never come back",
                            sci.name, sci.commit, old.commit
                        )),
                    ));
                }
                kept.push(sci.name.as_str());
                SegmentChange::Unchanged {
                    deleted_since: (is - was) as u32,
                }
            }
        };
        segments.push(SegmentPlan {
            name: sci.name.clone(),
            change,
            bytes,
        });
    }
    let gone = previous
        .commit
        .segments
        .iter()
        .filter(|s| !kept.contains(&s.name.as_str()))
        .map(|s| {
            Ok(GoneSegment {
                name: s.name.clone(),
                live: previous_live(previous, s)?,
                bytes: previous.segment_bytes(&s.name),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ShardPlan {
        index: current.files.index.clone(),
        shard: current.files.shard,
        segments,
        gone,
        total_bytes: current.files.total_size(),
    })
}

/// Live documents of a previous segment by its commit and `.si` (max doc − deletes).
fn previous_live(previous: &ShardSide, sci: &SegmentCommitInfo) -> Result<u64> {
    let name = format!("{}.si", sci.name);
    let data = previous.dir.open(&name).and_then(|f| f.read_verified());
    let info = data
        .and_then(|d| {
            lucene::segment_info::parse_segment_info(&name, &d, sci.id.as_ref(), &sci.commit)
        })
        .map_err(|e| previous.dir.locate(e.within(&previous.location)))?;
    Ok((info.max_doc as u64).saturating_sub(sci.del_count as u64 + sci.soft_del_count as u64))
}
