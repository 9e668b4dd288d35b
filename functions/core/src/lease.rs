//! The lease rules.
//!
//! Clock: every lease expiry is written in the holder's wall clock (epoch milliseconds). A
//! claimer treats a lease as expired only once its own clock is past the expiry by more than
//! `max_clock_skew`, so clocks that disagree by up to that much never let two workers believe
//! they hold the same item. Ownership itself never depends on time: every write a holder makes
//! is conditional on still being the recorded holder, so a worker that lost its lease finds out
//! at its next write and stops.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeasePolicy {
    /// The first lease of an item.
    pub initial: Duration,
    /// Leases double each time an item is taken over from a vanished holder, up to this.
    pub max: Duration,
    /// Tolerated disagreement between workers' clocks.
    pub max_clock_skew: Duration,
}

impl Default for LeasePolicy {
    fn default() -> Self {
        LeasePolicy {
            initial: Duration::from_secs(300),
            max: Duration::from_secs(4 * 3600),
            max_clock_skew: Duration::from_secs(15),
        }
    }
}

impl LeasePolicy {
    /// Lease length for an item whose previous holders vanished `abandoned` times.
    pub fn duration(&self, abandoned: u32) -> Duration {
        let factor = 1u32.checked_shl(abandoned.min(20)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// Leases expiring before this may be taken over by a claimer whose clock reads `now`
    /// (the stores' queries and conditions compare expiries with it).
    pub fn takeover_cutoff(&self, now: i64) -> i64 {
        now.saturating_sub(self.max_clock_skew.as_millis() as i64)
    }

    /// Whether a lease expiring at `expiry` is free for a claimer whose clock reads `now`.
    pub fn is_expired(&self, expiry: i64, now: i64) -> bool {
        expiry < self.takeover_cutoff(now)
    }

    /// The expiry of a lease taken, or extended, at `now` on an item abandoned `abandoned` times.
    pub fn expiry(&self, now: i64, abandoned: u32) -> i64 {
        now.saturating_add(self.duration(abandoned).as_millis() as i64)
    }
}

/// An item's count of abandoned claims once claimed again: a claim that finds a holder takes
/// over a lease whose holder vanished.
pub fn abandoned_after_claim(abandoned: u32, had_holder: bool) -> u32 {
    abandoned + u32::from(had_holder)
}

/// Milliseconds since the epoch by this machine's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_double_per_abandoned_claim_up_to_the_maximum() {
        let p = LeasePolicy {
            initial: Duration::from_secs(60),
            max: Duration::from_secs(600),
            max_clock_skew: Duration::from_secs(5),
        };
        assert_eq!(p.duration(0), Duration::from_secs(60));
        assert_eq!(p.duration(1), Duration::from_secs(120));
        assert_eq!(p.duration(3), Duration::from_secs(480));
        assert_eq!(p.duration(4), Duration::from_secs(600));
        assert_eq!(p.duration(1000), Duration::from_secs(600));
        assert_eq!(p.takeover_cutoff(6_000), 1_000);
        assert!(!p.is_expired(1_000, 6_000) && p.is_expired(1_000, 6_001));
        assert_eq!(p.expiry(1_000, 1), 121_000);
        assert_eq!(abandoned_after_claim(2, true), 3);
        assert_eq!(abandoned_after_claim(2, false), 2);
    }
}
