//! Faults drawn at random, from a seeded generator (a run can be replayed from its seed), on top
//! of the every-Nth [`crate::FaultPlan`]: each request is picked with its service's rate and
//! then gets one kind of fault, chosen by weight.

use std::time::Duration;

/// Random faults of one proxy. Rates are shares of requests (0.0 to 1.0).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RandomFaults {
    pub seed: u64,
    /// For `_bulk` requests to an OpenSearch-compatible upstream.
    pub bulk: Option<BulkFaults>,
    /// For DynamoDB calls (JSON 1.0, `X-Amz-Target: DynamoDB_20120810.*`).
    pub dynamodb: Option<DynamoFaults>,
    /// For S3 calls (REST-XML).
    pub s3: Option<S3Faults>,
}

/// A picked `_bulk` request gets one of these, by weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BulkFaults {
    pub rate: f64,
    /// 429 `es_rejected_execution_exception` for the whole request, not forwarded.
    pub throttle: u32,
    /// Some actions (each with probability `item_share`) get a 429 item; the rest are forwarded.
    pub item_throttle: u32,
    pub item_share: f64,
    /// 500, 502, 503 or 504, not forwarded.
    pub server_error: u32,
    /// The connection reset before forwarding.
    pub reset: u32,
    /// Forwarded and answered by upstream, then the connection reset without an answer.
    pub reset_after_forward: u32,
}

/// DynamoDB: throttling (`ProvisionedThroughputExceededException` or `ThrottlingException`, half
/// each) on `throttle_rate` of all calls; a transaction conflict on `conflict_rate` of the writes
/// (`TransactionCanceledException` with a `TransactionConflict` reason for `TransactWriteItems`,
/// `TransactionConflictException` for single-item writes). None of these is forwarded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DynamoFaults {
    pub throttle_rate: f64,
    pub conflict_rate: f64,
}

