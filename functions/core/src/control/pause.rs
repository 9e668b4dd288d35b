//! `pause`: the fleet to zero, the state kept; a later start or scale resumes.

use super::api::*;
use super::{fleet_line, Control};
use crate::lease::now_ms;
use crate::store::{StateChange, StoreError};

impl Control {
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
