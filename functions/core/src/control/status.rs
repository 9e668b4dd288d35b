//! `status`: the seed's status text and a report of progress (documents, bytes, percent, rate,
//! ETA, failed shards), at a cost that does not grow with the number of shards.

use super::api::*;
use super::Control;
use crate::lease::now_ms;
use crate::model::BackfillState;

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
                ranges: None,
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
        let (shards, ranges) =
            if record.state == BackfillState::Stopped || counters.items_total == 0 {
                (None, None)
            } else {
                let held = self.store.in_progress(&id, now, &self.config.lease).await?;
                let incomplete = counters.items_total - counters.items_completed;
                let open = incomplete.saturating_sub(counters.items_failed);
                let shards = ShardCounts {
                    total: counters.items_total,
                    completed: counters.items_completed,
                    incomplete,
                    in_progress: held.shards.min(open),
                    unclaimed: open.saturating_sub(held.shards),
                    failed: counters.items_failed,
                };
                let ranges = (counters.ranges_total > 0).then_some(RangeCounts {
                    total: counters.ranges_total,
                    completed: counters.ranges_completed,
                    in_progress: held.ranges,
                    failed: counters.ranges_failed,
                });
                (Some(shards), ranges)
            };
        let failed_shards = if counters.items_failed > 0 {
            self.store
                .failed_items(&id, 50)
                .await?
                .into_iter()
                .map(|i| FailedShard {
                    range: i.is_range().then_some(i.key.range),
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
            ranges,
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
}
