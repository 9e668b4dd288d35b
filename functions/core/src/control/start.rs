//! `start`: the first start records the backfill and creates its work items; a later one
//! resumes a paused backfill.

use super::api::*;
use super::{fleet_line, selected, Control};
use crate::lease::now_ms;
use crate::model::{BackfillRecord, BackfillState, ItemKey, NewItem, SnapshotRef, TargetRef};
use crate::store::StateChange;

impl Control {
    /// First start: records the backfill and creates one work item per shard of the selected
    /// indices; later starts resume a paused backfill. Concurrent starts create one set of items.
    pub async fn start(&self, req: StartRequest) -> Result<ActionResponse, ControlError> {
        let id = self.id(&req.backfill_id)?;
        let workers = self.workers(req.workers)?;
        let mut record = match self.store.backfill(&id).await? {
            Some(r) => r,
            None => {
                super::endpoint_policy::check_start(&self.config, &req)?;
                let repository = req
                    .snapshot_repository
                    .clone()
                    .or_else(|| self.config.snapshot_repository.clone())
                    .ok_or_else(|| ControlError::BadRequest("no snapshot repository: pass snapshot_repository (s3://bucket/prefix) or deploy with a default".into()))?;
                let name = req
                    .snapshot_name
                    .clone()
                    .or_else(|| self.config.snapshot_name.clone())
                    .ok_or_else(|| {
                        ControlError::BadRequest(
                            "no snapshot name: pass snapshot_name or deploy with a default".into(),
                        )
                    })?;
                let endpoint = req
                    .target_endpoint
                    .clone()
                    .or_else(|| self.config.target_endpoint.clone())
                    .ok_or_else(|| {
                        ControlError::BadRequest(
                            "no target: pass target_endpoint or deploy with a default".into(),
                        )
                    })?;
                let now = now_ms();
                // Checked before the record exists, so that a refusal leaves nothing behind.
                let type_mappings = self.type_mappings_for(&repository, &name, &req).await?;
                let record = BackfillRecord {
                    type_mappings,
                    indices: req.indices.clone(),
                    include_system_indices: req.include_system_indices,
                    create_missing_indices: req
                        .create_missing_indices
                        .unwrap_or(self.config.create_missing_indices),
                    desired_workers: workers,
                    range_split: {
                        let d = crate::split::RangeSplit::default();
                        crate::split::RangeSplit {
                            max_docs: req.split_docs.unwrap_or(d.max_docs),
                            max_bytes: req.split_bytes.unwrap_or(d.max_bytes),
                        }
                    },
                    ..BackfillRecord::new(
                        &id,
                        SnapshotRef { repository, name },
                        TargetRef { endpoint },
                        now,
                    )
                };
                // A concurrent start may win the creation; then carry on with its record.
                self.store.create_backfill(&record).await?;
                self.record(&id).await?
            }
        };
        super::types::same_type_mappings(&record, &req)?;
        let mut items_created = None;
        match record.state {
            BackfillState::Stopped | BackfillState::Stopping => {
                return Err(ControlError::Conflict(Self::stopped_message(&record)));
            }
            BackfillState::Completed => {
                let fleet = self.fleet.state().await?;
                return Ok(ActionResponse {
                    backfill_id: id.clone(),
                    state: record.state,
                    fleet,
                    message: format!("Backfill {id} has already completed; nothing to start."),
                    stop_execution: None,
                    items_created: None,
                });
            }
            BackfillState::Created => {
                items_created = Some(self.create_items(&record).await?);
            }
            BackfillState::Paused | BackfillState::Running => {}
        }
        record = self
            .store
            .set_state(&id, &StateChange::start(workers), now_ms())
            .await
            .map_err(|e| self.lost_race(&id, e))?;
        let fleet = self.set_fleet(&id, workers).await?;
        Ok(ActionResponse {
            backfill_id: id,
            state: record.state,
            message: format!(
                "Backfill started successfully.\n{}",
                fleet_line(&self.config.fleet_name, &fleet)
            ),
            fleet,
            stop_execution: None,
            items_created,
        })
    }

    async fn create_items(&self, record: &BackfillRecord) -> Result<u64, ControlError> {
        let snapshots = self.snapshots.clone();
        let (repo, name) = (
            record.snapshot.repository.clone(),
            record.snapshot.name.clone(),
        );
        let (selection, system) = (record.indices.clone(), record.include_system_indices);
        // Reading repository metadata is blocking I/O.
        let keys = tokio::task::spawn_blocking(move || -> Result<Vec<ItemKey>, snapshot::Error> {
            let snap = snapshots.open(&repo, &name)?;
            let mut keys = Vec::new();
            for index in snap.index_names() {
                if !selected(&index, &selection, system) {
                    continue;
                }
                let meta = snap.index(&index)?;
                keys.extend((0..meta.number_of_shards).map(|shard| ItemKey::shard(&index, shard)));
            }
            Ok(keys)
        })
        .await
        .map_err(|e| ControlError::Internal(format!("listing the snapshot: {e}")))?
        .map_err(|e| {
            if e.is_permanent() {
                ControlError::BadRequest(format!("cannot read the snapshot: {e}"))
            } else {
                ControlError::Unavailable(format!("cannot read the snapshot: {e}"))
            }
        })?;
        if keys.is_empty() {
            return Err(ControlError::BadRequest(format!(
                "snapshot {} has no index matching {:?}{}",
                record.snapshot.name,
                record.indices,
                if record.include_system_indices {
                    ""
                } else {
                    " (system indices, starting with '.', are skipped)"
                }
            )));
        }
        let new: Vec<NewItem> = keys
            .into_iter()
            .map(|key| NewItem {
                key,
                docs_expected: 0,
            })
            .collect();
        Ok(self.store.create_items(&record.id, &new).await?)
    }
}
