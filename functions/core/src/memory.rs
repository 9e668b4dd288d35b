//! The work-item store in memory, with the same semantics as the DynamoDB one: for unit tests
//! of everything built on the store, and for single-process runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::lease::{abandoned_after_claim, LeasePolicy};
use crate::model::{BackfillRecord, Counters, ItemKey, NewItem, NewRange, WorkItem};
use crate::split::{RangeTally, ShardEnd};
use crate::store::{Claim, ClaimOutcome, InProgress, Progress, StateChange, StoreError, WorkStore};
use crate::transition::ITEMS_CREATABLE_IN;

#[derive(Default)]
struct State {
    backfills: HashMap<String, BackfillRecord>,
    items: HashMap<String, BTreeMap<ItemKey, WorkItem>>,
    counters: HashMap<String, Counters>,
    /// Split shards' range tallies, by backfill and shard (range 0's key).
    tallies: HashMap<(String, ItemKey), RangeTally>,
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl State {
    /// The item `claim` holds and its backfill's counters; `LeaseLost` once the claim no
    /// longer holds it.
    fn held(&mut self, claim: &Claim) -> Result<(&mut WorkItem, &mut Counters), StoreError> {
        let items = self
            .items
            .get_mut(&claim.backfill)
            .ok_or_else(|| StoreError::NoSuchBackfill(claim.backfill.clone()))?;
        let item = match items.get_mut(&claim.item.key) {
            Some(it)
                if it.is_open() && it.lease_holder.as_deref() == Some(claim.holder.as_str()) =>
            {
                it
            }
            _ => {
                return Err(StoreError::LeaseLost {
                    item: claim.item.key.clone(),
                    holder: claim.holder.clone(),
                })
            }
        };
        Ok((
            item,
            self.counters.entry(claim.backfill.clone()).or_default(),
        ))
    }
}

impl State {
    /// Counts a range that finished (for good) into its shard's tally, and the shard into the
    /// counters once its last range is done.
    fn range_finished(&mut self, claim: &Claim, failed: bool) {
        let shard = (claim.backfill.clone(), claim.item.key.with_range(0));
        let tally = self.tallies.entry(shard).or_default();
        let (next, end) = tally.after(failed);
        *tally = next;
        let c = self.counters.entry(claim.backfill.clone()).or_default();
        if failed {
            c.ranges_failed += 1;
        } else {
            c.ranges_completed += 1;
        }
        match end {
            Some(ShardEnd::Completed) => c.items_completed += 1,
            Some(ShardEnd::Failed) => c.items_failed += 1,
            None => {}
        }
    }
}

fn apply(item: &mut WorkItem, counters: &mut Counters, p: &Progress) {
    item.position = p.position.clone();
    item.docs_done += p.docs;
    item.bytes_done += p.bytes;
    item.docs_rejected += p.rejected;
    counters.docs_done += p.docs;
    counters.bytes_done += p.bytes;
    counters.docs_rejected += p.rejected;
}

#[async_trait]
impl WorkStore for MemoryStore {
    async fn create_backfill(&self, record: &BackfillRecord) -> Result<bool, StoreError> {
        let mut s = self.state.lock().unwrap();
        if s.backfills.contains_key(&record.id) {
            return Ok(false);
        }
        s.backfills.insert(record.id.clone(), record.clone());
        Ok(true)
    }

    async fn backfill(&self, id: &str) -> Result<Option<BackfillRecord>, StoreError> {
        Ok(self.state.lock().unwrap().backfills.get(id).cloned())
    }

    async fn set_state(
        &self,
        id: &str,
        change: &StateChange<'_>,
        now: i64,
    ) -> Result<BackfillRecord, StoreError> {
        let mut s = self.state.lock().unwrap();
        let rec = s
            .backfills
            .get_mut(id)
            .ok_or_else(|| StoreError::NoSuchBackfill(id.to_string()))?;
        if !change.admits(rec.state) {
            return Err(StoreError::conflict(id, rec.state, change.from()));
        }
        if let Some(to) = change.to {
            rec.state = to;
        }
        if let Some(d) = change.desired {
            rec.desired_workers = d;
        }
        if change.mark_started && rec.started_at.is_none() {
            rec.started_at = Some(now);
        }
        if change.mark_completed {
            rec.completed_at = Some(now);
        }
        if let Some(e) = change.stop_execution {
            rec.stop_execution = Some(e.to_string());
        }
        if let Some(a) = change.archive_uri {
            rec.archive_uri = Some(a.to_string());
        }
        rec.updated_at = now;
        Ok(rec.clone())
    }

