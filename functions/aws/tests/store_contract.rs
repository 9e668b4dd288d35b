//! The DynamoDB work-item store against DynamoDB Local through the real AWS SDK: the lease
//! protocol, exact counters, and many claimers at once.

//! The work-item store's contract, run against both stores: DynamoDB Local through the real
//! AWS SDK, and the memory store. Every case is one function over `dyn WorkStore`; the macro at
//! the end runs each against both, so the two stores cannot disagree on the lease protocol
//! (claim, renew, checkpoint, complete, fail, release, expiry), the counters, or any state
//! transition.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use backfill_aws::DynamoStore;
use backfill_core::lease::{now_ms, LeasePolicy};
use backfill_core::memory::MemoryStore;
use backfill_core::model::{
    BackfillRecord, BackfillState, ItemKey, NewItem, NewRange, SnapshotRef, TargetRef,
};
use backfill_core::store::{Claim, ClaimOutcome, Progress, StateChange, StoreError, WorkStore};
use backfill_core::transition::ITEMS_CREATABLE_IN;
use backfill_harness::DynamoDbLocal;

fn dynamodb() -> &'static DynamoDbLocal {
    static SERVER: OnceLock<DynamoDbLocal> = OnceLock::new();
    SERVER.get_or_init(|| DynamoDbLocal::start().expect("DynamoDB Local starts"))
}

/// A new, empty store of the kind under test (DynamoDB: one table per test).
async fn empty_store(dynamo: bool, table: &str) -> Arc<dyn WorkStore> {
    if !dynamo {
        return Arc::new(MemoryStore::new());
    }
    let cfg = backfill_harness::sdk_config(&dynamodb().endpoint).await;
    let s = DynamoStore::new(aws_sdk_dynamodb::Client::new(&cfg), table);
    s.create_table().await.unwrap();
    Arc::new(s)
}

/// A store holding a running backfill `bf` (work items are created only for a live backfill).
async fn store(dynamo: bool, table: &str) -> Arc<dyn WorkStore> {
    let s = empty_store(dynamo, table).await;
    assert!(s.create_backfill(&record("bf")).await.unwrap());
    s
}

fn record(id: &str) -> BackfillRecord {
    BackfillRecord {
        state: BackfillState::Running,
        indices: vec!["a".into(), "b".into()],
        create_missing_indices: true,
        desired_workers: 3,
        started_at: Some(1),
        ..BackfillRecord::new(
            id,
            SnapshotRef {
                repository: "s3://b/p".into(),
                name: "snap".into(),
            },
            TargetRef {
                endpoint: "http://127.0.0.1:9200".into(),
            },
            1,
        )
    }
}

fn keys(n: u32) -> Vec<NewItem> {
    (0..n)
        .map(|i| NewItem {
            key: ItemKey::shard(&format!("idx-{}", i % 7), i),
            docs_expected: 10,
        })
        .collect()
}

const POLICY: LeasePolicy = LeasePolicy {
    initial: Duration::from_secs(60),
    max: Duration::from_secs(3600),
    max_clock_skew: Duration::from_secs(5),
};

async fn claim(s: &Arc<dyn WorkStore>, holder: &str, now: i64) -> ClaimOutcome {
    s.claim("bf", holder, now, &POLICY).await.unwrap()
}

fn claimed(o: ClaimOutcome) -> Claim {
    match o {
        ClaimOutcome::Claimed(c) => *c,
        other => panic!("expected a claim, got {other:?}"),
    }
}

fn progress(pos: &str, docs: u64) -> Progress {
    Progress {
        position: pos.into(),
        docs,
        bytes: docs * 100,
        rejected: 0,
    }
}

async fn concurrent_item_creation_creates_each_item_once(dynamo: bool) {
    let s = store(dynamo, "creation").await;
    let ks = keys(250);
    let (a, b) = tokio::join!(s.create_items("bf", &ks), s.create_items("bf", &ks[100..]));
    assert_eq!(a.unwrap() + b.unwrap(), 250);
    assert_eq!(s.create_items("bf", &ks).await.unwrap(), 0);
    let c = s.counters("bf").await.unwrap();
    assert_eq!((c.items_total, c.docs_expected), (250, 2500));
    assert_eq!(s.items("bf").await.unwrap().len(), 250);
}

