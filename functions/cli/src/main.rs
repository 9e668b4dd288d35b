//! `backfill`: the command line of the backfill. For now it inspects snapshot repositories.

mod json_escape;
mod snapshot_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "backfill",
    version,
    about = "Backfill a target OpenSearch cluster from an Elasticsearch/OpenSearch snapshot"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read a snapshot repository: list what it holds, print its documents.
    #[command(subcommand)]
    Snapshot(snapshot_cmd::SnapshotCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Snapshot(cmd) => snapshot_cmd::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(snapshot_cmd::exit_code(&e))
        }
    }
}
