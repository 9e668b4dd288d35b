//! The stop path: `stop` starts the workflow; the workflow's tasks check that the fleet has
//! drained, archive the working state and delete it.

use super::api::*;
use super::{fleet_line, Control};
use crate::lease::now_ms;
use crate::model::{BackfillRecord, BackfillState};
use crate::store::{StateChange, StoreError};

/// Where a backfill's archive goes, relative to the archive location: the seed's file name
/// (`working_state_backup_<UTC yyyyMMddHHmmss>.json`) in a folder per backfill, so that two
/// backfills stopped in the same second keep their own archives.
pub fn archive_key(backfill: &str, now_ms: i64) -> String {
    format!(
        "backfill_working_state/{backfill}/working_state_backup_{}.json",
        backfill_asl::UtcTime::from_epoch_ms(now_ms).compact()
    )
}

impl Control {
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
        match self
            .store
            .set_state(&id, &StateChange::stop(), now_ms())
            .await
        {
            Ok(_) => {}
            // Another stop finished first: say so, as for a stop after the fact.
            Err(StoreError::StateConflict {
                current: BackfillState::Stopped,
                ..
            }) => {
                return Box::pin(self.stop(BackfillRef {
                    backfill_id: Some(id),
                }))
                .await
            }
            Err(e) => return Err(e.into()),
        }
        let fleet = self.set_fleet(&id, 0).await?;
        let execution = self
            .stop_workflow
            .start(&id)
            .await
            .map_err(|e| e.context("starting the stop workflow"))?;
        let record = match self
            .store
            .set_state(&id, &StateChange::note_stop_execution(&execution), now_ms())
            .await
        {
            Ok(r) => r,
            // The workflow (or a concurrent one) already finished: the stopped record stands.
            Err(StoreError::StateConflict { .. }) => self.record(&id).await?,
            Err(e) => return Err(e.into()),
        };
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
        if let Some(answer) = not_stopping(&id, &record) {
            return answer;
        }
        let counters = self.store.counters(&id).await?;
        let items = self.store.items(&id).await?;
        // Another run of the workflow may have finalized meanwhile (marked stopped, then
        // deleted items): what was read may then be partial, and the record names the
        // archive that holds everything. Finalize marks before it deletes, so a record still
        // stopping here means that nothing was deleted before the reads above.
        if let Some(answer) = not_stopping(&id, &self.record(&id).await?) {
            return answer;
        }
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
            .put(&archive_key(&id, now), body)
            .await
            .map_err(|e| e.context("writing the archive"))?;
        Ok(ArchiveReport {
            backfill_id: id,
            archive_uri: uri,
            items: items.len() as u64,
        })
    }

    /// Stop workflow, steps 4 and 5: marks the backfill stopped with its archive, then deletes
    /// the working state. Marking first means that of two racing workflows only the first
    /// archive is recorded, and that no working state is deleted before a stopped record names
    /// the archive holding it; a retry after a failed delete deletes again.
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
        let record = match self
            .store
            .set_state(&id, &StateChange::finalize_stop(archive), now_ms())
            .await
        {
            Ok(r) => r,
            Err(StoreError::StateConflict {
                current: BackfillState::Stopped,
                ..
            }) => self.record(&id).await?,
            Err(e) => return Err(e.into()),
        };
        self.store.delete_working_state(&id).await?;
        let fleet = self.fleet.state().await?;
        Ok(ActionResponse {
            backfill_id: id,
            state: record.state,
            fleet,
            message: format!(
                "Backfill working state archived to: {}",
                record.archive_uri.as_deref().unwrap_or(archive)
            ),
            stop_execution: record.stop_execution,
            items_created: None,
        })
    }
}

/// The archive task's answer for a backfill that is not stopping: a stopped one's recorded
/// archive (a retried task, or a second workflow after the first finished: that archive holds
/// the working state), else a conflict. `None` while it is stopping.
fn not_stopping(id: &str, record: &BackfillRecord) -> Option<Result<ArchiveReport, ControlError>> {
    match (record.state, &record.archive_uri) {
        (BackfillState::Stopping, _) => None,
        (BackfillState::Stopped, Some(uri)) => Some(Ok(ArchiveReport {
            backfill_id: id.to_string(),
            archive_uri: uri.clone(),
            items: 0,
        })),
        (other, _) => Some(Err(ControlError::Conflict(format!(
            "backfill {id} is {}: its working state is archived only while it is stopping",
            other.as_str()
        )))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_use_utc_compact_timestamps() {
        // 2026-11-27 23:45:07 UTC
        assert_eq!(
            archive_key("bf-1", 1_795_823_107_000),
            "backfill_working_state/bf-1/working_state_backup_20261127234507.json"
        );
        let compact = |ms| backfill_asl::UtcTime::from_epoch_ms(ms).compact();
        assert_eq!(compact(0), "19700101000000");
        assert_eq!(compact(951_782_400_000), "20000229000000");
        assert_eq!(compact(-1), "19691231235959");
    }
}