    async fn create_items(&self, id: &str, new: &[NewItem]) -> Result<u64, StoreError> {
        let mut s = self.state.lock().unwrap();
        let state = s
            .backfills
            .get(id)
            .ok_or_else(|| StoreError::NoSuchBackfill(id.to_string()))?
            .state;
        if !ITEMS_CREATABLE_IN.contains(&state) {
            return Err(StoreError::conflict(id, state, &ITEMS_CREATABLE_IN));
        }
        let mut created = 0;
        let mut expected = 0;
        let items = s.items.entry(id.to_string()).or_default();
        for n in new {
            if !items.contains_key(&n.key) {
                let mut item = WorkItem::new(n.key.clone());
                item.docs_expected = n.docs_expected;
                items.insert(n.key.clone(), item);
                created += 1;
                expected += n.docs_expected;
            }
        }
        let c = s.counters.entry(id.to_string()).or_default();
        c.items_total += created;
        c.docs_expected += expected;
        Ok(created)
    }

    async fn claim(
        &self,
        id: &str,
        holder: &str,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<ClaimOutcome, StoreError> {
        let mut s = self.state.lock().unwrap();
        let Some(items) = s.items.get_mut(id) else {
            return Ok(ClaimOutcome::NothingOpen);
        };
        let open: Vec<&ItemKey> = items
            .values()
            .filter(|i| i.is_open())
            .map(|i| &i.key)
            .collect();
        if open.is_empty() {
            return Ok(ClaimOutcome::NothingOpen);
        }
        let free: Vec<ItemKey> = items
            .values()
            .filter(|i| {
                i.is_open() && (i.lease_holder.is_none() || policy.is_expired(i.lease_expiry, now))
            })
            .map(|i| i.key.clone())
            .collect();
        if free.is_empty() {
            return Ok(ClaimOutcome::AllLeased);
        }
        let key = &free[fastrand::usize(..free.len())];
        let item = items.get_mut(key).expect("listed above");
        item.abandoned = abandoned_after_claim(item.abandoned, item.lease_holder.is_some());
        item.attempts += 1;
        item.lease_holder = Some(holder.to_string());
        item.lease_expiry = policy.expiry(now, item.abandoned);
        Ok(ClaimOutcome::Claimed(Box::new(Claim {
            backfill: id.to_string(),
            holder: holder.to_string(),
            item: item.clone(),
            expiry: item.lease_expiry,
        })))
    }

    async fn checkpoint(
        &self,
        claim: &mut Claim,
        progress: &Progress,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap();
        let (item, c) = s.held(claim)?;
        apply(item, c, progress);
        item.lease_expiry = policy.expiry(now, item.abandoned);
        claim.expiry = item.lease_expiry;
        Ok(())
    }

    async fn record_expected(&self, claim: &Claim, docs: u64) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap();
        let (item, c) = s.held(claim)?;
        if item.docs_expected == 0 {
            item.docs_expected = docs;
            c.docs_expected += docs;
            c.items_measured += 1;
        }
        Ok(())
    }

    async fn complete(
        &self,
        claim: &Claim,
        progress: &Progress,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap();
        let (item, c) = s.held(claim)?;
        apply(item, c, progress);
        item.completed_at = Some(now);
        item.lease_holder = None;
        item.lease_expiry = 0;
        if item.is_range() {
            s.range_finished(claim, false);
        } else {
            c.items_completed += 1;
        }
        Ok(())
    }

