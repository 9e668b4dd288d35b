//! How many `_bulk` requests may be in flight: fewer while the target pushes back, more again
//! after (additive increase, multiplicative decrease, like TCP's congestion window); and, when
//! asked, how fast a worker may send at most.

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

#[derive(Debug)]
pub struct AdaptiveLimit {
    inner: Mutex<Inner>,
    max: usize,
}

#[derive(Debug)]
struct Inner {
    limit: usize,
    /// Successful requests since the limit last changed.
    streak: usize,
    decreases: u64,
}

impl AdaptiveLimit {
    pub fn new(start: usize, max: usize) -> AdaptiveLimit {
        let max = max.max(1);
        AdaptiveLimit {
            inner: Mutex::new(Inner {
                limit: start.clamp(1, max),
                streak: 0,
                decreases: 0,
            }),
            max,
        }
    }

    pub fn limit(&self) -> usize {
        self.inner.lock().unwrap().limit
    }

    /// The target pushed back (429 for a request or any of its items): halve the window.
    pub fn on_throttled(&self) {
        let mut i = self.inner.lock().unwrap();
        i.limit = (i.limit / 2).max(1);
        i.streak = 0;
        i.decreases += 1;
    }

    /// A request went through without push-back: after a window's worth of them, widen by one.
    pub fn on_success(&self) {
        let mut i = self.inner.lock().unwrap();
        i.streak += 1;
        if i.streak >= i.limit && i.limit < self.max {
            i.limit += 1;
            i.streak = 0;
        }
    }

    pub fn decreases(&self) -> u64 {
        self.inner.lock().unwrap().decreases
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_wait_their_turn_under_the_byte_rate() {
        // Virtual time: 10 requests of 1 MB at 2 MB/s, four at a time, take 4.5 s.
        let rate = std::sync::Arc::new(ByteRate::new(2_000_000));
        let t0 = Instant::now();
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
        let mut started = Vec::new();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (rate, sem) = (rate.clone(), sem.clone());
            tasks.spawn(async move {
                let _permit = sem.acquire_owned().await.unwrap();
                rate.acquire(1_000_000).await;
                Instant::now()
            });
        }
        while let Some(t) = tasks.join_next().await {
            started.push(t.unwrap() - t0);
        }
        started.sort();
        assert_eq!(started[0], Duration::ZERO);
        for (i, t) in started.iter().enumerate() {
            assert_eq!(*t, Duration::from_millis(500 * i as u64), "request {i}");
        }
        // After a pause, the next request goes at once again (no burst is saved up).
        tokio::time::sleep(Duration::from_secs(60)).await;
        let t1 = Instant::now();
        rate.acquire(1_000_000).await;
        assert_eq!(Instant::now(), t1);
    }

    #[test]
    fn halves_on_push_back_and_grows_back_by_one_per_window() {
        let l = AdaptiveLimit::new(8, 8);
        l.on_throttled();
        assert_eq!(l.limit(), 4);
        l.on_throttled();
        l.on_throttled();
        l.on_throttled();
        assert_eq!(l.limit(), 1);
        l.on_success();
        assert_eq!(l.limit(), 2);
        l.on_success();
        l.on_success();
        assert_eq!(l.limit(), 3);
        for _ in 0..100 {
            l.on_success();
        }
        assert_eq!(l.limit(), 8);
        assert_eq!(l.decreases(), 4);
    }
}
