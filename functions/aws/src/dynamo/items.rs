//! Work items and the lease protocol, all by conditional writes and transactions.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{DeleteRequest, ReturnValue, WriteRequest};
use backfill_core::lease::{abandoned_after_claim, LeasePolicy};
use backfill_core::model::{BackfillRecord, Counters, NewItem, NewRange, WorkItem};
use backfill_core::retry::RetryPolicy;
use backfill_core::store::{
    Claim, ClaimOutcome, InProgress, Progress, StateChange, StoreError, WorkStore,
};

use super::table::{
    backfill_pk, bucket_pk, item_key_sk, FAILED_INDEX, FAILED_INDEX_PARTITION_KEY,
    FAILED_INDEX_SORT_KEY, ITEM_SK_PREFIX, OPEN_BUCKETS, OPEN_INDEX, OPEN_INDEX_PARTITION_KEY,
    OPEN_INDEX_SORT_KEY, PARTITION_KEY, RANGE_SK_INFIX, SORT_KEY,
};
use super::{build_error, get_n, get_s, key, n, s, sdk_error, DynamoStore, Item};

/// Transactions hold at most 100 actions; one is the counters update, one the backfill's check.
const CREATE_CHUNK: usize = 98;
/// Candidates a claimer reads from one bucket of the `open` index.
const CANDIDATES: i32 = 20;

use super::item_writes::{counters_change, held_item_change, item_to_work, Change};

#[async_trait]
impl WorkStore for DynamoStore {
    async fn create_backfill(&self, record: &BackfillRecord) -> Result<bool, StoreError> {
        self.put_backfill(record).await
    }

    async fn backfill(&self, id: &str) -> Result<Option<BackfillRecord>, StoreError> {
        self.get_backfill(id).await
    }

    async fn set_state(
        &self,
        id: &str,
        change: &StateChange<'_>,
        now: i64,
    ) -> Result<BackfillRecord, StoreError> {
        self.update_state(id, change, now).await
    }

    async fn create_items(&self, id: &str, keys: &[NewItem]) -> Result<u64, StoreError> {
        let mut created = 0;
        for chunk in keys.chunks(CREATE_CHUNK) {
            if let Some(n) = self.create_chunk(id, chunk).await? {
                created += n;
                continue;
            }
            for k in chunk {
                if let Some(n) = self.create_chunk(id, std::slice::from_ref(k)).await? {
                    created += n;
                }
            }
        }
        Ok(created)
    }

