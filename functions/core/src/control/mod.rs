//! The control plane: what users touch (start, scale, pause, stop, status), the scheduled
//! progress poller and the stop workflow's tasks, over ports for the fleet, the stop workflow,
//! the archive and the progress metrics.

pub mod api;
pub mod dispatch;
pub mod endpoint_policy;
pub mod handler_ports;
pub mod local_fleet;
pub mod ports;
pub mod progress;
pub mod service;
mod stopping;
mod types;
pub mod validate;
pub mod workflow;

pub use api::*;
pub use dispatch::{dispatch, Handler};
pub use handler_ports::Port;
pub use progress::ProgressMetrics;
pub use service::{Control, ControlConfig};
pub use stopping::archive_key;
pub use workflow::{stop_definition, InProcessStop, STOP_FUNCTIONS};
