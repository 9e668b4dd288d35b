//! Delta backfill between two snapshots of one cluster: what changed in each shard, from the
//! shard manifests and commits, and the documents to index and to delete in the target.
//!
//! For a shard in both snapshots ([`plan::plan_shard`]):
//! - its *new* segments (not in the previous commit with the same id and files) hold every
//!   document indexed or updated since: their live documents are indexed ([`new_documents`],
//!   a [`ShardReader`] restricted to them, with the same resumable positions);
//! - a document live in the previous snapshot and live nowhere in the current one is deleted
//!   ([`shard_deletions`]): from *unchanged* segments, the documents whose live bit went off;
//!   from *gone* segments, their live documents; less, in both cases, every key live in a new
//!   segment (an update re-indexes; it is never followed by a delete of its new version).
//!
//! The documents indexed and the documents deleted are disjoint, so a delta's operations can be
//! sent in any order and sent again: a re-run gives the same target. See
//! `docs/delta-backfill.md` for the rules and why they are safe.

mod ids;
mod liveness;
pub mod plan;

use std::collections::BTreeMap;

use crate::error::Result;
use crate::lucene::ReadOptions;
use crate::repo::Snapshot;
use crate::shard::ShardReader;
pub use plan::{
    plan_shard, plan_snapshot, GoneSegment, IndexChange, IndexPlan, SegmentChange, SegmentPlan,
    ShardPlan, ShardSide, SnapshotPlan,
};

/// What identifies a document in an index: its `_id`, within its mapping type where the index
/// has types (Elasticsearch 1.x/2.x, `_uid` = `type#id`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentKey {
    pub doc_type: Option<String>,
    pub id: String,
}

/// A document to delete in the target: `_bulk` delete by `_id` and routing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deletion {
    pub doc_type: Option<String>,
    pub id: String,
    pub routing: Option<String>,
}

/// The documents deleted in a shard since the previous snapshot, sorted by type and `_id`:
/// the same list on every run, so a worker can checkpoint how many it has sent.
#[derive(Debug, Clone, Default)]
pub struct ShardDeletions {
    pub deletions: Vec<Deletion>,
    pub stats: DeletionStats,
}

/// Where the deletions came from, and what was read to find them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeletionStats {
    /// Documents of unchanged segments whose live bit went off.
    pub from_unchanged: u64,
    /// Live documents of gone segments.
    pub from_gone: u64,
    /// Of those, the keys live again in a new segment: updated (or carried by a merge), not
    /// deleted.
    pub live_again: u64,
    /// Live documents of new segments whose keys were read to find those.
    pub new_scanned: u64,
    /// Documents without an `_id` passed over (nested children: they go with their parent).
    pub without_id: u64,
}

