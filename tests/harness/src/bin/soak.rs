//! `make soak`: the chaos soak (see `backfill_harness::soak`). Starts DynamoDB Local, moto and a
//! real OpenSearch 2.19 node, runs the trials, prints one table ending with
//!
//!     soak: <trials> trials, <kills> kills, <faults> faults, <lost> lost, <extra> extra, <resent> re-sent
//!
//! and exits 1 if any document was lost or extra (or a trial did not finish).
//!
//!     soak [--trials 50] [--seed N] [--worker <path to backfill-worker>] [--work-dir DIR] [--keep-logs]
//!
//! `SOAK_SEED` (or `--seed`) replays a run; without it the seed is drawn and printed. The worker
//! binary defaults to the `backfill-worker` beside this one.

use std::path::PathBuf;

use anyhow::{bail, Context};
use backfill_harness::soak::{self, SoakConfig, SoakServers};

fn value<T: std::str::FromStr>(args: &[String], name: &str) -> anyhow::Result<Option<T>> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => {
            let v = args
                .get(i + 1)
                .with_context(|| format!("{name} needs a value"))?;
            match v.parse() {
                Ok(v) => Ok(Some(v)),
                Err(_) => bail!("{name} {v}: not a valid value"),
            }
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let trials = value(&args, "--trials")?.unwrap_or(50);
    let seed = match value::<u64>(&args, "--seed")? {
        Some(s) => s,
        None => match std::env::var("SOAK_SEED") {
            Ok(s) if !s.is_empty() => s.parse().context("SOAK_SEED is not a number")?,
            _ => fastrand::u64(..),
        },
    };
    let worker = match value::<PathBuf>(&args, "--worker")? {
        Some(w) => w,
        None => std::env::current_exe()?
            .with_file_name("backfill-worker")
            .to_path_buf(),
    };
    if !worker.is_file() {
        bail!(
            "no worker binary at {} (build it: cargo build --release -p backfill-worker)",
            worker.display()
        );
    }
    let work_dir = value::<PathBuf>(&args, "--work-dir")?.unwrap_or_else(|| {
        backfill_harness::workspace_root()
            .join(".cache/soak")
            .join(seed.to_string())
    });
    let mut cfg = SoakConfig::new(trials, seed, worker, work_dir);
    cfg.keep_logs = args.iter().any(|a| a == "--keep-logs");

    eprintln!("soak: starting DynamoDB Local, moto and OpenSearch 2.19 ...");
    let servers = SoakServers::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let mut out = std::io::stdout();
        soak::run(&cfg, &servers, &mut out).await
    });
    drop(runtime);
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            // Before the servers go (their logs with them).
            eprintln!("soak: {e}\n{}", servers.diagnosis());
            drop(servers);
            std::process::exit(1);
        }
    };
    drop(servers);
    if !report.passed() {
        std::process::exit(1);
    }
    Ok(())
}
