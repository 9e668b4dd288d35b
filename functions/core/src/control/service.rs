//! The control plane's handlers: start, scale, pause, stop, status, the progress poller, and the
//! stop workflow's tasks. Each is one function over the ports; Lambdas, the local API and the
//! CLI call these.

use std::sync::Arc;

use super::api::*;
use super::ports::{ArchiveStore, Fleet, FleetState, ProgressSink, StopWorkflow, TargetClusters};
use crate::lease::{now_ms, LeasePolicy};
use crate::model::{BackfillRecord, BackfillState, ItemKey, NewItem, SnapshotRef, TargetRef};
use crate::store::{StateChange, StoreError, WorkStore};
use crate::transition::ScaleRefused;
use crate::worker::SnapshotSource;

/// What a deployment is configured with (from the Lambda environment or the local setup).
#[derive(Debug, Clone)]
pub struct ControlConfig {
    /// The backfill a request without an id means.
    pub default_backfill: String,
    /// Workers `start` asks for when the request does not say (the seed's default scale).
    pub default_workers: u32,
    /// The most workers `scale` and `start` accept.
    pub max_workers: u32,
    /// How the fleet is named in messages (`Service <cluster>/<service>`, `Local fleet`).
    pub fleet_name: String,
    /// Leases are counted live with the workers' clock-skew allowance.
    pub lease: LeasePolicy,
    /// Defaults for a first start that does not name them.
    pub snapshot_repository: Option<String>,
    pub snapshot_name: Option<String>,
    pub target_endpoint: Option<String>,
    pub create_missing_indices: bool,
    /// Which other targets and repositories a start may name (none by default).
    pub overrides: super::endpoint_policy::OverridePolicy,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            default_backfill: "default".into(),
            default_workers: 5,
            max_workers: 50,
            fleet_name: "Service backfill-workers".into(),
            lease: LeasePolicy::default(),
            snapshot_repository: None,
            snapshot_name: None,
            target_endpoint: None,
            create_missing_indices: false,
            overrides: Default::default(),
        }
    }
}

pub struct Control {
    pub config: ControlConfig,
    pub store: Arc<dyn WorkStore>,
    pub fleet: Arc<dyn Fleet>,
    pub snapshots: Arc<dyn SnapshotSource>,
    pub stop_workflow: Arc<dyn StopWorkflow>,
    pub archive: Arc<dyn ArchiveStore>,
    pub progress: Arc<dyn ProgressSink>,
    /// The target clusters' `_cat/indices`, for validation.
    pub clusters: Arc<dyn TargetClusters>,
}

pub(super) fn fleet_line(name: &str, f: &FleetState) -> String {
    format!(
        "{name} set to {} desired count. Currently {} running and {} pending.",
        f.desired, f.running, f.pending
    )
}

/// `name` matches a selection entry: exact, or a `prefix*` pattern.
pub(super) fn selected(name: &str, selection: &[String], include_system: bool) -> bool {
    if name.starts_with('.') && !include_system {
        return false;
    }
    selection.is_empty()
        || selection.iter().any(|s| match s.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => s == name,
        })
}