/// The documents to delete in one shard present in both snapshots, by its plan.
pub fn shard_deletions(
    previous: &ShardSide,
    current: &ShardSide,
    plan: &ShardPlan,
    opts: &ReadOptions,
) -> Result<ShardDeletions> {
    let mut stats = DeletionStats::default();
    let mut candidates: BTreeMap<DocumentKey, Option<String>> = BTreeMap::new();
    let sci_of = |side: &ShardSide, name: &str| {
        side.commit
            .segments
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .expect("the plan names segments of the commits it was made from")
    };
    for seg in &plan.segments {
        let SegmentChange::Unchanged { deleted_since } = seg.change else {
            continue;
        };
        if deleted_since == 0 {
            continue;
        }
        let (old_sci, sci) = (sci_of(previous, &seg.name), sci_of(current, &seg.name));
        let before = liveness::open(&previous.dir, &old_sci, opts)
            .map_err(|e| previous.dir.locate(e.within(&previous.location)))?;
        let now = liveness::open(&current.dir, &sci, opts)
            .map_err(|e| current.dir.locate(e.within(&current.location)))?;
        let lost: Vec<u32> = (0..now.max_doc)
            .filter(|&d| before.is_live(d) && !now.is_live(d))
            .collect();
        if lost.len() as u64 != deleted_since as u64 {
            return Err(current.dir.locate(
                crate::error::Error::corrupt(
                    &sci.commit,
                    format!(
                        "segment {}: {} document(s) deleted since {} by the live docs, {deleted_since} by the delete counts",
                        seg.name,
                        lost.len(),
                        old_sci.commit
                    ),
                )
                .within(&current.location),
            ));
        }
        let read = ids::read_keys(&now, &sci, ids::Which::Docs(&lost), opts, |k, r| {
            stats.from_unchanged += 1;
            candidates.insert(k, r);
        })
        .map_err(|e| current.dir.locate(e.within(&current.location)))?;
        stats.without_id += read.without_id;
    }
    for gone in plan.gone.iter().filter(|g| g.live > 0) {
        let sci = sci_of(previous, &gone.name);
        let read = liveness::open(&previous.dir, &sci, opts)
            .and_then(|seg| {
                ids::read_keys(&seg, &sci, ids::Which::Live, opts, |k, r| {
                    stats.from_gone += 1;
                    candidates.insert(k, r);
                })
            })
            .map_err(|e| previous.dir.locate(e.within(&previous.location)))?;
        stats.without_id += read.without_id;
    }
    if !candidates.is_empty() {
        for name in plan.new_segments() {
            let sci = sci_of(current, &name);
            liveness::open(&current.dir, &sci, opts)
                .and_then(|seg| {
                    ids::read_keys(&seg, &sci, ids::Which::Live, opts, |k, _| {
                        stats.new_scanned += 1;
                        if candidates.remove(&k).is_some() {
                            stats.live_again += 1;
                        }
                    })
                })
                .map_err(|e| current.dir.locate(e.within(&current.location)))?;
        }
    }
    let deletions = candidates
        .into_iter()
        .map(|(k, r)| Deletion::new(k, r))
        .collect();
    Ok(ShardDeletions { deletions, stats })
}

/// The live documents of the shard's new segments: what the delta indexes, with the positions
/// of the whole shard (a worker resumes a delta as it resumes a full read).
pub fn new_documents(
    current: &Snapshot,
    plan: &ShardPlan,
    opts: ReadOptions,
) -> Result<ShardReader> {
    let mut reader = ShardReader::open(current, &plan.index, plan.shard, opts)?;
    reader.restrict_to_segments(&plan.new_segments())?;
    Ok(reader)
}

/// Every live document key of an index in a snapshot, with its routing (all its shards).
fn index_keys(
    snapshot: &Snapshot,
    index: &str,
    opts: &ReadOptions,
) -> Result<BTreeMap<DocumentKey, Option<String>>> {
    let meta = snapshot.index(index)?;
    let mut keys = BTreeMap::new();
    for shard in 0..meta.number_of_shards {
        let side = ShardSide::open(snapshot, &meta, shard)?;
        for sci in &side.commit.segments {
            liveness::open(&side.dir, sci, opts)
                .and_then(|seg| {
                    ids::read_keys(&seg, sci, ids::Which::Live, opts, |k, r| {
                        keys.insert(k, r);
                    })
                })
                .map_err(|e| side.dir.locate(e.within(&side.location)))?;
        }
    }
    Ok(keys)
}

/// An index deleted and created again between the snapshots ([`IndexChange::Recreated`]): the
/// documents of the previous index that the current one does not hold. The current index is
/// migrated whole; these are deleted beside it (disjoint from what it indexes, so in any order).
/// Reads the ids of both indices whole, shard by shard: documents may have moved between
/// shards (another number of shards).
pub fn stale_documents(
    previous: &Snapshot,
    current: &Snapshot,
    index: &str,
    opts: &ReadOptions,
) -> Result<Vec<Deletion>> {
    let mut stale = index_keys(previous, index, opts)?;
    for key in index_keys(current, index, opts)?.keys() {
        stale.remove(key);
    }
    Ok(stale
        .into_iter()
        .map(|(k, r)| Deletion::new(k, r))
        .collect())
}
