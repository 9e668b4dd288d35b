//! How hard a worker pushes the target: how many `_bulk` requests may be in flight, and, once
//! the target has pushed back (429), how many bytes per second may start. And, when asked, a
//! fixed cap on the worker's rate ([`ByteRate`]).
//!
//! A window of requests in flight alone cannot hold a target that admits a byte rate: halving
//! it on every 429 and widening it again by one per window of successes sends in bursts that
//! overrun the target again at once (in the bench, 26–35% of the requests were answered 429).
//! So after a push-back the worker also paces its requests at a rate a little under what the
//! target was seen to accept, reacts once per congestion episode (not once per 429 of requests
//! that were already in flight), and grows the rate again slowly while it is near where it was
//! pushed back. The pace answers 429s for whole requests (a rate the target cannot take); 429s
//! for some documents of a request (a shard's full queue) narrow the window only, as before.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A cap on the `_source` bytes a worker sends per second, shared by its requests in flight:
/// each request waits for its turn (the first goes at once), so the worker's rate stays under
/// the cap whatever the window. Retries of a request's failed documents are not counted again.
#[derive(Debug)]
pub struct ByteRate {
    per_second: u64,
    /// When the next request may start.
    next: Mutex<Option<Instant>>,
}

impl ByteRate {
    pub fn new(per_second: u64) -> ByteRate {
        ByteRate {
            per_second: per_second.max(1),
            next: Mutex::new(None),
        }
    }

    /// Waits until a request of `bytes` may go.
    pub async fn acquire(&self, bytes: u64) {
        let start = {
            let mut next = self.next.lock().unwrap();
            let now = Instant::now();
            let start = next.map_or(now, |n| n.max(now));
            *next = Some(start + Duration::from_secs_f64(bytes as f64 / self.per_second as f64));
            start
        };
        tokio::time::sleep_until(start).await;
    }
}

/// After a push-back the pace is this share of the rate the target was seen to accept.
const BACKOFF: f64 = 0.85;
/// The accepted rate is measured since the last cut if that is at least this long ago …
const SINCE_CUT_MIN: Duration = Duration::from_millis(500);
/// … else over the acknowledgements of this last stretch of time.
const MEASURE: Duration = Duration::from_secs(2);
/// For this long after a decrease the pace grows slowly (the target's limit is near) …
const CALM: Duration = Duration::from_secs(8);
/// … by this share per second of the rate accepted before the decrease (back to it in ~7 s) …
const SLOW_GROWTH: f64 = 0.02;
/// … and faster afterwards, to find capacity the target gained.
const FAST_GROWTH: f64 = 0.10;
/// The pace does not grow past this multiple of the rate actually sent: a worker that sends
/// less than its pace (its reader is slower) learns nothing about the target.
const HEADROOM: f64 = 1.5;
/// Within [`CALM`] of a cut the pace is cut again only if at least this share of the answers
/// since were 429s: the first estimate was too high (a target's initial burst inflates it).
/// 429s that come whatever the rate (a target refusing every n-th request) would otherwise cut
/// the pace again and again, down to nothing; this way it holds (a cut per [`CALM`] of 15%
/// against 16% of growth).
const RECUT_SHARE: f64 = 0.3;

/// Handed out when a request may start; given back with its answer, so that 429s of requests
/// sent before the last decrease do not decrease again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    epoch: u64,
}

/// The congestion control of one worker's `_bulk` requests (shared by its senders).
#[derive(Debug)]
pub struct AdaptiveLimit {
    inner: Mutex<Inner>,
    max: usize,
}

#[derive(Debug)]
struct Inner {
    /// Requests that may be in flight.
    limit: usize,
    /// Successful requests since the window last changed.
    streak: usize,
    /// Congestion episodes: the times the window and the pace were decreased.
    decreases: u64,
    /// 429 answers seen, whether or not they decreased anything.
    throttled: u64,
    /// Bumped by each decrease; a ticket of an older epoch belongs to an episode already
    /// reacted to.
    epoch: u64,
    /// Set at the first push-back; until then requests go as fast as the window lets them.
    pace: Option<Pace>,
    last_cut: Option<Instant>,
    /// When the bytes of successful requests were acknowledged, oldest first.
    acked: VecDeque<(Instant, u64)>,
    /// Answers, 429s for whole requests, successes and their bytes since the pace was last cut.
    answers_since_cut: u64,
    refused_since_cut: u64,
    successes_since_cut: u64,
    accepted_since_cut: u64,
    /// The largest request admitted: the pace lets at least one such request go per second.
    largest: u64,
}

#[derive(Debug)]
struct Pace {
    /// Bytes per second.
    rate: f64,
    /// The accepted rate the last decrease started from: the unit of growth.
    base: f64,
    /// When the next request may start.
    next: Instant,
    /// When `rate` last grew.
    grown: Instant,
}

impl AdaptiveLimit {
    pub fn new(start: usize, max: usize) -> AdaptiveLimit {
        let max = max.max(1);
        AdaptiveLimit {
            inner: Mutex::new(Inner {
                limit: start.clamp(1, max),
                streak: 0,
                decreases: 0,
                throttled: 0,
                epoch: 0,
                pace: None,
                last_cut: None,
                acked: VecDeque::new(),
                answers_since_cut: 0,
                refused_since_cut: 0,
                successes_since_cut: 0,
                accepted_since_cut: 0,
                largest: 0,
            }),
            max,
        }
    }

    /// Requests that may be in flight now.
    pub fn limit(&self) -> usize {
        self.inner.lock().unwrap().limit
    }

    /// The pace in bytes per second, once the target has pushed back.
    pub fn rate(&self) -> Option<f64> {
        self.inner.lock().unwrap().pace.as_ref().map(|p| p.rate)
    }

