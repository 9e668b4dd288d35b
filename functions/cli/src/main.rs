//! `backfill`: the command line of the backfill. It drives a backfill like the Migration
//! Assistant's `console backfill` (start, scale, pause, stop, status), compares document counts
//! of the snapshot and the target, sets up local runs, and inspects snapshot repositories.
//!
//! Commands and wiring only: the domain, the adapters, the local backend and the worker.

mod backend;
mod cat_indices;
mod control_cmd;
mod json_escape;
mod local_cmd;
mod snapshot_cmd;

use std::process::ExitCode;

use backfill_core::logging::{init_logging, LogFormat};
use clap::{Parser, Subcommand};

use backend::{Backend, CallError, Connection};

#[derive(Parser)]
#[command(
    name = "backfill",
    version,
    about = "Backfill a target OpenSearch cluster from an Elasticsearch/OpenSearch snapshot"
)]
struct Cli {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the backfill (first start: one work item per shard), or resume a paused one.
    Start(control_cmd::StartArgs),
    /// Set the number of workers (0 to the deployment's maximum); above 0 resumes a paused backfill.
    Scale {
        /// Workers to run.
        #[arg(allow_negative_numbers = true)]
        workers: i64,
        #[arg(long)]
        json: bool,
    },
    /// Scale the workers to 0 and keep the state; `start` resumes.
    Pause {
        #[arg(long)]
        json: bool,
    },
    /// Stop for good: scale to 0, wait for the workers to exit, archive the working state to S3,
    /// delete it. A stopped backfill cannot be restarted.
    Stop {
        /// Return once the stop workflow has started instead of following it.
        #[arg(long)]
        no_wait: bool,
    },
    /// The backfill's status, as `console backfill status` prints it.
    Status(control_cmd::StatusArgs),
    /// Compare the clusters.
    #[command(subcommand)]
    Clusters(ClustersCommand),
    /// Set up or tear down a backfill on this machine (local servers, local workers).
    #[command(subcommand)]
    Local(local_cmd::LocalCommand),
    /// Read a snapshot repository: list what it holds, print its documents.
    #[command(subcommand)]
    Snapshot(snapshot_cmd::SnapshotCommand),
    /// Run one worker (what the local fleet starts; the ECS image runs `backfill-worker`).
    #[command(hide = true)]
    Worker(Box<backfill_worker::WorkerConfig>),
}

#[derive(Subcommand)]
enum ClustersCommand {
    /// Documents per index in the snapshot (SOURCE CLUSTER) and the target (TARGET CLUSTER),
    /// with a MISMATCH line for each index whose counts differ (exit code 3 then).
    CatIndices(cat_indices::CatIndicesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Worker(cfg) = cli.command {
        return backfill_worker::run(*cfg);
    }
    if let Command::Snapshot(cmd) = cli.command {
        return match snapshot_cmd::run(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(snapshot_cmd::exit_code(&e))
            }
        };
    }
    init_logging(LogFormat::Text, "error");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(control(cli.connection, cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<CallError>() {
                Some(c) => ExitCode::from(c.exit_code()),
                None => ExitCode::FAILURE,
            }
        }
    }
}

async fn control(conn: Connection, command: Command) -> anyhow::Result<ExitCode> {
    if let Command::Local(cmd) = command {
        local_cmd::run(cmd).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let backend = Backend::connect(&conn).await?;
    match command {
        Command::Start(a) => control_cmd::start(&backend, &conn, a).await?,
        Command::Scale { workers, json } => {
            control_cmd::scale(&backend, &conn, workers, json).await?
        }
        Command::Pause { json } => control_cmd::pause(&backend, &conn, json).await?,
        Command::Stop { no_wait } => control_cmd::stop(&backend, &conn, no_wait).await?,
        Command::Status(a) => control_cmd::status(&backend, &conn, a).await?,
        Command::Clusters(ClustersCommand::CatIndices(a)) => {
            if cat_indices::run(&backend, &conn, a).await? > 0 {
                return Ok(ExitCode::from(3));
            }
        }
        Command::Local(_) | Command::Snapshot(_) | Command::Worker(_) => {
            unreachable!("handled above")
        }
    }
    Ok(ExitCode::SUCCESS)
}
