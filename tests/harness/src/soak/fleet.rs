//! The worker fleet of one trial, as ECS runs it: a desired count set by the control plane
//! (the `Fleet` port), scale-in by SIGTERM, and any task that ends while work remains replaced
//! by a new process. Each worker gets its own target and DynamoDB proxies (random faults, and a
//! [`Watch`] that tells its requests apart); S3 goes through one proxy shared by all.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backfill_core::control::ports::{Fleet, FleetState, PortError};
use backfill_faults::{
    BulkFaults, DynamoFaults, FaultCounts, FaultPlan, FaultProxy, Observer, RandomFaults,
};

use super::watch::{KillSwitch, Ledger, Watch};
use super::{SoakConfig, SoakError};
use crate::process::spawn_dying_with_us;

/// What every worker of a trial is started with.
pub struct WorkerSetup {
    pub program: PathBuf,
    pub backfill: String,
    pub table: String,
    /// Real endpoints; each worker reaches them through its own proxies.
    pub dynamodb: String,
    pub target: String,
    /// The shared S3 proxy.
    pub s3: String,
    pub flags: Vec<String>,
    pub log_dir: PathBuf,
    pub reports: PathBuf,
    /// Seeds of the workers' random faults derive from it.
    pub seed: u64,
    pub target_faults: BulkFaults,
    pub dynamodb_faults: DynamoFaults,
}

impl WorkerSetup {
    /// The worker flags of a soak: short leases, small checkpoints and bulks, so that kills land
    /// mid-item and a killed worker's item is taken over within the trial.
    pub fn flags(cfg: &SoakConfig) -> Vec<String> {
        let n = |v: u64| v.to_string();
        [
            ("--checkpoint-docs", n(cfg.checkpoint_docs)),
            ("--checkpoint-seconds", n(5)),
            ("--bulk-max-docs", n(cfg.bulk_max_docs as u64)),
            ("--max-in-flight", n(cfg.max_in_flight as u64)),
            ("--lease-seconds", n(cfg.lease_seconds)),
            ("--max-lease-seconds", n(2 * cfg.lease_seconds)),
            ("--max-clock-skew-seconds", n(1)),
            ("--retry-initial-ms", n(50)),
            ("--retry-max-ms", n(1000)),
            ("--idle-poll-seconds", n(1)),
            ("--stop-grace-seconds", n(3)),
            ("--metrics-seconds", n(60)),
            // Small reads: more S3 requests, so the S3 faults meet every kind of read.
            ("--read-window-bytes", n(256 << 10)),
        ]
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_string(), value])
        .collect()
    }
}

/// One worker process and its proxies.
pub struct Worker {
    pub seq: u32,
    child: Child,
    pub watch: Arc<Watch>,
    proxies: [FaultProxy; 2],
    pub stop_sent: Option<Instant>,
    pub log: PathBuf,
}

