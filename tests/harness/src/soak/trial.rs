//! One trial: a new backfill started through the control plane, its fleet run while kills,
//! faults and perhaps a pause come at random moments, then the target checked against the truth.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backfill_core::control::{BackfillRef, ScaleRequest, StartRequest};
use backfill_core::WorkStore;
use backfill_faults::FaultCounts;

use super::fleet::{Exit, SoakFleet, WorkerSetup};
use super::report::{Faults, TrialReport};
use super::snapshot::Truth;
use super::watch::{sigkill, Armed, Kill, KillSwitch, Ledger, Moment};
use super::{verify, Context, SoakConfig, SoakError};

/// How long an armed kill waits for its moment before the worker is killed as it is.
const PATIENCE: Duration = Duration::from_secs(8);
/// Claims come only when an item is taken: more time.
const CLAIM_PATIENCE: Duration = Duration::from_secs(15);
const TICK: Duration = Duration::from_millis(50);

/// What a trial will do, drawn from its seed.
#[derive(Debug, Clone)]
struct Plan {
    workers: u32,
    /// The indices the backfill takes (`start --index`).
    indices: Vec<&'static str>,
    /// Shards above this many documents are split into ranges that several workers share.
    split_docs: Option<u64>,
    /// (share of the documents on the target, moment), in order.
    kills: Vec<(f64, Moment)>,
    pause: Option<Pause>,
}

#[derive(Debug, Clone, Copy)]
struct Pause {
    at: f64,
    /// Kill a worker during its release (`Some(forward)`: whether its release still arrives).
    release_kill: Option<bool>,
    resume_after: Duration,
}

impl Plan {
    fn draw(rng: &mut fastrand::Rng, cfg: &SoakConfig) -> Plan {
        let indices = cfg
            .layout
            .iter()
            .enumerate()
            .filter(|(i, _)| *i == 0 || rng.f64() < cfg.index_share)
            .map(|(_, (name, _))| *name)
            .collect();
        let mut kills: Vec<(f64, Moment)> = (0..rng.u32(1..=3))
            .map(|_| match rng.u32(0..3) {
                // Not too late: the trial may end before the moment comes.
                0 => (0.05 + 0.75 * rng.f64(), Moment::Bulk),
                1 => (0.05 + 0.75 * rng.f64(), Moment::Checkpoint),
                // Claims come at the start and as items end: the first half of a trial.
                _ => (0.6 * rng.f64(), Moment::Claim),
            })
            .collect();
        kills.sort_by(|a, b| a.0.total_cmp(&b.0));
        let pause = (rng.f64() < 0.4).then(|| Pause {
            at: 0.2 + 0.6 * rng.f64(),
            release_kill: (rng.f64() < 0.6).then(|| rng.bool()),
            resume_after: Duration::from_millis(rng.u64(300..2000)),
        });
        Plan {
            workers: rng.u32(cfg.workers.0..=cfg.workers.1),
            indices,
            split_docs: (rng.f64() < cfg.split_share).then_some(cfg.split_docs),
            kills,
            pause,
        }
    }
}

enum Paused {
    Planned(Pause),
    /// SIGTERM sent; waiting for the fleet to drain.
    Draining,
    Resuming(Instant),
    Over,
}

fn control_error(what: &str, e: impl std::fmt::Display) -> SoakError {
    SoakError::Control(format!("{what}: {e}"))
}