async fn a_holder_checkpoints_completes_and_loses_its_lease_to_a_later_claimer(dynamo: bool) {
    let s = store(dynamo, "lease").await;
    s.create_items("bf", &keys(1)).await.unwrap();
    let t0 = now_ms();
    let mut a = claimed(claim(&s, "a", t0).await);
    assert_eq!(
        (a.item.attempts, a.item.abandoned, a.expiry),
        (1, 0, t0 + 60_000)
    );
    assert_eq!(claim(&s, "b", t0 + 1).await, ClaimOutcome::AllLeased);
    // Within lease + skew the lease is still a's.
    assert_eq!(
        claim(&s, "b", t0 + 60_000 + 4_000).await,
        ClaimOutcome::AllLeased
    );
    s.checkpoint(&mut a, &progress("_0:10", 10), t0 + 30_000, &POLICY)
        .await
        .unwrap();
    assert_eq!(a.expiry, t0 + 90_000, "a checkpoint extends the lease");
    assert_eq!(
        s.in_progress("bf", t0 + 31_000, &POLICY)
            .await
            .unwrap()
            .shards,
        1
    );

    // a goes quiet; after expiry + skew, b takes over from a's checkpoint with a doubled lease.
    let takeover = t0 + 90_000 + 5_001;
    assert_eq!(
        s.in_progress("bf", takeover, &POLICY).await.unwrap().items,
        0
    );
    assert!(s
        .expired_leases("bf", t0 + 31_000, &POLICY, 10)
        .await
        .unwrap()
        .is_empty());
    let stale = s.expired_leases("bf", takeover, &POLICY, 10).await.unwrap();
    assert_eq!(stale.len(), 1);
    assert_eq!(
        (stale[0].lease_holder.as_deref(), stale[0].docs_done),
        (Some("a"), 10)
    );
    let mut b = claimed(claim(&s, "b", takeover).await);
    assert_eq!(
        (b.item.position.as_str(), b.item.docs_done, b.item.abandoned),
        ("_0:10", 10, 1)
    );
    assert_eq!(b.expiry, takeover + 120_000);
    let e = s
        .checkpoint(&mut a, &progress("_0:20", 10), takeover + 1, &POLICY)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::LeaseLost { .. }), "{e}");
    assert!(matches!(
        s.complete(&a, &progress("_0:99", 5), takeover + 1).await,
        Err(StoreError::LeaseLost { .. })
    ));

    s.complete(&b, &progress("_0:30", 20), takeover + 2)
        .await
        .unwrap();
    assert_eq!(
        claim(&s, "c", takeover + 3).await,
        ClaimOutcome::NothingOpen
    );
    let c = s.counters("bf").await.unwrap();
    assert_eq!(
        (c.items_total, c.items_completed, c.docs_done, c.bytes_done),
        (1, 1, 30, 3000)
    );
    let item = &s.items("bf").await.unwrap()[0];
    assert_eq!(
        (
            item.docs_done,
            item.lease_holder.as_ref(),
            item.completed_at
        ),
        (30, None, Some(takeover + 2))
    );
    let _ = &mut b;
}

async fn a_released_item_is_claimable_at_once_and_keeps_its_position(dynamo: bool) {
    let s = store(dynamo, "release").await;
    s.create_items("bf", &keys(1)).await.unwrap();
    let t = now_ms();
    let a = claimed(claim(&s, "a", t).await);
    s.release(&a, &progress("_2:7:100:0", 7)).await.unwrap();
    let b = claimed(claim(&s, "b", t + 1).await);
    assert_eq!(
        (b.item.position.as_str(), b.item.abandoned, b.item.attempts),
        ("_2:7:100:0", 0, 2)
    );
    assert_eq!(s.counters("bf").await.unwrap().docs_done, 7);
}

