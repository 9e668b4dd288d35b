//! The work-item store port: where backfills, their work items and counters live (DynamoDB on
//! AWS, memory in unit tests). Every method that changes an item is atomic with the counters
//! it affects, and every write a lease holder makes is conditional on still holding the lease.

use async_trait::async_trait;

use crate::lease::LeasePolicy;
use crate::model::{BackfillRecord, BackfillState, Counters, ItemKey, NewItem, NewRange, WorkItem};
use crate::port_error::PortError;
use crate::transition::state_list;
pub use crate::transition::StateChange;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another worker holds the item now (or it was completed): stop working on it at once.
    #[error("the lease on {item} is no longer held by {holder}")]
    LeaseLost { item: ItemKey, holder: String },
    #[error("backfill {0} does not exist")]
    NoSuchBackfill(String),
    /// A conditional state change lost a race: the backfill is in `current`, which the change
    /// may not leave.
    #[error("backfill {backfill} is {}, not {}", current.as_str(), state_list(allowed))]
    StateConflict {
        backfill: String,
        current: BackfillState,
        allowed: Vec<BackfillState>,
    },
    /// The store's backend failed; its kind says whether a retry can help.
    #[error("work-item store: {0}")]
    Backend(PortError),
    /// The stored data is not what this code wrote (a damaged record).
    #[error("work-item store: {0}")]
    Other(String),
}

impl StoreError {
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Backend(e) if e.is_retryable())
    }

    /// A `StateConflict` for a backfill found in `current` by a change that may leave `allowed`.
    pub fn conflict(backfill: &str, current: BackfillState, allowed: &[BackfillState]) -> Self {
        StoreError::StateConflict {
            backfill: backfill.to_string(),
            current,
            allowed: allowed.to_vec(),
        }
    }
}

/// An item a worker holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub backfill: String,
    pub holder: String,
    /// The item as it was right after the claim (position = where to start).
    pub item: WorkItem,
    /// Current lease expiry (holder's clock), moved forward by checkpoints.
    pub expiry: i64,
}

/// What a holder did since its previous write on the item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Where a later reader continues (`snapshot::Position` text).
    pub position: String,
    pub docs: u64,
    pub bytes: u64,
    pub rejected: u64,
}

/// Items held by a live lease, and the shards they belong to (several ranges of one shard
/// count as one shard in progress).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InProgress {
    pub shards: u64,
    pub items: u64,
    /// Of those items, the ranges of split shards.
    pub ranges: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    Claimed(Box<Claim>),
    /// Open items exist but all are leased to live holders.
    AllLeased,
    /// Every item is completed or failed.
    NothingOpen,
}

#[async_trait]
pub trait WorkStore: Send + Sync {
    /// Writes a new backfill record; `false` if one with that id exists already.
    async fn create_backfill(&self, record: &BackfillRecord) -> Result<bool, StoreError>;
    async fn backfill(&self, id: &str) -> Result<Option<BackfillRecord>, StoreError>;
    /// Applies `change` if the backfill is in one of the states it may leave; returns the record
    /// after the change (`StateConflict` naming the current state otherwise).
    async fn set_state(
        &self,
        id: &str,
        change: &StateChange<'_>,
        now: i64,
    ) -> Result<BackfillRecord, StoreError>;
    /// Creates the work items that do not exist yet and counts them into `items_total` (and
    /// their expected documents into `docs_expected`); calls racing on the same keys create each
    /// item once. Only while the backfill is in `ITEMS_CREATABLE_IN` (`StateConflict` once it
    /// is stopping). Returns how many this call created.
    async fn create_items(&self, id: &str, items: &[NewItem]) -> Result<u64, StoreError>;
    /// Claims an open item whose lease is free or expired, spreading concurrent claimers over
    /// the items.
    async fn claim(
        &self,
        id: &str,
        holder: &str,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<ClaimOutcome, StoreError>;
    /// Records progress and extends the lease to `now + lease`; `LeaseLost` if not held.
    async fn checkpoint(
        &self,
        claim: &mut Claim,
        progress: &Progress,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<(), StoreError>;
    /// Records how many live documents the held item's shard has (once: the first holder that
    /// opens the shard), adding them to the counters' expected documents.
    async fn record_expected(&self, claim: &Claim, docs: u64) -> Result<(), StoreError>;
    /// Splits the held item, a whole shard not yet read, into `ranges` (in reading order) so that
    /// several workers can share it: the held item becomes the first range (its end and
    /// expected documents narrowed), the others are created open, and the shard is tallied as
    /// completed once all its ranges are. One atomic step with the counters; `claim.item` is
    /// updated. `LeaseLost` if the lease is no longer held.
    async fn split(&self, claim: &mut Claim, ranges: &[NewRange]) -> Result<(), StoreError>;
    /// Marks the item completed with its last progress (for a range: its shard too, when it is
    /// the last of the shard's ranges to finish).
    async fn complete(
        &self,
        claim: &Claim,
        progress: &Progress,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Records progress and gives the lease up so another worker can continue at once.
    async fn release(&self, claim: &Claim, progress: &Progress) -> Result<(), StoreError>;
    /// Records a non-retryable failure and gives the lease up; after `max_failures` of them the
    /// item is failed for good (counted, never claimed again). Returns whether it is.
    async fn fail(
        &self,
        claim: &Claim,
        progress: &Progress,
        reason: &str,
        max_failures: u32,
        now: i64,
    ) -> Result<bool, StoreError>;
    async fn counters(&self, id: &str) -> Result<Counters, StoreError>;
    /// Open items whose lease is live at `now`, and their shards.
    async fn in_progress(
        &self,
        id: &str,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<InProgress, StoreError>;
    /// Failed items, at most `limit` (their cost grows with the number of failures only).
    async fn failed_items(&self, id: &str, limit: usize) -> Result<Vec<WorkItem>, StoreError>;
    /// Open items whose holder's lease expired without a checkpoint extending it, at most
    /// `limit` (a vanished or stuck worker).
    async fn expired_leases(
        &self,
        id: &str,
        now: i64,
        policy: &LeasePolicy,
        limit: usize,
    ) -> Result<Vec<WorkItem>, StoreError>;
    /// Every item (for archives, reports and tests; its cost grows with the number of shards).
    async fn items(&self, id: &str) -> Result<Vec<WorkItem>, StoreError>;
    /// Deletes the backfill's items and counters (the record stays).
    async fn delete_working_state(&self, id: &str) -> Result<u64, StoreError>;
}
