//! Worker processes against DynamoDB Local, moto's S3 and a real OpenSearch 2.19 node, through the real AWS
//! SDK: they share the shards, survive being killed, stop cleanly, ride out a misbehaving
//! target, and lose no document.

mod common;

use std::time::{Duration, Instant};

use backfill_core::WorkStore;
use backfill_faults::{FaultPlan, FaultProxy};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_migrate_a_snapshot_from_s3_and_lose_nothing() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository(
        tmp.path(),
        &[
            ("two", &["l8_best_compression", "l10_best_compression"]),
            ("mixed", &["l9_mixed"]),
            ("newer", &["l10_mixed"]),
            ("legacy", &["l8_fast"]),
        ],
    );
    let s3_repo = env.upload(&repo, "generated").await;
    let keys = env
        .backfill("bf", &repo, &s3_repo, "snap", &env.target.endpoint, true)
        .await;
    let mut workers: Vec<_> = (0..3)
        .map(|i| {
            env.worker(
                "bf",
                &format!("w{i}"),
                &["--bulk-max-docs", "200", "--checkpoint-docs", "500"],
            )
        })
        .collect();
    let mut claimed = 0.0;
    for w in &mut workers {
        let (code, out, err) = wait(w, Duration::from_secs(180));
        assert_eq!(code, 0, "{err}");
        claimed += metric(&out, "LeasesClaimed");
    }
    assert_eq!(claimed, keys.len() as f64, "each item claimed once");
    let c = env.store.counters("bf").await.unwrap();
    assert_eq!(
        (c.items_total, c.items_completed, c.items_failed),
        (keys.len() as u64, keys.len() as u64, 0)
    );
    let want = expected_docs(&repo, "snap");
    assert_eq!(c.docs_done, want.len() as u64);
    assert_target_has(&env.target.endpoint, &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_share_one_large_shard_split_into_ranges_and_lose_nothing() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    // One shard: one segment of 100,000 documents, cut into 4 ranges inside the segment.
    let repo = repository(tmp.path(), &[("huge", &["l9_100k"])]);
    let s3_repo = env.upload(&repo, "huge").await;
    let split = backfill_core::split::RangeSplit {
        max_docs: 30_000,
        max_bytes: 0,
    };
    env.backfill_split(
        "bf",
        &repo,
        &s3_repo,
        "snap",
        &env.target.endpoint,
        true,
        split,
    )
    .await;
    let mut workers: Vec<_> = (0..3)
        .map(|i| {
            env.worker(
                "bf",
                &format!("w{i}"),
                &[
                    "--bulk-max-docs",
                    "1000",
                    "--checkpoint-docs",
                    "5000",
                    "--idle-poll-seconds",
                    "1",
                ],
            )
        })
        .collect();
    let mut claimed = 0.0;
    for w in &mut workers {
        let (code, out, err) = wait(w, Duration::from_secs(300));
        assert_eq!(code, 0, "{err}");
        claimed += metric(&out, "LeasesClaimed");
    }
    let c = env.store.counters("bf").await.unwrap();
    assert_eq!(
        (
            c.items_total,
            c.items_completed,
            c.ranges_total,
            c.ranges_completed
        ),
        (1, 1, 4, 4),
        "the shard is completed when its 4 ranges are"
    );
    assert_eq!(claimed, 4.0, "each range claimed once");
    let items = env.store.items("bf").await.unwrap();
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|i| i.completed_at.is_some()));
    let want = expected_docs(&repo, "snap");
    assert_eq!(
        c.docs_done,
        want.len() as u64,
        "every document counted once"
    );
    assert_target_has(&env.target.endpoint, &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_fixture_snapshot_arrives_with_ids_routing_and_sources() {
    let env = Env::start().await;
    let repo = shared().join("fixtures/snapshots/ES_6_8_Single");
    let s3_repo = env.upload(&repo, "es68").await;
    env.backfill(
        "bf",
        &repo,
        &s3_repo,
        "global_state_snapshot",
        &env.target.endpoint,
        true,
    )
    .await;
    let (code, _, err) = wait(&mut env.worker("bf", "w", &[]), Duration::from_secs(60));
    assert_eq!(code, 0, "{err}");
    // The expected list made by real Lucene, not by our reader.
    let text =
        std::fs::read_to_string(shared().join("fixtures/expected/ES_6_8_Single.ndjson")).unwrap();
    let mut want = Docs::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let source: serde_json::Value =
            serde_json::from_str(v["source"].as_str().unwrap()).unwrap();
        want.insert(
            (
                v["index"].as_str().unwrap().into(),
                v["id"].as_str().unwrap().into(),
            ),
            (v["routing"].as_str().map(str::to_string), source),
        );
    }
    assert_target_has(&env.target.endpoint, &want);
}