async fn an_item_that_fails_n_times_is_failed_for_good_and_counted(dynamo: bool) {
    let s = store(dynamo, "failures").await;
    s.create_items("bf", &keys(2)).await.unwrap();
    let mut t = now_ms();
    let mut failed_key = None;
    let mut failures = 0;
    while failures < 3 {
        let c = claimed(claim(&s, "w", t).await);
        let key = failed_key.get_or_insert_with(|| c.item.key.clone()).clone();
        if c.item.key != key {
            // The other item: complete it and go on with the failing one.
            s.complete(&c, &progress("start", 0), t).await.unwrap();
            t += 1;
            continue;
        }
        failures += 1;
        assert_eq!(c.item.failures, failures - 1);
        let reason = format!("corrupt blob (round {failures})");
        let gone = s
            .fail(&c, &progress("start", 0), &reason, 3, t)
            .await
            .unwrap();
        assert_eq!(
            gone,
            failures == 3,
            "failed for good only at the third failure"
        );
        t += 1;
    }
    // The remaining item (if not completed yet) is the other one.
    while let ClaimOutcome::Claimed(c) = claim(&s, "w", t).await {
        assert_ne!(
            Some(&c.item.key),
            failed_key.as_ref(),
            "a failed item is claimed again"
        );
        s.complete(&c, &progress("start", 0), t).await.unwrap();
    }
    assert_eq!(claim(&s, "w", t).await, ClaimOutcome::NothingOpen);
    let c = s.counters("bf").await.unwrap();
    assert_eq!((c.items_failed, c.items_completed), (1, 1));
    let items = s.items("bf").await.unwrap();
    let f = items
        .iter()
        .find(|i| Some(&i.key) == failed_key.as_ref())
        .unwrap();
    assert!(f.failed_at.is_some() && f.failures == 3);
    let listed = s.failed_items("bf", 10).await.unwrap();
    assert_eq!(listed.len(), 1, "only the failed item is listed");
    assert_eq!(Some(&listed[0].key), failed_key.as_ref());
    assert_eq!(
        listed[0].last_error.as_deref(),
        Some("corrupt blob (round 3)")
    );
    assert!(f.last_error.as_deref().unwrap().contains("corrupt blob"));
}

async fn thirty_two_claimers_on_a_thousand_items_never_share_a_live_lease(dynamo: bool) {
    let s = store(dynamo, "contention").await;
    s.create_items("bf", &keys(1000)).await.unwrap();
    // item → holder, for the time between a claim and its completion.
    let live: Arc<Mutex<HashMap<ItemKey, String>>> = Arc::default();
    let violations = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for w in 0..32 {
        let (s, live, violations) = (s.clone(), live.clone(), violations.clone());
        tasks.push(tokio::spawn(async move {
            let me = format!("w{w}");
            let mut done = 0u64;
            loop {
                match s.claim("bf", &me, now_ms(), &POLICY).await.unwrap() {
                    ClaimOutcome::Claimed(c) => {
                        let mut c = *c;
                        // A worker does I/O between its writes: let the others in (the memory
                        // store never yields by itself).
                        tokio::task::yield_now().await;
                        if let Some(other) =
                            live.lock().unwrap().insert(c.item.key.clone(), me.clone())
                        {
                            violations
                                .lock()
                                .unwrap()
                                .push(format!("{} held by {other} and {me}", c.item.key));
                        }
                        s.checkpoint(&mut c, &progress("_0:1", 1), now_ms(), &POLICY)
                            .await
                            .unwrap();
                        live.lock().unwrap().remove(&c.item.key);
                        s.complete(&c, &progress("_0:2", 1), now_ms())
                            .await
                            .unwrap();
                        done += 1;
                    }
                    ClaimOutcome::AllLeased => tokio::time::sleep(Duration::from_millis(20)).await,
                    ClaimOutcome::NothingOpen => return done,
                }
            }
        }));
    }
    let mut total = 0;
    let mut busy_workers = 0;
    for t in tasks {
        let n = t.await.unwrap();
        total += n;
        busy_workers += u32::from(n > 0);
    }
    assert!(
        violations.lock().unwrap().is_empty(),
        "{:?}",
        violations.lock().unwrap()
    );
    assert_eq!(total, 1000);
    assert!(
        busy_workers >= 16,
        "claims did not spread: {busy_workers} of 32 workers got items"
    );
    let items = s.items("bf").await.unwrap();
    assert!(
        items
            .iter()
            .all(|i| i.completed_at.is_some() && i.attempts == 1),
        "an item was claimed twice"
    );
    let c = s.counters("bf").await.unwrap();
    let recount: u64 = items.iter().map(|i| i.docs_done).sum();
    assert_eq!(
        (c.items_total, c.items_completed, c.items_failed),
        (1000, 1000, 0)
    );
    assert_eq!((c.docs_done, recount), (2000, 2000));
    assert_eq!(
        c.bytes_done,
        items.iter().map(|i| i.bytes_done).sum::<u64>()
    );
}

