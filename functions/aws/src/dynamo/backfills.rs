//! Backfill records and counters.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use backfill_core::model::{BackfillRecord, BackfillState, Counters, SnapshotRef, TargetRef};
use backfill_core::table::{backfill_pk, COUNTERS_SK, META_SK, PARTITION_KEY, SORT_KEY};
use backfill_core::StoreError;

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
        from: &[BackfillState],
        to: BackfillState,
        desired: Option<u32>,
        now: i64,
    ) -> Result<BackfillRecord, StoreError> {
        let mut values: HashMap<String, AttributeValue> = HashMap::new();
        let mut allowed = Vec::new();
        for (i, st) in from.iter().enumerate() {
            values.insert(format!(":from{i}"), s(st.as_str()));
            allowed.push(format!(":from{i}"));
        }
        values.insert(":to".into(), s(to.as_str()));
        values.insert(":now".into(), n(now));
        let mut update = "SET #state = :to, updated_at = :now".to_string();
        if let Some(d) = desired {
            values.insert(":desired".into(), n(d));
            update.push_str(", desired_workers = :desired");
        }
        let r = self
            .client()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(backfill_pk(id), META_SK)))
            .update_expression(update)
            .condition_expression(format!(
                "attribute_exists(#sk) AND #state IN ({})",
                allowed.join(", ")
            ))
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#sk", SORT_KEY)
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match r {
            Ok(out) => item_to_record(
                out.attributes()
                    .ok_or_else(|| StoreError::Other("UpdateItem returned no record".into()))?,
            ),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                match self.get_backfill(id).await? {
                    None => Err(StoreError::NoSuchBackfill(id.to_string())),
                    Some(current) => Err(StoreError::Conflict(format!(
                        "backfill {id} is {}, not {}",
                        current.state.as_str(),
                        from.iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ))),
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
        })
    }
}
