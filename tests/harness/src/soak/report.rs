//! What a trial found, the re-sent count, and the soak's one table.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

use backfill_core::model::Counters;
use backfill_faults::FaultCounts;

use super::fleet::Exit;
use super::verify::Verdict;
use super::watch::{Kill, Store};
use super::SoakConfig;

/// Faults injected in a trial, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Target: whole `_bulk` requests answered 429.
    pub target_429: u64,
    /// Target: `_bulk` requests with some actions answered 429.
    pub target_item_429: u64,
    /// Target: 500, 502, 503, 504.
    pub target_5xx: u64,
    /// Target: connections reset before forwarding, or after the target answered.
    pub target_drop: u64,
    /// DynamoDB: `ProvisionedThroughputExceededException` and `ThrottlingException`.
    pub dynamodb_throttle: u64,
    /// DynamoDB: `TransactionCanceledException` (`TransactionConflict`) and
    /// `TransactionConflictException`.
    pub dynamodb_conflict: u64,
    /// S3: 500 `InternalError` and 503 `SlowDown`.
    pub s3_5xx: u64,
    pub s3_slow: u64,
    pub s3_cut: u64,
}

impl Faults {
    /// From the workers' proxies (target and DynamoDB) and the S3 proxy's counts of the trial.
    pub fn of(workers: &[FaultCounts], s3: &FaultCounts) -> Faults {
        let sum = |f: fn(&FaultCounts) -> u64| workers.iter().map(f).sum::<u64>();
        Faults {
            target_429: sum(|c| c.throttled),
            target_item_429: sum(|c| c.item_throttled_requests),
            target_5xx: sum(|c| c.unavailable),
            target_drop: sum(|c| c.resets + c.resets_after_forward),
            dynamodb_throttle: sum(|c| c.aws_throttled + c.throughput_exceeded),
            dynamodb_conflict: sum(|c| c.transaction_conflicts),
            s3_5xx: s3.aws_internal_errors + s3.aws_throttled,
            s3_slow: s3.slow_bodies,
            s3_cut: s3.cut_bodies,
        }
    }

    pub fn kinds(&self) -> [(&'static str, u64); 9] {
        [
            ("target 429", self.target_429),
            ("target 429 items", self.target_item_429),
            ("target 5xx", self.target_5xx),
            ("target dropped connection", self.target_drop),
            ("DynamoDB throttling", self.dynamodb_throttle),
            ("DynamoDB transaction conflict", self.dynamodb_conflict),
            ("S3 500/503", self.s3_5xx),
            ("S3 slow read", self.s3_slow),
            ("S3 cut mid-body", self.s3_cut),
        ]
    }

    pub fn total(&self) -> u64 {
        self.kinds().iter().map(|(_, n)| n).sum()
    }

    fn add(&mut self, o: &Faults) {
        self.target_429 += o.target_429;
        self.target_item_429 += o.target_item_429;
        self.target_5xx += o.target_5xx;
        self.target_drop += o.target_drop;
        self.dynamodb_throttle += o.dynamodb_throttle;
        self.dynamodb_conflict += o.dynamodb_conflict;
        self.s3_5xx += o.s3_5xx;
        self.s3_slow += o.s3_slow;
        self.s3_cut += o.s3_cut;
    }
}

/// Documents the target stored more than once, by cause.
#[derive(Debug, Clone, Default)]
pub struct Resent {
    /// Stored by a worker that was then killed (while it held the document's item: stored after
    /// its last claim), and again by another.
    pub by_kill: u64,
    /// Stored again by the same worker process: a request whose answer was lost (a dropped
    /// connection after the target indexed it) sent again, or work it redid on an item it
    /// took back.
    pub by_same: u64,
    /// Stored by another worker before: a release after SIGTERM that abandoned requests in
    /// flight, an item given up (a failed checkpoint, a crash), or by a killed worker on an
    /// item it had given up before it died.
    pub by_other: u64,
    /// Re-sent documents per kill (kills that caused none included).
    pub per_kill: Vec<(Kill, u64)>,
    /// Of those, per kill: stored before the killed worker's last checkpoint landed (so not
    /// covered by it: batches that finished behind a slower one).
    pub uncovered: Vec<u64>,
}

impl Resent {
    pub fn total(&self) -> u64 {
        self.by_kill + self.by_same + self.by_other
    }

