//! The lease protocol at scale, against DynamoDB Local: many claimers (tasks of one process, each
//! with its own store and request counter) race for the work items of one backfill with short
//! leases, and some die holding a lease (they stop writing; a replacement with a new name takes
//! their place). Every call is logged with when it was sent and when it returned; afterwards the
//! log is checked:
//! - no takeover of a live lease: a claim sent after a holder's successful write returned took
//!   the item only if that write's expiry was past the claimer's takeover cutoff;
//! - no stale holder: no write of an earlier holder succeeded after a takeover had returned;
//! - nothing claimed after its completion, and every item completed exactly once.
//!
//! Calls that overlap in time are not ordered by the log and are not judged (the store's
//! conditional writes order them; the checks see every pair that time orders).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backfill_aws::DynamoStore;
use backfill_core::lease::{now_ms, LeasePolicy};
use backfill_core::model::{
    BackfillRecord, BackfillState, ItemKey, NewItem, SnapshotRef, TargetRef,
};
use backfill_core::store::{ClaimOutcome, Progress, StoreError};
use backfill_core::WorkStore;

/// What one simulation does.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub items: u32,
    pub claimers: u32,
    /// The first lease of an item (doubled per abandonment up to 4×).
    pub lease: Duration,
    /// The longest a holder works on an item (a checkpoint halfway).
    pub max_work: Duration,
    /// Chance that a claimer dies holding its lease, per claim.
    pub death_rate: f64,
    pub seed: u64,
}

/// What was measured and what the checks found.
#[derive(Debug, Clone, Default)]
pub struct SimReport {
    pub items: u32,
    pub claimers: u32,
    pub wall: Duration,
    pub claims: u64,
    /// Claims of an item claimed before (its holder died, or lost the lease).
    pub reclaims: u64,
    pub deaths: u64,
    /// Writes refused because the lease had been taken over (`LeaseLost`): the protocol working.
    pub lost_writes: u64,
    /// DynamoDB requests of each successful claim, sorted.
    pub requests_per_claim: Vec<u64>,
    /// Latency of each successful claim in ms, sorted.
    pub claim_ms: Vec<f64>,
    /// Requests of one `status` (the store calls it makes) with every item open, and at the end.
    pub status_requests: (u64, u64),
    pub violations: Vec<String>,
    /// Items whose completions succeeded other than exactly once.
    pub completions_wrong: Vec<String>,
}

impl SimReport {
    pub fn percentile<T: Copy + Default>(v: &[T], p: f64) -> T {
        if v.is_empty() {
            return T::default();
        }
        v[((v.len() - 1) as f64 * p).round() as usize]
    }
}

/// What the claimers measured: requests and latency of each successful claim, deaths.
#[derive(Default)]
struct Tally {
    requests: Vec<u64>,
    claim_ms: Vec<f64>,
    deaths: u64,
}

#[derive(Debug, Clone)]
enum Kind {
    Claim { now: i64, had_holder: bool },
    Checkpoint,
    Complete,
}

#[derive(Debug, Clone)]
struct Call {
    item: ItemKey,
    holder: String,
    kind: Kind,
    sent: Instant,
    returned: Instant,
    /// The lease expiry the call wrote (claims and checkpoints that succeeded).
    expiry: Option<i64>,
    ok: bool,
}

fn progress(docs: u64) -> Progress {
    Progress {
        position: format!("_0:{docs}"),
        docs,
        bytes: docs * 100,
        rejected: 0,
    }
}

/// A running backfill `sim` with `items` open items in a new table.
async fn prepare(client: &aws_sdk_dynamodb::Client, table: &str, items: u32) -> DynamoStore {
    let store = DynamoStore::new(client.clone(), table);
    store.create_table().await.expect("creating the table");
    let record = BackfillRecord {
        state: BackfillState::Running,
        desired_workers: 1,
        ..BackfillRecord::new(
            "sim",
            SnapshotRef {
                repository: "s3://sim/repo".into(),
                name: "snap".into(),
            },
            TargetRef {
                endpoint: "http://127.0.0.1:9200".into(),
            },
            now_ms(),
        )
    };
    store.create_backfill(&record).await.expect("the backfill");
    let new: Vec<NewItem> = (0..items)
        .map(|i| NewItem {
            key: ItemKey::shard(&format!("idx-{}", i % 10), i),
            docs_expected: 2,
        })
        .collect();
    store.create_items("sim", &new).await.expect("the items");
    store
}

/// The requests one `status` makes: the record, the counters, the live leases.
async fn status_requests(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    policy: &LeasePolicy,
) -> u64 {
    let store = DynamoStore::new(client.clone(), table);
    store.backfill("sim").await.expect("status: record");
    store.counters("sim").await.expect("status: counters");
    store
        .in_progress("sim", now_ms(), policy)
        .await
        .expect("status: in progress");
    store.requests()
}