impl Control {
    pub(super) fn id(&self, requested: &Option<String>) -> Result<String, ControlError> {
        let id = requested
            .clone()
            .unwrap_or_else(|| self.config.default_backfill.clone());
        if id.is_empty()
            || id.len() > 128
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(ControlError::BadRequest(format!(
                "backfill id {id:?} must be 1 to 128 letters, digits, '-', '_' or '.'"
            )));
        }
        Ok(id)
    }

    fn workers(&self, n: Option<i64>) -> Result<u32, ControlError> {
        let n = n.unwrap_or(self.config.default_workers as i64);
        if n < 0 || n > self.config.max_workers as i64 {
            return Err(ControlError::BadRequest(format!(
                "the number of workers must be between 0 and {}, not {n}",
                self.config.max_workers
            )));
        }
        Ok(n as u32)
    }

    pub(super) async fn record(&self, id: &str) -> Result<BackfillRecord, ControlError> {
        self.store.backfill(id).await?.ok_or_else(|| {
            ControlError::NotFound(format!("backfill {id} does not exist; start it first"))
        })
    }

    /// A state change that lost a race: a stopped backfill says so as `start` and `scale`
    /// always do; any other conflict names the state that won.
    pub(super) fn lost_race(&self, id: &str, e: StoreError) -> ControlError {
        match e {
            StoreError::StateConflict {
                current: BackfillState::Stopped | BackfillState::Stopping,
                ..
            } => ControlError::Conflict(format!(
                "Backfill {id} was stopped by a concurrent call; a stopped backfill cannot be restarted. Start a new backfill with another id."
            )),
            e => e.into(),
        }
    }

    /// Sets the fleet to `workers`, then follows the record: if a concurrent call changed the
    /// desired count meanwhile, the fleet is set again to what the record says. Every writer of
    /// the desired count ends here, so the fleet ends at the record's count whoever calls last
    /// (a `scale 3` racing a `stop` cannot leave workers running on a stopped backfill).
    pub(super) async fn set_fleet(
        &self,
        id: &str,
        mut workers: u32,
    ) -> Result<FleetState, ControlError> {
        for _ in 0..8 {
            let fleet = self.fleet.set_desired(workers).await?;
            let desired = self.record(id).await?.desired_workers;
            if desired == workers {
                return Ok(fleet);
            }
            workers = desired;
        }
        Err(ControlError::Unavailable(format!(
            "the desired worker count of backfill {id} kept changing while the fleet was being set; try again"
        )))
    }

    pub(super) fn stopped_message(r: &BackfillRecord) -> String {
        format!(
            "Backfill {} was stopped{}; a stopped backfill cannot be restarted. Start a new backfill with another id.",
            r.id,
            r.archive_uri
                .as_deref()
                .map(|a| format!(" and its working state archived to {a}"))
                .unwrap_or_default()
        )
    }

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
                keys.extend((0..meta.number_of_shards).map(|shard| ItemKey {
                    index: index.clone(),
                    shard,
                }));
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

    /// Sets the number of workers; above 0 it resumes a paused backfill.
    pub async fn scale(&self, req: ScaleRequest) -> Result<ActionResponse, ControlError> {
        let id = self.id(&req.backfill_id)?;
        let Some(n) = req.workers else {
            return Err(ControlError::BadRequest(
                "missing the number of workers (\"workers\": N)".into(),
            ));
        };
        let workers = self.workers(Some(n))?;
        let record = self.record(&id).await?;
        let change =
            StateChange::scale(record.state, workers).map_err(|refused| match refused {
                ScaleRefused::Stopped => ControlError::Conflict(Self::stopped_message(&record)),
                ScaleRefused::NotStarted => ControlError::Conflict(format!(
                    "backfill {id} has not started yet; start it first"
                )),
                ScaleRefused::Completed => ControlError::Conflict(format!(
                    "backfill {id} has completed; nothing is left to do"
                )),
            })?;
        let record = self
            .store
            .set_state(&id, &change, now_ms())
            .await
            .map_err(|e| self.lost_race(&id, e))?;
        let fleet = self.set_fleet(&id, workers).await?;
        Ok(ActionResponse {
            backfill_id: id,
            state: record.state,
            message: fleet_line(&self.config.fleet_name, &fleet),
            fleet,
            stop_execution: None,
            items_created: None,
        })
    }

    /// Scales to zero and keeps the state: workers checkpoint and release their leases.
    pub async fn pause(&self, req: BackfillRef) -> Result<ActionResponse, ControlError> {
        let id = self.id(&req.backfill_id)?;
        let record = match self
            .store
            .set_state(&id, &StateChange::pause(), now_ms())
            .await
        {
            Ok(r) => r,
            Err(StoreError::StateConflict { current, .. }) => {
                return Err(ControlError::Conflict(format!(
                    "backfill {id} is {}; only a running backfill can be paused",
                    current.as_str()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let fleet = self.set_fleet(&id, 0).await?;
        Ok(ActionResponse {
            backfill_id: id,
            state: record.state,
            message: format!(
                "Backfill paused successfully.\n{}",
                fleet_line(&self.config.fleet_name, &fleet)
            ),
            fleet,
            stop_execution: None,
            items_created: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_selection_takes_names_and_prefixes_and_skips_system_indices() {
        let sel = vec!["logs-*".to_string(), "users".to_string()];
        assert!(selected("logs-2024", &sel, false));
        assert!(selected("users", &sel, false));
        assert!(!selected("users2", &sel, false));
        assert!(!selected(".kibana", &[], false));
        assert!(selected(".kibana", &[], true));
        assert!(selected("anything", &[], false));
    }
}
