//! Retry with backoff: one policy type for every call that may pass a transient failure (the
//! `_bulk` sender, the work-item store, the failed-documents reports, the target's reads in
//! collision checks, the DynamoDB adapter's unprocessed writes).

use std::future::Future;
use std::time::Duration;

/// How a wait is randomised, so that many workers that failed together do not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the computed wait.
    None,
    /// Uniformly random in [0, wait] ("full jitter"): the most spread, for shared hot spots
    /// such as a throttling target.
    Full,
    /// Uniformly random in [0.75, 1.25] × wait.
    Quarter,
}

impl Jitter {
    pub fn apply(self, wait: Duration) -> Duration {
        match self {
            Jitter::None => wait,
            Jitter::Full => wait.mul_f64(fastrand::f64()),
            Jitter::Quarter => wait.mul_f64(0.75 + fastrand::f64() * 0.5),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first included, before the last failure is returned.
    pub max_attempts: u32,
    /// After `n` failures the wait is `initial_backoff × 2ⁿ`, capped at `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// No retry is started once this much time has passed since the first call.
    pub max_elapsed: Option<Duration>,
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    /// The `_bulk` sender's: 12 sends, 1 s to 30 s, full jitter.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 12,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_elapsed: None,
            jitter: Jitter::Full,
        }
    }
}

impl RetryPolicy {
    /// Doubling waits from `initial` (after the first failure, `2 × initial`) up to `max`,
    /// without jitter or a time limit.
    pub const fn doubling(max_attempts: u32, initial: Duration, max: Duration) -> Self {
        RetryPolicy {
            max_attempts,
            initial_backoff: initial,
            max_backoff: max,
            max_elapsed: None,
            jitter: Jitter::None,
        }
    }

    /// The wait after `failures` failed calls (1 after the first).
    pub fn backoff(&self, failures: u32) -> Duration {
        let wait = self
            .initial_backoff
            .saturating_mul(1u32.checked_shl(failures.min(20)).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        self.jitter.apply(wait)
    }

    /// Calls `call` until it succeeds, fails with an error `retryable` refuses, or the policy
    /// is spent; `on_retry(failures, &error)` runs before each wait (to log it).
    pub async fn run<T, E, F, Fut>(
        &self,
        mut call: F,
        retryable: impl Fn(&E) -> bool,
        mut on_retry: impl FnMut(u32, &E),
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let started = tokio::time::Instant::now();
        let mut failures = 0u32;
        loop {
            match call().await {
                Err(e) if retryable(&e) && self.may_retry(failures + 1, started) => {
                    failures += 1;
                    on_retry(failures, &e);
                    tokio::time::sleep(self.backoff(failures)).await;
                }
                other => return other,
            }
        }
    }

    fn may_retry(&self, failures: u32, started: tokio::time::Instant) -> bool {
        failures < self.max_attempts && self.max_elapsed.is_none_or(|m| started.elapsed() < m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Runs `p` over a call that answers `answer(n)` on its n-th call (from 1); returns the
    /// result and how many calls were made.
    async fn calls<T>(
        p: &RetryPolicy,
        answer: impl Fn(u32) -> Result<T, &'static str>,
        retryable: impl Fn(&&'static str) -> bool,
    ) -> (Result<T, &'static str>, u32) {
        let n = Cell::new(0);
        let r = p
            .run(
                || {
                    n.set(n.get() + 1);
                    std::future::ready(answer(n.get()))
                },
                retryable,
                |_, _| {},
            )
            .await;
        (r, n.get())
    }

    #[test]
    fn waits_double_from_the_first_failure_up_to_the_cap() {
        let p = RetryPolicy::doubling(10, Duration::from_millis(100), Duration::from_secs(1));
        let waits: Vec<u128> = (1..=5).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(waits, [200, 400, 800, 1000, 1000]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_its_range() {
        let mut p = RetryPolicy::doubling(10, Duration::from_millis(100), Duration::from_secs(1));
        p.jitter = Jitter::Full;
        assert!((0..200).all(|_| p.backoff(1) <= Duration::from_millis(200)));
        p.jitter = Jitter::Quarter;
        assert!((0..200).all(|_| {
            let w = p.backoff(1).as_millis();
            (150..=250).contains(&w)
        }));
    }

    #[tokio::test(start_paused = true)]
    async fn run_stops_at_success_a_refused_error_or_the_last_attempt() {
        let p = RetryPolicy::doubling(4, Duration::from_millis(1), Duration::from_millis(5));
        assert_eq!(
            calls(&p, |_| Err::<(), _>("busy"), |_| true).await,
            (Err("busy"), 4)
        );
        let third = |n| if n < 3 { Err("busy") } else { Ok(n) };
        assert_eq!(calls(&p, third, |_| true).await, (Ok(3), 3));
        let denied = |_| Err::<(), _>("denied");
        assert_eq!(
            calls(&p, denied, |e| *e != "denied").await,
            (Err("denied"), 1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn run_starts_no_retry_after_the_time_limit() {
        let mut p = RetryPolicy::doubling(1000, Duration::from_secs(1), Duration::from_secs(10));
        p.max_elapsed = Some(Duration::from_secs(60));
        let started = tokio::time::Instant::now();
        let (r, n) = calls(&p, |_| Err::<(), _>("busy"), |_| true).await;
        assert!(r.is_err());
        // 2+4+8+10+10+10+10+10 = 64 s: the ninth call is the last one started within a minute.
        assert_eq!(n, 9);
        assert!(started.elapsed() >= Duration::from_secs(60));
    }
}
