//! The fault-injecting proxy: its plans, its counters and its handle. What it does with each
//! request is in `conn.rs`.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::service::service_fn;
use tokio::task::JoinHandle;

use crate::conn::Conn;
use crate::net::{bind_loopback, endpoint_of, spawn_server, Upstream};
use crate::observe::Observer;
use crate::random::{Dice, RandomFaults};

/// Which faults to inject. Every counter starts at 1 with the proxy: `throttle_every: Some(2)`
/// answers the 2nd, 4th, ... `_bulk` request. When one request is picked by several request-level
/// faults, the first of `reset`, `throttle`, `unavailable`, `reset_after_forward` wins.
/// `Some(0)` is the same as `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Every Nth `_bulk` request: 429 with an OpenSearch-style error body, not forwarded.
    pub throttle_every: Option<u32>,
    /// Every Nth `_bulk` request: 503, not forwarded.
    pub unavailable_every: Option<u32>,
    /// Every Nth `_bulk` request: read it, then reset the connection without a response.
    pub reset_every: Option<u32>,
    /// Every Nth `_bulk` request: forward it, wait for upstream's whole answer, then reset the
    /// connection without a response (the target did index it).
    pub reset_after_forward_every: Option<u32>,
    /// Every Nth action of forwarded `_bulk` requests (counted across requests) is not forwarded
    /// and gets a 429 item merged into the response at its position.
    pub item_throttle_every: Option<u32>,
    /// Added before answering (or dropping) each request.
    pub latency: Option<Duration>,
    /// Every Nth request that is not `_bulk` (an AWS API call, with an emulator behind the
    /// proxy): AWS's throttling error in the request's protocol, not forwarded. Random faults of
    /// any service: [`FaultProxy::set_random`].
    pub aws_throttle_every: Option<u32>,
    /// A target that indexes at most this many bytes of `_bulk` body per second (a token bucket
    /// holding one second's worth): a request beyond it gets a whole-request 429
    /// (`es_rejected_execution_exception`, as a full write queue answers) and is not forwarded.
    pub capacity_bytes_per_sec: Option<u64>,
}

/// What the proxy saw and did since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Every request received.
    pub requests: u64,
    /// Every `_bulk` request received.
    pub bulk_requests: u64,
    pub throttled: u64,
    /// `_bulk` requests answered 5xx (503 by the every-Nth plan; 500, 502, 503 or 504 at random).
    pub unavailable: u64,
    pub resets: u64,
    pub resets_after_forward: u64,
    pub items_throttled: u64,
    /// `_bulk` requests in which some actions got a 429 item.
    pub item_throttled_requests: u64,
    /// `_bulk` requests answered 429 because they were over the capacity.
    pub over_capacity: u64,
    /// Bytes of `_bulk` bodies let through under the capacity.
    pub bytes_admitted: u64,
    /// AWS API calls answered with a throttling error (`ThrottlingException`, `Throttling`,
    /// S3's 503 `SlowDown`).
    pub aws_throttled: u64,
    /// DynamoDB calls answered `ProvisionedThroughputExceededException`.
    pub throughput_exceeded: u64,
    /// DynamoDB writes answered with a transaction conflict.
    pub transaction_conflicts: u64,
    /// S3 calls answered 500 `InternalError`.
    pub aws_internal_errors: u64,
    /// S3 answers whose body stalled part-way.
    pub slow_bodies: u64,
    /// S3 answers cut part-way through their body.
    pub cut_bodies: u64,
    /// Requests sent upstream, `_bulk` or not.
    pub forwarded: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) bulk_requests: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) unavailable: AtomicU64,
    pub(crate) resets: AtomicU64,
    pub(crate) resets_after_forward: AtomicU64,
    pub(crate) items_throttled: AtomicU64,
    pub(crate) item_throttled_requests: AtomicU64,
    pub(crate) over_capacity: AtomicU64,
    pub(crate) bytes_admitted: AtomicU64,
    pub(crate) aws_requests: AtomicU64,
    pub(crate) aws_throttled: AtomicU64,
    pub(crate) throughput_exceeded: AtomicU64,
    pub(crate) transaction_conflicts: AtomicU64,
    pub(crate) aws_internal_errors: AtomicU64,
    pub(crate) slow_bodies: AtomicU64,
    pub(crate) cut_bodies: AtomicU64,
    pub(crate) forwarded: AtomicU64,
    /// Actions of forwarded bulk requests seen so far (the item-throttle counter).
    pub(crate) actions: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) -> u64 {
    counter.fetch_add(1, Relaxed) + 1
}

pub(crate) struct Shared {
    pub(crate) upstream: Upstream,
    plan: Mutex<FaultPlan>,
    pub(crate) counters: Counters,
    /// The capacity's token bucket: bytes available, and when it was last filled.
    bucket: Mutex<Option<(f64, std::time::Instant)>>,
    dice: Mutex<Option<Dice>>,
    observer: Mutex<Option<Arc<dyn Observer>>>,
}

