//! The split rule: when a shard is big enough to be shared by several workers, and where its
//! ranges begin and end. Sizes come from the shard's commit (segment document counts and file
//! sizes), so splitting reads no document.

use serde::{Deserialize, Serialize};
use snapshot::{Position, SegmentSize};

use crate::model::NewRange;

/// At most this many ranges per shard: a split is one DynamoDB transaction of the held item,
/// the new ranges, the counters and the shard's range tally (100 actions at most).
pub const MAX_RANGES: u32 = 96;

/// When to split, chosen at `start`. A shard with more live documents than `max_docs`, or more
/// bytes than `max_bytes`, is split into ranges of at most about that size (0: no limit by
/// that measure; both 0: never split).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeSplit {
    pub max_docs: u64,
    pub max_bytes: u64,
}

impl Default for RangeSplit {
    /// 10 million documents or 10 GiB: an hour or less of one worker's reading, so a 900 GB
    /// shard becomes ~90 ranges that a fleet reads at once.
    fn default() -> Self {
        RangeSplit {
            max_docs: 10_000_000,
            max_bytes: 10 << 30,
        }
    }
}

impl RangeSplit {
    pub const NEVER: RangeSplit = RangeSplit {
        max_docs: 0,
        max_bytes: 0,
    };

    /// How many ranges a shard of this size gets (1: not split).
    pub fn ranges_for(&self, docs: u64, bytes: u64) -> u32 {
        let by = |size: u64, max: u64| if max == 0 { 1 } else { size.div_ceil(max) };
        by(docs, self.max_docs)
            .max(by(bytes, self.max_bytes))
            .clamp(1, MAX_RANGES as u64) as u32
    }
}

/// A boundary closer than this share of a range to a segment's start or end moves there: a
/// range that starts at a segment's first document is found without reading earlier ones.
const SNAP: f64 = 0.15;

/// The ranges of a shard with these segments (in commit order); one range when it is not to be
/// split. Each range's expected documents are its segments' live documents (a part of a
/// segment: in proportion); together they are exactly the shard's.
pub fn plan(segments: &[SegmentSize], policy: &RangeSplit) -> Vec<NewRange> {
    let live: u64 = segments.iter().map(|s| s.live).sum();
    let bytes: u64 = segments.iter().map(|s| s.bytes).sum();
    let n = policy.ranges_for(live, bytes);
    let whole = || {
        vec![NewRange {
            start: Position::start().to_string(),
            end: None,
            docs_expected: live,
        }]
    };
    if n <= 1 || segments.iter().all(|s| s.max_doc == 0) {
        return whole();
    }
    // A segment's weight: its share of the documents or of the bytes, whichever the policy
    // splits by more.
    let share = |part: u64, all: u64| {
        if all == 0 {
            0.0
        } else {
            part as f64 / all as f64
        }
    };
    let by_docs = policy.max_docs > 0 && live.div_ceil(policy.max_docs.max(1)) >= n as u64;
    let weight = |s: &SegmentSize| {
        if by_docs {
            share(s.live, live)
        } else {
            share(s.bytes, bytes)
        }
    };
    let step = 1.0 / n as f64;
    // Boundaries as (segment index, document), strictly increasing.
    let mut cuts: Vec<(usize, u32)> = Vec::new();
    let mut before = 0.0;
    // The next boundary, at k × step of the whole.
    let mut k = 1u32;
    for (i, s) in segments.iter().enumerate() {
        let w = weight(s);
        if w <= 0.0 {
            continue;
        }
        let after = before + w;
        // Every boundary up to this segment's end cuts it (or falls on its end).
        while k < n && k as f64 * step <= after + 1e-9 {
            let at = (k as f64 * step - before) / w;
            let cut = if at * w < SNAP * step {
                (i, 0)
            } else if (1.0 - at) * w < SNAP * step {
                (i + 1, 0)
            } else {
                (
                    i,
                    ((at * s.max_doc as f64) as u32).clamp(1, s.max_doc.saturating_sub(1)),
                )
            };
            if cut.0 > 0 || cut.1 > 0 {
                cuts.push(cut);
            }
            k += 1;
        }
        before = after;
    }
    cuts.retain(|c| c.0 < segments.len());
    cuts.dedup();
    if cuts.is_empty() {
        return whole();
    }
    // Expected documents per range, in proportion within cut segments; the last range takes
    // the rounding so the sum is the shard's.
    let docs_before = |(seg, doc): (usize, u32)| -> u64 {
        let whole: u64 = segments[..seg].iter().map(|s| s.live).sum();
        let s = &segments[seg];
        let part = if s.max_doc == 0 {
            0
        } else {
            (s.live as f64 * doc as f64 / s.max_doc as f64).round() as u64
        };
        whole + part
    };
    let at = |(seg, doc): (usize, u32)| Position {
        segment: segments[seg].name.clone(),
        doc,
        chunk: None,
    };
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut start = Position::start();
    let mut counted = 0;
    for c in &cuts {
        let upto = docs_before(*c).max(counted);
        out.push(NewRange {
            start: start.to_string(),
            end: Some(at(*c).to_string()),
            docs_expected: upto - counted,
        });
        counted = upto;
        start = at(*c);
    }
    out.push(NewRange {
        start: start.to_string(),
        end: None,
        docs_expected: live - counted.min(live),
    });
    out
}

