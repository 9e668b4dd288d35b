//! Work items and the lease protocol, all by conditional writes and transactions.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, DeleteRequest, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, Select, TransactWriteItem, Update, WriteRequest,
};
use backfill_core::lease::LeasePolicy;
use backfill_core::model::{BackfillRecord, Counters, ItemKey, NewItem, WorkItem};
use backfill_core::store::{Claim, ClaimOutcome, Progress, StateChange, StoreError, WorkStore};
use backfill_core::table::{
    backfill_pk, bucket_pk, item_sk, open_pk, COUNTERS_SK, FAILED_INDEX,
    FAILED_INDEX_PARTITION_KEY, FAILED_INDEX_SORT_KEY, ITEM_SK_PREFIX, META_SK, OPEN_BUCKETS,
    OPEN_INDEX, OPEN_INDEX_PARTITION_KEY, OPEN_INDEX_SORT_KEY, PARTITION_KEY, SORT_KEY,
};
use backfill_core::transition::ITEMS_CREATABLE_IN;

use super::backfills::item_to_record;
use super::{build_error, get_n, get_s, key, n, s, sdk_error, DynamoStore, Item};

/// Transactions hold at most 100 actions; one is the counters update, one the backfill's check.
const CREATE_CHUNK: usize = 98;
/// Candidates a claimer reads from one bucket of the `open` index.
const CANDIDATES: i32 = 20;

fn item_to_work(item: &Item) -> Result<WorkItem, StoreError> {
    let bad = |what: &str| StoreError::Other(format!("work item has no valid {what}"));
    let g = |k: &str| get_n::<u64>(item, k).unwrap_or(0);
    Ok(WorkItem {
        key: ItemKey {
            index: get_s(item, "index").ok_or_else(|| bad("index"))?,
            shard: get_n(item, "shard").ok_or_else(|| bad("shard"))?,
        },
        position: get_s(item, "position").unwrap_or_else(|| "start".into()),
        lease_holder: get_s(item, "lease_holder"),
        lease_expiry: get_n(item, "lease_expiry").unwrap_or(0),
        attempts: get_n(item, "attempts").unwrap_or(0),
        abandoned: get_n(item, "abandoned").unwrap_or(0),
        failures: get_n(item, "failures").unwrap_or(0),
        last_error: get_s(item, "last_error"),
        completed_at: get_n(item, "completed_at"),
        failed_at: get_n(item, "failed_at"),
        docs_done: g("docs_done"),
        bytes_done: g("bytes_done"),
        docs_rejected: g("docs_rejected"),
        docs_expected: g("docs_expected"),
        successor: get_s(item, "successor"),
    })
}

fn new_item(backfill: &str, new: &NewItem) -> Item {
    let k = &new.key;
    let mut item = key(backfill_pk(backfill), item_sk(&k.index, k.shard));
    item.insert("docs_expected".into(), n(new.docs_expected));
    item.insert("index".into(), s(&k.index));
    item.insert("shard".into(), n(k.shard));
    item.insert("position".into(), s("start"));
    item.insert(
        OPEN_INDEX_PARTITION_KEY.into(),
        s(open_pk(backfill, &k.index, k.shard)),
    );
    for zero in [
        OPEN_INDEX_SORT_KEY,
        "attempts",
        "abandoned",
        "failures",
        "docs_done",
        "bytes_done",
        "docs_rejected",
    ] {
        item.insert(zero.into(), n(0));
    }
    item
}

/// A transaction action: an update with its expression parts.
struct Change {
    key: Item,
    update: String,
    condition: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Change {
    fn into_action(self, table: &str) -> Result<TransactWriteItem, StoreError> {
        let u = Update::builder()
            .table_name(table)
            .set_key(Some(self.key))
            .update_expression(self.update)
            .set_condition_expression(self.condition)
            .set_expression_attribute_names((!self.names.is_empty()).then_some(self.names))
            .set_expression_attribute_values((!self.values.is_empty()).then_some(self.values))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(u).build())
    }
}

