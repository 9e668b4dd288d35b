//! The working-state table, defined once: the DynamoDB adapter creates it from this, the
//! infrastructure template is checked against it, so the two cannot drift.
//!
//! One table, partitioned by backfill:
//!
//! | item | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | backfill record | `BACKFILL#<id>` | `META` | state, snapshot, target, indices, options, desired workers, times |
//! | counters | `BACKFILL#<id>` | `COUNTERS` | items total / completed / failed, documents, bytes, rejected |
//! | work item | `BACKFILL#<id>` | `ITEM#<index>#<shard, 5 digits>` | position, lease holder and expiry, attempts, failures, progress |
//!
//! Global secondary index `failed`: `failed_pk` = `<id>` and `failed_at`, present only on items
//! failed for good, so failed shards and their reasons are listed without reading the others.
//!
//! Global secondary index `open`: `open_pk` = `<id>#<bucket>` and `lease_expiry`,
//! present only while an item is open (neither completed nor failed). Items are spread over
//! [`OPEN_BUCKETS`] buckets so that claimers start in different places; a claimer queries one
//! bucket for items whose lease expired (`lease_expiry < now − skew`), and `status` counts live
//! leases (`lease_expiry ≥ now − skew`) with one count query per bucket, whatever the number of
//! shards.

use backfill_core::model::ItemKey;

pub const PARTITION_KEY: &str = "pk";
pub const SORT_KEY: &str = "sk";
pub const OPEN_INDEX: &str = "open";
pub const OPEN_INDEX_PARTITION_KEY: &str = "open_pk";
pub const OPEN_INDEX_SORT_KEY: &str = "lease_expiry";
/// Attributes the `open` index copies besides its keys (what a claimer needs to decide).
pub const OPEN_INDEX_PROJECTED: [&str; 3] = ["abandoned", "lease_holder", "ranges"];
pub const OPEN_BUCKETS: u32 = 8;
pub const FAILED_INDEX: &str = "failed";
pub const FAILED_INDEX_PARTITION_KEY: &str = "failed_pk";
pub const FAILED_INDEX_SORT_KEY: &str = "failed_at";
/// What the `failed` index copies: enough to report failed shards and their reasons.
pub const FAILED_INDEX_PROJECTED: [&str; 6] = [
    "index",
    "shard",
    "range",
    "ranges",
    "failures",
    "last_error",
];
/// Items are deleted by `stop` (after archiving), so the table needs no TTL attribute.
pub const DEFAULT_TABLE_NAME: &str = "backfill-working-state";

/// Key attribute types as DynamoDB names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    String,
    Number,
}

/// The table's key schema and index, for creating it and for checking a template against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDesign {
    pub partition_key: (&'static str, KeyType),
    pub sort_key: (&'static str, KeyType),
    pub open_index: IndexDesign,
    pub failed_index: IndexDesign,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDesign {
    pub name: &'static str,
    pub partition_key: (&'static str, KeyType),
    pub sort_key: (&'static str, KeyType),
    pub projected: &'static [&'static str],
}

pub fn design() -> TableDesign {
    TableDesign {
        partition_key: (PARTITION_KEY, KeyType::String),
        sort_key: (SORT_KEY, KeyType::String),
        open_index: IndexDesign {
            name: OPEN_INDEX,
            partition_key: (OPEN_INDEX_PARTITION_KEY, KeyType::String),
            sort_key: (OPEN_INDEX_SORT_KEY, KeyType::Number),
            projected: &OPEN_INDEX_PROJECTED,
        },
        failed_index: IndexDesign {
            name: FAILED_INDEX,
            partition_key: (FAILED_INDEX_PARTITION_KEY, KeyType::String),
            sort_key: (FAILED_INDEX_SORT_KEY, KeyType::Number),
            projected: &FAILED_INDEX_PROJECTED,
        },
    }
}

pub fn backfill_pk(id: &str) -> String {
    format!("BACKFILL#{id}")
}

pub const META_SK: &str = "META";
pub const COUNTERS_SK: &str = "COUNTERS";
pub const ITEM_SK_PREFIX: &str = "ITEM#";

pub fn item_sk(index: &str, shard: u32) -> String {
    format!("{ITEM_SK_PREFIX}{index}#{shard:05}")
}

/// The sort key of an item: its shard's, with `#r003` for a later range (index names cannot
/// hold `#`, so the suffix is unambiguous).
pub fn item_key_sk(key: &ItemKey) -> String {
    let shard = item_sk(&key.index, key.shard);
    if key.range == 0 {
        shard
    } else {
        format!("{shard}{RANGE_SK_INFIX}{:03}", key.range)
    }
}

pub const RANGE_SK_INFIX: &str = "#r";

/// The record of a split shard's range tally (not an `ITEM#`: listing items skips it).
pub fn tally_sk(index: &str, shard: u32) -> String {
    format!("RANGES#{index}#{shard:05}")
}

/// The `open` index bucket of an item: a stable hash of its key (a shard's ranges spread over
/// the buckets like shards do).
pub fn open_pk(backfill: &str, key: &ItemKey) -> String {
    // FNV-1a: stable across builds and platforms, unlike the std hasher.
    let mut h: u32 = 0x811c_9dc5;
    let range = (key.range > 0).then(|| key.range.to_le_bytes());
    for b in key
        .index
        .bytes()
        .chain(key.shard.to_le_bytes())
        .chain(range.into_iter().flatten())
    {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{backfill}#{}", h % OPEN_BUCKETS)
}

pub fn bucket_pk(backfill: &str, bucket: u32) -> String {
    format!("{backfill}#{bucket}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_items_by_index_and_shard_and_spread_them_over_buckets() {
        assert_eq!(item_sk("logs-1", 7), "ITEM#logs-1#00007");
        assert!(item_sk("a", 2) < item_sk("a", 10));
        let shard = |s| ItemKey::shard("logs", s);
        let buckets: std::collections::HashSet<String> =
            (0..64).map(|s| open_pk("bf", &shard(s))).collect();
        assert_eq!(buckets.len(), OPEN_BUCKETS as usize);
        assert_eq!(open_pk("bf", &shard(3)), open_pk("bf", &shard(3)));
        // A shard's ranges: after it in key order, spread over the buckets.
        let ranges: std::collections::HashSet<String> = (1..40)
            .map(|r| open_pk("bf", &shard(3).with_range(r)))
            .collect();
        assert_eq!(ranges.len(), OPEN_BUCKETS as usize);
        assert_eq!(item_key_sk(&shard(7)), "ITEM#logs#00007");
        assert_eq!(item_key_sk(&shard(7).with_range(2)), "ITEM#logs#00007#r002");
        assert!(item_key_sk(&shard(7).with_range(2)) < item_sk("logs", 8));
    }
}