    pub fn max_per_kill(&self) -> u64 {
        self.per_kill.iter().map(|(_, n)| *n).max().unwrap_or(0)
    }
}

/// Attributes each repeated store of a document to the store before it.
pub fn resent(ledger: HashMap<(String, String), Vec<Store>>, kills: &[Kill]) -> Resent {
    let killed: HashMap<u32, Option<Instant>> =
        kills.iter().map(|k| (k.worker, k.holding_since)).collect();
    let mut r = Resent::default();
    let mut per_worker: HashMap<u32, u64> = HashMap::new();
    let mut uncovered: HashMap<u32, u64> = HashMap::new();
    let checkpoints: HashMap<u32, Option<Instant>> = kills
        .iter()
        .map(|k| (k.worker, k.last_checkpoint))
        .collect();
    for sends in ledger.values() {
        for pair in sends.windows(2) {
            let ((before, at), (now, _)) = (pair[0], pair[1]);
            let held = killed
                .get(&before)
                .is_some_and(|since| since.is_none_or(|since| at >= since));
            if before == now {
                r.by_same += 1;
            } else if held {
                r.by_kill += 1;
                *per_worker.entry(before).or_default() += 1;
                if checkpoints
                    .get(&before)
                    .copied()
                    .flatten()
                    .is_some_and(|c| at < c)
                {
                    *uncovered.entry(before).or_default() += 1;
                }
            } else {
                r.by_other += 1;
            }
        }
    }
    r.per_kill = kills
        .iter()
        .map(|k| (*k, per_worker.get(&k.worker).copied().unwrap_or(0)))
        .collect();
    r.uncovered = kills
        .iter()
        .map(|k| uncovered.get(&k.worker).copied().unwrap_or(0))
        .collect();
    r
}

/// One trial's results.
#[derive(Debug, Clone)]
pub struct TrialReport {
    pub trial: u32,
    pub workers: u32,
    pub paused: bool,
    pub kills: Vec<Kill>,
    /// Workers that exited with an error, or did not stop within the stop timeout.
    pub crashes: Vec<Exit>,
    pub faults: Faults,
    pub expected: u64,
    pub verdict: Verdict,
    pub resent: Resent,
    /// The store's counters at the end.
    pub counters: Counters,
    pub seconds: f64,
    pub timed_out: bool,
    /// Workers still ran a minute after every item had ended (then killed).
    pub lingered: bool,
    /// The workers' logs (removed when the trial passed, unless kept).
    pub log_dir: PathBuf,
}

impl TrialReport {
    /// Every item completed, none failed, and the documents counted once each.
    pub fn counters_exact(&self) -> bool {
        let c = &self.counters;
        c.items_total > 0
            && c.items_completed == c.items_total
            && c.items_failed == 0
            && c.docs_done == self.expected
    }