/// Reads the one item of a backfill.
async fn item(env: &Env, id: &str) -> backfill_core::WorkItem {
    env.store.items(id).await.unwrap().remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_is_resumed_from_its_checkpoint_after_the_lease_expires() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository(tmp.path(), &[("killed", &["l8_best_compression"])]);
    let s3_repo = env.upload(&repo, "killed").await;
    env.backfill("bf", &repo, &s3_repo, "snap", &env.target.endpoint, true)
        .await;
    // Slow the target down so the kill lands mid-shard.
    let proxy = FaultProxy::start(
        &env.target.endpoint,
        FaultPlan {
            latency: Some(Duration::from_millis(60)),
            ..FaultPlan::default()
        },
    )
    .await
    .unwrap();
    let tune = [
        "--bulk-max-docs",
        "100",
        "--checkpoint-docs",
        "400",
        "--max-in-flight",
        "2",
        "--lease-seconds",
        "4",
        "--max-clock-skew-seconds",
        "1",
    ];
    let mut first = env.worker(
        "bf",
        "doomed",
        &[&["--target-endpoint", &proxy.endpoint()][..], &tune].concat(),
    );
    let start = Instant::now();
    while item(&env, "bf").await.docs_done < 1_500 {
        assert!(start.elapsed() < Duration::from_secs(60), "no progress");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill().unwrap(); // SIGKILL: no checkpoint, no release
    let _ = first.wait();
    tokio::time::sleep(Duration::from_millis(300)).await; // let in-flight requests land
    let at_kill = item(&env, "bf").await;
    let on_target = count(&env.target.endpoint, "killed");
    assert_eq!(
        at_kill.lease_holder.as_deref(),
        Some("doomed"),
        "a killed worker keeps its lease until it expires"
    );
    let resend = on_target - at_kill.docs_done;
    assert!(
        resend <= 400 + 2 * 100,
        "{resend} documents beyond the checkpoint would be sent again"
    );

    let started = Instant::now();
    let (code, _, err) = wait(
        &mut env.worker("bf", "heir", &tune),
        Duration::from_secs(120),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "the heir waited for the lease to expire"
    );
    let done = item(&env, "bf").await;
    assert!(done.completed_at.is_some());
    assert_eq!((done.attempts, done.abandoned), (2, 1));
    let want = expected_docs(&repo, "snap");
    assert_eq!(
        done.docs_done,
        want.len() as u64,
        "no document counted twice"
    );
    assert_target_has(&env.target.endpoint, &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_checkpoints_releases_and_exits_promptly() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository(tmp.path(), &[("sigterm", &["l8_best_compression"])]);
    let s3_repo = env.upload(&repo, "sigterm").await;
    env.backfill("bf", &repo, &s3_repo, "snap", &env.target.endpoint, true)
        .await;
    let proxy = FaultProxy::start(
        &env.target.endpoint,
        FaultPlan {
            latency: Some(Duration::from_millis(60)),
            ..FaultPlan::default()
        },
    )
    .await
    .unwrap();
    let mut w = env.worker(
        "bf",
        "w",
        &[
            "--target-endpoint",
            &proxy.endpoint(),
            "--bulk-max-docs",
            "100",
            "--checkpoint-docs",
            "100000",
            "--checkpoint-seconds",
            "600",
        ],
    );
    let start = Instant::now();
    while count(&env.target.endpoint, "sigterm") < 1_000 {
        assert!(start.elapsed() < Duration::from_secs(60), "no progress");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent = Instant::now();
    unsafe_sigterm(w.id());
    let (code, _, err) = wait(&mut w, Duration::from_secs(20));
    let took = sent.elapsed();
    assert_eq!(code, 0, "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?} to stop");
    let it = item(&env, "bf").await;
    assert!(it.lease_holder.is_none(), "released");
    assert!(it.completed_at.is_none());
    assert!(
        it.docs_done >= 1_000,
        "what was sent before the signal is checkpointed: {}",
        it.docs_done
    );
    assert_ne!(it.position, "start");
    assert_eq!(
        it.docs_done,
        count(&env.target.endpoint, "sigterm"),
        "checkpoint = what the target holds"
    );
}

fn unsafe_sigterm(pid: u32) {
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_target_loses_nothing_and_the_retries_are_counted() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository(
        tmp.path(),
        &[
            ("faults_mixed", &["l9_mixed"]),
            ("faults_legacy", &["l8_fast"]),
            ("faults_newer", &["l10_mixed"]),
        ],
    );
    let s3_repo = env.upload(&repo, "faults").await;
    env.backfill("bf", &repo, &s3_repo, "snap", &env.target.endpoint, true)
        .await;
    let plan = FaultPlan {
        throttle_every: Some(4),
        unavailable_every: Some(7),
        reset_every: Some(9),
        reset_after_forward_every: Some(11),
        item_throttle_every: Some(13),
        latency: None,
        aws_throttle_every: None,
        capacity_bytes_per_sec: None,
    };
    let proxy = FaultProxy::start(&env.target.endpoint, plan).await.unwrap();
    let (code, out, err) = wait(
        &mut env.worker(
            "bf",
            "w",
            &[
                "--target-endpoint",
                &proxy.endpoint(),
                "--bulk-max-docs",
                "10",
                "--retry-initial-ms",
                "20",
                "--retry-max-ms",
                "200",
                // A request the proxy loses holds its item's window until it times out (the
                // window waits for it so that a crash re-sends little): not the default 120 s.
                "--target-timeout-seconds",
                "15",
            ],
        ),
        Duration::from_secs(180),
    );
    assert_eq!(code, 0, "{err}");
    let f = proxy.counts();
    assert!(
        f.throttled > 0
            && f.unavailable > 0
            && f.resets > 0
            && f.resets_after_forward > 0
            && f.items_throttled > 0,
        "{f:?}"
    );
    assert!(metric(&out, "BulkRetries") > 0.0, "retries are reported");
    assert!(metric(&out, "Throttled") > 0.0, "push-back is reported");
    let want = expected_docs(&repo, "snap");
    assert_eq!(
        env.store.counters("bf").await.unwrap().docs_done,
        want.len() as u64
    );
    assert_target_has(&env.target.endpoint, &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_blob_fails_only_its_shard_with_the_reason_in_the_state() {
    let env = Env::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = repository(
        tmp.path(),
        &[("good", &["l9_mixed"]), ("bad", &["l8_fast"])],
    );
    // Flip a byte in the middle of the largest blob of the "bad" index.
    let r = snapshot::Repository::open(std::sync::Arc::new(snapshot::LocalDirectory::new(&repo)))
        .unwrap();
    let snap = r.snapshot("snap").unwrap();
    let files = snap.shard(&snap.index("bad").unwrap(), 0).unwrap();
    let biggest = files
        .files
        .iter()
        .filter(|f| !f.is_virtual())
        .max_by_key(|f| f.length)
        .unwrap();
    let path = repo.join(&files.folder).join(&biggest.blob_name);
    let mut data = std::fs::read(&path).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0x5A;
    std::fs::write(&path, data).unwrap();
    let s3_repo = env.upload(&repo, "corrupt").await;
    env.backfill("bf", &repo, &s3_repo, "snap", &env.target.endpoint, true)
        .await;
    let (code, _, err) = wait(
        &mut env.worker("bf", "w", &["--max-failures", "2"]),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{err}");
    let items = env.store.items("bf").await.unwrap();
    let bad = items.iter().find(|i| i.key.index == "bad").unwrap();
    let good = items.iter().find(|i| i.key.index == "good").unwrap();
    assert!(good.completed_at.is_some());
    assert!(bad.failed_at.is_some() && bad.failures == 2, "{bad:?}");
    let reason = bad.last_error.as_deref().unwrap();
    assert!(
        reason.contains("s3://snapshots/corrupt")
            && reason.contains("index bad")
            && reason.contains(&biggest.physical_name),
        "{reason}"
    );
    let c = env.store.counters("bf").await.unwrap();
    assert_eq!((c.items_completed, c.items_failed), (1, 1));
}