impl Shared {
    pub(crate) fn plan(&self) -> FaultPlan {
        *self.plan.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A draw from the random plan (`None` without one).
    pub(crate) fn roll<T>(&self, f: impl FnOnce(&mut Dice) -> Option<T>) -> Option<T> {
        let mut dice = self.dice.lock().unwrap_or_else(|e| e.into_inner());
        dice.as_mut().and_then(f)
    }

    /// How long a slow S3 body stalls.
    pub(crate) fn s3_stall(&self) -> Duration {
        self.roll(|d| d.plan.s3.map(|s| s.stall))
            .unwrap_or(Duration::from_secs(1))
    }

    pub(crate) fn observer(&self) -> Option<Arc<dyn Observer>> {
        self.observer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Takes `bytes` from the capacity's bucket, or says it is over (a request larger than a
    /// second's worth passes once the bucket is full, so nothing is refused forever).
    pub(crate) fn admit(&self, capacity: u64, bytes: u64) -> bool {
        let now = std::time::Instant::now();
        let full = capacity as f64;
        let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = bucket.get_or_insert((full, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * full).min(full);
        *last = now;
        let need = (bytes as f64).min(full);
        if *tokens >= need {
            *tokens -= need;
            true
        } else {
            false
        }
    }
}

/// A proxy on a free loopback port in front of an OpenSearch-compatible server.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts on `127.0.0.1:0`. `upstream` is a base URL such as `http://127.0.0.1:9200` (a path
    /// is prepended to every request); it must resolve to loopback addresses only.
    pub async fn start(upstream: &str, plan: FaultPlan) -> io::Result<FaultProxy> {
        Self::start_on((Ipv4Addr::LOCALHOST, 0).into(), upstream, plan).await
    }

    /// Starts on a given loopback address.
    pub async fn start_on(
        listen: SocketAddr,
        upstream: &str,
        plan: FaultPlan,
    ) -> io::Result<FaultProxy> {
        let upstream = Upstream::resolve(upstream).await?;
        let listener = bind_loopback(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            plan: Mutex::new(plan),
            counters: Counters::default(),
            bucket: Mutex::new(None),
            dice: Mutex::new(None),
            observer: Mutex::new(None),
        });
        let for_server = shared.clone();
        let task = spawn_server(listener, move |reset| {
            let conn = Arc::new(Conn {
                shared: for_server.clone(),
                reset,
                upstream: tokio::sync::Mutex::new(None),
            });
            service_fn(move |req| conn.clone().handle(req))
        });
        Ok(FaultProxy {
            addr,
            shared,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> String {
        endpoint_of(self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Takes effect from the next request on; counters are not reset.
    pub fn set_plan(&self, plan: FaultPlan) {
        *self.shared.plan.lock().unwrap_or_else(|e| e.into_inner()) = plan;
    }

    pub fn plan(&self) -> FaultPlan {
        self.shared.plan()
    }

    /// Random faults on top of the plan, drawn from `random.seed` (a new plan restarts the
    /// draws); `None` turns them off. Takes effect from the next request on.
    pub fn set_random(&self, random: Option<RandomFaults>) {
        *self.shared.dice.lock().unwrap_or_else(|e| e.into_inner()) = random.map(Dice::new);
    }

    /// Shows every forwarded request and upstream's answer to `observer` (see [`Observer`]);
    /// `None` stops it.
    pub fn set_observer(&self, observer: Option<Arc<dyn Observer>>) {
        *self
            .shared
            .observer
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = observer;
    }

    pub fn counts(&self) -> FaultCounts {
        let c = &self.shared.counters;
        FaultCounts {
            requests: c.requests.load(Relaxed),
            bulk_requests: c.bulk_requests.load(Relaxed),
            throttled: c.throttled.load(Relaxed),
            unavailable: c.unavailable.load(Relaxed),
            resets: c.resets.load(Relaxed),
            resets_after_forward: c.resets_after_forward.load(Relaxed),
            items_throttled: c.items_throttled.load(Relaxed),
            item_throttled_requests: c.item_throttled_requests.load(Relaxed),
            over_capacity: c.over_capacity.load(Relaxed),
            bytes_admitted: c.bytes_admitted.load(Relaxed),
            aws_throttled: c.aws_throttled.load(Relaxed),
            throughput_exceeded: c.throughput_exceeded.load(Relaxed),
            transaction_conflicts: c.transaction_conflicts.load(Relaxed),
            aws_internal_errors: c.aws_internal_errors.load(Relaxed),
            slow_bodies: c.slow_bodies.load(Relaxed),
            cut_bodies: c.cut_bodies.load(Relaxed),
            forwarded: c.forwarded.load(Relaxed),
        }
    }

    /// Stops accepting and closes every connection.
    pub async fn shutdown(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestFault {
    Reset,
    Throttle,
    /// A 5xx answer with this status.
    ServerError(u16),
    ResetAfterForward,
    None,
}

pub(crate) fn hits(n: u64, every: Option<u32>) -> bool {
    matches!(every, Some(k) if k > 0 && n % u64::from(k) == 0)
}

impl FaultPlan {
    pub(crate) fn request_fault(&self, n: u64) -> RequestFault {
        if hits(n, self.reset_every) {
            RequestFault::Reset
        } else if hits(n, self.throttle_every) {
            RequestFault::Throttle
        } else if hits(n, self.unavailable_every) {
            RequestFault::ServerError(503)
        } else if hits(n, self.reset_after_forward_every) {
            RequestFault::ResetAfterForward
        } else {
            RequestFault::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_faults_take_turns() {
        let plan = FaultPlan {
            reset_every: Some(5),
            throttle_every: Some(2),
            unavailable_every: Some(3),
            ..FaultPlan::default()
        };
        let picked: Vec<u8> = (1..=6)
            .map(|n| match plan.request_fault(n) {
                RequestFault::Reset => b'R',
                RequestFault::Throttle => b'T',
                RequestFault::ServerError(_) => b'U',
                RequestFault::ResetAfterForward => b'A',
                RequestFault::None => b'.',
            })
            .collect();
        assert_eq!(picked, b".TUTRT");
        assert!(!hits(3, Some(0)));
    }
}
