//! Backfill records and counters.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use backfill_core::model::{BackfillRecord, BackfillState, Counters, SnapshotRef, TargetRef};
use backfill_core::store::StateChange;
use backfill_core::StoreError;

use super::table::{backfill_pk, COUNTERS_SK, META_SK, PARTITION_KEY, SORT_KEY};
use backfill_core::split::RangeSplit;

use super::{get_bool, get_n, get_s, key, n, s, sdk_error, DynamoStore, Item};

pub(crate) fn record_to_item(r: &BackfillRecord) -> Item {
    let mut item = key(backfill_pk(&r.id), META_SK);
    item.insert("id".into(), s(&r.id));
    item.insert("state".into(), s(r.state.as_str()));
    item.insert("snapshot_repository".into(), s(&r.snapshot.repository));
    item.insert("snapshot_name".into(), s(&r.snapshot.name));
    item.insert("target_endpoint".into(), s(&r.target.endpoint));
    item.insert(
        "indices".into(),
        AttributeValue::L(r.indices.iter().map(s).collect()),
    );
    item.insert(
        "include_system_indices".into(),
        AttributeValue::Bool(r.include_system_indices),
    );
    item.insert(
        "create_missing_indices".into(),
        AttributeValue::Bool(r.create_missing_indices),
    );
    item.insert("desired_workers".into(), n(r.desired_workers));
    item.insert("created_at".into(), n(r.created_at));
    item.insert("updated_at".into(), n(r.updated_at));
    let opt_n = |item: &mut Item, k: &str, v: Option<i64>| {
        if let Some(v) = v {
            item.insert(k.into(), n(v));
        }
    };
    opt_n(&mut item, "started_at", r.started_at);
    opt_n(&mut item, "completed_at", r.completed_at);
    if let Some(e) = &r.stop_execution {
        item.insert("stop_execution".into(), s(e));
    }
    if let Some(a) = &r.archive_uri {
        item.insert("archive_uri".into(), s(a));
    }
    item.insert("split_docs".into(), n(r.range_split.max_docs));
    item.insert("split_bytes".into(), n(r.range_split.max_bytes));
    // Read as a whole, never queried: one JSON attribute.
    if !r.type_mappings.is_empty() {
        let json = serde_json::to_string(&r.type_mappings).expect("type mappings serialise");
        item.insert("type_mappings".into(), s(json));
    }
    item
}

pub(crate) fn item_to_record(item: &Item) -> Result<BackfillRecord, StoreError> {
    let bad = |what: &str| StoreError::Other(format!("backfill record has no valid {what}"));
    Ok(BackfillRecord {
        id: get_s(item, "id").ok_or_else(|| bad("id"))?,
        state: get_s(item, "state")
            .and_then(|s| BackfillState::parse(&s))
            .ok_or_else(|| bad("state"))?,
        snapshot: SnapshotRef {
            repository: get_s(item, "snapshot_repository")
                .ok_or_else(|| bad("snapshot_repository"))?,
            name: get_s(item, "snapshot_name").ok_or_else(|| bad("snapshot_name"))?,
        },
        target: TargetRef {
            endpoint: get_s(item, "target_endpoint").unwrap_or_default(),
        },
        indices: item
            .get("indices")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
            .unwrap_or_default(),
        include_system_indices: get_bool(item, "include_system_indices").unwrap_or(false),
        create_missing_indices: get_bool(item, "create_missing_indices").unwrap_or(false),
        desired_workers: get_n(item, "desired_workers").unwrap_or(0),
        created_at: get_n(item, "created_at").unwrap_or(0),
        updated_at: get_n(item, "updated_at").unwrap_or(0),
        started_at: get_n(item, "started_at"),
        completed_at: get_n(item, "completed_at"),
        stop_execution: get_s(item, "stop_execution"),
        archive_uri: get_s(item, "archive_uri"),
        range_split: {
            let d = RangeSplit::default();
            RangeSplit {
                max_docs: get_n(item, "split_docs").unwrap_or(d.max_docs),
                max_bytes: get_n(item, "split_bytes").unwrap_or(d.max_bytes),
            }
        },
        type_mappings: match get_s(item, "type_mappings") {
            Some(j) => serde_json::from_str(&j).map_err(|_| bad("type_mappings"))?,
            None => Default::default(),
        },
    })
}

impl DynamoStore {
    pub(crate) async fn put_backfill(&self, record: &BackfillRecord) -> Result<bool, StoreError> {
        let r = self
            .client()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record_to_item(record)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }

