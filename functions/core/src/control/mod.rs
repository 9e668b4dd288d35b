//! The control plane: what users touch (start, scale, pause, stop, status), the scheduled
//! progress poller and the stop workflow's tasks, over ports for the fleet, the stop workflow,
//! the archive and the progress metrics.

pub mod api;
pub mod dispatch;
pub mod local_fleet;
pub mod ports;
pub mod progress;
pub mod service;
mod stopping;
pub mod validate;
pub mod workflow;

pub use api::*;
pub use dispatch::{dispatch, Handler};
pub use progress::PROGRESS_METRICS;
pub use service::{Control, ControlConfig};
pub use stopping::archive_key;
pub use workflow::{stop_definition, InProcessStop, STOP_FUNCTIONS};
