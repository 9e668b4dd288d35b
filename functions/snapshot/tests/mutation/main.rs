//! The reader survives hostile bytes: every case damages one blob of a real fixture repository
//! (or one file held inline in shard metadata, or one in five a file of an index written by real
//! Lucene 8.8-10.5) and reads everything the repository holds, with and without checksum
//! verification, and, when the damaged file's checksums were made to match again, once more
//! through a file list that records the damaged file, so that the damage reaches the parsers. A case fails on a panic, a hang, an error that does not name the damaged blob,
//! a wrong document where checksums should have caught the damage, or a large allocation.
//!
//! `BACKFILL_FUZZ_CASES` (default 300; `make fuzz` runs 50,000 in release), `BACKFILL_FUZZ_SEED`
//! (default fixed), `BACKFILL_FUZZ_CASE=<n>` to rerun one case, `BACKFILL_FUZZ_TIMEOUT_SECS`.

#[path = "../common.rs"]
mod common;

mod alloc;
mod cases;
mod corpus;
mod mutate;
mod regressions;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cases::{run_case, Corpus};
use corpus::{Fixture, LuceneIndex};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// No single request of a case may exceed this (the fixtures are under 40 KB and the read
/// window is 8 MiB), nor may a case hold more than `LIVE_LIMIT` at once.
const SINGLE_LIMIT: usize = 64 << 20;
const LIVE_LIMIT: usize = 256 << 20;

/// Small indexes of `tests/data/lucene` with what the fixtures lack: Lucene 9 and 10, DEFLATE
/// and zstd stored fields, hard and soft deletes.
const INDEXES: [&str; 6] = [
    "l8_fast",
    "l9_mixed",
    "l10_best_compression",
    "l9_es_zstd_best_compression",
    "l9_os_zstd",
    "l9_os_zstd_no_dict",
];

const REPOS: [&str; 6] = snapshot_testkit::FIXTURE_REPOSITORIES;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        }
        Err(_) => default,
    }
}

/// The tests of this binary measure allocations process-wide: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const CASES_THREAD: &str = "mutation-cases";

/// The message and place of the last panic (the hook runs before the unwinding).
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

#[test]
fn mutated_blobs_never_panic_hang_or_allocate_without_bound() {
    let _alone = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let seed = env_u64("BACKFILL_FUZZ_SEED", 0x5EED_0010);
    let cases = env_u64("BACKFILL_FUZZ_CASES", 300);
    let timeout = Duration::from_secs(env_u64("BACKFILL_FUZZ_TIMEOUT_SECS", 20));
    let only = std::env::var("BACKFILL_FUZZ_CASE")
        .ok()
        .map(|_| env_u64("BACKFILL_FUZZ_CASE", 0));
    let fixtures: Vec<Fixture> = REPOS.iter().map(|r| Fixture::load(r)).collect();
    let targets = fixtures.iter().map(Fixture::targets).collect();
    let indexes = INDEXES.iter().map(|n| LuceneIndex::load(n)).collect();
    let corpus = Arc::new(Corpus {
        fixtures,
        targets,
        indexes,
    });

    // Panics of the cases are reported with their case; others (this thread's) as usual.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some(CASES_THREAD) {
            *LAST_PANIC.lock().unwrap() = info.to_string();
        } else {
            default_hook(info);
        }
    }));
    let (jobs, job_rx) = mpsc::channel::<u64>();
    let (done_tx, done) = mpsc::channel();
    let worker_corpus = corpus.clone();
    std::thread::Builder::new()
        .name(CASES_THREAD.into())
        .spawn(move || {
            for case in job_rx {
                alloc::reset();
                let start_live = alloc::live();
                let started = Instant::now();
                let r = catch_unwind(AssertUnwindSafe(|| run_case(&worker_corpus, seed, case)));
                let r = r.map_err(|_| std::mem::take(&mut *LAST_PANIC.lock().unwrap()));
                let (peak, largest) = alloc::measured();
                let used = peak.saturating_sub(start_live);
                if done_tx
                    .send((case, r, used, largest, started.elapsed()))
                    .is_err()
                {
                    return;
                }
            }
        })
        .unwrap();

    let started = Instant::now();
    let (mut run, mut errors, mut fine, mut panics) = (0u64, 0u64, 0u64, 0u64);
    let (mut peak_case, mut largest_alloc, mut slowest) = (0usize, 0usize, Duration::ZERO);
    let mut failures: Vec<String> = Vec::new();
    let list: Vec<u64> = match only {
        Some(c) => vec![c],
        None => (0..cases).collect(),
    };
    for case in list {
        jobs.send(case).unwrap();
        let (_, result, used, largest, took) = match done.recv_timeout(timeout) {
            Ok(r) => r,
            Err(_) => {
                let what = alloc::CURRENT_CASE
                    .lock()
                    .map(|c| c.clone())
                    .unwrap_or_default();
                panic!(
                    "HANG: no result after {timeout:?}: {what}\n(rerun with BACKFILL_FUZZ_SEED={seed:#x} BACKFILL_FUZZ_CASE={case})"
                );
            }
        };
        run += 1;
        peak_case = peak_case.max(used);
        largest_alloc = largest_alloc.max(largest);
        slowest = slowest.max(took);
        let description = alloc::CURRENT_CASE.lock().unwrap().clone();
        match result {
            Err(panic) => {
                panics += 1;
                failures.push(format!("{description}\n  PANIC: {panic}"));
            }
            Ok(r) => {
                if r.errored {
                    errors += 1;
                } else {
                    fine += 1;
                }
                failures.extend(r.failures);
            }
        }
        if largest > SINGLE_LIMIT || used > LIVE_LIMIT {
            failures.push(format!(
                "{description}\n  MEMORY: largest allocation {largest} byte(s), {used} byte(s) held at the peak"
            ));
        }
    }
    println!(
        "mutation: seed {seed:#x}: {run} mutated blobs, {errors} errors, {fine} read fine, {panics} panics, {} other failures; {:.1?} (slowest case {slowest:.1?}); largest allocation {:.1} MiB, peak held by a case {:.1} MiB",
        failures.len() as u64 - panics,
        started.elapsed(),
        largest_alloc as f64 / (1 << 20) as f64,
        peak_case as f64 / (1 << 20) as f64,
    );
    if !failures.is_empty() {
        for f in failures.iter().take(40) {
            eprintln!("{f}\n");
        }
        panic!(
            "{} failing case(s) of {run} (seed {seed:#x}; rerun one with BACKFILL_FUZZ_CASE=<n>)",
            failures.len()
        );
    }
    if run >= 50 {
        assert!(
            errors > 0 && fine > 0,
            "the damage was never noticed, or always"
        );
    }
}