async fn deleting_the_working_state_keeps_only_the_backfill_record(dynamo: bool) {
    let s = store(dynamo, "deletion").await;
    s.create_backfill(&record("bf")).await.unwrap();
    s.create_items("bf", &keys(60)).await.unwrap();
    assert_eq!(s.delete_working_state("bf").await.unwrap(), 60);
    assert!(s.items("bf").await.unwrap().is_empty());
    assert_eq!(s.counters("bf").await.unwrap().items_total, 0);
    assert!(s.backfill("bf").await.unwrap().is_some());
}

async fn backfill_records_round_trip_and_a_second_create_is_refused(dynamo: bool) {
    let s = empty_store(dynamo, "records").await;
    let r = record("bf");
    assert!(s.create_backfill(&r).await.unwrap());
    assert!(
        !s.create_backfill(&r).await.unwrap(),
        "a second create is refused"
    );
    assert_eq!(s.backfill("bf").await.unwrap(), Some(r));
    assert_eq!(s.backfill("nope").await.unwrap(), None);
    let e = s
        .set_state("nope", &StateChange::pause(), 6)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NoSuchBackfill(_)), "{e}");
}

const STATES: [BackfillState; 6] = [
    BackfillState::Created,
    BackfillState::Running,
    BackfillState::Paused,
    BackfillState::Stopping,
    BackfillState::Stopped,
    BackfillState::Completed,
];

/// Every named transition, from every state: applied exactly where it may leave that state,
/// with all it carries; elsewhere a `StateConflict` naming the state found, and nothing
/// written.
async fn every_transition_applies_only_from_the_states_it_may_leave(dynamo: bool) {
    let s = empty_store(dynamo, "transitions").await;
    let mut changes: Vec<(String, StateChange<'static>)> = vec![
        ("start".into(), StateChange::start(4)),
        ("pause".into(), StateChange::pause()),
        ("complete".into(), StateChange::complete()),
        ("stop".into(), StateChange::stop()),
        (
            "note_stop_execution".into(),
            StateChange::note_stop_execution("arn:exec"),
        ),
        (
            "finalize_stop".into(),
            StateChange::finalize_stop("s3://a/b.json"),
        ),
    ];
    for read in STATES {
        for n in [0, 3] {
            if let Ok(c) = StateChange::scale(read, n) {
                changes.push((format!("scale {n} (read {})", read.as_str()), c));
            }
        }
    }
    let mut case = 0;
    for (name, change) in &changes {
        for from in STATES {
            case += 1;
            let id = format!("t{case}");
            let before = BackfillRecord {
                state: from,
                desired_workers: 2,
                started_at: None,
                ..record(&id)
            };
            assert!(s.create_backfill(&before).await.unwrap());
            let r = s.set_state(&id, change, 1_000 + case).await;
            if change.admits(from) {
                let after = r.unwrap_or_else(|e| panic!("{name} from {}: {e}", from.as_str()));
                assert_eq!(after.state, change.to.unwrap_or(from), "{name}");
                assert_eq!(after.desired_workers, change.desired.unwrap_or(2), "{name}");
                assert_eq!(after.updated_at, 1_000 + case, "{name}");
                assert_eq!(
                    after.started_at,
                    change.mark_started.then_some(1_000 + case),
                    "{name}"
                );
                assert_eq!(
                    after.completed_at,
                    change.mark_completed.then_some(1_000 + case),
                    "{name}"
                );
                assert_eq!(after.stop_execution.as_deref(), change.stop_execution);
                assert_eq!(after.archive_uri.as_deref(), change.archive_uri);
                assert_eq!(s.backfill(&id).await.unwrap(), Some(after));
            } else {
                match r {
                    Err(StoreError::StateConflict {
                        backfill,
                        current,
                        allowed,
                    }) => {
                        assert_eq!(
                            (backfill.as_str(), current, allowed.as_slice()),
                            (id.as_str(), from, change.from()),
                            "{name}"
                        );
                    }
                    other => panic!("{name} from {}: {other:?}", from.as_str()),
                }
                assert_eq!(
                    s.backfill(&id).await.unwrap(),
                    Some(before),
                    "{name} from {} wrote nothing",
                    from.as_str()
                );
            }
        }
    }
}