    async fn claim(
        &self,
        id: &str,
        holder: &str,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<ClaimOutcome, StoreError> {
        let takeover = policy.takeover_cutoff(now);
        let mut buckets: Vec<u32> = (0..OPEN_BUCKETS).collect();
        fastrand::shuffle(&mut buckets);
        for bucket in buckets {
            let r = self
                .client()
                .query()
                .table_name(&self.table)
                .index_name(OPEN_INDEX)
                .key_condition_expression("#open = :bucket AND #exp < :takeover")
                .expression_attribute_names("#open", OPEN_INDEX_PARTITION_KEY)
                .expression_attribute_names("#exp", OPEN_INDEX_SORT_KEY)
                .expression_attribute_values(":bucket", s(bucket_pk(id, bucket)))
                .expression_attribute_values(":takeover", n(takeover))
                .limit(CANDIDATES)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            let mut candidates: Vec<Item> = r.items().to_vec();
            // Spread concurrent claimers over the candidates instead of all taking the first.
            fastrand::shuffle(&mut candidates);
            for c in candidates.iter().take(5) {
                let (Some(pk), Some(sk)) = (get_s(c, PARTITION_KEY), get_s(c, SORT_KEY)) else {
                    continue;
                };
                let seen_expiry: i64 = get_n(c, OPEN_INDEX_SORT_KEY).unwrap_or(0);
                let seen_abandoned: u32 = get_n(c, "abandoned").unwrap_or(0);
                let abandoned =
                    abandoned_after_claim(seen_abandoned, c.contains_key("lease_holder"));
                let expiry = policy.expiry(now, abandoned);
                let r = self
                    .client()
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key(pk, sk)))
                    .update_expression("SET lease_holder = :me, #exp = :exp, abandoned = :ab, attempts = attempts + :one")
                    // Unchanged since the index showed it: nobody claimed it in between.
                    .condition_expression("attribute_exists(#open) AND #exp = :seen_exp AND abandoned = :seen_ab")
                    .expression_attribute_names("#open", OPEN_INDEX_PARTITION_KEY)
                    .expression_attribute_names("#exp", OPEN_INDEX_SORT_KEY)
                    .expression_attribute_values(":me", s(holder))
                    .expression_attribute_values(":exp", n(expiry))
                    .expression_attribute_values(":ab", n(abandoned))
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":seen_exp", n(seen_expiry))
                    .expression_attribute_values(":seen_ab", n(seen_abandoned))
                    .return_values(ReturnValue::AllNew)
                    .send()
                    .await;
                match r {
                    Ok(out) => {
                        let item = item_to_work(out.attributes().unwrap_or(&HashMap::new()))?;
                        return Ok(ClaimOutcome::Claimed(Box::new(Claim {
                            backfill: id.to_string(),
                            holder: holder.to_string(),
                            expiry,
                            item,
                        })));
                    }
                    Err(e) if e.code() == Some("ConditionalCheckFailedException") => continue,
                    Err(e) => return Err(sdk_error("UpdateItem", e)),
                }
            }
        }
        let c = self.get_counters(id).await?;
        Ok(if c.items_total == c.items_completed + c.items_failed {
            ClaimOutcome::NothingOpen
        } else {
            ClaimOutcome::AllLeased
        })
    }

    async fn checkpoint(
        &self,
        claim: &mut Claim,
        p: &Progress,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<(), StoreError> {
        let expiry = policy.expiry(now, claim.item.abandoned);
        let mut item = held_item_change(claim, p, ", #exp = :exp", "");
        item.names.insert("#exp".into(), OPEN_INDEX_SORT_KEY.into());
        item.values.insert(":exp".into(), n(expiry));
        let counted = p.docs + p.bytes + p.rejected > 0;
        self.write_held(
            claim,
            item,
            counted.then(|| counters_change(&claim.backfill, p, &[])),
        )
        .await?;
        claim.expiry = expiry;
        Ok(())
    }

    async fn record_expected(&self, claim: &Claim, docs: u64) -> Result<(), StoreError> {
        let item = Change {
            key: key(backfill_pk(&claim.backfill), item_key_sk(&claim.item.key)),
            update: "SET docs_expected = :n".into(),
            condition: Some("lease_holder = :me AND docs_expected = :zero".into()),
            names: HashMap::new(),
            values: HashMap::from([
                (":n".to_string(), n(docs)),
                (":me".to_string(), s(&claim.holder)),
                (":zero".to_string(), n(0)),
            ]),
        };
        let mut counters = counters_change(
            &claim.backfill,
            &Progress::default(),
            &[("docs_expected", docs), ("items_measured", 1)],
        );
        // Only the two whole-item counts; the zero progress deltas would be no-ops anyway.
        counters.update = "ADD docs_expected :x0, items_measured :x1".into();
        counters.values.retain(|k, _| k.starts_with(":x"));
        self.transact(claim, vec![item, counters]).await
    }

    async fn split(&self, claim: &mut Claim, ranges: &[NewRange]) -> Result<(), StoreError> {
        self.split_held(claim, ranges).await
    }

    async fn complete(&self, claim: &Claim, p: &Progress, now: i64) -> Result<(), StoreError> {
        let item = || {
            let mut item = held_item_change(
                claim,
                p,
                ", completed_at = :now, #exp = :zero",
                "lease_holder, #open",
            );
            item.names.insert("#exp".into(), OPEN_INDEX_SORT_KEY.into());
            item.values.insert(":now".into(), n(now));
            item.values.insert(":zero".into(), n(0));
            item
        };
        if claim.item.is_range() {
            return self.finish_range(claim, item, p, false).await;
        }
        let counters = counters_change(&claim.backfill, p, &[("items_completed", 1)]);
        self.transact(claim, vec![item(), counters]).await
    }

    async fn release(&self, claim: &Claim, p: &Progress) -> Result<(), StoreError> {
        let mut item = held_item_change(claim, p, ", #exp = :zero", "lease_holder");
        item.names.insert("#exp".into(), OPEN_INDEX_SORT_KEY.into());
        item.values.insert(":zero".into(), n(0));
        let counted = p.docs + p.bytes + p.rejected > 0;
        self.write_held(
            claim,
            item,
            counted.then(|| counters_change(&claim.backfill, p, &[])),
        )
        .await
    }

    async fn fail(
        &self,
        claim: &Claim,
        p: &Progress,
        reason: &str,
        max_failures: u32,
        now: i64,
    ) -> Result<bool, StoreError> {
        let final_failure = claim.item.failures + 1 >= max_failures;
        let (set, remove) = if final_failure {
            (
                ", failures = :failures, last_error = :reason, #exp = :zero, failed_at = :now, failed_pk = :failed_pk",
                "lease_holder, #open",
            )
        } else {
            (
                ", failures = :failures, last_error = :reason, #exp = :zero",
                "lease_holder",
            )
        };
        let item = || {
            let mut item = held_item_change(claim, p, set, remove);
            item.names.insert("#exp".into(), OPEN_INDEX_SORT_KEY.into());
            item.values.insert(":zero".into(), n(0));
            if final_failure {
                item.values.insert(":now".into(), n(now));
                item.values.insert(":failed_pk".into(), s(&claim.backfill));
            }
            item.values
                .insert(":failures".into(), n(claim.item.failures + 1));
            item.values
                .insert(":seen_failures".into(), n(claim.item.failures));
            item.values
                .insert(":reason".into(), s(truncate(reason, 2000)));
            item.condition = Some(format!(
                "{} AND failures = :seen_failures",
                item.condition.unwrap_or_default()
            ));
            item
        };
        if final_failure && claim.item.is_range() {
            self.finish_range(claim, item, p, true).await?;
            return Ok(true);
        }
        let extra: &[(&str, u64)] = if final_failure {
            &[("items_failed", 1)]
        } else {
            &[]
        };
        self.transact(
            claim,
            vec![item(), counters_change(&claim.backfill, p, extra)],
        )
        .await?;
        Ok(final_failure)
    }

    async fn counters(&self, id: &str) -> Result<Counters, StoreError> {
        self.get_counters(id).await
    }

    async fn in_progress(
        &self,
        id: &str,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<InProgress, StoreError> {
        let live_after = policy.takeover_cutoff(now);
        // Live leases are at most one per worker: reading their keys costs what the fleet
        // size does, not the number of shards.
        let mut shards = std::collections::HashSet::new();
        let (mut items, mut ranges) = (0u64, 0u64);
        for bucket in 0..OPEN_BUCKETS {
            let mut start: Option<Item> = None;
            loop {
                let r = self
                    .client()
                    .query()
                    .table_name(&self.table)
                    .index_name(OPEN_INDEX)
                    .key_condition_expression("#open = :bucket AND #exp >= :live")
                    .projection_expression("#sk, ranges")
                    .expression_attribute_names("#open", OPEN_INDEX_PARTITION_KEY)
                    .expression_attribute_names("#exp", OPEN_INDEX_SORT_KEY)
                    .expression_attribute_names("#sk", SORT_KEY)
                    .expression_attribute_values(":bucket", s(bucket_pk(id, bucket)))
                    .expression_attribute_values(":live", n(live_after))
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| sdk_error("Query", e))?;
                for i in r.items() {
                    items += 1;
                    if get_n::<u32>(i, "ranges").unwrap_or(0) > 1 {
                        ranges += 1;
                    }
                    // A range's key is its shard's with a suffix.
                    let mut sk = get_s(i, SORT_KEY).unwrap_or_default();
                    if let Some(at) = sk.find(RANGE_SK_INFIX) {
                        sk.truncate(at);
                    }
                    shards.insert(sk);
                }
                match r.last_evaluated_key() {
                    Some(k) if !k.is_empty() => start = Some(k.clone()),
                    _ => break,
                }
            }
        }
        Ok(InProgress {
            shards: shards.len() as u64,
            items,
            ranges,
        })
    }

    async fn failed_items(&self, id: &str, limit: usize) -> Result<Vec<WorkItem>, StoreError> {
        let r = self
            .client()
            .query()
            .table_name(&self.table)
            .index_name(FAILED_INDEX)
            .key_condition_expression("#f = :id")
            .expression_attribute_names("#f", FAILED_INDEX_PARTITION_KEY)
            .expression_attribute_values(":id", s(id))
            .limit(limit.min(1000) as i32)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        r.items()
            .iter()
            .map(|i| {
                let mut w = item_to_work(i)?;
                w.failed_at = get_n(i, FAILED_INDEX_SORT_KEY);
                Ok(w)
            })
            .collect()
    }

    async fn expired_leases(
        &self,
        id: &str,
        now: i64,
        policy: &LeasePolicy,
        limit: usize,
    ) -> Result<Vec<WorkItem>, StoreError> {
        let takeover = policy.takeover_cutoff(now);
        let mut out = Vec::new();
        for bucket in 0..OPEN_BUCKETS {
            // Leased at some point (expiry ≥ 1) and expired: a released item has expiry 0.
            let r = self
                .client()
                .query()
                .table_name(&self.table)
                .index_name(OPEN_INDEX)
                .key_condition_expression("#open = :bucket AND #exp BETWEEN :one AND :takeover")
                .filter_expression("attribute_exists(lease_holder)")
                .expression_attribute_names("#open", OPEN_INDEX_PARTITION_KEY)
                .expression_attribute_names("#exp", OPEN_INDEX_SORT_KEY)
                .expression_attribute_values(":bucket", s(bucket_pk(id, bucket)))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":takeover", n(takeover - 1))
                .limit(limit.min(1000) as i32)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            for i in r.items() {
                let (Some(pk), Some(sk)) = (get_s(i, PARTITION_KEY), get_s(i, SORT_KEY)) else {
                    continue;
                };
                // The index holds keys and a few attributes: read the item itself.
                let full = self
                    .client()
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(key(pk, sk)))
                    .send()
                    .await
                    .map_err(|e| sdk_error("GetItem", e))?;
                if let Some(item) = full.item() {
                    out.push(item_to_work(item)?);
                }
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    async fn items(&self, id: &str) -> Result<Vec<WorkItem>, StoreError> {
        self.query_all(id, Some(ITEM_SK_PREFIX))
            .await?
            .iter()
            .map(item_to_work)
            .collect()
    }

    async fn delete_working_state(&self, id: &str) -> Result<u64, StoreError> {
        let keys: Vec<Item> = self
            .query_all(id, None)
            .await?
            .into_iter()
            .filter(|i| get_s(i, SORT_KEY).is_some_and(|sk| sk != super::table::META_SK))
            .map(|i| {
                key(
                    get_s(&i, PARTITION_KEY).unwrap_or_default(),
                    get_s(&i, SORT_KEY).unwrap_or_default(),
                )
            })
            .collect();
        let deleted = keys
            .iter()
            .filter(|k| get_s(k, SORT_KEY).is_some_and(|sk| sk.starts_with(ITEM_SK_PREFIX)))
            .count() as u64;
        for chunk in keys.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|k| {
                    DeleteRequest::builder()
                        .set_key(Some(k.clone()))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                        .map_err(build_error)
                })
                .collect::<Result<_, _>>()?;
            // Unprocessed writes (throttling) are sent again after 50 ms, doubling to 2 s.
            let pace = RetryPolicy::doubling(
                u32::MAX,
                std::time::Duration::from_millis(25),
                std::time::Duration::from_secs(2),
            );
            let mut rounds = 0;
            while !requests.is_empty() {
                let r = self
                    .client()
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| sdk_error("BatchWriteItem", e))?;
                requests = r
                    .unprocessed_items()
                    .and_then(|m| m.get(&self.table).cloned())
                    .unwrap_or_default();
                if !requests.is_empty() {
                    rounds += 1;
                    tokio::time::sleep(pace.backoff(rounds)).await;
                }
            }
        }
        Ok(deleted)
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
