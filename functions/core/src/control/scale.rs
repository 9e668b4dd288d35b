//! `scale N`: the fleet's size; above zero it resumes a paused backfill.

use super::api::*;
use super::{fleet_line, Control};
use crate::lease::now_ms;
use crate::store::StateChange;
use crate::transition::ScaleRefused;

impl Control {
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
}