    pub fn passed(&self) -> bool {
        self.verdict.lost.is_empty() && self.verdict.extra.is_empty() && !self.timed_out
    }
}

/// The bound on what one kill can make the fleet send again, and what it is made of.
pub fn bound(cfg: &SoakConfig) -> (u64, String) {
    let in_flight = cfg.max_in_flight as u64 * cfg.bulk_max_docs as u64;
    (
        cfg.checkpoint_docs + in_flight,
        format!(
            "checkpoint interval {} docs + {} bulks in flight x {} docs",
            cfg.checkpoint_docs, cfg.max_in_flight, cfg.bulk_max_docs
        ),
    )
}

pub fn header(out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "| trial | workers | ranges | kills | pause | target 429 / 429 items / 5xx / dropped | DynamoDB throttled / conflict | S3 500,503 / slow / cut | expected | lost | extra | re-sent (kill / same worker / other) | max re-sent per kill | counted | s |"
    )?;
    writeln!(
        out,
        "|---:|---:|---:|---|:-:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
}

fn kills_cell(kills: &[Kill]) -> String {
    if kills.is_empty() {
        return "0".into();
    }
    let names: Vec<&str> = kills.iter().map(|k| k.moment.name()).collect();
    format!("{} ({})", kills.len(), names.join(", "))
}

pub fn row(out: &mut dyn Write, t: &TrialReport) -> io::Result<()> {
    let f = &t.faults;
    let r = &t.resent;
    let counted = if t.counters_exact() {
        t.counters.docs_done.to_string()
    } else {
        format!(
            "{} ! ({}/{} items)",
            t.counters.docs_done, t.counters.items_completed, t.counters.items_total
        )
    };
    writeln!(
        out,
        "| {}{} | {} | {} | {} | {} | {} / {} / {} / {} | {} / {} | {} / {} / {} | {} | {} | {} | {} ({} / {} / {}) | {} | {} | {:.0} |",
        t.trial,
        if t.timed_out { " (timed out)" } else { "" },
        t.workers,
        if t.counters.ranges_total > 0 {
            t.counters.ranges_total.to_string()
        } else {
            "-".to_string()
        },
        kills_cell(&t.kills),
        if t.paused { "yes" } else { "-" },
        f.target_429,
        f.target_item_429,
        f.target_5xx,
        f.target_drop,
        f.dynamodb_throttle,
        f.dynamodb_conflict,
        f.s3_5xx,
        f.s3_slow,
        f.s3_cut,
        t.expected,
        t.verdict.lost.len(),
        t.verdict.extra.len(),
        r.total(),
        r.by_kill,
        r.by_same,
        r.by_other,
        r.max_per_kill(),
        counted,
        t.seconds
    )
}

/// The soak's totals.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub trials: u64,
    pub kills: u64,
    pub faults: Faults,
    pub expected: u64,
    pub lost: u64,
    pub extra: u64,
    pub resent: u64,
    pub by_kill: u64,
    pub by_same: u64,
    pub by_other: u64,
    pub max_per_kill: u64,
    pub pauses: u64,
    pub crashes: u64,
    /// Ranges of the shards split, over all trials.
    pub ranges: u64,
}

impl Totals {
    pub fn of(trials: &[TrialReport]) -> Totals {
        let mut t = Totals::default();
        for r in trials {
            t.trials += 1;
            t.kills += r.kills.len() as u64;
            t.faults.add(&r.faults);
            t.expected += r.expected;
            t.lost += r.verdict.lost.len() as u64;
            t.extra += r.verdict.extra.len() as u64;
            t.resent += r.resent.total();
            t.by_kill += r.resent.by_kill;
            t.by_same += r.resent.by_same;
            t.by_other += r.resent.by_other;
            t.max_per_kill = t.max_per_kill.max(r.resent.max_per_kill());
            t.pauses += u64::from(r.paused);
            t.ranges += r.counters.ranges_total;
            t.crashes += r.crashes.len() as u64;
        }
        t
    }
}