/// Runs one simulation against the DynamoDB at `client` in table `table`.
pub async fn run(client: aws_sdk_dynamodb::Client, table: &str, cfg: &SimConfig) -> SimReport {
    let policy = LeasePolicy {
        initial: cfg.lease,
        max: cfg.lease * 4,
        max_clock_skew: Duration::from_millis(50),
    };
    prepare(&client, table, cfg.items).await;
    let status_open = status_requests(&client, table, &policy).await;
    let log: Arc<Mutex<Vec<Call>>> = Arc::default();
    let stats: Arc<Mutex<Tally>> = Arc::default();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..cfg.claimers {
        let (client, table, log, stats) = (
            client.clone(),
            table.to_string(),
            log.clone(),
            stats.clone(),
        );
        let (cfg, policy) = (cfg.clone(), policy);
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(
                cfg.seed ^ (u64::from(c) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
            let mut life = 0;
            let mut me = format!("c{c}.{life}");
            let store = DynamoStore::new(client, &table);
            let record = |call: Call| log.lock().unwrap().push(call);
            loop {
                let (sent, before, now) = (Instant::now(), store.requests(), now_ms());
                let outcome = store.claim("sim", &me, now, &policy).await.expect("claim");
                let returned = Instant::now();
                let mut claim = match outcome {
                    ClaimOutcome::Claimed(c) => *c,
                    ClaimOutcome::AllLeased => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    ClaimOutcome::NothingOpen => return,
                };
                {
                    let mut s = stats.lock().unwrap();
                    s.requests.push(store.requests() - before);
                    s.claim_ms.push((returned - sent).as_secs_f64() * 1e3);
                }
                record(Call {
                    item: claim.item.key.clone(),
                    holder: me.clone(),
                    kind: Kind::Claim {
                        now,
                        had_holder: claim.item.attempts > 1,
                    },
                    sent,
                    returned,
                    expiry: Some(claim.expiry),
                    ok: true,
                });
                let dies = rng.f64() < cfg.death_rate;
                let die_early = rng.f64() < 0.5;
                let work = cfg.max_work.mul_f64(rng.f64());
                if dies && die_early {
                    // Gone before its first checkpoint; a replacement starts.
                    stats.lock().unwrap().deaths += 1;
                    life += 1;
                    me = format!("c{c}.{life}");
                    continue;
                }
                tokio::time::sleep(work / 2).await;
                let sent = Instant::now();
                let r = store
                    .checkpoint(&mut claim, &progress(1), now_ms(), &policy)
                    .await;
                let ok = check_write(r);
                record(Call {
                    item: claim.item.key.clone(),
                    holder: me.clone(),
                    kind: Kind::Checkpoint,
                    sent,
                    returned: Instant::now(),
                    expiry: ok.then_some(claim.expiry),
                    ok,
                });
                if dies {
                    stats.lock().unwrap().deaths += 1;
                    life += 1;
                    me = format!("c{c}.{life}");
                    continue;
                }
                if !ok {
                    continue;
                }
                tokio::time::sleep(work / 2).await;
                let sent = Instant::now();
                let r = store.complete(&claim, &progress(2), now_ms()).await;
                let ok = check_write(r);
                record(Call {
                    item: claim.item.key.clone(),
                    holder: me.clone(),
                    kind: Kind::Complete,
                    sent,
                    returned: Instant::now(),
                    expiry: None,
                    ok,
                });
            }
        }));
    }
    for t in tasks {
        t.await.expect("a claimer panicked");
    }
    let wall = started.elapsed();
    let status_end = status_requests(&client, table, &policy).await;
    let calls = std::mem::take(&mut *log.lock().unwrap());
    let Tally {
        mut requests,
        claim_ms: mut latency,
        deaths,
    } = std::mem::take(&mut *stats.lock().unwrap());
    requests.sort_unstable();
    latency.sort_by(f64::total_cmp);
    let (violations, completions_wrong) = judge(&calls, cfg.items, &policy);
    SimReport {
        items: cfg.items,
        claimers: cfg.claimers,
        wall,
        claims: calls
            .iter()
            .filter(|c| matches!(c.kind, Kind::Claim { .. }))
            .count() as u64,
        reclaims: calls
            .iter()
            .filter(|c| {
                matches!(
                    c.kind,
                    Kind::Claim {
                        had_holder: true,
                        ..
                    }
                )
            })
            .count() as u64,
        deaths,
        lost_writes: calls.iter().filter(|c| !c.ok).count() as u64,
        requests_per_claim: requests,
        claim_ms: latency,
        status_requests: (status_open, status_end),
        violations,
        completions_wrong,
    }
}

/// A holder's write: true if it took, false if the lease was lost; any other error ends the run.
fn check_write(r: Result<(), StoreError>) -> bool {
    match r {
        Ok(()) => true,
        Err(StoreError::LeaseLost { .. }) => false,
        Err(e) => panic!("a holder's write failed: {e}"),
    }
}

