//! How work items are written: item ↔ record translation, the held item's conditional
//! update, counter updates, transactions of both, and item creation in chunks. The lease
//! protocol's operations (`items.rs`) are built from these.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConditionCheck, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use backfill_core::model::{ItemKey, NewItem, WorkItem};
use backfill_core::store::{Claim, Progress, StoreError};
use backfill_core::transition::ITEMS_CREATABLE_IN;

use super::backfills::item_to_record;
use super::table::{
    backfill_pk, item_key_sk, open_pk, COUNTERS_SK, META_SK, OPEN_INDEX_PARTITION_KEY,
    OPEN_INDEX_SORT_KEY, PARTITION_KEY, RANGE_SK_INFIX, SORT_KEY,
};
use super::{build_error, get_n, get_s, key, n, s, sdk_error, DynamoStore, Item};

pub(super) fn item_to_work(item: &Item) -> Result<WorkItem, StoreError> {
    let bad = |what: &str| StoreError::Other(format!("work item has no valid {what}"));
    let g = |k: &str| get_n::<u64>(item, k).unwrap_or(0);
    Ok(WorkItem {
        key: ItemKey {
            index: get_s(item, "index").ok_or_else(|| bad("index"))?,
            shard: get_n(item, "shard").ok_or_else(|| bad("shard"))?,
            range: match get_n(item, "range") {
                Some(r) => r,
                // An index that does not copy `range` still has the key.
                None => get_s(item, SORT_KEY)
                    .and_then(|sk| {
                        let (_, r) = sk.rsplit_once(RANGE_SK_INFIX)?;
                        r.parse().ok()
                    })
                    .unwrap_or(0),
            },
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
        end: get_s(item, "end"),
        ranges: get_n(item, "ranges").unwrap_or(0),
    })
}

pub(super) fn new_item(backfill: &str, new: &NewItem) -> Item {
    let k = &new.key;
    let mut item = key(backfill_pk(backfill), item_key_sk(k));
    item.insert("docs_expected".into(), n(new.docs_expected));
    item.insert("index".into(), s(&k.index));
    item.insert("shard".into(), n(k.shard));
    if k.range > 0 {
        item.insert("range".into(), n(k.range));
    }
    item.insert("position".into(), s("start"));
    item.insert(OPEN_INDEX_PARTITION_KEY.into(), s(open_pk(backfill, k)));
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
pub(super) struct Change {
    pub(super) key: Item,
    pub(super) update: String,
    pub(super) condition: Option<String>,
    pub(super) names: HashMap<String, String>,
    pub(super) values: HashMap<String, AttributeValue>,
}

impl Change {
    pub(super) fn into_action(self, table: &str) -> Result<TransactWriteItem, StoreError> {
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
pub(super) fn held_item_change(
    claim: &Claim,
    p: &Progress,
    set_extra: &str,
    remove: &str,
) -> Change {
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
        key: key(backfill_pk(&claim.backfill), item_key_sk(&claim.item.key)),
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
pub(super) fn counters_change(backfill: &str, p: &Progress, extra: &[(&str, u64)]) -> Change {
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

/// A transaction cancelled for reasons other than a failed condition: passing when each
/// reason is a conflict with another transaction or throttling, a refusal otherwise.
pub(super) fn cancelled(reasons: &[CancellationReason]) -> StoreError {
    const PASSING: [&str; 4] = [
        "None",
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
    ];
    let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
    let message = format!("TransactWriteItems cancelled: {}", codes.join(", "));
    StoreError::Backend(if codes.iter().all(|c| PASSING.contains(c)) {
        backfill_core::PortError::retryable(message)
    } else {
        backfill_core::PortError::invalid(message)
    })
}

impl DynamoStore {
    /// Runs a transaction; a failed condition on the first action (the held item) is `LeaseLost`.
    pub(super) async fn transact(
        &self,
        claim: &Claim,
        changes: Vec<Change>,
    ) -> Result<(), StoreError> {
        let actions = changes
            .into_iter()
            .map(|c| c.into_action(&self.table))
            .collect::<Result<Vec<_>, _>>()?;
        match self.send_transaction(actions).await? {
            None => Ok(()),
            Some(reasons)
                if reasons.first().and_then(|r| r.code()) == Some("ConditionalCheckFailed") =>
            {
                Err(StoreError::LeaseLost {
                    item: claim.item.key.clone(),
                    holder: claim.holder.clone(),
                })
            }
            Some(reasons) => Err(cancelled(&reasons)),
        }
    }

    /// One conditional update of the held item alone (no counter changes).
    pub(super) async fn update_held(
        &self,
        claim: &Claim,
        change: Change,
    ) -> Result<(), StoreError> {
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
    pub(super) async fn write_held(
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
    pub(super) async fn create_chunk(
        &self,
        id: &str,
        keys: &[NewItem],
    ) -> Result<Option<u64>, StoreError> {
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
        let Some(reasons) = self.send_transaction(actions).await? else {
            return Ok(Some(keys.len() as u64));
        };
        // The first reason is the backfill's check: stopping, stopped or gone.
        match reasons.first() {
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

    /// Runs a transaction: `None` once committed, else why each action was cancelled.
    pub(super) async fn send_transaction(
        &self,
        actions: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<CancellationReason>>, StoreError> {
        let r = self
            .client()
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await;
        match r {
            Ok(_) => Ok(None),
            Err(SdkError::ServiceError(se)) => match se.err() {
                TransactWriteItemsError::TransactionCanceledException(t) => {
                    Ok(Some(t.cancellation_reasons().to_vec()))
                }
                _ => Err(sdk_error("TransactWriteItems", SdkError::ServiceError(se))),
            },
            Err(e) => Err(sdk_error("TransactWriteItems", e)),
        }
    }

    pub(super) async fn query_all(
        &self,
        id: &str,
        sk_prefix: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(codes: &[&str]) -> Vec<CancellationReason> {
        codes
            .iter()
            .map(|c| CancellationReason::builder().code(*c).build())
            .collect()
    }

    #[test]
    fn a_transaction_cancelled_by_a_conflict_or_throttling_is_retried_and_a_refusal_is_not() {
        let transient = |codes: &[&str]| cancelled(&reasons(codes)).is_transient();
        assert!(transient(&["None", "TransactionConflict"]));
        assert!(transient(&["ThrottlingError", "None"]));
        assert!(transient(&["ProvisionedThroughputExceeded"]));
        assert!(!transient(&["None", "ValidationError"]));
        assert!(!transient(&[
            "TransactionConflict",
            "ItemCollectionSizeLimitExceeded"
        ]));
        let e = cancelled(&reasons(&["None", "TransactionConflict"])).to_string();
        assert!(e.contains("None, TransactionConflict"), "{e}");
    }
}
