//! How many `_bulk` requests may be in flight: fewer while the target pushes back, more again
//! after (additive increase, multiplicative decrease, like TCP's congestion window).

use std::sync::Mutex;

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