/// The totals row, the notes (kills by moment, what the bound is, anything wrong) and the
/// summary line.
pub fn footer(out: &mut dyn Write, cfg: &SoakConfig, trials: &[TrialReport]) -> io::Result<()> {
    let t = Totals::of(trials);
    let f = &t.faults;
    let (bound, made_of) = bound(cfg);
    writeln!(
        out,
        "| **{} trials** | | {} | **{}** | {} | {} / {} / {} / {} | {} / {} | {} / {} / {} | {} | **{}** | **{}** | {} ({} / {} / {}) | {} (bound {}) | | |",
        t.trials, t.ranges, t.kills, t.pauses, f.target_429, f.target_item_429, f.target_5xx, f.target_drop,
        f.dynamodb_throttle, f.dynamodb_conflict, f.s3_5xx, f.s3_slow, f.s3_cut, t.expected,
        t.lost, t.extra, t.resent, t.by_kill, t.by_same, t.by_other, t.max_per_kill, bound
    )?;
    let mut moments: BTreeMap<&str, u64> = BTreeMap::new();
    for k in trials.iter().flat_map(|r| &r.kills) {
        *moments.entry(k.moment.name()).or_default() += 1;
    }
    let moments: Vec<String> = moments.iter().map(|(m, n)| format!("{m} {n}")).collect();
    writeln!(out)?;
    writeln!(out, "kills by moment: {}", moments.join(", "))?;
    let over = trials
        .iter()
        .flat_map(|r| &r.resent.per_kill)
        .filter(|(_, n)| *n > bound)
        .count();
    writeln!(
        out,
        "re-sent per kill: at most {} observed, {over} of {} kills over the bound {bound} = {made_of} (what one kill leaves unconfirmed while batches finish in order: the documents acknowledged since the last checkpoint, fewer than the interval plus the batch that crossed it, and the bulks in flight)",
        t.max_per_kill, t.kills
    )?;
    for r in trials {
        let over: Vec<String> = r
            .resent
            .per_kill
            .iter()
            .zip(&r.resent.uncovered)
            .filter(|((_, n), _)| *n > bound)
            .map(|((k, n), before)| {
                format!(
                    "worker {} killed at {}: {n} re-sent ({before} stored before its last checkpoint landed, {} after)",
                    k.worker,
                    k.moment.name(),
                    n - before
                )
            })
            .collect();
        if !over.is_empty() {
            writeln!(
                out,
                "trial {}: over the bound: {} (a checkpoint moves only over consecutive finished batches: those that finish behind one still being retried stay unconfirmed)",
                r.trial,
                over.join("; ")
            )?;
        }
        for c in &r.crashes {
            writeln!(
                out,
                "trial {}: worker {} ended {}: {}",
                r.trial,
                c.seq,
                if c.stop_timed_out {
                    "killed after the stop timeout".to_string()
                } else {
                    format!("with exit code {}", c.code.unwrap_or(-1))
                },
                c.error.as_deref().unwrap_or("(no error logged)")
            )?;
        }
        if r.lingered {
            writeln!(
                out,
                "trial {}: workers still running a minute after every item ended (killed)",
                r.trial
            )?;
        }
        if !r.counters_exact() {
            let c = &r.counters;
            writeln!(
                out,
                "trial {}: store counters: {} of {} items completed, {} failed, {} documents counted for {} expected",
                r.trial, c.items_completed, c.items_total, c.items_failed, c.docs_done, r.expected
            )?;
        }
        for (index, id, why) in r.verdict.lost.iter().take(10) {
            writeln!(out, "trial {}: LOST {index}/{id}: {why}", r.trial)?;
        }
        for (index, id) in r.verdict.extra.iter().take(10) {
            writeln!(out, "trial {}: EXTRA {index}/{id}", r.trial)?;
        }
        if !r.passed() {
            writeln!(
                out,
                "trial {}: replay with SOAK_SEED={} (trial {}); logs in {}",
                r.trial,
                cfg.seed,
                r.trial,
                r.log_dir.display()
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "soak: {} trials, {} kills, {} faults, {} lost, {} extra, {} re-sent",
        t.trials,
        t.kills,
        f.total(),
        t.lost,
        t.extra,
        t.resent
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::watch::Moment;
    use std::time::Duration;

    #[test]
    fn repeated_stores_are_put_down_to_the_store_before() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let key = |id: &str| ("i".to_string(), id.to_string());
        let ledger = HashMap::from([
            (key("a"), vec![(1, at(20)), (2, at(30))]),
            (key("b"), vec![(1, at(20)), (1, at(25)), (3, at(40))]),
            (key("c"), vec![(3, at(5)), (2, at(30))]),
            (key("d"), vec![(4, at(1))]),
            // Stored by worker 1 before its last claim: an item it had given up.
            (key("e"), vec![(1, at(5)), (2, at(30))]),
        ]);
        let kill = Kill {
            worker: 1,
            moment: Moment::Bulk,
            at: at(35),
            holding_since: Some(at(10)),
            last_checkpoint: Some(at(22)),
        };
        let r = resent(ledger, &[kill]);
        assert_eq!((r.by_kill, r.by_same, r.by_other), (2, 1, 2));
        assert_eq!(
            r.uncovered,
            [1],
            "a's store came before the checkpoint, b's after"
        );
        assert_eq!(r.max_per_kill(), 2);
        assert_eq!(r.total(), 5);
    }
}
