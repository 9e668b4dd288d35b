//! Backfills and their work items.

use serde::{Deserialize, Serialize};

/// Where a backfill is in its life.
///
/// `Created` → `Running` ⇄ `Paused`; `Running` → `Completed` when every item is completed or
/// failed; any but `Stopped` → `Stopping` → `Stopped` (archived and deleted; final).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackfillState {
    Created,
    Running,
    Paused,
    Stopping,
    Stopped,
    Completed,
}

impl BackfillState {
    pub fn as_str(self) -> &'static str {
        match self {
            BackfillState::Created => "created",
            BackfillState::Running => "running",
            BackfillState::Paused => "paused",
            BackfillState::Stopping => "stopping",
            BackfillState::Stopped => "stopped",
            BackfillState::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<BackfillState> {
        Some(match s {
            "created" => BackfillState::Created,
            "running" => BackfillState::Running,
            "paused" => BackfillState::Paused,
            "stopping" => BackfillState::Stopping,
            "stopped" => BackfillState::Stopped,
            "completed" => BackfillState::Completed,
            _ => return None,
        })
    }
}

/// The snapshot a backfill reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRef {
    /// `s3://bucket/prefix` or a local directory.
    pub repository: String,
    pub name: String,
}

/// The cluster a backfill writes to. Credentials are never stored here, only where to get them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRef {
    /// `https://host:port`
    pub endpoint: String,
}

/// One backfill: a snapshot to move into a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillRecord {
    pub id: String,
    pub state: BackfillState,
    pub snapshot: SnapshotRef,
    pub target: TargetRef,
    /// Only these indices (empty: all but system indices).
    pub indices: Vec<String>,
    /// Include indices whose name starts with `.`.
    pub include_system_indices: bool,
    /// Create target indices that do not exist from the snapshot's index metadata.
    pub create_missing_indices: bool,
    pub desired_workers: u32,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    /// When it first ran (for rates and ETAs).
    #[serde(default)]
    pub started_at: Option<i64>,
    /// When every item was completed or failed.
    #[serde(default)]
    pub completed_at: Option<i64>,
    /// The stop workflow's execution, once stopping.
    #[serde(default)]
    pub stop_execution: Option<String>,
    /// Where the working state was archived when it stopped.
    #[serde(default)]
    pub archive_uri: Option<String>,
    /// Where each (index, mapping type) goes (ES 5.x multi-type indices); empty: same names.
    #[serde(
        default,
        skip_serializing_if = "crate::type_mapping::TypeMappings::is_empty"
    )]
    pub type_mappings: crate::type_mapping::TypeMappings,
    /// When a shard is big enough to be split into ranges for several workers.
    #[serde(default)]
    pub range_split: crate::split::RangeSplit,
}

impl BackfillRecord {
    /// A new record in state `Created`.
    pub fn new(id: &str, snapshot: SnapshotRef, target: TargetRef, now: i64) -> BackfillRecord {
        BackfillRecord {
            id: id.to_string(),
            state: BackfillState::Created,
            snapshot,
            target,
            indices: Vec::new(),
            include_system_indices: false,
            create_missing_indices: false,
            desired_workers: 0,
            created_at: now,
            updated_at: now,
            started_at: None,
            completed_at: None,
            stop_execution: None,
            archive_uri: None,
            type_mappings: Default::default(),
            range_split: Default::default(),
        }
    }
}

/// A work item's identity: one shard of one index, or one range of a shard split between
/// workers (range 0 is the shard's own item, which becomes its first range when split).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ItemKey {
    pub index: String,
    pub shard: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub range: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl ItemKey {
    /// The item of a whole shard.
    pub fn shard(index: &str, shard: u32) -> ItemKey {
        ItemKey {
            index: index.to_string(),
            shard,
            range: 0,
        }
    }

    /// Range `range` of the same shard.
    pub fn with_range(&self, range: u32) -> ItemKey {
        ItemKey {
            range,
            ..self.clone()
        }
    }
}

/// `logs/3` for a shard (or its first range), `logs/3 range 2` for a later range.
impl std::fmt::Display for ItemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.shard)?;
        if self.range > 0 {
            write!(f, " range {}", self.range)?;
        }
        Ok(())
    }
}

/// The state of one work item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    pub key: ItemKey,
    /// Where the next reader starts (`snapshot::Position` text): the item's checkpoint.
    pub position: String,
    pub lease_holder: Option<String>,
    /// Epoch milliseconds; 0 = never leased or released.
    pub lease_expiry: i64,
    /// How many times it was claimed.
    pub attempts: u32,
    /// How many of those claims took over a lease that had expired (its holder vanished):
    /// the lease grows with it.
    pub abandoned: u32,
    /// Non-retryable failures so far.
    pub failures: u32,
    pub last_error: Option<String>,
    pub completed_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub docs_done: u64,
    pub bytes_done: u64,
    pub docs_rejected: u64,
    /// Live documents of the shard (or of its range) by its Lucene commit, counted when first
    /// opened.
    pub docs_expected: u64,
    /// Where the item's range ends (`snapshot::Position` text, exclusive); `None`: at the end of
    /// the shard.
    #[serde(default)]
    pub end: Option<String>,
    /// How many ranges its shard was split into; 0: not split (the item is the whole shard).
    #[serde(default)]
    pub ranges: u32,
}

/// A work item to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub key: ItemKey,
    pub docs_expected: u64,
}

impl WorkItem {
    pub fn new(key: ItemKey) -> WorkItem {
        WorkItem {
            key,
            position: "start".into(),
            lease_holder: None,
            lease_expiry: 0,
            attempts: 0,
            abandoned: 0,
            failures: 0,
            last_error: None,
            completed_at: None,
            failed_at: None,
            docs_done: 0,
            bytes_done: 0,
            docs_rejected: 0,
            docs_expected: 0,
            end: None,
            ranges: 0,
        }
    }

    /// One of several ranges of a split shard.
    pub fn is_range(&self) -> bool {
        self.ranges > 1
    }

    /// Neither completed nor failed: still work to do.
    pub fn is_open(&self) -> bool {
        self.completed_at.is_none() && self.failed_at.is_none()
    }
}

/// Totals over a backfill's items, kept in one record updated in the same transaction as the
/// items, so reading them costs one request however many shards there are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub items_total: u64,
    pub items_completed: u64,
    pub items_failed: u64,
    pub docs_done: u64,
    pub bytes_done: u64,
    pub docs_rejected: u64,
    /// Σ of the items' expected documents (for percent and ETA) …
    pub docs_expected: u64,
    /// … over this many items (a worker counts a shard's documents when it first opens it).
    pub items_measured: u64,
    /// Ranges of the shards that were split (a split shard counts as one item above, completed
    /// when all its ranges are; failed when one failed for good and the rest are done).
    #[serde(default)]
    pub ranges_total: u64,
    #[serde(default)]
    pub ranges_completed: u64,
    #[serde(default)]
    pub ranges_failed: u64,
}

/// A range of a shard to create when the shard is split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRange {
    /// Where it starts and ends (`snapshot::Position` text; `None`: the end of the shard).
    pub start: String,
    pub end: Option<String>,
    pub docs_expected: u64,
}
