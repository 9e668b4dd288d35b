//! The chaos soak (`make soak`): a multi-shard backfill run again and again while workers are
//! killed at chosen moments, the target, DynamoDB and S3 fail at random, and the backfill is
//! paused and resumed; after each trial the target is checked document by document against the
//! snapshot's ground truth.
//!
//! Each trial: a new backfill started through the project's control plane (`Control::start`)
//! with 2 to 4 worker processes (`backfill-worker`), each behind its own target and DynamoDB
//! proxies (so that a request can be told to be that worker's) and one S3 proxy for all. Kills
//! (`kill -9`) land at a random point of the trial on a bulk in flight, right after a
//! checkpoint landed, during a claim, or during the release after a pause's SIGTERM; a killed
//! worker is replaced by a new process, as ECS replaces a task. Faults come at random from the
//! printed seed (`SOAK_SEED` replays a run).

mod control;
mod fleet;
mod report;
mod snapshot;
mod trial;
mod verify;
mod watch;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use backfill_faults::{BulkFaults, DynamoFaults, FaultPlan, FaultProxy, RandomFaults, S3Faults};

pub use report::{Faults, Resent, Totals, TrialReport};
pub use snapshot::{Layout, FULL, SMALL};
pub use watch::{Kill, Moment};

use crate::{DynamoDbLocal, Flavour, HarnessError, Moto, OpenSearch};

/// The bucket of the soak's snapshot and archives.
const BUCKET: &str = "soak";

#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    #[error(transparent)]
    Harness(#[from] HarnessError),
    #[error("{0}")]
    Setup(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the target: {0}")]
    Target(String),
    #[error("the work-item store: {0}")]
    Store(String),
    #[error("the control plane: {0}")]
    Control(String),
}

impl SoakError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> SoakError {
        SoakError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What a soak does.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    pub trials: u32,
    /// Every random choice derives from it: the trials' plans and each proxy's faults.
    pub seed: u64,
    /// The `backfill-worker` binary.
    pub worker_program: PathBuf,
    /// Logs (kept for failed trials) and the repository.
    pub work_dir: PathBuf,
    pub layout: Layout,
    /// Each index of the layout but the first (always in) is in a trial's backfill with this
    /// probability (`start` with `indices`), so that trials differ in their shards.
    pub index_share: f64,
    /// In this share of the trials, shards of more than `split_docs` documents are split into
    /// ranges that several workers share (`start` with `split_docs`); in the others none is.
    pub split_share: f64,
    pub split_docs: u64,
    /// Workers per trial, at least and at most.
    pub workers: (u32, u32),
    pub checkpoint_docs: u64,
    pub bulk_max_docs: usize,
    pub max_in_flight: usize,
    pub lease_seconds: u64,
    pub target_faults: BulkFaults,
    pub dynamodb_faults: DynamoFaults,
    pub s3_faults: S3Faults,
    pub trial_timeout: Duration,
    /// Keep the logs of trials that passed.
    pub keep_logs: bool,
}

impl SoakConfig {
    /// The soak of the issue: 30% of `_bulk` requests faulted, 5% of DynamoDB and S3 calls,
    /// transaction conflicts on 2% of DynamoDB writes.
    pub fn new(trials: u32, seed: u64, worker_program: PathBuf, work_dir: PathBuf) -> SoakConfig {
        SoakConfig {
            trials,
            seed,
            worker_program,
            work_dir,
            layout: FULL,
            index_share: 0.6,
            split_share: 0.5,
            split_docs: 2_000,
            workers: (2, 4),
            checkpoint_docs: 500,
            bulk_max_docs: 100,
            max_in_flight: 3,
            lease_seconds: 3,
            target_faults: BulkFaults {
                rate: 0.30,
                throttle: 3,
                item_throttle: 2,
                item_share: 0.25,
                server_error: 3,
                reset: 1,
                reset_after_forward: 1,
            },
            dynamodb_faults: DynamoFaults {
                throttle_rate: 0.05,
                conflict_rate: 0.02,
            },
            s3_faults: S3Faults {
                rate: 0.05,
                internal_error: 1,
                slow_down: 1,
                slow_body: 1,
                stall: Duration::from_millis(1500),
                cut_body: 1,
            },
            trial_timeout: Duration::from_secs(300),
            keep_logs: false,
        }
    }
}

/// The servers a soak runs against: DynamoDB Local, moto (S3) and a real OpenSearch 2.19 node.
pub struct SoakServers {
    pub dynamodb: DynamoDbLocal,
    pub moto: Moto,
    pub target: OpenSearch,
}

impl SoakServers {
    /// Starts the three at once (blocking; the node takes longest).
    pub fn start() -> Result<SoakServers, SoakError> {
        let dynamodb = std::thread::spawn(DynamoDbLocal::start);
        let moto = std::thread::spawn(Moto::start);
        let target = OpenSearch::start(Flavour::V2_19);
        let joined = |what: &str| SoakError::Setup(format!("starting {what} panicked"));
        let dynamodb = dynamodb.join().map_err(|_| joined("DynamoDB Local"))?;
        let moto = moto.join().map_err(|_| joined("moto"))?;
        Ok(SoakServers {
            dynamodb: dynamodb?,
            moto: moto?,
            target: target?,
        })
    }
}

impl SoakServers {
    /// Whether each server still runs, and the end of its log: for a soak that stopped on an
    /// error (a dead target is the servers' failure, not the backfill's).
    pub fn diagnosis(&self) -> String {
        let servers = [
            (
                "DynamoDB Local",
                self.dynamodb.pid(),
                self.dynamodb.log_path(),
            ),
            ("moto", self.moto.pid(), self.moto.log_path()),
            ("OpenSearch", self.target.pid(), self.target.log_path()),
        ];
        let mut out = String::new();
        for (name, pid, log) in servers {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            });
            out.push_str(&format!(
                "{name} (pid {pid}) {}; {}{}\n",
                if alive { "is running" } else { "is gone" },
                log.display(),
                crate::process::log_tail(log)
            ));
        }
        out
    }
}

