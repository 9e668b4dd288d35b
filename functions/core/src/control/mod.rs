//! The control plane: what users touch (start, scale, pause, stop, status), the scheduled
//! progress poller and the stop workflow's tasks, over ports for the fleet, the stop workflow,
//! the archive and the progress metrics. One module per action; this one holds the control
//! plane itself (its configuration and ports) and what every action shares.

pub mod api;
pub mod cat_indices;
pub mod dispatch;
pub mod endpoint_policy;
pub mod handler_ports;
mod pause;
mod poller;
pub mod ports;
mod scale;
mod start;
mod status;
mod stop;
mod types;
pub mod workflow;

pub use api::*;
pub use dispatch::{dispatch, Handler};
pub use handler_ports::Port;
pub use poller::ProgressMetrics;
pub use stop::archive_key;
pub use workflow::{stop_definition, InProcessStop, STOP_FUNCTIONS};

use std::sync::Arc;

use self::ports::{ArchiveStore, Fleet, FleetState, ProgressSink, StopWorkflow, TargetClusters};
use crate::lease::LeasePolicy;
use crate::model::{BackfillRecord, BackfillState};
use crate::store::{StoreError, WorkStore};
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
    pub overrides: endpoint_policy::OverridePolicy,
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

pub(crate) fn fleet_line(name: &str, f: &FleetState) -> String {
    format!(
        "{name} set to {} desired count. Currently {} running and {} pending.",
        f.desired, f.running, f.pending
    )
}

/// `name` matches a selection entry: exact, or a `prefix*` pattern.
pub(crate) fn selected(name: &str, selection: &[String], include_system: bool) -> bool {
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