/// The item side of a holder's write: progress, conditional on holding the lease.
fn held_item_change(claim: &Claim, p: &Progress, set_extra: &str, remove: &str) -> Change {
    let values = HashMap::from([
        (":me".to_string(), s(&claim.holder)),
        (":pos".to_string(), s(&p.position)),
        (":d".to_string(), n(p.docs)),
        (":b".to_string(), n(p.bytes)),
        (":r".to_string(), n(p.rejected)),
    ]);
    let mut update = format!(
        "SET #position = :pos, docs_done = docs_done + :d, bytes_done = bytes_done + :b, docs_rejected = docs_rejected + :r{set_extra}"
    );
    if !remove.is_empty() {
        update.push_str(" REMOVE ");
        update.push_str(remove);
    }
    Change {
        key: key(
            backfill_pk(&claim.backfill),
            item_sk(&claim.item.key.index, claim.item.key.shard),
        ),
        update,
        condition: Some("lease_holder = :me AND attribute_exists(#open)".into()),
        names: HashMap::from([
            ("#position".to_string(), "position".to_string()),
            ("#open".to_string(), OPEN_INDEX_PARTITION_KEY.to_string()),
        ]),
        values,
    }
}

/// The counters side: the same deltas, plus whole-item counts.
fn counters_change(backfill: &str, p: &Progress, extra: &[(&str, u64)]) -> Change {
    let mut parts = vec![
        "docs_done :d".to_string(),
        "bytes_done :b".to_string(),
        "docs_rejected :r".to_string(),
    ];
    let mut values = HashMap::from([
        (":d".to_string(), n(p.docs)),
        (":b".to_string(), n(p.bytes)),
        (":r".to_string(), n(p.rejected)),
    ]);
    for (i, (attr, v)) in extra.iter().enumerate() {
        parts.push(format!("{attr} :x{i}"));
        values.insert(format!(":x{i}"), n(*v));
    }
    Change {
        key: key(backfill_pk(backfill), COUNTERS_SK),
        update: format!("ADD {}", parts.join(", ")),
        condition: None,
        names: HashMap::new(),
        values,
    }
}

