//! Time as the interpreter sees it: Wait states and retry backoff sleep on it, TimeoutSeconds
//! races against it, `$$.State.EnteredTime` and Wait's Timestamp read it. Tests use
//! [`VirtualClock`], which never really waits.

use std::future::poll_fn;
use std::sync::{Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;

#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;

    /// Waits `d` (Wait states, retry backoff).
    async fn sleep(&self, d: Duration);

    /// Completes after `d`; what TimeoutSeconds races a task or the execution against. A
    /// virtual clock fires it only when other sleeps move time past it, so that a handler
    /// doing real I/O under a virtual clock is never timed out by accident.
    async fn deadline(&self, d: Duration) {
        self.sleep(d).await
    }
}

/// Wall-clock time (local runs of a state machine as it would run on AWS).
#[derive(Debug, Clone, Copy, Default)]
pub struct RealClock;

#[async_trait]
impl Clock for RealClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await
    }
}

/// Real waits shortened by `factor` (0.01: a Wait of 30 s takes 0.3 s), for local runs against
/// real workers where time must pass but not at full length. `now()` runs fast by the same factor.
#[derive(Debug, Clone, Copy)]
pub struct FastClock {
    factor: f64,
    origin: SystemTime,
    started: Instant,
}

impl FastClock {
    /// `factor` must be positive.
    pub fn new(factor: f64) -> FastClock {
        assert!(
            factor > 0.0,
            "FastClock factor must be positive, got {factor}"
        );
        FastClock {
            factor,
            origin: SystemTime::now(),
            started: Instant::now(),
        }
    }
}

#[async_trait]
impl Clock for FastClock {
    fn now(&self) -> SystemTime {
        self.origin + self.started.elapsed().div_f64(self.factor)
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d.mul_f64(self.factor)).await
    }
}

/// A clock that does not wait: a sleep moves virtual time forward at once. Deadlines (from
/// TimeoutSeconds) never move time themselves; they fire when sleeps reach them, and a sleep
/// that would jump past a pending deadline stops there first, so the timeout wins the race as it
/// would in real time. Records every sleep, for tests to check waits and backoff.
#[derive(Debug)]
pub struct VirtualClock {
    origin: SystemTime,
    state: Mutex<Virtual>,
}

#[derive(Debug, Default)]
struct Virtual {
    elapsed: Duration,
    sleeps: Vec<Duration>,
    next_id: u64,
    deadlines: Vec<Deadline>,
}

#[derive(Debug)]
struct Deadline {
    id: u64,
    at: Duration,
    waker: Option<Waker>,
}

impl Virtual {
    fn advance_to(&mut self, at: Duration) {
        self.elapsed = self.elapsed.max(at);
        for deadline in &mut self.deadlines {
            if deadline.at <= self.elapsed {
                if let Some(waker) = deadline.waker.take() {
                    waker.wake();
                }
            }
        }
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        VirtualClock::starting_at(SystemTime::now())
    }
}

impl VirtualClock {
    pub fn new() -> VirtualClock {
        VirtualClock::default()
    }

    pub fn starting_at(origin: SystemTime) -> VirtualClock {
        VirtualClock {
            origin,
            state: Mutex::new(Virtual::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Virtual> {
        // Nothing panics while holding the lock; a poisoned one still holds valid data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Virtual time since the clock was made.
    pub fn elapsed(&self) -> Duration {
        self.lock().elapsed
    }

    /// Every sleep asked for, in order (deadlines are not sleeps).
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }
}

/// Drops a deadline that lost its race (the guarded future was dropped).
struct Registration<'a> {
    clock: &'a VirtualClock,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.clock.lock().deadlines.retain(|d| d.id != self.id);
    }
}

#[async_trait]
impl Clock for VirtualClock {
    fn now(&self) -> SystemTime {
        self.origin + self.elapsed()
    }

    async fn sleep(&self, d: Duration) {
        let target = {
            let mut state = self.lock();
            state.sleeps.push(d);
            state.elapsed + d
        };
        poll_fn(|cx| {
            let mut state = self.lock();
            if state.elapsed >= target {
                return Poll::Ready(());
            }
            // Deadlines already passed are their owners' to act on; they no longer hold time.
            let now = state.elapsed;
            let first_deadline = state
                .deadlines
                .iter()
                .map(|d| d.at)
                .filter(|at| *at > now)
                .min();
            match first_deadline {
                Some(at) if at < target => {
                    // Let the deadline fire first; this sleep goes on from there.
                    state.advance_to(at);
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                _ => {
                    state.advance_to(target);
                    Poll::Ready(())
                }
            }
        })
        .await
    }

    async fn deadline(&self, d: Duration) {
        let (id, at) = {
            let mut state = self.lock();
            let (id, at) = (state.next_id, state.elapsed + d);
            state.next_id += 1;
            state.deadlines.push(Deadline {
                id,
                at,
                waker: None,
            });
            (id, at)
        };
        let _registration = Registration { clock: self, id };
        poll_fn(|cx| {
            let mut state = self.lock();
            if state.elapsed >= at {
                return Poll::Ready(());
            }
            if let Some(entry) = state.deadlines.iter_mut().find(|d| d.id == id) {
                entry.waker = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn virtual_sleeps_do_not_wait_and_deadlines_win_races_in_virtual_time() {
        let clock = VirtualClock::new();
        let real = Instant::now();
        clock.sleep(Duration::from_secs(3600)).await;
        assert_eq!(clock.elapsed(), Duration::from_secs(3600));
        assert!(real.elapsed() < Duration::from_secs(1));

        // A 10 s deadline against 100 s of work: the deadline fires at 3,610 s.
        let timed_out = tokio::select! {
            biased;
            _ = clock.deadline(Duration::from_secs(10)) => true,
            _ = clock.sleep(Duration::from_secs(100)) => false,
        };
        assert!(timed_out);
        assert_eq!(clock.elapsed(), Duration::from_secs(3610));

        // 1 s of work against a 10 s deadline: the work finishes, the deadline is dropped.
        let timed_out = tokio::select! {
            biased;
            _ = clock.deadline(Duration::from_secs(10)) => true,
            _ = clock.sleep(Duration::from_secs(1)) => false,
        };
        assert!(!timed_out);
        assert_eq!(clock.elapsed(), Duration::from_secs(3611));
        assert!(clock.lock().deadlines.is_empty());
        assert_eq!(clock.sleeps().len(), 3);
    }

    #[tokio::test]
    async fn fast_clock_shortens_waits() {
        let clock = FastClock::new(0.001);
        let real = Instant::now();
        let before = clock.now();
        clock.sleep(Duration::from_secs(5)).await;
        assert!(real.elapsed() < Duration::from_secs(1));
        assert!(clock.now().duration_since(before).unwrap() >= Duration::from_secs(5));
    }
}
