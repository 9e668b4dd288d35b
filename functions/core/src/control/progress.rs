//! Progress: the status report and the scheduled poller that publishes it, reports stale
//! leases and completes a backfill whose shards are all done.

use super::api::*;
use super::ports::Gauge;
use super::service::Control;
use crate::lease::now_ms;
use crate::model::BackfillState;
use crate::store::{StateChange, StoreError};

/// What the poller publishes, one named field per metric. Levels, not events: names differ
/// from the workers' per-interval counts (`ShardsCompleted`, `DocumentsRejected`, …) in the
/// same namespace, which would otherwise mix the two.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProgressMetrics {
    pub shards_total: u64,
    pub shards_completed: u64,
    pub shards_in_progress: u64,
    pub shards_unclaimed: u64,
    pub shards_failed: u64,
    pub documents: u64,
    pub bytes: u64,
    pub documents_rejected: u64,
    pub percent: f64,
    pub workers_desired: u32,
    pub workers_running: u32,
    pub stale_leases: u64,
}

impl ProgressMetrics {
    /// Each metric with its CloudWatch name and unit, beside its value.
    pub fn gauges(&self) -> Vec<Gauge> {
        let g = |name, value: f64, unit| Gauge { name, value, unit };
        vec![
            g("ShardsTotal", self.shards_total as f64, "Count"),
            g(
                "ShardsCompletedTotal",
                self.shards_completed as f64,
                "Count",
            ),
            g("ShardsInProgress", self.shards_in_progress as f64, "Count"),
            g("ShardsUnclaimed", self.shards_unclaimed as f64, "Count"),
            g("ShardsFailedTotal", self.shards_failed as f64, "Count"),
            g("DocumentsMigrated", self.documents as f64, "Count"),
            g("BytesMigrated", self.bytes as f64, "Bytes"),
            g(
                "DocumentsRejectedTotal",
                self.documents_rejected as f64,
                "Count",
            ),
            g("PercentComplete", self.percent, "Percent"),
            g("WorkersDesired", self.workers_desired as f64, "Count"),
            g("WorkersRunning", self.workers_running as f64, "Count"),
            g("StaleLeases", self.stale_leases as f64, "Count"),
        ]
    }

    /// Every metric's name and unit (for the dashboard's checks).
    pub fn names_and_units() -> Vec<(&'static str, &'static str)> {
        ProgressMetrics::default()
            .gauges()
            .into_iter()
            .map(|g| (g.name, g.unit))
            .collect()
    }
}

impl Control {
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
                stop_status: None,
                archive_uri: None,
                snapshot: None,
                target_endpoint: None,
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
        // While stopping, where the workflow is (it may have failed, e.g. the fleet did not drain).
        let stop_status = match (&record.state, &record.stop_execution) {
            (BackfillState::Stopping, Some(execution)) => {
                match self.stop_workflow.status(execution).await {
                    Ok(s) => Some(s),
                    Err(e) => {
                        tracing::warn!(backfill = %id, error = %e, "reading the stop workflow's status");
                        None
                    }
                }
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
            stop_status,
            stop_execution: record.stop_execution,
            archive_uri: record.archive_uri,
            snapshot: Some(record.snapshot),
            target_endpoint: Some(record.target.endpoint),
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
        let gauges = ProgressMetrics {
            shards_total: shards.total,
            shards_completed: shards.completed,
            shards_in_progress: shards.in_progress,
            shards_unclaimed: shards.unclaimed,
            shards_failed: shards.failed,
            documents: report.documents,
            bytes: report.bytes,
            documents_rejected: report.rejected,
            percent: report.percent,
            workers_desired: report.fleet.desired,
            workers_running: report.fleet.running,
            stale_leases: stale.len() as u64,
        }
        .gauges();
        self.progress
            .publish(&id, &gauges)
            .await
            .map_err(|e| e.context("publishing progress metrics"))?;
        let mut completed_now = false;
        if shards.total > 0 && shards.completed + shards.failed == shards.total {
            match self
                .store
                .set_state(&id, &StateChange::complete(), now_ms())
                .await
            {
                Ok(_) => {
                    self.set_fleet(&id, 0).await?;
                    completed_now = true;
                    tracing::info!(backfill = %id, "every shard is done: backfill completed, fleet scaled to 0");
                }
                // Someone paused or stopped it meanwhile: their state stands.
                Err(StoreError::StateConflict { .. }) => {}
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
}