pub(super) async fn run(ctx: &Context<'_>, trial: u32) -> Result<TrialReport, SoakError> {
    let cfg = ctx.cfg;
    let seed = cfg.seed ^ u64::from(trial).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = fastrand::Rng::with_seed(seed);
    let plan = Plan::draw(&mut rng, cfg);
    let truth: Truth = ctx
        .truth
        .iter()
        .filter(|((index, _), _)| plan.indices.contains(&index.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let started = Instant::now();
    let id = format!("soak-{}-{trial}", cfg.seed);
    let all: Vec<&'static str> = cfg.layout.iter().map(|(i, _)| *i).collect();
    let (endpoint, indices) = (ctx.target.to_string(), all.clone());
    blocking(move || verify::delete_indices(&endpoint, &indices)).await?;

    let log_dir = cfg.work_dir.join(format!("trial-{trial}"));
    std::fs::create_dir_all(&log_dir).map_err(|e| SoakError::io(&log_dir, e))?;
    let ledger = Arc::new(Ledger::default());
    let switch = Arc::new(KillSwitch::default());
    let fleet = SoakFleet::new(
        WorkerSetup {
            program: cfg.worker_program.clone(),
            backfill: id.clone(),
            table: ctx.deployment.table.clone(),
            dynamodb: ctx.dynamodb.to_string(),
            target: ctx.target.to_string(),
            s3: ctx.s3_proxy.endpoint(),
            flags: WorkerSetup::flags(cfg),
            reports: log_dir.join("reports"),
            log_dir: log_dir.clone(),
            seed,
            target_faults: cfg.target_faults,
            dynamodb_faults: cfg.dynamodb_faults,
        },
        ledger.clone(),
        switch.clone(),
    );
    let control = ctx.deployment.control(cfg, Arc::new(fleet.clone()));
    let s3_before = ctx.s3_proxy.counts();
    let this = || Some(id.clone());
    control
        .start(StartRequest {
            backfill_id: this(),
            workers: Some(i64::from(plan.workers)),
            indices: plan.indices.iter().map(|i| i.to_string()).collect(),
            split_docs: plan.split_docs,
            ..StartRequest::default()
        })
        .await
        .map_err(|e| control_error("start", e))?;

    let store = ctx.deployment.store();
    let expected = truth.len() as f64;
    let mut kills = plan.kills.iter().copied().peekable();
    let mut paused = plan.pause.map_or(Paused::Over, Paused::Planned);
    let mut checked = Instant::now();
    let mut done: Option<Instant> = None;
    let mut timed_out = false;
    let mut did_pause = false;
    let mut lingered = false;
    loop {
        let stopped = matches!(paused, Paused::Draining | Paused::Resuming(_));
        let ended = fleet.reap();
        // A worker that ended may have found nothing open: ask before replacing it.
        if done.is_none() && (ended > 0 || checked.elapsed() >= Duration::from_millis(300)) {
            checked = Instant::now();
            let c = store
                .counters(&id)
                .await
                .map_err(|e| SoakError::Store(e.to_string()))?;
            if c.items_total > 0 && c.items_completed + c.items_failed == c.items_total {
                done = Some(Instant::now());
                switch.disarm();
            }
        }
        if !stopped && done.is_none() {
            fleet.fill().await?;
        }
        let progress = ledger.documents() as f64 / expected;

        if !stopped && done.is_none() && switch.armed().is_none() {
            if let Some(&(at, moment)) = kills.peek() {
                if progress >= at {
                    kills.next();
                    arm(&switch, moment);
                }
            }
        }
        if let Some(a) = switch.armed() {
            let patience = if a.moment == Moment::Claim {
                CLAIM_PATIENCE
            } else {
                PATIENCE
            };
            if a.since.elapsed() >= patience && switch.disarm().is_some() && !stopped {
                kill_idle(&switch, &fleet, &mut rng, done.is_some());
            }
        }

        match paused {
            Paused::Planned(p) if progress >= p.at && done.is_none() => {
                switch.disarm();
                control
                    .pause(BackfillRef {
                        backfill_id: this(),
                    })
                    .await
                    .map_err(|e| control_error("pause", e))?;
                if let Some(forward) = p.release_kill {
                    switch.arm(Armed {
                        moment: Moment::Release,
                        worker: None,
                        forward,
                        since: Instant::now(),
                    });
                }
                paused = Paused::Draining;
                did_pause = true;
            }
            Paused::Draining if fleet.live() == 0 => {
                switch.disarm();
                let after = plan.pause.map_or(Duration::ZERO, |p| p.resume_after);
                paused = Paused::Resuming(Instant::now() + after);
            }
            Paused::Resuming(at) if Instant::now() >= at => {
                control
                    .scale(ScaleRequest {
                        backfill_id: this(),
                        workers: Some(i64::from(plan.workers)),
                    })
                    .await
                    .map_err(|e| control_error("scale (resume)", e))?;
                paused = Paused::Over;
            }
            _ => {}
        }

        // Workers find nothing open and exit by themselves; a minute is plenty.
        let lingering = done.is_some_and(|d| d.elapsed() > Duration::from_secs(60));
        if (done.is_some() && fleet.live() == 0) || lingering {
            lingered = lingering;
            break;
        }
        if started.elapsed() > cfg.trial_timeout {
            timed_out = true;
            break;
        }
        tokio::time::sleep(TICK).await;
    }
    fleet.kill_all().await;
    // Requests of killed workers that were forwarded finish on their own tasks.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (endpoint, expected) = (ctx.target.to_string(), truth.len() as u64);
    let verdict = blocking(move || verify::verify(&endpoint, &all, &truth)).await?;
    let counters = store
        .counters(&id)
        .await
        .map_err(|e| SoakError::Store(e.to_string()))?;

    let kills = switch.kills();
    let exits = fleet.exits();
    let s3 = ctx.s3_proxy.counts();
    let faults = Faults::of(&fleet.counts(), &delta(&s3, &s3_before));
    let resent = super::report::resent(ledger.take(), &kills);
    let passed = verdict.lost.is_empty() && verdict.extra.is_empty() && !timed_out;
    if passed && !cfg.keep_logs {
        let _ = std::fs::remove_dir_all(&log_dir);
    }
    Ok(TrialReport {
        trial,
        workers: plan.workers,
        paused: did_pause,
        kills,
        crashes: crashes(&exits),
        faults,
        expected,
        verdict,
        resent,
        counters,
        seconds: started.elapsed().as_secs_f64(),
        timed_out,
        lingered,
        log_dir,
    })
}

/// Arms a kill at `moment` for whichever worker reaches it first (a worker waiting for work
/// would keep a kill armed for it waiting).
fn arm(switch: &KillSwitch, moment: Moment) {
    switch.arm(Armed {
        moment,
        worker: None,
        forward: true,
        since: Instant::now(),
    });
}

/// The armed moment did not come: a random active worker is killed as it is (unless the
/// backfill is done).
fn kill_idle(switch: &KillSwitch, fleet: &SoakFleet, rng: &mut fastrand::Rng, done: bool) {
    let active = fleet.active();
    if done || active.is_empty() {
        return;
    }
    let w = &active[rng.usize(0..active.len())];
    if sigkill(w.pid) {
        switch.record(Kill {
            worker: w.seq,
            moment: Moment::Idle,
            at: Instant::now(),
            holding_since: w.last_claim,
            last_checkpoint: w.last_checkpoint,
        });
    }
}

/// Workers that ended with an error (not by our kill: those end by a signal, without a code).
fn crashes(exits: &[Exit]) -> Vec<Exit> {
    exits
        .iter()
        .filter(|e| e.stop_timed_out || e.code.is_some_and(|c| c != 0))
        .cloned()
        .collect()
}

fn delta(now: &FaultCounts, before: &FaultCounts) -> FaultCounts {
    FaultCounts {
        aws_throttled: now.aws_throttled - before.aws_throttled,
        aws_internal_errors: now.aws_internal_errors - before.aws_internal_errors,
        slow_bodies: now.slow_bodies - before.slow_bodies,
        cut_bodies: now.cut_bodies - before.cut_bodies,
        ..FaultCounts::default()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SoakError> + Send + 'static,
) -> Result<T, SoakError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SoakError::Setup(format!("a blocking task failed: {e}")))?
}