/// A split shard's ranges still open and failed for good: the shard is done when none is open,
/// completed if none failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RangeTally {
    pub open: u32,
    pub failed: u32,
}

/// What a shard became when its last range finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardEnd {
    Completed,
    Failed,
}

impl RangeTally {
    /// A shard just split into `ranges`.
    pub fn new(ranges: u32) -> RangeTally {
        RangeTally {
            open: ranges,
            failed: 0,
        }
    }

    /// The tally after one open range finished (`failed`: for good), and what the shard became
    /// if that was its last open range.
    pub fn after(self, failed: bool) -> (RangeTally, Option<ShardEnd>) {
        let next = RangeTally {
            open: self.open.saturating_sub(1),
            failed: self.failed + failed as u32,
        };
        let end = (next.open == 0).then_some(if next.failed == 0 {
            ShardEnd::Completed
        } else {
            ShardEnd::Failed
        });
        (next, end)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_shard_is_done_with_its_last_range_and_failed_if_any_range_failed() {
        let t = RangeTally::new(3);
        let (t, end) = t.after(false);
        assert_eq!(end, None);
        let (t, end) = t.after(true);
        assert_eq!((t, end), (RangeTally { open: 1, failed: 1 }, None));
        assert_eq!(t.after(false).1, Some(ShardEnd::Failed));
        assert_eq!(RangeTally::new(1).after(false).1, Some(ShardEnd::Completed));
    }

    use super::*;

    fn seg(name: &str, max_doc: u32, live: u64, bytes: u64) -> SegmentSize {
        SegmentSize {
            name: name.into(),
            max_doc,
            live,
            bytes,
        }
    }

    fn docs(plan: &[NewRange]) -> Vec<u64> {
        plan.iter().map(|r| r.docs_expected).collect()
    }

    #[test]
    fn a_small_shard_is_one_range_and_never_means_never() {
        let s = [seg("_0", 100, 90, 1000)];
        let p = plan(&s, &RangeSplit::default());
        assert_eq!(
            (p.len(), p[0].start.as_str(), p[0].end.clone()),
            (1, "start", None)
        );
        assert_eq!(p[0].docs_expected, 90);
        let big = [seg("_0", u32::MAX, 4_000_000_000, u64::MAX / 2)];
        assert_eq!(plan(&big, &RangeSplit::NEVER).len(), 1);
    }

    #[test]
    fn many_segments_split_at_segment_starts() {
        let s: Vec<_> = (0..8)
            .map(|i| seg(&format!("_{i}"), 1000, 1000, 1 << 20))
            .collect();
        let policy = RangeSplit {
            max_docs: 2000,
            max_bytes: 0,
        };
        let p = plan(&s, &policy);
        let bounds: Vec<_> = p.iter().map(|r| (r.start.clone(), r.end.clone())).collect();
        assert_eq!(
            bounds,
            vec![
                ("start".into(), Some("_2:0".into())),
                ("_2:0".into(), Some("_4:0".into())),
                ("_4:0".into(), Some("_6:0".into())),
                ("_6:0".into(), None),
            ]
        );
        assert_eq!(docs(&p), vec![2000; 4]);
    }

    #[test]
    fn one_big_segment_is_cut_inside_and_deletes_keep_the_sum_exact() {
        let s = [seg("_a", 1000, 901, 10 << 30)];
        let policy = RangeSplit {
            max_docs: 0,
            max_bytes: 3 << 30,
        };
        let p = plan(&s, &policy);
        assert_eq!(p.len(), 4);
        let ends: Vec<_> = p.iter().map(|r| r.end.clone()).collect();
        assert_eq!(
            ends,
            vec![
                Some("_a:250".into()),
                Some("_a:500".into()),
                Some("_a:750".into()),
                None
            ]
        );
        assert_eq!(docs(&p).iter().sum::<u64>(), 901);
        for w in p.windows(2) {
            assert_eq!(w[0].end.as_deref(), Some(w[1].start.as_str()));
        }
    }

    #[test]
    fn ranges_are_capped_and_chained_without_gaps() {
        let s: Vec<_> = (0..300)
            .map(|i| seg(&format!("_{i}"), 10_000, 9_000 + i, 5 << 30))
            .collect();
        let p = plan(&s, &RangeSplit::default());
        assert_eq!(p.len(), MAX_RANGES as usize);
        assert_eq!(p[0].start, "start");
        assert_eq!(p.last().unwrap().end, None);
        for w in p.windows(2) {
            assert_eq!(w[0].end.as_deref(), Some(w[1].start.as_str()));
        }
        let live: u64 = s.iter().map(|s| s.live).sum();
        assert_eq!(docs(&p).iter().sum::<u64>(), live);
        assert!(docs(&p).iter().all(|d| *d > 0));
    }
}
