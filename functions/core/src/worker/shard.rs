//! Working one claimed item: the reader thread, the bulk senders and the checkpoints.
//!
//! Batches are numbered in reading order and may finish out of order (several requests are in
//! flight); a checkpoint only ever moves to the end of the longest run of finished batches, so
//! a later reader resumes after documents that are all on the target.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use snapshot::Position;
use tokio::sync::{mpsc, watch};

use super::open::{self, OpenRequest, Opened};
use super::reader::{read_batches, Batch};
use super::sender::{self, Sent};
use super::{retry_store, Engine, EngineError, Event, Rejection, Summary};
use crate::lease::now_ms;
use crate::model::BackfillRecord;
use crate::retry::RetryPolicy;
use crate::store::{Claim, Progress, StoreError};
use crate::type_mapping::{resolve_conflicts, Router};

/// A failed-documents report is tried six times (waits of 0.2 s to 3.2 s) before the item is
/// given up rather than lose what it would say.
const REPORT_RETRY: RetryPolicy = RetryPolicy::doubling(
    6,
    std::time::Duration::from_millis(100),
    std::time::Duration::MAX,
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemEnd {
    Completed,
    /// A non-retryable error was recorded (the item may be failed for good).
    Failed,
    /// Released after a passing error, for any worker to continue.
    Released,
    /// Another worker holds it now.
    LeaseLost,
    /// Shutdown: checkpointed and released.
    Interrupted,
}

/// Work done since the last write to the store.
#[derive(Default)]
struct Pending {
    progress: Progress,
    rejections: Vec<Rejection>,
}

/// A batch that is done sending (or failed to).
struct BatchDone {
    seq: u64,
    end: Position,
    refused: Vec<Rejection>,
    result: Result<Sent, String>,
}

enum Finish {
    Complete,
    Release,
    Fail(String),
}

impl Engine {
    pub(super) async fn process(
        &self,
        record: &BackfillRecord,
        mut claim: Claim,
        mut shutdown: watch::Receiver<bool>,
        summary: &mut Summary,
    ) -> Result<ItemEnd, EngineError> {
        let started = Instant::now();
        let key = claim.item.key.clone();
        let mut pending = Pending {
            progress: Progress {
                position: claim.item.position.clone(),
                ..Progress::default()
            },
            rejections: Vec::new(),
        };

        // Open the shard where the item's checkpoint says (blocking: it reads metadata).
        let position: Position = match claim.item.position.parse() {
            Ok(p) => p,
            Err(e) => {
                let reason = format!("the item's checkpoint position is unreadable: {e}");
                return self
                    .finish(&mut claim, pending, Finish::Fail(reason), summary)
                    .await;
            }
        };
        let end: Option<Position> = match claim.item.end.as_deref().map(str::parse).transpose() {
            Ok(e) => e,
            Err(e) => {
                let reason = format!("the item's range end is unreadable: {e}");
                return self
                    .finish(&mut claim, pending, Finish::Fail(reason), summary)
                    .await;
            }
        };
        let request = OpenRequest {
            repository: record.snapshot.repository.clone(),
            snapshot: record.snapshot.name.clone(),
            index: key.index.clone(),
            shard: key.shard,
            read: self.config.read,
            count: claim.item.docs_expected == 0 && position.is_start() && key.range == 0,
            size: open::splittable(record, &claim, &position),
            position,
            end,
        };
        let snaps = self.snapshots.clone();
        let opened = tokio::task::spawn_blocking(move || open::open(snaps.as_ref(), request))
            .await
            .expect("the shard-opening task does not panic");
        let Opened {
            mut reader,
            meta,
            expected,
            sizes,
        } = match opened {
            Ok(x) => x,
            Err(e) if e.is_permanent() => {
                return self
                    .finish(&mut claim, pending, Finish::Fail(e.to_string()), summary)
                    .await;
            }
            Err(e) => {
                tracing::warn!(item = %key, error = %e, "reading the snapshot failed; releasing the item");
                return self
                    .finish(&mut claim, pending, Finish::Release, summary)
                    .await;
            }
        };
        if let Some(docs) = expected.filter(|d| *d > 0) {
            if let Err(e) = retry_store(|| self.store.record_expected(&claim, docs)).await {
                tracing::warn!(item = %key, error = %e, "could not record the shard's document count");
                if matches!(e, StoreError::LeaseLost { .. }) {
                    return Ok(ItemEnd::LeaseLost);
                }
            }
        }
        if let Some(sizes) = &sizes {
            if let Err(end) = self
                .split_if_large(record, &mut claim, &mut reader, sizes)
                .await
            {
                if end == ItemEnd::Released {
                    return self
                        .finish(&mut claim, pending, Finish::Release, summary)
                        .await;
                }
                return Ok(end);
            }
        }
        // Under type mappings a source index may feed several targets (or share one).
        let router = Arc::new(record.type_mappings.router(&key.index, &meta));
        for (target, body) in router.create_bodies(&meta) {
            if let Err((reason, permanent)) = self.ensure_index(record, &target, &body, &meta).await
            {
                let how = if permanent {
                    Finish::Fail(reason)
                } else {
                    Finish::Release
                };
                return self.finish(&mut claim, pending, how, summary).await;
            }
        }

        // The reader thread feeds batches through a small channel: memory stays bounded by
        // (channel + in-flight requests) × batch size.
        let cancel = Arc::new(AtomicBool::new(false));
        let (batch_tx, mut batch_rx) = mpsc::channel(2);
        let reader_thread = {
            let cancel = cancel.clone();
            let router = router.clone();
            let limits = self.config.batch;
            tokio::task::spawn_blocking(move || {
                read_batches(reader, router, limits, cancel, batch_tx)
            })
        };
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<BatchDone>();
        let mut in_flight = 0usize;
        let mut reader_done = false;
        let mut stopping = false;
        // Set when a stop is requested: in-flight requests are abandoned after it.
        let mut stop_deadline: Option<tokio::time::Instant> = None;
        let mut failure: Option<String> = None;
        let mut finished: BTreeMap<u64, (Position, Sent, Vec<Rejection>)> = BTreeMap::new();
        let mut next_seq = 0u64;
        let mut since_checkpoint = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();

        loop {
            // Batches acknowledged behind an unanswered one count against the window too: the
            // checkpoint cannot cover them yet, so they are what a crash would send again.
            let outstanding = in_flight + finished.len();
            let can_send =
                !reader_done && !stopping && failure.is_none() && outstanding < self.limit.limit();
            let deadline =
                tokio::time::Instant::from_std(since_checkpoint + self.config.checkpoint_interval);
            tokio::select! {
                biased;
                _ = shutdown.changed(), if !stopping => {
                    if *shutdown.borrow() {
                        stopping = true;
                        stop_deadline = Some(tokio::time::Instant::now() + self.config.stop_grace);
                        cancel.store(true, Ordering::Relaxed);
                    }
                }
                _ = sleep_until_some(stop_deadline), if in_flight > 0 && stop_deadline.is_some() => {
                    // Only acknowledged batches moved the checkpoint; what is abandoned here is
                    // sent again from there.
                    tracing::info!(item = %key, in_flight, grace = ?self.config.stop_grace,
                        "stop grace over: abandoning in-flight bulk requests");
                    tasks.abort_all();
                    in_flight = 0;
                }
                Some(BatchDone { seq, end, refused, result }) = done_rx.recv(), if in_flight > 0 => {
                    in_flight -= 1;
                    match result {
                        Ok(sent) => {
                            self.report(&sent, refused.len());
                            finished.insert(seq, (end, sent, refused));
                        }
                        Err(e) => {
                            failure.get_or_insert(e);
                            cancel.store(true, Ordering::Relaxed);
                        }
                    }
                    // Move the checkpoint over the run of finished batches.
                    while let Some((end, sent, refused)) = finished.remove(&next_seq) {
                        next_seq += 1;
                        pending.progress.position = end.to_string();
                        pending.progress.docs += sent.indexed;
                        pending.progress.bytes += sent.indexed_bytes;
                        pending.progress.rejected += (sent.rejected.len() + refused.len()) as u64;
                        pending.rejections.extend(refused);
                        pending.rejections.extend(sent.rejected);
                    }
                    if pending.progress.docs + pending.progress.rejected >= self.config.checkpoint_docs {
                        if let Err(end) = self.checkpoint(&mut claim, &mut pending, summary).await {
                            cancel.store(true, Ordering::Relaxed);
                            tasks.abort_all();
                            return Ok(end);
                        }
                        since_checkpoint = Instant::now();
                    }
                }
                msg = batch_rx.recv(), if can_send => match msg {
                    Some(Ok(batch)) => {
                        in_flight += 1;
                        self.spawn_send(&mut tasks, batch, router.clone(), done_tx.clone());
                    }
                    Some(Err(e)) => {
                        let permanent = e.is_permanent();
                        tracing::warn!(item = %key, error = %e, permanent, "reading the shard failed");
                        if permanent {
                            failure.get_or_insert(e.to_string());
                        } else {
                            stopping = true;
                        }
                        cancel.store(true, Ordering::Relaxed);
                    }
                    None => reader_done = true,
                },
                _ = tokio::time::sleep_until(deadline) => {
                    if pending.progress.docs + pending.progress.rejected > 0 {
                        if let Err(end) = self.checkpoint(&mut claim, &mut pending, summary).await {
                            cancel.store(true, Ordering::Relaxed);
                            tasks.abort_all();
                            return Ok(end);
                        }
                    }
                    since_checkpoint = Instant::now();
                }
            }
            let draining = reader_done || stopping || failure.is_some();
            if draining && in_flight == 0 {
                break;
            }
        }
        // The reader stops at the cancel flag or a closed channel.
        drop(batch_rx);
        let _ = reader_thread.await;
        let how = match failure {
            Some(reason) => Finish::Fail(reason),
            None if stopping => Finish::Release,
            None => Finish::Complete,
        };
        let end = self.finish(&mut claim, pending, how, summary).await?;
        if end == ItemEnd::Completed {
            self.metrics.record(Event::ShardCompleted {
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        Ok(if end == ItemEnd::Released && *shutdown.borrow() {
            ItemEnd::Interrupted
        } else {
            end
        })
    }

    fn spawn_send(
        &self,
        tasks: &mut tokio::task::JoinSet<()>,
        batch: Batch,
        router: Arc<Router>,
        done: mpsc::UnboundedSender<BatchDone>,
    ) {
        let target = self.target.clone();
        let policy = self.config.retry;
        let limit = self.limit.clone();
        let rate = self.rate.clone();
        tasks.spawn(async move {
            let Batch {
                seq,
                docs,
                refused,
                end,
                ..
            } = batch;
            let result = if docs.is_empty() {
                Ok(Sent::default())
            } else {
                if let Some(rate) = &rate {
                    rate.acquire(docs.iter().map(|d| d.source.len() as u64).sum())
                        .await;
                }
                match sender::send(target.as_ref(), &docs, &policy, &limit).await {
                    // 409s of merged targets: resends of this very document, or collisions.
                    Ok(mut sent) if docs.iter().any(|d| d.create) => {
                        let t = target.as_ref();
                        match resolve_conflicts(t, &router, &docs, &mut sent.rejected).await {
                            Ok((n, b)) => {
                                sent.indexed += n;
                                sent.indexed_bytes += b;
                                Ok(sent)
                            }
                            Err(e) => Err(format!("checking _id conflicts in the target: {e}")),
                        }
                    }
                    other => other.map_err(|e| e.to_string()),
                }
            };
            let _ = done.send(BatchDone {
                seq,
                end,
                refused,
                result,
            });
        });
    }

    /// Metrics of an acknowledged batch; `refused` documents were never sent (no `_source`,
    /// a body that cannot be sent) and count as rejected like the target's rejections.
    fn report(&self, sent: &Sent, refused: usize) {
        self.metrics.record(Event::DocumentsIndexed {
            docs: sent.indexed,
            bytes: sent.indexed_bytes,
        });
        for l in &sent.latency {
            self.metrics.record(Event::BulkLatency {
                seconds: l.as_secs_f64(),
            });
        }
        if sent.retries > 0 {
            self.metrics.record(Event::BulkRetries {
                count: sent.retries,
            });
        }
        for _ in 0..sent.throttled {
            self.metrics.record(Event::Throttled);
        }
        let rejected = sent.rejected.len() + refused;
        if rejected > 0 {
            self.metrics.record(Event::DocumentsRejected {
                count: rejected as u64,
            });
        }
    }

    /// Reports pending rejections, then records progress and extends the lease.
    async fn checkpoint(
        &self,
        claim: &mut Claim,
        pending: &mut Pending,
        summary: &mut Summary,
    ) -> Result<(), ItemEnd> {
        if !self.write_rejections(claim, pending).await {
            return Err(ItemEnd::Released);
        }
        let lease = self.config.lease;
        let p = pending.progress.clone();
        let r = retry_store(|| {
            let mut c = claim.clone();
            let p = p.clone();
            async move {
                let r = self.store.checkpoint(&mut c, &p, now_ms(), &lease).await;
                r.map(|_| c.expiry)
            }
        })
        .await;
        match r {
            Ok(expiry) => {
                claim.expiry = expiry;
                summary.checkpoints += 1;
                summary.docs += p.docs;
                summary.bytes += p.bytes;
                summary.rejected += p.rejected;
                pending.progress = Progress {
                    position: p.position,
                    ..Progress::default()
                };
                tracing::debug!(item = %claim.item.key, position = %pending.progress.position, "checkpoint");
                Ok(())
            }
            Err(StoreError::LeaseLost { .. }) => {
                self.metrics.record(Event::LeaseLost);
                summary.leases_lost += 1;
                tracing::warn!(item = %claim.item.key, "lease lost; stopping work on the item");
                Err(ItemEnd::LeaseLost)
            }
            Err(e) => {
                tracing::error!(item = %claim.item.key, error = %e, "checkpoint failed; stopping work on the item");
                Err(ItemEnd::LeaseLost)
            }
        }
    }

    /// Writes the failed-documents report for what is pending; false if it cannot be written.
    async fn write_rejections(&self, claim: &Claim, pending: &mut Pending) -> bool {
        if pending.rejections.is_empty() {
            return true;
        }
        let written = REPORT_RETRY
            .run(
                || {
                    self.rejections
                        .write(&claim.backfill, &claim.item.key, &pending.rejections)
                },
                |_| true,
                |attempt, e| {
                    tracing::warn!(item = %claim.item.key, attempt, error = %e, "writing the failed-documents report failed");
                },
            )
            .await;
        if written.is_ok() {
            pending.rejections.clear();
        }
        written.is_ok()
    }

    /// Ends work on an item: complete, release or record a failure, with the last progress.
    async fn finish(
        &self,
        claim: &mut Claim,
        mut pending: Pending,
        how: Finish,
        summary: &mut Summary,
    ) -> Result<ItemEnd, EngineError> {
        if !self.write_rejections(claim, &mut pending).await {
            // Without the report the documents would go unreported: leave the item at its
            // last checkpoint (they will be sent and reported again by the next holder).
            summary.items_released += 1;
            return Ok(ItemEnd::Released);
        }
        let p = pending.progress.clone();
        let now = now_ms();
        let c = claim.clone();
        let result = match &how {
            Finish::Complete => retry_store(|| self.store.complete(&c, &p, now))
                .await
                .map(|_| ItemEnd::Completed),
            Finish::Release => retry_store(|| self.store.release(&c, &p))
                .await
                .map(|_| ItemEnd::Released),
            Finish::Fail(reason) => {
                let max = self.config.max_failures;
                retry_store(|| self.store.fail(&c, &p, reason, max, now))
                    .await
                    .map(|_| ItemEnd::Failed)
            }
        };
        match result {
            Ok(end) => {
                summary.docs += p.docs;
                summary.bytes += p.bytes;
                summary.rejected += p.rejected;
                match end {
                    ItemEnd::Completed => summary.items_completed += 1,
                    ItemEnd::Failed => {
                        summary.items_failed += 1;
                        self.metrics.record(Event::ShardFailed);
                        if let Finish::Fail(reason) = &how {
                            tracing::error!(item = %claim.item.key, reason = %reason, "item failed");
                        }
                    }
                    _ => summary.items_released += 1,
                }
                Ok(end)
            }
            Err(StoreError::LeaseLost { .. }) => {
                self.metrics.record(Event::LeaseLost);
                summary.leases_lost += 1;
                Ok(ItemEnd::LeaseLost)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Makes sure the target index exists; `Err((reason, permanent))` if it cannot.
    async fn ensure_index(
        &self,
        record: &BackfillRecord,
        index: &str,
        body: &serde_json::Value,
        meta: &snapshot::IndexMetadata,
    ) -> Result<(), (String, bool)> {
        if self.known_indices.lock().unwrap().contains(index) {
            return Ok(());
        }
        let exists = self.target.index_exists(index).await.map_err(|e| {
            (
                format!("checking target index {index}: {e}"),
                !e.is_retryable(),
            )
        })?;
        if !exists {
            if !record.create_missing_indices {
                return Err((
                    format!(
                        "target index {index} does not exist: create it (with its mappings) before the backfill, or start the backfill with create-missing-indices"
                    ),
                    true,
                ));
            }
            let not_carried = super::index::settings_not_carried(meta);
            if !not_carried.is_empty() {
                tracing::info!(
                    index,
                    settings = %not_carried.join(", "),
                    "snapshot settings not given to the target (the source's identity, node layout, blocks or index modes)"
                );
            }
            match super::index::create_index(&*self.target, index, body).await {
                Ok(refused) if refused.is_empty() => tracing::info!(
                    index,
                    "created the target index from the snapshot's metadata"
                ),
                Ok(refused) => tracing::warn!(
                    index,
                    refused = %refused.join("; "),
                    "created the target index from the snapshot's metadata without the settings the target refused"
                ),
                // Another worker may have created it meanwhile.
                Err(e) if matches!(self.target.index_exists(index).await, Ok(true)) => {
                    tracing::debug!(index, error = %e, "index created by someone else");
                }
                Err(e) => {
                    return Err((
                        format!("creating target index {index}: {e}"),
                        !e.is_retryable(),
                    ))
                }
            }
        }
        self.known_indices.lock().unwrap().insert(index.to_string());
        Ok(())
    }
}

/// Sleeps until the deadline; forever without one (the branch is disabled then anyway).
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