    /// Congestion episodes reacted to.
    pub fn decreases(&self) -> u64 {
        self.inner.lock().unwrap().decreases
    }

    /// 429 answers seen.
    pub fn throttled(&self) -> u64 {
        self.inner.lock().unwrap().throttled
    }

    /// Waits until a request of `bytes` may start under the pace (at once when there is none).
    pub async fn admit(&self, bytes: u64) -> Ticket {
        let start = {
            let mut i = self.inner.lock().unwrap();
            let now = Instant::now();
            i.largest = i.largest.max(bytes);
            match i.pace.as_mut() {
                None => now,
                Some(p) => {
                    // No credit is saved up while idle: a pause is not followed by a burst.
                    let start = p.next.max(now);
                    p.next = start + Duration::from_secs_f64(bytes as f64 / p.rate);
                    start
                }
            }
        };
        tokio::time::sleep_until(start).await;
        // Read after the wait: a request that waited through a decrease starts in its epoch.
        Ticket {
            epoch: self.inner.lock().unwrap().epoch,
        }
    }

    /// The target refused the whole request with 429: it is over a rate it can take. The first
    /// such answer of an episode halves the window and sets the pace below the rate the target
    /// accepted; 429s of requests sent before that are the same episode.
    pub fn on_throttled(&self, ticket: Ticket) {
        let mut i = self.inner.lock().unwrap();
        let now = Instant::now();
        i.throttled += 1;
        i.answers_since_cut += 1;
        i.refused_since_cut += 1;
        if ticket.epoch != i.epoch {
            return;
        }
        let calm = i.last_cut.is_some_and(|t| now - t < CALM);
        if calm && (i.refused_since_cut as f64) < RECUT_SHARE * i.answers_since_cut as f64 {
            return;
        }
        // What the target took since the last cut is the best measure of what it takes at
        // the last pace (the last 2 s may still hold its initial burst), if that was long
        // enough ago and a few requests went through since.
        let since_cut = i
            .last_cut
            .map(|t| (now - t).as_secs_f64())
            .filter(|s| *s >= SINCE_CUT_MIN.as_secs_f64() && i.successes_since_cut >= 2)
            .map(|s| i.accepted_since_cut as f64 / s);
        let accepted = since_cut.or_else(|| i.accepted_rate(now));
        i.decrease();
        i.last_cut = Some(now);
        i.answers_since_cut = 0;
        i.refused_since_cut = 0;
        i.successes_since_cut = 0;
        i.accepted_since_cut = 0;
        let base = match (accepted, i.pace.as_ref().map(|p| p.rate)) {
            (Some(a), Some(r)) => Some(a.min(r)),
            (a, r) => a.or(r),
        };
        // Nothing accepted yet (the very first requests were refused): the window alone acts.
        if let Some(base) = base {
            let next = i.pace.as_ref().map_or(now, |p| p.next);
            // Never so slow that a request waits more than a second for its turn.
            let floor = i.largest.max(1) as f64;
            let rate = (base * BACKOFF).max(floor);
            tracing::debug!(
                rate = rate as u64,
                base = base as u64,
                window = i.limit,
                "429: bulk pace cut"
            );
            i.pace = Some(Pace {
                rate,
                base,
                next,
                grown: now,
            });
        }
    }

    /// The target took the request but answered 429 for some of its documents (a shard's
    /// write queue was full): fewer requests in flight, once per episode; the pace stays.
    pub fn on_items_throttled(&self, ticket: Ticket) {
        let mut i = self.inner.lock().unwrap();
        i.throttled += 1;
        i.answers_since_cut += 1;
        if ticket.epoch == i.epoch {
            i.decrease();
        }
    }

    /// A request of `bytes` went through without push-back: after a window's worth of them the
    /// window widens by one, and the pace grows with the time since it last did.
    pub fn on_success(&self, _ticket: Ticket, bytes: u64) {
        let mut i = self.inner.lock().unwrap();
        let now = Instant::now();
        i.answers_since_cut += 1;
        i.successes_since_cut += 1;
        i.accepted_since_cut += bytes;
        i.acked.push_back((now, bytes));
        while i.acked.front().is_some_and(|(t, _)| now - *t > MEASURE) {
            i.acked.pop_front();
        }
        i.streak += 1;
        if i.streak >= i.limit && i.limit < self.max {
            i.limit += 1;
            i.streak = 0;
        }
        let calm = i.last_cut.is_some_and(|t| now - t < CALM);
        let accepted = i.accepted_rate(now);
        if let Some(p) = i.pace.as_mut() {
            let growth = if calm { SLOW_GROWTH } else { FAST_GROWTH };
            let dt = (now - p.grown).as_secs_f64();
            p.grown = now;
            if accepted.is_none_or(|a| p.rate < a * HEADROOM) {
                p.rate += growth * p.base * dt;
            }
        }
    }
}

impl Inner {
    /// A new episode: the window halves.
    fn decrease(&mut self) {
        self.epoch += 1;
        self.decreases += 1;
        self.limit = (self.limit / 2).max(1);
        self.streak = 0;
    }

    /// Bytes acknowledged per second over the last [`MEASURE`] (from the first
    /// acknowledgement if that is more recent); `None` before two acknowledgements.
    fn accepted_rate(&self, now: Instant) -> Option<f64> {
        let (first, _) = *self.acked.front()?;
        if self.acked.len() < 2 {
            return None;
        }
        // The first acknowledgement opens the stretch; the bytes after it fill it.
        let bytes: u64 = self.acked.iter().skip(1).map(|(_, b)| b).sum();
        let span = (now - first).as_secs_f64();
        (span > 0.0).then(|| bytes as f64 / span)
    }
}

#[cfg(test)]
#[path = "limiter_tests.rs"]
mod tests;
