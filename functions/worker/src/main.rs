//! `backfill-worker`: the ECS task (locally, a plain process) that moves the documents. Exit
//! codes: see the library's documentation.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    backfill_worker::run(backfill_worker::WorkerConfig::parse())
}
