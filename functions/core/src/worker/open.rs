//! Opening a claimed item: its shard's reader positioned at the checkpoint and bounded by the
//! item's range, and the split of a large shard into ranges the first time it is opened.

use snapshot::{IndexMetadata, Position, SegmentSize, ShardReader};

use super::shard::ItemEnd;
use super::{retry_store, Engine, SnapshotSource};
use crate::model::BackfillRecord;
use crate::split::{self, RangeSplit};
use crate::store::{Claim, StoreError};

/// An opened item: its reader, its index's metadata, its shard's live documents (first opening
/// only) and its segments' sizes (when it may be split).
pub(super) struct Opened {
    pub reader: ShardReader,
    pub meta: IndexMetadata,
    pub expected: Option<u64>,
    pub sizes: Option<Vec<SegmentSize>>,
}

/// What to open: the item's shard from `position` up to `end`.
pub(super) struct OpenRequest {
    pub repository: String,
    pub snapshot: String,
    pub index: String,
    pub shard: u32,
    pub read: snapshot::ReadOptions,
    pub position: Position,
    pub end: Option<Position>,
    /// Count the shard's live documents (nobody has yet).
    pub count: bool,
    /// Size its segments: a whole shard not yet read, which a split may share out.
    pub size: bool,
}

/// Opens the item's shard (blocking: it reads metadata).
pub(super) fn open(
    snaps: &dyn SnapshotSource,
    req: OpenRequest,
) -> Result<Opened, snapshot::Error> {
    let snap = snaps.open(&req.repository, &req.snapshot)?;
    let meta = snap.index(&req.index)?;
    let mut reader = ShardReader::open(&snap, &req.index, req.shard, req.read)?;
    // From the commit and the segment infos, without reading documents.
    let sizes = if req.size || req.count {
        Some(reader.segment_sizes()?)
    } else {
        None
    };
    let expected = match (&sizes, req.count) {
        (Some(s), true) => Some(s.iter().map(|s| s.live).sum()),
        _ => None,
    };
    reader.seek(&req.position)?;
    reader.set_end(req.end.as_ref())?;
    Ok(Opened {
        reader,
        meta,
        expected,
        sizes: sizes.filter(|_| req.size),
    })
}

/// May this item be split: a whole shard that nobody has read yet, under a policy that splits.
pub(super) fn splittable(record: &BackfillRecord, claim: &Claim, position: &Position) -> bool {
    claim.item.key.range == 0
        && claim.item.ranges == 0
        && position.is_start()
        && record.range_split != RangeSplit::NEVER
}

impl Engine {
    /// Splits a shard larger than the backfill's policy into ranges and bounds `reader` to the
    /// first; `Err` ends work on the item (its lease is gone). A split that cannot be written
    /// leaves the shard whole: one worker reads it all, nothing is lost.
    pub(super) async fn split_if_large(
        &self,
        record: &BackfillRecord,
        claim: &mut Claim,
        reader: &mut ShardReader,
        sizes: &[SegmentSize],
    ) -> Result<(), ItemEnd> {
        let ranges = split::plan(sizes, &record.range_split);
        if ranges.len() < 2 {
            return Ok(());
        }
        let r = retry_store(|| {
            let mut c = claim.clone();
            let ranges = &ranges;
            async move { self.store.split(&mut c, ranges).await.map(|_| c) }
        })
        .await;
        match r {
            Ok(c) => *claim = c,
            Err(StoreError::LeaseLost { .. }) => return Err(ItemEnd::LeaseLost),
            Err(e) => {
                tracing::warn!(item = %claim.item.key, error = %e, "could not split the shard into ranges; reading it whole");
                return Ok(());
            }
        }
        let end: Option<Position> = claim.item.end.as_deref().and_then(|e| e.parse().ok());
        if let Err(e) = reader.set_end(end.as_ref()) {
            // The plan was made from this reader's commit: its bounds are in it.
            tracing::error!(item = %claim.item.key, error = %e, "the first range's end is not in the shard");
            return Err(ItemEnd::Released);
        }
        tracing::info!(
            item = %claim.item.key,
            ranges = ranges.len(),
            documents = sizes.iter().map(|s| s.live).sum::<u64>(),
            bytes = sizes.iter().map(|s| s.bytes).sum::<u64>(),
            "split the shard into ranges for several workers"
        );
        Ok(())
    }
}