impl DynamoStore {
    /// Runs a transaction; a failed condition on the first action (the held item) is `LeaseLost`.
    async fn transact(&self, claim: &Claim, changes: Vec<Change>) -> Result<(), StoreError> {
        let actions = changes
            .into_iter()
            .map(|c| c.into_action(&self.table))
            .collect::<Result<Vec<_>, _>>()?;
        let r = self
            .client()
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se))
                if matches!(se.err(), TransactWriteItemsError::TransactionCanceledException(c)
                    if c.cancellation_reasons().first().and_then(|r| r.code()) == Some("ConditionalCheckFailed")) =>
            {
                Err(StoreError::LeaseLost {
                    item: claim.item.key.clone(),
                    holder: claim.holder.clone(),
                })
            }
            Err(e) => Err(sdk_error("TransactWriteItems", e)),
        }
    }

    /// One conditional update of the held item alone (no counter changes).
    async fn update_held(&self, claim: &Claim, change: Change) -> Result<(), StoreError> {
        let r = self
            .client()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(change.key))
            .update_expression(change.update)
            .set_condition_expression(change.condition)
            .set_expression_attribute_names(Some(change.names))
            .set_expression_attribute_values(Some(change.values))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                Err(StoreError::LeaseLost {
                    item: claim.item.key.clone(),
                    holder: claim.holder.clone(),
                })
            }
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    /// Writes a holder's change, with the counters only when something was counted.
    async fn write_held(
        &self,
        claim: &Claim,
        item: Change,
        counters: Option<Change>,
    ) -> Result<(), StoreError> {
        match counters {
            Some(c) => self.transact(claim, vec![item, c]).await,
            None => self.update_held(claim, item).await,
        }
    }

    /// Creates `keys` in one transaction with the counters, under a check that the backfill is
    /// still in a state that takes new items (`None`: some exist already).
    async fn create_chunk(&self, id: &str, keys: &[NewItem]) -> Result<Option<u64>, StoreError> {
        let mut actions = Vec::with_capacity(keys.len() + 2);
        let mut states = HashMap::new();
        for (i, st) in ITEMS_CREATABLE_IN.iter().enumerate() {
            states.insert(format!(":s{i}"), s(st.as_str()));
        }
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(backfill_pk(id), META_SK)))
            .condition_expression(format!(
                "#state IN ({})",
                states.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
            .expression_attribute_names("#state", "state")
            .set_expression_attribute_values(Some(states))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_error)?;
        actions.push(TransactWriteItem::builder().condition_check(check).build());
        for k in keys {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(new_item(id, k)))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PARTITION_KEY)
                .build()
                .map_err(build_error)?;
            actions.push(TransactWriteItem::builder().put(put).build());
        }
        let expected = keys.iter().map(|k| k.docs_expected).sum();
        let counters = counters_change(
            id,
            &Progress::default(),
            &[
                ("items_total", keys.len() as u64),
                ("docs_expected", expected),
            ],
        );
        actions.push(counters.into_action(&self.table)?);
        match self
            .client()
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => Ok(Some(keys.len() as u64)),
            Err(SdkError::ServiceError(se))
                if matches!(
                    se.err(),
                    TransactWriteItemsError::TransactionCanceledException(_)
                ) =>
            {
                let TransactWriteItemsError::TransactionCanceledException(t) = se.err() else {
                    unreachable!("matched above")
                };
                // The first reason is the backfill's check: stopping, stopped or gone.
                match t.cancellation_reasons().first() {
                    Some(r) if r.code() == Some("ConditionalCheckFailed") => match r.item() {
                        None => Err(StoreError::NoSuchBackfill(id.to_string())),
                        Some(old) => Err(StoreError::conflict(
                            id,
                            item_to_record(old)?.state,
                            &ITEMS_CREATABLE_IN,
                        )),
                    },
                    // Some items exist already (a concurrent or earlier start): one by one.
                    _ => Ok(None),
                }
            }
            Err(e) => Err(sdk_error("TransactWriteItems", e)),
        }
    }

    async fn query_all(&self, id: &str, sk_prefix: Option<&str>) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client()
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_values(":pk", s(backfill_pk(id)))
                .set_exclusive_start_key(start.take());
            q = match sk_prefix {
                Some(p) => q
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", SORT_KEY)
                    .expression_attribute_values(":prefix", s(p)),
                None => q.key_condition_expression("#pk = :pk"),
            };
            let r = q.send().await.map_err(|e| sdk_error("Query", e))?;
            out.extend(r.items().iter().cloned());
            match r.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }
}

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
        // A lease is free for the taking once the claimer's clock is past expiry + skew.
        let takeover = now - policy.max_clock_skew.as_millis() as i64;
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
                let abandoned = seen_abandoned + u32::from(c.contains_key("lease_holder"));
                let expiry = now + policy.duration(abandoned).as_millis() as i64;
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
        let expiry = now + policy.duration(claim.item.abandoned).as_millis() as i64;
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
            key: key(
                backfill_pk(&claim.backfill),
                item_sk(&claim.item.key.index, claim.item.key.shard),
            ),
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

    async fn complete(&self, claim: &Claim, p: &Progress, now: i64) -> Result<(), StoreError> {
        let mut item = held_item_change(
            claim,
            p,
            ", completed_at = :now, #exp = :zero",
            "lease_holder, #open",
        );
        item.names.insert("#exp".into(), OPEN_INDEX_SORT_KEY.into());
        item.values.insert(":now".into(), n(now));
        item.values.insert(":zero".into(), n(0));
        let counters = counters_change(&claim.backfill, p, &[("items_completed", 1)]);
        self.transact(claim, vec![item, counters]).await
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
        let extra: &[(&str, u64)] = if final_failure {
            &[("items_failed", 1)]
        } else {
            &[]
        };
        self.transact(
            claim,
            vec![item, counters_change(&claim.backfill, p, extra)],
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
    ) -> Result<u64, StoreError> {
        let live_after = now - policy.max_clock_skew.as_millis() as i64;
        let mut total = 0u64;
        for bucket in 0..OPEN_BUCKETS {
            let mut start: Option<Item> = None;
            loop {
                let r = self
                    .client()
                    .query()
                    .table_name(&self.table)
                    .index_name(OPEN_INDEX)
                    .select(Select::Count)
                    .key_condition_expression("#open = :bucket AND #exp >= :live")
                    .expression_attribute_names("#open", OPEN_INDEX_PARTITION_KEY)
                    .expression_attribute_names("#exp", OPEN_INDEX_SORT_KEY)
                    .expression_attribute_values(":bucket", s(bucket_pk(id, bucket)))
                    .expression_attribute_values(":live", n(live_after))
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| sdk_error("Query", e))?;
                total += r.count() as u64;
                match r.last_evaluated_key() {
                    Some(k) if !k.is_empty() => start = Some(k.clone()),
                    _ => break,
                }
            }
        }
        Ok(total)
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
        let takeover = now - policy.max_clock_skew.as_millis() as i64;
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
            .filter(|i| get_s(i, SORT_KEY).is_some_and(|sk| sk != backfill_core::table::META_SK))
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
            let mut wait = std::time::Duration::from_millis(50);
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
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(std::time::Duration::from_secs(2));
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