    pub(crate) async fn get_backfill(
        &self,
        id: &str,
    ) -> Result<Option<BackfillRecord>, StoreError> {
        let r = self
            .client()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(backfill_pk(id), META_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        r.item().map(item_to_record).transpose()
    }

    pub(crate) async fn update_state(
        &self,
        id: &str,
        change: &StateChange<'_>,
        now: i64,
    ) -> Result<BackfillRecord, StoreError> {
        if change.from().is_empty() {
            return Err(StoreError::Other(format!(
                "a state change of backfill {id} names no state it may leave"
            )));
        }
        let mut values: HashMap<String, AttributeValue> = HashMap::new();
        let mut allowed = Vec::new();
        for (i, st) in change.from().iter().enumerate() {
            values.insert(format!(":from{i}"), s(st.as_str()));
            allowed.push(format!(":from{i}"));
        }
        values.insert(":now".into(), n(now));
        let mut sets = vec!["updated_at = :now".to_string()];
        if let Some(to) = change.to {
            values.insert(":to".into(), s(to.as_str()));
            sets.push("#state = :to".into());
        }
        if let Some(d) = change.desired {
            values.insert(":desired".into(), n(d));
            sets.push("desired_workers = :desired".into());
        }
        if change.mark_started {
            sets.push("started_at = if_not_exists(started_at, :now)".into());
        }
        if change.mark_completed {
            sets.push("completed_at = :now".into());
        }
        if let Some(e) = change.stop_execution {
            values.insert(":exec".into(), s(e));
            sets.push("stop_execution = :exec".into());
        }
        if let Some(a) = change.archive_uri {
            values.insert(":archive".into(), s(a));
            sets.push("archive_uri = :archive".into());
        }
        // The transition's rule, as a condition: the write happens only in a state it may leave.
        let condition = format!(
            "attribute_exists(#sk) AND #state IN ({})",
            allowed.join(", ")
        );
        let names = HashMap::from([
            ("#sk".to_string(), SORT_KEY.to_string()),
            ("#state".to_string(), "state".to_string()),
        ]);
        let r = self
            .client()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(backfill_pk(id), META_SK)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            // The state that won a race, read in the same request that lost it.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match r {
            Ok(out) => item_to_record(
                out.attributes()
                    .ok_or_else(|| StoreError::Other("UpdateItem returned no record".into()))?,
            ),
            Err(SdkError::ServiceError(se))
                if matches!(
                    se.err(),
                    UpdateItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                let UpdateItemError::ConditionalCheckFailedException(failed) = se.err() else {
                    unreachable!("matched above")
                };
                match failed.item() {
                    None => Err(StoreError::NoSuchBackfill(id.to_string())),
                    Some(old) => Err(StoreError::conflict(
                        id,
                        item_to_record(old)?.state,
                        change.from(),
                    )),
                }
            }
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    pub(crate) async fn get_counters(&self, id: &str) -> Result<Counters, StoreError> {
        let r = self
            .client()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(backfill_pk(id), COUNTERS_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        let Some(item) = r.item() else {
            return Ok(Counters::default());
        };
        let g = |k: &str| get_n::<u64>(item, k).unwrap_or(0);
        Ok(Counters {
            items_total: g("items_total"),
            items_completed: g("items_completed"),
            items_failed: g("items_failed"),
            docs_done: g("docs_done"),
            bytes_done: g("bytes_done"),
            docs_rejected: g("docs_rejected"),
            docs_expected: g("docs_expected"),
            items_measured: g("items_measured"),
            ranges_total: g("ranges_total"),
            ranges_completed: g("ranges_completed"),
            ranges_failed: g("ranges_failed"),
        })
    }
}

#[cfg(test)]
mod type_mapping_tests {
    use super::*;

    #[test]
    fn type_mappings_survive_the_item_round_trip() {
        let plain = BackfillRecord::new(
            "bf",
            SnapshotRef {
                repository: "s3://b/r".into(),
                name: "snap".into(),
            },
            TargetRef {
                endpoint: "https://t".into(),
            },
            1,
        );
        let item = record_to_item(&plain);
        assert!(!item.contains_key("type_mappings"));
        assert_eq!(item_to_record(&item).unwrap(), plain);
        let mut typed = plain.clone();
        typed.type_mappings = backfill_core::type_mapping::TypeMappings {
            rules: vec!["logs/*=logs".parse().unwrap()],
            merged: [("logs".into(), vec!["logs/a".into(), "logs/b".into()])].into(),
        };
        assert_eq!(item_to_record(&record_to_item(&typed)).unwrap(), typed);
    }
}
