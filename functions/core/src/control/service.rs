//! The control plane's handlers: start, scale, pause, stop, status, the progress poller, and the
//! stop workflow's tasks. Each is one function over the ports; Lambdas, the local API and the
//! CLI call these.

use std::sync::Arc;

use super::api::*;
use super::ports::{ArchiveStore, Fleet, FleetState, Gauge, ProgressSink, StopWorkflow};
use crate::lease::{now_ms, LeasePolicy};
use crate::model::{BackfillRecord, BackfillState, ItemKey, NewItem, SnapshotRef, TargetRef};
use crate::store::{StateChange, StoreError, WorkStore};
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
}

/// Where archives go, relative to the archive location (as the seed names them).
pub fn archive_key(now_ms: i64) -> String {
    format!(
        "backfill_working_state/working_state_backup_{}.json",
        utc_compact(now_ms)
    )
}

/// `yyyyMMddHHmmss` in UTC.
fn utc_compact(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn fleet_line(name: &str, f: &FleetState) -> String {
    format!(
        "{name} set to {} desired count. Currently {} running and {} pending.",
        f.desired, f.running, f.pending
    )
}

/// `name` matches a selection entry: exact, or a `prefix*` pattern.
fn selected(name: &str, selection: &[String], include_system: bool) -> bool {
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
    fn id(&self, requested: &Option<String>) -> Result<String, ControlError> {
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

    async fn record(&self, id: &str) -> Result<BackfillRecord, ControlError> {
        self.store.backfill(id).await?.ok_or_else(|| {
            ControlError::NotFound(format!("backfill {id} does not exist; start it first"))
        })
    }

    fn stopped_message(r: &BackfillRecord) -> String {
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
                let record = BackfillRecord {
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
        let change = StateChange {
            from: &[
                BackfillState::Created,
                BackfillState::Paused,
                BackfillState::Running,
            ],
            to: Some(BackfillState::Running),
            desired: Some(workers),
            mark_started: true,
            ..StateChange::default()
        };
        record = self.store.set_state(&id, &change, now_ms()).await?;
        let fleet = self.fleet.set_desired(workers).await?;
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
        let to = match record.state {
            BackfillState::Stopped | BackfillState::Stopping => {
                // The stop workflow scales to zero through here: let that through.
                if workers == 0 {
                    record.state
                } else {
                    return Err(ControlError::Conflict(Self::stopped_message(&record)));
                }
            }
            BackfillState::Created => {
                return Err(ControlError::Conflict(format!(
                    "backfill {id} has not started yet; start it first"
                )));
            }
            BackfillState::Completed if workers > 0 => {
                return Err(ControlError::Conflict(format!(
                    "backfill {id} has completed; nothing is left to do"
                )));
            }
            BackfillState::Paused if workers > 0 => BackfillState::Running,
            other => other,
        };
        let change = StateChange {
            to: Some(to),
            desired: Some(workers),
            mark_started: to == BackfillState::Running,
            ..StateChange::default()
        };
        let record = self.store.set_state(&id, &change, now_ms()).await?;
        let fleet = self.fleet.set_desired(workers).await?;
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
        let change = StateChange {
            from: &[BackfillState::Running, BackfillState::Paused],
            to: Some(BackfillState::Paused),
            desired: Some(0),
            ..StateChange::default()
        };
        let record = match self.store.set_state(&id, &change, now_ms()).await {
            Ok(r) => r,
            Err(StoreError::Conflict(_)) => {
                let r = self.record(&id).await?;
                return Err(ControlError::Conflict(format!(
                    "backfill {id} is {}; only a running backfill can be paused",
                    r.state.as_str()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let fleet = self.fleet.set_desired(0).await?;
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

    /// Starts the stop workflow: scale to zero, wait for the fleet to drain, archive the
    /// working state, delete it, mark the backfill stopped.
    pub async fn stop(&self, req: BackfillRef) -> Result<ActionResponse, ControlError> {
        let id = self.id(&req.backfill_id)?;
        let record = self.record(&id).await?;
        match record.state {
            BackfillState::Stopped => {
                let fleet = self.fleet.state().await?;
                return Ok(ActionResponse {
                    backfill_id: id,
                    state: record.state,
                    fleet,
                    message: format!(
                        "Backfill already stopped.{}",
                        record
                            .archive_uri
                            .map(|a| format!("\nBackfill working state archived to: {a}"))
                            .unwrap_or_default()
                    ),
                    stop_execution: record.stop_execution,
                    items_created: None,
                });
            }
            BackfillState::Stopping if record.stop_execution.is_some() => {
                let fleet = self.fleet.state().await?;
                return Ok(ActionResponse {
                    backfill_id: id,
                    state: record.state,
                    fleet,
                    message: "Backfill is already stopping.".into(),
                    stop_execution: record.stop_execution,
                    items_created: None,
                });
            }
            _ => {}
        }
        let change = StateChange {
            to: Some(BackfillState::Stopping),
            desired: Some(0),
            ..StateChange::default()
        };
        self.store.set_state(&id, &change, now_ms()).await?;
        let fleet = self.fleet.set_desired(0).await?;
        let execution =
            self.stop_workflow.start(&id).await.map_err(|e| {
                ControlError::Unavailable(format!("starting the stop workflow: {e}"))
            })?;
        let note = StateChange {
            stop_execution: Some(&execution),
            ..StateChange::default()
        };
        let record = self.store.set_state(&id, &note, now_ms()).await?;
        Ok(ActionResponse {
            backfill_id: id,
            state: record.state,
            message: format!(
                "Backfill stopped successfully.\n{}",
                fleet_line(&self.config.fleet_name, &fleet)
            ),
            fleet,
            stop_execution: Some(execution),
            items_created: None,
        })
    }

    /// The seed's status, with shard counts at constant cost (one counters read and one count
    /// query per bucket of the open-items index) and progress figures.
    pub async fn status(&self, req: StatusRequest) -> Result<StatusReport, ControlError> {
        let id = self.id(&req.backfill_id)?;
        let fleet = self.fleet.state().await?;
        let Some(record) = self.store.backfill(&id).await? else {
            return Ok(StatusReport {
                backfill_id: id,
                status: BackfillStatus::NotStarted,
                state: None,
                fleet,
                shards: None,
                documents: 0,
                bytes: 0,
                rejected: 0,
                documents_expected: 0,
                percent: 0.0,
                rate: None,
                eta_seconds: None,
                failed_shards: Vec::new(),
                started_at: None,
                completed_at: None,
                stop_execution: None,
                archive_uri: None,
            });
        };
        let status = if record.state == BackfillState::Stopping
            || (fleet.terminating > 0 && fleet.desired == 0)
        {
            BackfillStatus::Terminating
        } else if fleet.running > 0 {
            BackfillStatus::Running
        } else if fleet.pending > 0 {
            BackfillStatus::Starting
        } else {
            BackfillStatus::Stopped
        };
        let now = now_ms();
        let counters = self.store.counters(&id).await?;
        let shards = if record.state == BackfillState::Stopped || counters.items_total == 0 {
            None
        } else {
            let in_progress = self.store.in_progress(&id, now, &self.config.lease).await?;
            let incomplete = counters.items_total - counters.items_completed;
            let open = incomplete.saturating_sub(counters.items_failed);
            Some(ShardCounts {
                total: counters.items_total,
                completed: counters.items_completed,
                incomplete,
                in_progress: in_progress.min(open),
                unclaimed: open.saturating_sub(in_progress),
                failed: counters.items_failed,
            })
        };
        let failed_shards = if counters.items_failed > 0 {
            self.store
                .failed_items(&id, 50)
                .await?
                .into_iter()
                .map(|i| FailedShard {
                    index: i.key.index,
                    shard: i.key.shard,
                    failures: i.failures,
                    reason: i.last_error,
                })
                .collect()
        } else {
            Vec::new()
        };
        let done_items = counters.items_completed + counters.items_failed;
        let percent = if counters.items_total > 0 && done_items == counters.items_total {
            100.0
        } else if counters.items_measured > 0
            && counters.items_measured == counters.items_total
            && counters.docs_expected > 0
        {
            (100.0 * counters.docs_done as f64 / counters.docs_expected as f64).min(99.9)
        } else if counters.items_total > 0 {
            // Until every shard has been opened and counted, estimate from the measured ones.
            let per_item = if counters.items_measured > 0 {
                counters.docs_expected as f64 / counters.items_measured as f64
            } else {
                0.0
            };
            let estimate = per_item * counters.items_total as f64;
            if estimate > 0.0 {
                (100.0 * counters.docs_done as f64 / estimate).min(99.9)
            } else {
                100.0 * done_items as f64 / counters.items_total as f64
            }
        } else {
            0.0
        };
        let end = record.completed_at.unwrap_or(now);
        let rate = record
            .started_at
            .map(|s| (end - s).max(1) as f64 / 1000.0)
            .map(|secs| counters.docs_done as f64 / secs);
        let eta_seconds = match (record.started_at, percent) {
            (Some(s), p) if p > 0.0 && p < 100.0 && record.state == BackfillState::Running => {
                let elapsed = (now - s).max(0) as f64 / 1000.0;
                Some(elapsed * (100.0 - p) / p)
            }
            _ => None,
        };
        Ok(StatusReport {
            backfill_id: id,
            status,
            state: Some(record.state),
            fleet,
            shards,
            documents: counters.docs_done,
            bytes: counters.bytes_done,
            rejected: counters.docs_rejected,
            documents_expected: counters.docs_expected,
            percent,
            rate,
            eta_seconds,
            failed_shards,
            started_at: record.started_at,
            completed_at: record.completed_at,
            stop_execution: record.stop_execution,
            archive_uri: record.archive_uri,
        })
    }

    /// The scheduled progress poller: publishes progress, reports stale leases, and when every
    /// item is completed or failed marks the backfill completed and scales the fleet to zero.
    pub async fn poll(&self, req: BackfillRef) -> Result<PollReport, ControlError> {
        let id = self.id(&req.backfill_id)?;
        let Some(record) = self.store.backfill(&id).await? else {
            return Ok(PollReport {
                backfill_id: id,
                state: None,
                completed_now: false,
                stale_leases: Vec::new(),
                published: 0,
            });
        };
        if record.state != BackfillState::Running {
            return Ok(PollReport {
                backfill_id: id,
                state: Some(record.state),
                completed_now: false,
                stale_leases: Vec::new(),
                published: 0,
            });
        }
        let now = now_ms();
        let report = self
            .status(StatusRequest {
                backfill_id: Some(id.clone()),
                deep_check: true,
            })
            .await?;
        let stale: Vec<String> = self
            .store
            .expired_leases(&id, now, &self.config.lease, 20)
            .await?
            .into_iter()
            .map(|i| {
                format!(
                    "{} (held by {}, lease expired {} s ago, at {})",
                    i.key,
                    i.lease_holder.unwrap_or_default(),
                    (now - i.lease_expiry) / 1000,
                    i.position
                )
            })
            .collect();
        for s in &stale {
            tracing::warn!(backfill = %id, lease = %s, "lease expired without progress");
        }
        let shards = report.shards.unwrap_or_default();
        let gauges = vec![
            Gauge {
                name: "ShardsTotal",
                value: shards.total as f64,
                unit: "Count",
            },
            Gauge {
                name: "ShardsCompleted",
                value: shards.completed as f64,
                unit: "Count",
            },
            Gauge {
                name: "ShardsInProgress",
                value: shards.in_progress as f64,
                unit: "Count",
            },
            Gauge {
                name: "ShardsUnclaimed",
                value: shards.unclaimed as f64,
                unit: "Count",
            },
            Gauge {
                name: "ShardsFailed",
                value: shards.failed as f64,
                unit: "Count",
            },
            Gauge {
                name: "DocumentsMigrated",
                value: report.documents as f64,
                unit: "Count",
            },
            Gauge {
                name: "BytesMigrated",
                value: report.bytes as f64,
                unit: "Bytes",
            },
            Gauge {
                name: "DocumentsRejected",
                value: report.rejected as f64,
                unit: "Count",
            },
            Gauge {
                name: "PercentComplete",
                value: report.percent,
                unit: "Percent",
            },
            Gauge {
                name: "WorkersDesired",
                value: report.fleet.desired as f64,
                unit: "Count",
            },
            Gauge {
                name: "WorkersRunning",
                value: report.fleet.running as f64,
                unit: "Count",
            },
            Gauge {
                name: "StaleLeases",
                value: stale.len() as f64,
                unit: "Count",
            },
        ];
        self.progress
            .publish(&id, &gauges)
            .await
            .map_err(|e| ControlError::Unavailable(format!("publishing progress metrics: {e}")))?;
        let mut completed_now = false;
        if shards.total > 0 && shards.completed + shards.failed == shards.total {
            let change = StateChange {
                from: &[BackfillState::Running],
                to: Some(BackfillState::Completed),
                desired: Some(0),
                mark_completed: true,
                ..StateChange::default()
            };
            match self.store.set_state(&id, &change, now_ms()).await {
                Ok(_) => {
                    self.fleet.set_desired(0).await?;
                    completed_now = true;
                    tracing::info!(backfill = %id, "every shard is done: backfill completed, fleet scaled to 0");
                }
                // Someone paused or stopped it meanwhile: leave it to them.
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(PollReport {
            backfill_id: id,
            state: Some(if completed_now {
                BackfillState::Completed
            } else {
                record.state
            }),
            completed_now,
            stale_leases: stale,
            published: gauges.len(),
        })
    }

    /// Stop workflow, step 2: has the fleet drained (0 running, 0 pending)?
    pub async fn drain_check(&self, req: BackfillRef) -> Result<DrainReport, ControlError> {
        let id = self.id(&req.backfill_id)?;
        let fleet = self.fleet.state().await?;
        Ok(DrainReport {
            backfill_id: id,
            drained: fleet.drained(),
            fleet,
        })
    }

    /// Stop workflow, step 3: writes every working-state item (record, counters, items) to the
    /// archive as one JSON document.
    pub async fn archive_state(&self, req: BackfillRef) -> Result<ArchiveReport, ControlError> {
        let id = self.id(&req.backfill_id)?;
        let record = self.record(&id).await?;
        let counters = self.store.counters(&id).await?;
        let items = self.store.items(&id).await?;
        let now = now_ms();
        let doc = serde_json::json!({
            "backfill": record,
            "counters": counters,
            "items": items,
            "archived_at": now,
            "format": "backfill-working-state/1",
        });
        let body =
            serde_json::to_vec_pretty(&doc).map_err(|e| ControlError::Internal(e.to_string()))?;
        let uri = self
            .archive
            .put(&archive_key(now), body)
            .await
            .map_err(|e| ControlError::Unavailable(format!("writing the archive: {e}")))?;
        Ok(ArchiveReport {
            backfill_id: id,
            archive_uri: uri,
            items: items.len() as u64,
        })
    }

    /// Stop workflow, steps 4 and 5: deletes the working state and marks the backfill stopped.
    pub async fn finalize_stop(
        &self,
        req: FinalizeRequest,
    ) -> Result<ActionResponse, ControlError> {
        let id = self.id(&req.backfill_id)?;
        let Some(archive) = req.archive_uri.as_deref() else {
            return Err(ControlError::BadRequest(
                "missing archive_uri: the working state is only deleted once archived".into(),
            ));
        };
        self.store.delete_working_state(&id).await?;
        let change = StateChange {
            from: &[BackfillState::Stopping, BackfillState::Stopped],
            to: Some(BackfillState::Stopped),
            desired: Some(0),
            archive_uri: Some(archive),
            ..StateChange::default()
        };
        let record = self.store.set_state(&id, &change, now_ms()).await?;
        let fleet = self.fleet.state().await?;
        Ok(ActionResponse {
            backfill_id: id,
            state: record.state,
            fleet,
            message: format!("Backfill working state archived to: {archive}"),
            stop_execution: record.stop_execution,
            items_created: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_use_utc_compact_timestamps() {
        // 2026-11-27 23:45:07 UTC
        assert_eq!(
            archive_key(1_795_823_107_000),
            "backfill_working_state/working_state_backup_20261127234507.json"
        );
        assert_eq!(utc_compact(0), "19700101000000");
        assert_eq!(utc_compact(951_782_400_000), "20000229000000");
    }

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