/// A picked S3 call gets one of these, by weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct S3Faults {
    pub rate: f64,
    /// 500 `InternalError`, not forwarded.
    pub internal_error: u32,
    /// 503 `SlowDown`, not forwarded.
    pub slow_down: u32,
    /// Forwarded; the answer's body stalls for `stall` part-way.
    pub slow_body: u32,
    pub stall: Duration,
    /// Forwarded; the answer's headers (with the full `Content-Length`) and part of its body
    /// are sent, then the connection is closed.
    pub cut_body: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BulkPick {
    Throttle,
    ItemThrottle,
    ServerError(u16),
    Reset,
    ResetAfterForward,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DynamoPick {
    ThroughputExceeded,
    Throttling,
    /// The index of the transaction's action that conflicts (0 for single-item writes).
    Conflict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum S3Pick {
    InternalError,
    SlowDown,
    SlowBody,
    CutBody,
}

/// The plan with its generator.
pub(crate) struct Dice {
    pub plan: RandomFaults,
    rng: fastrand::Rng,
}

/// Index of the weight a roll in `0..sum` falls in.
fn weighted(rng: &mut fastrand::Rng, weights: &[u32]) -> Option<usize> {
    let sum: u32 = weights.iter().sum();
    if sum == 0 {
        return None;
    }
    let mut roll = rng.u32(0..sum);
    for (i, w) in weights.iter().enumerate() {
        if roll < *w {
            return Some(i);
        }
        roll -= w;
    }
    None
}

impl Dice {
    pub(crate) fn new(plan: RandomFaults) -> Dice {
        let rng = fastrand::Rng::with_seed(plan.seed);
        Dice { plan, rng }
    }

    pub(crate) fn bulk(&mut self) -> Option<BulkPick> {
        let b = self.plan.bulk?;
        if self.rng.f64() >= b.rate {
            return None;
        }
        let weights = [
            b.throttle,
            b.item_throttle,
            b.server_error,
            b.reset,
            b.reset_after_forward,
        ];
        Some(match weighted(&mut self.rng, &weights)? {
            0 => BulkPick::Throttle,
            1 => BulkPick::ItemThrottle,
            2 => BulkPick::ServerError([500, 502, 503, 504][self.rng.usize(0..4)]),
            3 => BulkPick::Reset,
            _ => BulkPick::ResetAfterForward,
        })
    }

    /// Which actions of a request of `n` get a 429 item: each with the plan's share, at least one.
    pub(crate) fn item_slots(&mut self, n: usize) -> Vec<bool> {
        let share = self.plan.bulk.map_or(0.0, |b| b.item_share);
        let mut slots: Vec<bool> = (0..n).map(|_| self.rng.f64() < share).collect();
        if n > 0 && !slots.contains(&true) {
            slots[self.rng.usize(0..n)] = true;
        }
        slots
    }

    pub(crate) fn dynamodb(&mut self, write: bool) -> Option<DynamoPick> {
        let d = self.plan.dynamodb?;
        let roll = self.rng.f64();
        if roll < d.throttle_rate {
            return Some(if self.rng.bool() {
                DynamoPick::ThroughputExceeded
            } else {
                DynamoPick::Throttling
            });
        }
        (write && roll < d.throttle_rate + d.conflict_rate).then_some(DynamoPick::Conflict)
    }

    /// Which action of a transaction of `n` conflicts.
    pub(crate) fn conflicting(&mut self, n: usize) -> usize {
        self.rng.usize(0..n.max(1))
    }

    pub(crate) fn s3(&mut self) -> Option<S3Pick> {
        let s = self.plan.s3?;
        if self.rng.f64() >= s.rate {
            return None;
        }
        let weights = [s.internal_error, s.slow_down, s.slow_body, s.cut_body];
        Some(match weighted(&mut self.rng, &weights)? {
            0 => S3Pick::InternalError,
            1 => S3Pick::SlowDown,
            2 => S3Pick::SlowBody,
            _ => S3Pick::CutBody,
        })
    }

    /// Where in a body of `len` bytes a cut or a stall happens: somewhere strictly inside.
    pub(crate) fn point_in(&mut self, len: u64) -> u64 {
        if len < 2 {
            0
        } else {
            self.rng.u64(1..len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(seed: u64) -> RandomFaults {
        RandomFaults {
            seed,
            bulk: Some(BulkFaults {
                rate: 0.3,
                throttle: 1,
                item_throttle: 1,
                item_share: 0.25,
                server_error: 1,
                reset: 1,
                reset_after_forward: 1,
            }),
            dynamodb: Some(DynamoFaults {
                throttle_rate: 0.05,
                conflict_rate: 0.02,
            }),
            s3: None,
        }
    }

    #[test]
    fn picks_follow_the_rates_and_replay_from_the_seed() {
        let draw = |seed| {
            let mut d = Dice::new(plan(seed));
            (0..10_000).map(|_| d.bulk()).collect::<Vec<_>>()
        };
        let picks = draw(7);
        assert_eq!(picks, draw(7), "same seed, same faults");
        assert_ne!(picks, draw(8));
        let faulted = picks.iter().filter(|p| p.is_some()).count();
        assert!((2_700..3_300).contains(&faulted), "{faulted}");
        for kind in [BulkPick::Throttle, BulkPick::Reset, BulkPick::ItemThrottle] {
            assert!(picks.contains(&Some(kind)), "{kind:?}");
        }
        let mut d = Dice::new(plan(1));
        assert!((0..1000).all(|_| d.dynamodb(false) != Some(DynamoPick::Conflict)));
        assert!((0..1000).any(|_| d.dynamodb(true) == Some(DynamoPick::Conflict)));
        assert!(d.s3().is_none(), "no S3 part, no S3 faults");
        assert!(d.item_slots(5).contains(&true));
        assert!((0..100).all(|_| (1..10).contains(&d.point_in(10))));
    }
}