/// `started_at` is set by the first start only.
async fn started_at_is_set_once(dynamo: bool) {
    let s = empty_store(dynamo, "started").await;
    let r = BackfillRecord {
        state: BackfillState::Created,
        started_at: None,
        ..record("bf")
    };
    s.create_backfill(&r).await.unwrap();
    let first = s.set_state("bf", &StateChange::start(1), 10).await.unwrap();
    s.set_state("bf", &StateChange::pause(), 20).await.unwrap();
    let again = s.set_state("bf", &StateChange::start(2), 30).await.unwrap();
    assert_eq!((first.started_at, again.started_at), (Some(10), Some(10)));
}

/// Items are created only while the backfill takes them: never once it is stopping, so the
/// stop workflow's archive holds every item there will ever be.
async fn items_are_created_only_for_a_live_backfill(dynamo: bool) {
    let s = empty_store(dynamo, "creatable").await;
    let e = s.create_items("ghost", &keys(3)).await.unwrap_err();
    assert!(matches!(e, StoreError::NoSuchBackfill(_)), "{e}");
    for (i, state) in STATES.into_iter().enumerate() {
        let id = format!("c{i}");
        s.create_backfill(&BackfillRecord {
            state,
            ..record(&id)
        })
        .await
        .unwrap();
        let r = s.create_items(&id, &keys(150)).await;
        if ITEMS_CREATABLE_IN.contains(&state) {
            assert_eq!(r.unwrap(), 150, "{}", state.as_str());
            assert_eq!(s.counters(&id).await.unwrap().items_total, 150);
        } else {
            match r {
                Err(StoreError::StateConflict { current, .. }) => assert_eq!(current, state),
                other => panic!("items created while {}: {other:?}", state.as_str()),
            }
            assert!(s.items(&id).await.unwrap().is_empty());
            assert_eq!(s.counters(&id).await.unwrap().items_total, 0);
        }
    }
}

fn range(start: &str, end: Option<&str>, docs: u64) -> NewRange {
    NewRange {
        start: start.into(),
        end: end.map(str::to_string),
        docs_expected: docs,
    }
}

/// Claims until every open item is held; the claims by key.
async fn claim_all(s: &Arc<dyn WorkStore>, now: i64) -> HashMap<ItemKey, Claim> {
    let mut held = HashMap::new();
    let mut n = 0;
    while let ClaimOutcome::Claimed(c) = claim(s, &format!("w{n}"), now).await {
        n += 1;
        held.insert(c.item.key.clone(), *c);
    }
    held
}