    async fn split(&self, claim: &mut Claim, ranges: &[NewRange]) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap();
        let (item, c) = s.held(claim)?;
        if item.key.range != 0 || item.ranges != 0 || ranges.len() < 2 {
            return Err(StoreError::Other(format!(
                "{} cannot be split into {} ranges (range {}, split into {} already)",
                item.key,
                ranges.len(),
                item.key.range,
                item.ranges
            )));
        }
        let n = ranges.len() as u32;
        item.end = ranges[0].end.clone();
        item.ranges = n;
        item.docs_expected = ranges[0].docs_expected;
        c.ranges_total += n as u64;
        claim.item = item.clone();
        let items = s.items.get_mut(&claim.backfill).expect("held above");
        for (r, range) in ranges.iter().enumerate().skip(1) {
            let key = claim.item.key.with_range(r as u32);
            let mut new = WorkItem::new(key.clone());
            new.position = range.start.clone();
            new.end = range.end.clone();
            new.ranges = n;
            new.docs_expected = range.docs_expected;
            items.insert(key, new);
        }
        s.tallies.insert(
            (claim.backfill.clone(), claim.item.key.clone()),
            RangeTally::new(n),
        );
        Ok(())
    }

    async fn release(&self, claim: &Claim, progress: &Progress) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap();
        let (item, c) = s.held(claim)?;
        apply(item, c, progress);
        item.lease_holder = None;
        item.lease_expiry = 0;
        Ok(())
    }

    async fn fail(
        &self,
        claim: &Claim,
        progress: &Progress,
        reason: &str,
        max_failures: u32,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut s = self.state.lock().unwrap();
        let (item, c) = s.held(claim)?;
        apply(item, c, progress);
        item.failures += 1;
        item.last_error = Some(reason.to_string());
        item.lease_holder = None;
        item.lease_expiry = 0;
        let failed = item.failures >= max_failures;
        if failed {
            item.failed_at = Some(now);
            if item.is_range() {
                s.range_finished(claim, true);
            } else {
                c.items_failed += 1;
            }
        }
        Ok(failed)
    }

    async fn counters(&self, id: &str) -> Result<Counters, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .counters
            .get(id)
            .copied()
            .unwrap_or_default())
    }

    async fn in_progress(
        &self,
        id: &str,
        now: i64,
        policy: &LeasePolicy,
    ) -> Result<InProgress, StoreError> {
        let s = self.state.lock().unwrap();
        let held: Vec<&WorkItem> = s.items.get(id).map_or_else(Vec::new, |items| {
            items
                .values()
                .filter(|i| {
                    i.is_open()
                        && i.lease_holder.is_some()
                        && !policy.is_expired(i.lease_expiry, now)
                })
                .collect()
        });
        let shards: std::collections::HashSet<_> =
            held.iter().map(|i| (&i.key.index, i.key.shard)).collect();
        Ok(InProgress {
            shards: shards.len() as u64,
            items: held.len() as u64,
            ranges: held.iter().filter(|i| i.is_range()).count() as u64,
        })
    }

    async fn failed_items(&self, id: &str, limit: usize) -> Result<Vec<WorkItem>, StoreError> {
        let s = self.state.lock().unwrap();
        Ok(s.items.get(id).map_or_else(Vec::new, |items| {
            items
                .values()
                .filter(|i| i.failed_at.is_some())
                .take(limit)
                .cloned()
                .collect()
        }))
    }

    async fn expired_leases(
        &self,
        id: &str,
        now: i64,
        policy: &LeasePolicy,
        limit: usize,
    ) -> Result<Vec<WorkItem>, StoreError> {
        let s = self.state.lock().unwrap();
        Ok(s.items.get(id).map_or_else(Vec::new, |items| {
            items
                .values()
                .filter(|i| {
                    i.is_open()
                        && i.lease_holder.is_some()
                        && policy.is_expired(i.lease_expiry, now)
                })
                .take(limit)
                .cloned()
                .collect()
        }))
    }

    async fn items(&self, id: &str) -> Result<Vec<WorkItem>, StoreError> {
        let s = self.state.lock().unwrap();
        Ok(s.items
            .get(id)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn delete_working_state(&self, id: &str) -> Result<u64, StoreError> {
        let mut s = self.state.lock().unwrap();
        let n = s.items.remove(id).map_or(0, |m| m.len() as u64);
        s.counters.remove(id);
        s.tallies.retain(|(b, _), _| b != id);
        Ok(n)
    }
}
