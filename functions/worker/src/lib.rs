//! The worker: moves shards from the snapshot to the target, sharing them with other workers
//! through leases. A library so that the `backfill` CLI can run the same worker as
//! `backfill worker` (the local fleet's processes) without a second program to keep in step.
//!
//! Configuration and wiring only: the domain's engine with the AWS and OpenSearch adapters.
//!
//! Exit codes: 0 no work left, the backfill is not running, or stopped by SIGTERM/SIGINT
//! after checkpointing and releasing its item; 1 an error it could not work around (e.g. the
//! store unreachable for a minute); 2 bad configuration; 3 the backfill does not exist.

pub mod config;
mod wiring;

use std::process::ExitCode;

use backfill_core::logging::{init_logging, LogFormat};

pub use config::WorkerConfig;

/// Runs one worker to its end; logs go to standard error as JSON lines.
pub fn run(cfg: WorkerConfig) -> ExitCode {
    init_logging(LogFormat::Json, "info");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(wiring::run(cfg));
    // Blocking reader threads end with their channels; do not wait for stragglers.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    ExitCode::from(code)
}