async fn a_split_shard_is_done_when_all_its_ranges_are(dynamo: bool) {
    let s = store(dynamo, "split").await;
    s.create_items("bf", &keys(2)).await.unwrap();
    let t = now_ms();
    let mut a = claimed(claim(&s, "a", t).await);
    let shard = a.item.key.clone();
    let plan = [
        range("start", Some("_1:0"), 4),
        range("_1:0", Some("_2:500"), 3),
        range("_2:500", None, 3),
    ];
    s.split(&mut a, &plan).await.unwrap();
    assert_eq!(
        (a.item.end.as_deref(), a.item.ranges, a.item.docs_expected),
        (Some("_1:0"), 3, 4)
    );
    assert!(matches!(
        s.split(&mut a.clone(), &plan).await,
        Err(StoreError::Other(_))
    ));
    let c = s.counters("bf").await.unwrap();
    assert_eq!(
        (c.items_total, c.ranges_total, c.docs_expected),
        (2, 3, 20),
        "a split adds ranges, not shards or documents"
    );
    let mut held = claim_all(&s, t + 1).await;
    assert_eq!(held.len(), 3, "the other shard and two new ranges");
    let r1 = held.remove(&shard.with_range(1)).expect("range 1 claimed");
    let r2 = held.remove(&shard.with_range(2)).expect("range 2 claimed");
    let other = held.into_values().next().unwrap();
    assert_eq!(
        (
            r1.item.position.as_str(),
            r1.item.end.as_deref(),
            r1.item.ranges
        ),
        ("_1:0", Some("_2:500"), 3)
    );
    assert_eq!(
        (r2.item.position.as_str(), r2.item.end.as_deref()),
        ("_2:500", None)
    );
    assert_eq!(r2.item.docs_expected, 3);
    let busy = s.in_progress("bf", t + 2, &POLICY).await.unwrap();
    assert_eq!((busy.shards, busy.items, busy.ranges), (2, 4, 3));

    s.complete(&a, &progress("_1:0", 4), t + 3).await.unwrap();
    s.complete(&r1, &progress("_2:500", 3), t + 3)
        .await
        .unwrap();
    let c = s.counters("bf").await.unwrap();
    assert_eq!(
        (c.items_completed, c.ranges_completed, c.docs_done),
        (0, 2, 7),
        "the shard is not done while a range is open"
    );
    // The last range fails for good: the shard is failed, and listed by its range.
    assert!(s
        .fail(&r2, &progress("_2:600", 1), "corrupt", 1, t + 4)
        .await
        .unwrap());
    let c = s.counters("bf").await.unwrap();
    assert_eq!(
        (
            c.items_completed,
            c.items_failed,
            c.ranges_completed,
            c.ranges_failed
        ),
        (0, 1, 2, 1)
    );
    let failed = s.failed_items("bf", 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].key, shard.with_range(2));
    assert_eq!(claim(&s, "x", t + 5).await, ClaimOutcome::AllLeased);
    s.complete(&other, &progress("_9:9", 10), t + 5)
        .await
        .unwrap();
    assert_eq!(claim(&s, "x", t + 6).await, ClaimOutcome::NothingOpen);
    let c = s.counters("bf").await.unwrap();
    assert_eq!(
        (c.items_total, c.items_completed, c.items_failed),
        (2, 1, 1)
    );
}

async fn ranges_finishing_at_once_count_their_shard_once(dynamo: bool) {
    let s = store(dynamo, "split_race").await;
    s.create_items("bf", &keys(1)).await.unwrap();
    let t = now_ms();
    let mut a = claimed(claim(&s, "a", t).await);
    let plan: Vec<NewRange> = (0..8)
        .map(|i| {
            let start = if i == 0 {
                "start".to_string()
            } else {
                format!("_{i}:0")
            };
            let end = (i < 7).then(|| format!("_{}:0", i + 1));
            range(&start, end.as_deref(), 1)
        })
        .collect();
    s.split(&mut a, &plan).await.unwrap();
    let mut held: Vec<Claim> = claim_all(&s, t + 1).await.into_values().collect();
    held.push(a);
    assert_eq!(held.len(), 8);
    let mut done = tokio::task::JoinSet::new();
    for c in held {
        let s = s.clone();
        let end = c.item.end.clone().unwrap_or_else(|| "_9:0".into());
        done.spawn(async move { s.complete(&c, &progress(&end, 1), t + 2).await });
    }
    while let Some(r) = done.join_next().await {
        r.unwrap().unwrap();
    }
    let c = s.counters("bf").await.unwrap();
    assert_eq!(
        (c.items_completed, c.ranges_completed, c.docs_done),
        (1, 8, 8)
    );
    assert_eq!(claim(&s, "x", t + 3).await, ClaimOutcome::NothingOpen);
}

/// Runs each case against both stores.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(false).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(true).await
                }
            )*
        }
    };
}

contract!(
    backfill_records_round_trip_and_a_second_create_is_refused,
    every_transition_applies_only_from_the_states_it_may_leave,
    started_at_is_set_once,
    items_are_created_only_for_a_live_backfill,
    concurrent_item_creation_creates_each_item_once,
    a_holder_checkpoints_completes_and_loses_its_lease_to_a_later_claimer,
    a_released_item_is_claimable_at_once_and_keeps_its_position,
    an_item_that_fails_n_times_is_failed_for_good_and_counted,
    thirty_two_claimers_on_a_thousand_items_never_share_a_live_lease,
    deleting_the_working_state_keeps_only_the_backfill_record,
    a_split_shard_is_done_when_all_its_ranges_are,
    ranges_finishing_at_once_count_their_shard_once,
);