/// A worker dropped unreaped (a trial that failed half-way) is killed, never left running.
impl Drop for Worker {
    fn drop(&mut self) {
        if self.watch.pid.swap(0, Ordering::AcqRel) != 0 {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A live worker, as the trial picks one to kill.
pub struct Active {
    pub seq: u32,
    pub pid: u32,
    pub last_claim: Option<Instant>,
    pub last_checkpoint: Option<Instant>,
}

/// How a worker ended.
#[derive(Debug, Clone)]
pub struct Exit {
    pub seq: u32,
    pub code: Option<i32>,
    /// SIGKILL from the stop timeout (it did not stop within it after SIGTERM).
    pub stop_timed_out: bool,
    /// The last error the worker logged, when it exited with an error.
    pub error: Option<String>,
}

#[derive(Default)]
struct State {
    desired: u32,
    workers: Vec<Worker>,
    /// Proxies of ended workers, kept for their counts.
    retired: Vec<FaultCounts>,
    exits: Vec<Exit>,
    next_seq: u32,
}

/// The fleet; the control plane holds it as its `Fleet` port.
#[derive(Clone)]
pub struct SoakFleet {
    setup: Arc<WorkerSetup>,
    ledger: Arc<Ledger>,
    switch: Arc<KillSwitch>,
    state: Arc<Mutex<State>>,
}

/// SIGKILL after SIGTERM when a worker does not stop (ECS's `stopTimeout` is 30 s; the worker's
/// stop grace here is 3 s).
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

fn sigterm(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: a plain syscall on a child we have not reaped.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

impl SoakFleet {
    pub fn new(setup: WorkerSetup, ledger: Arc<Ledger>, switch: Arc<KillSwitch>) -> SoakFleet {
        SoakFleet {
            setup: Arc::new(setup),
            ledger,
            switch,
            state: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Live workers, those asked to stop excluded.
    pub fn active(&self) -> Vec<Active> {
        self.lock()
            .workers
            .iter()
            .filter(|w| w.stop_sent.is_none())
            .map(|w| Active {
                seq: w.seq,
                pid: w.watch.pid.load(Ordering::Acquire),
                last_claim: w.watch.last_claim(),
                last_checkpoint: w.watch.last_checkpoint(),
            })
            .collect()
    }

    /// Workers still running (stopping or not).
    pub fn live(&self) -> usize {
        self.lock().workers.len()
    }

    pub fn exits(&self) -> Vec<Exit> {
        self.lock().exits.clone()
    }

    /// Every proxy's counts, ended workers' included.
    pub fn counts(&self) -> Vec<FaultCounts> {
        let s = self.lock();
        let live = s
            .workers
            .iter()
            .flat_map(|w| w.proxies.iter().map(|p| p.counts()));
        s.retired.iter().copied().chain(live).collect()
    }

    /// Reaps ended workers and enforces the stop timeout; returns how many ended.
    pub fn reap(&self) -> usize {
        let mut s = self.lock();
        let mut ended = Vec::new();
        for (i, w) in s.workers.iter_mut().enumerate() {
            if w.stop_sent
                .is_some_and(|sent| sent.elapsed() >= STOP_TIMEOUT)
            {
                super::watch::sigkill(w.watch.pid.load(Ordering::Acquire));
            }
            if let Ok(Some(status)) = w.child.try_wait() {
                w.watch.pid.store(0, Ordering::Release);
                ended.push((i, status.code()));
            }
        }
        let n = ended.len();
        for (i, code) in ended.into_iter().rev() {
            let w = s.workers.remove(i);
            let error = match code {
                Some(0) | None => None,
                Some(_) => last_error(&w.log),
            };
            s.retired.extend(w.proxies.iter().map(|p| p.counts()));
            s.exits.push(Exit {
                seq: w.seq,
                code,
                stop_timed_out: w.stop_sent.is_some_and(|t| t.elapsed() >= STOP_TIMEOUT),
                error,
            });
        }
        n
    }

    /// Starts workers up to the desired count, as ECS replaces ended tasks (the caller knows
    /// that the backfill runs and has work left).
    pub async fn fill(&self) -> Result<(), SoakError> {
        let missing = {
            let s = self.lock();
            let active = s.workers.iter().filter(|w| w.stop_sent.is_none()).count();
            (s.desired as usize).saturating_sub(active)
        };
        for _ in 0..missing {
            let worker = self.spawn().await?;
            self.lock().workers.push(worker);
        }
        Ok(())
    }

    /// SIGKILL to every worker (the end of a trial that did not finish), then reaps them.
    pub async fn kill_all(&self) {
        {
            let mut s = self.lock();
            s.desired = 0;
            for w in &s.workers {
                super::watch::sigkill(w.watch.pid.load(Ordering::Acquire));
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.live() > 0 && Instant::now() < deadline {
            self.reap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn spawn(&self) -> Result<Worker, SoakError> {
        let seq = {
            let mut s = self.lock();
            s.next_seq += 1;
            s.next_seq
        };
        let setup = &self.setup;
        let watch = Arc::new(Watch::new(seq, self.ledger.clone(), self.switch.clone()));
        let seed = setup
            .seed
            .wrapping_mul(1_000_003)
            .wrapping_add(u64::from(seq));
        let target = proxy(
            &setup.target,
            watch.clone(),
            RandomFaults {
                seed,
                bulk: Some(setup.target_faults),
                ..RandomFaults::default()
            },
        )
        .await?;
        let dynamodb = proxy(
            &setup.dynamodb,
            watch.clone(),
            RandomFaults {
                seed: seed ^ 0x5eed,
                dynamodb: Some(setup.dynamodb_faults),
                ..RandomFaults::default()
            },
        )
        .await?;
        let name = format!("{}-w{seq}", setup.backfill);
        let log = setup.log_dir.join(format!("worker-{seq}.log"));
        let out = File::create(&log).map_err(|e| SoakError::io(&log, e))?;
        let err = out.try_clone().map_err(|e| SoakError::io(&log, e))?;
        let mut cmd = Command::new(&setup.program);
        cmd.args(["--backfill-id", &setup.backfill, "--worker-id", &name])
            .args([
                "--table",
                &setup.table,
                "--target-endpoint",
                &target.endpoint(),
            ])
            .arg("--reports")
            .arg(&setup.reports)
            .args(&setup.flags)
            .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.endpoint())
            .env("AWS_ENDPOINT_URL_S3", &setup.s3)
            .env("AWS_ACCESS_KEY_ID", "AKIDLOCALSOAK")
            .env("AWS_SECRET_ACCESS_KEY", "local-soak-secret")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .env("BACKFILL_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = spawn_dying_with_us(cmd).map_err(|e| SoakError::io(&setup.program, e))?;
        watch.pid.store(child.id(), Ordering::Release);
        Ok(Worker {
            seq,
            child,
            watch,
            proxies: [target, dynamodb],
            stop_sent: None,
            log,
        })
    }
}

async fn proxy(
    upstream: &str,
    watch: Arc<Watch>,
    random: RandomFaults,
) -> Result<FaultProxy, SoakError> {
    let p = FaultProxy::start(upstream, FaultPlan::default())
        .await
        .map_err(|e| SoakError::Setup(format!("a fault proxy in front of {upstream}: {e}")))?;
    p.set_random(Some(random));
    p.set_observer(Some(watch as Arc<dyn Observer>));
    Ok(p)
}

/// The `error` of the worker's last JSON log line at level ERROR, or its last line.
fn last_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let error = lines.iter().rev().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        (v["level"] == "ERROR").then(|| {
            let fields = &v["fields"];
            let msg = fields["message"].as_str().unwrap_or("");
            match fields["error"].as_str() {
                Some(e) => format!("{msg}: {e}"),
                None => msg.to_string(),
            }
        })
    });
    error.or_else(|| lines.last().map(|l| l.to_string()))
}

#[async_trait]
impl Fleet for SoakFleet {
    /// The desired count; scale-in sends SIGTERM to the newest workers (the rest is
    /// [`SoakFleet::fill`]'s, as ECS's scheduler starts tasks after the service changed).
    async fn set_desired(&self, workers: u32) -> Result<FleetState, PortError> {
        let mut s = self.lock();
        s.desired = workers;
        let mut active: Vec<&mut Worker> = s
            .workers
            .iter_mut()
            .filter(|w| w.stop_sent.is_none())
            .collect();
        while active.len() > workers as usize {
            let w = active.pop().expect("more active workers than desired");
            sigterm(w.watch.pid.load(Ordering::Acquire));
            w.stop_sent = Some(Instant::now());
        }
        drop(active);
        Ok(fleet_state(&s))
    }

    async fn state(&self) -> Result<FleetState, PortError> {
        Ok(fleet_state(&self.lock()))
    }
}

fn fleet_state(s: &State) -> FleetState {
    let terminating = s.workers.iter().filter(|w| w.stop_sent.is_some()).count() as u32;
    FleetState {
        desired: s.desired,
        running: s.workers.len() as u32 - terminating,
        pending: 0,
        terminating,
    }
}