/// What every trial shares.
pub(crate) struct Context<'a> {
    cfg: &'a SoakConfig,
    deployment: &'a control::Deployment,
    truth: std::sync::Arc<snapshot::Truth>,
    s3_proxy: &'a FaultProxy,
    dynamodb: &'a str,
    target: &'a str,
}

/// What a soak found.
#[derive(Debug, Clone)]
pub struct SoakReport {
    pub trials: Vec<TrialReport>,
}

impl SoakReport {
    pub fn totals(&self) -> Totals {
        Totals::of(&self.trials)
    }

    /// No document lost or extra in any trial, and no trial timed out.
    pub fn passed(&self) -> bool {
        self.trials.iter().all(TrialReport::passed)
    }
}

/// Runs the soak and prints its table to `out` (a row as each trial ends).
pub async fn run(
    cfg: &SoakConfig,
    servers: &SoakServers,
    out: &mut (dyn Write + Send),
) -> Result<SoakReport, SoakError> {
    std::fs::create_dir_all(&cfg.work_dir).map_err(|e| SoakError::io(&cfg.work_dir, e))?;
    let truth = std::sync::Arc::new(snapshot::truth(cfg.layout)?);
    let repo = snapshot::write_repository(&cfg.work_dir, cfg.layout)?;
    let deployment =
        control::Deployment::new(servers, &format!("s3://{BUCKET}/snapshot"), "snap").await;
    crate::upload_dir(&deployment.s3, BUCKET, "snapshot", &repo).await?;
    deployment
        .store()
        .create_table()
        .await
        .map_err(|e| SoakError::Store(e.to_string()))?;
    let s3_proxy = FaultProxy::start(&servers.moto.endpoint, FaultPlan::default())
        .await
        .map_err(|e| SoakError::Setup(format!("the S3 fault proxy: {e}")))?;
    s3_proxy.set_random(Some(RandomFaults {
        seed: cfg.seed ^ 0x53,
        s3: Some(cfg.s3_faults),
        ..RandomFaults::default()
    }));
    let ctx = Context {
        cfg,
        deployment: &deployment,
        truth,
        s3_proxy: &s3_proxy,
        dynamodb: &servers.dynamodb.endpoint,
        target: &servers.target.endpoint,
    };
    let write = |e: std::io::Error| SoakError::io(Path::new("the output"), e);
    writeln!(
        out,
        "chaos soak: {} trials, seed {} (SOAK_SEED={} replays it); a snapshot of {} indices, {} shards, {} documents, of which each trial backfills the first index and each other with a chance of {:.0}%, splitting shards of over {} documents into ranges in {:.0}% of the trials; target OpenSearch {}",
        cfg.trials,
        cfg.seed,
        cfg.seed,
        cfg.layout.len(),
        cfg.layout.iter().map(|(_, shards)| shards.len()).sum::<usize>(),
        ctx.truth.len(),
        cfg.index_share * 100.0,
        cfg.split_docs,
        cfg.split_share * 100.0,
        servers.target.version
    )
    .map_err(write)?;
    writeln!(out).map_err(write)?;
    report::header(out).map_err(write)?;
    let mut trials = Vec::new();
    for trial in 1..=cfg.trials {
        let r = trial::run(&ctx, trial).await?;
        report::row(out, &r).map_err(write)?;
        trials.push(r);
    }
    report::footer(out, cfg, &trials).map_err(write)?;
    s3_proxy.shutdown().await;
    Ok(SoakReport { trials })
}
