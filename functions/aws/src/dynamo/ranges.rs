//! Split shards in DynamoDB: the split itself (the held item narrowed, the new ranges, the
//! counters and the shard's range tally in one transaction), and finishing a range, which
//! counts the shard as done when it was the last open one. The tally is read, then changed
//! under a condition that it is still what was read (another range may finish at once).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use backfill_core::model::{NewItem, NewRange};
use backfill_core::split::{RangeTally, ShardEnd};
use backfill_core::store::{Claim, Progress, StoreError};

use super::item_writes::{cancelled, counters_change, new_item, Change};
use super::table::{backfill_pk, item_key_sk, tally_sk, OPEN_INDEX_PARTITION_KEY, PARTITION_KEY};
use super::{build_error, get_n, key, n, s, sdk_error, DynamoStore, Item};

/// Tries at changing a tally that other ranges change too, before giving up (transiently).
const TALLY_TRIES: u32 = 50;

/// Which action of a cancelled transaction failed its condition, if one did.
enum Outcome {
    Done,
    ConditionFailed(usize),
}

impl DynamoStore {
    async fn transact_actions(
        &self,
        actions: Vec<TransactWriteItem>,
    ) -> Result<Outcome, StoreError> {
        let Some(reasons) = self.send_transaction(actions).await? else {
            return Ok(Outcome::Done);
        };
        match reasons
            .iter()
            .position(|r| r.code() == Some("ConditionalCheckFailed"))
        {
            Some(i) => Ok(Outcome::ConditionFailed(i)),
            None => Err(cancelled(&reasons)),
        }
    }

    fn lease_lost(claim: &Claim) -> StoreError {
        StoreError::LeaseLost {
            item: claim.item.key.clone(),
            holder: claim.holder.clone(),
        }
    }

    pub(super) async fn split_held(
        &self,
        claim: &mut Claim,
        ranges: &[NewRange],
    ) -> Result<(), StoreError> {
        let k = &claim.item.key;
        if k.range != 0 || claim.item.ranges != 0 || ranges.len() < 2 {
            return Err(StoreError::Other(format!(
                "{k} cannot be split into {} ranges (range {}, split into {} already)",
                ranges.len(),
                k.range,
                claim.item.ranges
            )));
        }
        let count = ranges.len() as u32;
        let first = &ranges[0];
        let mut held = Change {
            key: key(backfill_pk(&claim.backfill), item_key_sk(k)),
            update: "SET #end = :end, ranges = :n, docs_expected = :d".into(),
            condition: Some(
                "lease_holder = :me AND attribute_exists(#open) AND attribute_not_exists(ranges)"
                    .into(),
            ),
            names: HashMap::from([
                ("#end".to_string(), "end".to_string()),
                ("#open".to_string(), OPEN_INDEX_PARTITION_KEY.to_string()),
            ]),
            values: HashMap::from([
                (":me".to_string(), s(&claim.holder)),
                (":n".to_string(), n(count)),
                (":d".to_string(), n(first.docs_expected)),
            ]),
        };
        match &first.end {
            Some(e) => {
                held.values.insert(":end".into(), s(e));
            }
            None => return Err(StoreError::Other("a split's first range has no end".into())),
        }
        let mut actions = vec![held.into_action(&self.table)?];
        for (r, range) in ranges.iter().enumerate().skip(1) {
            let mut item = new_item(
                &claim.backfill,
                &NewItem {
                    key: k.with_range(r as u32),
                    docs_expected: range.docs_expected,
                },
            );
            item.insert("position".into(), s(&range.start));
            if let Some(e) = &range.end {
                item.insert("end".into(), s(e));
            }
            item.insert("ranges".into(), n(count));
            actions.push(put_new(&self.table, item)?);
        }
        // The whole shard's expected documents were counted when it was opened: only ranges.
        let mut counters = counters_change(&claim.backfill, &Progress::default(), &[]);
        counters.update = "ADD ranges_total :x".into();
        counters.values = HashMap::from([(":x".to_string(), n(count))]);
        actions.push(counters.into_action(&self.table)?);
        let mut tally = key(backfill_pk(&claim.backfill), tally_sk(&k.index, k.shard));
        tally.insert("ranges_open".into(), n(count));
        tally.insert("ranges_failed".into(), n(0));
        actions.push(put_new(&self.table, tally)?);
        match self.transact_actions(actions).await? {
            Outcome::Done => {}
            Outcome::ConditionFailed(0) => return Err(Self::lease_lost(claim)),
            Outcome::ConditionFailed(i) => {
                return Err(StoreError::Other(format!(
                    "splitting {k}: its range records exist already (action {i})"
                )))
            }
        }
        claim.item.end = first.end.clone();
        claim.item.ranges = count;
        claim.item.docs_expected = first.docs_expected;
        Ok(())
    }

    /// Writes the held range's last change with its counters, and its shard's tally: the shard
    /// is counted completed (or failed) when this was its last open range.
    pub(super) async fn finish_range(
        &self,
        claim: &Claim,
        item: impl Fn() -> Change,
        progress: &Progress,
        failed: bool,
    ) -> Result<(), StoreError> {
        let k = &claim.item.key;
        let tally_key = key(backfill_pk(&claim.backfill), tally_sk(&k.index, k.shard));
        for _ in 0..TALLY_TRIES {
            let seen = self.read_tally(&tally_key).await?;
            let (next, end) = seen.after(failed);
            let mut extra = vec![(
                if failed {
                    "ranges_failed"
                } else {
                    "ranges_completed"
                },
                1,
            )];
            match end {
                Some(ShardEnd::Completed) => extra.push(("items_completed", 1)),
                Some(ShardEnd::Failed) => extra.push(("items_failed", 1)),
                None => {}
            }
            let tally = Change {
                key: tally_key.clone(),
                update: "SET ranges_open = :open, ranges_failed = :failed".into(),
                condition: Some("ranges_open = :seen_open AND ranges_failed = :seen_failed".into()),
                names: HashMap::new(),
                values: HashMap::from([
                    (":open".to_string(), n(next.open)),
                    (":failed".to_string(), n(next.failed)),
                    (":seen_open".to_string(), n(seen.open)),
                    (":seen_failed".to_string(), n(seen.failed)),
                ]),
            };
            let actions = vec![
                item().into_action(&self.table)?,
                counters_change(&claim.backfill, progress, &extra).into_action(&self.table)?,
                tally.into_action(&self.table)?,
            ];
            match self.transact_actions(actions).await? {
                Outcome::Done => return Ok(()),
                Outcome::ConditionFailed(0) => return Err(Self::lease_lost(claim)),
                // Another range finished meanwhile: read the tally again.
                Outcome::ConditionFailed(_) => continue,
            }
        }
        Err(StoreError::Backend(backfill_core::PortError::retryable(
            format!("the range tally of {k} kept changing under {TALLY_TRIES} tries"),
        )))
    }

    async fn read_tally(&self, tally_key: &Item) -> Result<RangeTally, StoreError> {
        let r = self
            .client()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(tally_key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        let item = r.item().ok_or_else(|| {
            StoreError::Other("a range's shard has no range tally (split record missing)".into())
        })?;
        Ok(RangeTally {
            open: get_n(item, "ranges_open").unwrap_or(0),
            failed: get_n(item, "ranges_failed").unwrap_or(0),
        })
    }
}

fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PARTITION_KEY)
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}
