//! The chaos soak's smoke (`make soak` runs 50 trials of the full snapshot): 5 trials of a
//! smaller multi-shard snapshot through the same code, with the worker binary of this build:
//! workers killed at chosen moments, the target, DynamoDB and S3 failing at random, pauses,
//! shards split into ranges; the target checked document by document against the snapshot's
//! ground truth.

use std::path::PathBuf;

use backfill_harness::soak::{self, SoakConfig, SoakServers, SMALL};

/// Fixed, so that the smoke draws the same plans each run (`SOAK_SEED` picks another).
const SEED: u64 = 20_261_207;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_chaos_trials_lose_no_document_and_add_none() {
    let servers = tokio::task::spawn_blocking(SoakServers::start)
        .await
        .unwrap()
        .expect("DynamoDB Local, moto and OpenSearch 2.19 (run `make harness`)");
    let work = tempfile::tempdir().unwrap();
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let mut cfg = SoakConfig::new(
        5,
        seed,
        PathBuf::from(env!("CARGO_BIN_EXE_backfill-worker")),
        work.path().to_path_buf(),
    );
    cfg.layout = SMALL;
    cfg.index_share = 1.0;
    let mut out = Vec::new();
    let result = soak::run(&cfg, &servers, &mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    eprintln!("{text}");
    let report = result.unwrap();

    let t = report.totals();
    assert_eq!(
        (t.lost, t.extra),
        (0, 0),
        "documents lost or extra:\n{text}"
    );
    assert!(report.passed(), "a trial did not finish:\n{text}");
    assert!(t.kills > 0, "no worker was killed:\n{text}");
    assert!(t.ranges > 0, "no shard was split into ranges:\n{text}");
    for (kind, n) in t.faults.kinds() {
        assert!(n > 0, "no {kind} fault was injected:\n{text}");
    }
    for r in &report.trials {
        let c = &r.counters;
        assert!(
            c.items_completed == c.items_total && c.items_failed == 0,
            "trial {}: {c:?}",
            r.trial
        );
        assert!(
            c.docs_done >= r.expected,
            "trial {}: the store counted {} documents of {}",
            r.trial,
            c.docs_done,
            r.expected
        );
    }
    let summary = text.lines().last().unwrap_or_default();
    assert_eq!(
        summary,
        format!(
            "soak: 5 trials, {} kills, {} faults, 0 lost, 0 extra, {} re-sent",
            t.kills,
            t.faults.total(),
            t.resent
        )
    );
}