/// The checks of the module's doc, over the log.
fn judge(calls: &[Call], items: u32, policy: &LeasePolicy) -> (Vec<String>, Vec<String>) {
    let mut by_item: BTreeMap<&ItemKey, Vec<&Call>> = BTreeMap::new();
    for c in calls {
        by_item.entry(&c.item).or_default().push(c);
    }
    let mut violations = Vec::new();
    let mut completions_wrong = Vec::new();
    for (item, calls) in &by_item {
        let done = calls
            .iter()
            .filter(|c| matches!(c.kind, Kind::Complete) && c.ok)
            .count();
        if done != 1 {
            completions_wrong.push(format!("{item}: completed {done} times"));
        }
        let claims = calls
            .iter()
            .filter(|c| matches!(c.kind, Kind::Claim { .. }));
        for b in claims {
            let Kind::Claim { now, .. } = b.kind else {
                continue;
            };
            for a in calls.iter().filter(|a| a.ok && a.holder != b.holder) {
                // A write of another holder that returned before this claim was sent.
                if a.returned < b.sent {
                    match a.kind {
                        Kind::Complete => violations.push(format!(
                            "{item}: claimed by {} after {} completed it",
                            b.holder, a.holder
                        )),
                        _ => {
                            let expiry = a.expiry.unwrap_or(i64::MIN);
                            let finished = calls.iter().any(|x| {
                                x.holder == a.holder
                                    && x.ok
                                    && matches!(x.kind, Kind::Complete)
                                    && x.returned < b.sent
                            });
                            if !finished && !policy.is_expired(expiry, now) {
                                violations.push(format!(
                                    "{item}: {} took a lease of {} that was live (expiry {expiry}, claimer's clock {now})",
                                    b.holder, a.holder
                                ));
                            }
                        }
                    }
                }
                // A write sent after this takeover returned, by a holder whose latest claim
                // before that write preceded the takeover, must have failed.
                let latest_claim = calls
                    .iter()
                    .filter(|x| {
                        x.holder == a.holder
                            && matches!(x.kind, Kind::Claim { .. })
                            && x.sent < a.sent
                    })
                    .map(|x| x.sent)
                    .max();
                let before_takeover = latest_claim.is_some_and(|t| t < b.sent);
                if before_takeover && a.sent > b.returned && !matches!(a.kind, Kind::Claim { .. }) {
                    violations.push(format!(
                        "{item}: {} wrote after {} took the item over",
                        a.holder, b.holder
                    ));
                }
            }
        }
    }
    if by_item.len() != items as usize {
        completions_wrong.push(format!(
            "{} of {items} items were ever claimed",
            by_item.len()
        ));
    }
    (violations, completions_wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checks can fail: logs of each broken protocol are caught.
    #[test]
    fn the_judge_catches_a_live_takeover_a_stale_write_and_a_double_completion() {
        let policy = LeasePolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(4),
            max_clock_skew: Duration::from_millis(50),
        };
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let key = ItemKey::shard("i", 0);
        let call = |holder: &str, kind: Kind, sent: u64, expiry: Option<i64>, ok: bool| Call {
            item: key.clone(),
            holder: holder.into(),
            kind,
            sent: at(sent),
            returned: at(sent + 5),
            expiry,
            ok,
        };
        let claim = |now: i64| Kind::Claim {
            now,
            had_holder: false,
        };
        // A claims (lease to 1,000), B claims at its clock 500: a live lease taken.
        let live = [
            call("a", claim(0), 0, Some(1_000), true),
            call("b", claim(500), 20, Some(1_500), true),
            call("b", Kind::Complete, 40, None, true),
        ];
        let (v, _) = judge(&live, 1, &policy);
        assert!(v.iter().any(|v| v.contains("that was live")), "{v:?}");
        // The same after expiry is fine.
        let expired = [
            call("a", claim(0), 0, Some(1_000), true),
            call("b", claim(2_000), 20, Some(3_000), true),
            call("b", Kind::Complete, 40, None, true),
        ];
        assert_eq!(judge(&expired, 1, &policy), (vec![], vec![]));
        // A's checkpoint after B's takeover succeeded: two holders.
        let stale = [
            call("a", claim(0), 0, Some(1_000), true),
            call("b", claim(2_000), 20, Some(3_000), true),
            call("a", Kind::Checkpoint, 40, Some(3_100), true),
            call("b", Kind::Complete, 60, None, true),
        ];
        let (v, _) = judge(&stale, 1, &policy);
        assert!(v.iter().any(|v| v.contains("wrote after")), "{v:?}");
        // Completed twice (and claimed after its completion).
        let twice = [
            call("a", claim(0), 0, Some(1_000), true),
            call("a", Kind::Complete, 20, None, true),
            call("b", claim(2_000), 40, Some(3_000), true),
            call("b", Kind::Complete, 60, None, true),
        ];
        let (v, c) = judge(&twice, 1, &policy);
        assert!(
            v.iter().any(|v| v.contains("after a completed it")),
            "{v:?}"
        );
        assert_eq!(c, ["i/0: completed 2 times"]);
    }
}
