//! The scheduled progress poller: publishes progress, reports stale leases and completes a
//! backfill whose shards are all done.

use super::api::*;
use super::ports::Gauge;
use super::Control;
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
    /// Ranges of shards split between workers (0 when none is split).
    pub ranges_total: u64,
    pub ranges_completed: u64,
    pub ranges_in_progress: u64,
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
            g("RangesTotal", self.ranges_total as f64, "Count"),
            g(
                "RangesCompletedTotal",
                self.ranges_completed as f64,
                "Count",
            ),
            g("RangesInProgress", self.ranges_in_progress as f64, "Count"),
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
        let ranges = report.ranges.unwrap_or_default();
        let gauges = ProgressMetrics {
            shards_total: shards.total,
            shards_completed: shards.completed,
            shards_in_progress: shards.in_progress,
            shards_unclaimed: shards.unclaimed,
            shards_failed: shards.failed,
            ranges_total: ranges.total,
            ranges_completed: ranges.completed,
            ranges_in_progress: ranges.in_progress,
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
