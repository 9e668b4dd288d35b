//! The adaptive limit's behaviour, in virtual time (tokio's paused clock): no network, and a
//! target that admits a byte rate is simulated.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use super::*;
use crate::outgoing::BulkDoc;
use crate::retry::RetryPolicy;
use crate::target::{BulkItemResult, Target, TargetError};
use crate::worker::sender;

const MB: u64 = 1_000_000;

#[tokio::test(start_paused = true)]
async fn requests_wait_their_turn_under_the_byte_rate() {
    // Virtual time: 10 requests of 1 MB at 2 MB/s, four at a time, take 4.5 s.
    let rate = Arc::new(ByteRate::new(2_000_000));
    let t0 = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(4));
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

#[tokio::test(start_paused = true)]
async fn halves_once_per_episode_and_grows_back_by_one_per_window() {
    let l = AdaptiveLimit::new(8, 8);
    // Three requests in flight when the target pushes back: one episode.
    let sent: Vec<Ticket> = [l.admit(1).await, l.admit(1).await, l.admit(1).await].into();
    for &t in &sent {
        l.on_throttled(t);
    }
    assert_eq!((l.limit(), l.decreases(), l.throttled()), (4, 1, 3));
    // Each request sent after a decrease that is pushed back again is a new episode.
    for _ in 0..3 {
        let t = l.admit(1).await;
        l.on_throttled(t);
    }
    assert_eq!((l.limit(), l.decreases()), (1, 4));
    let t = l.admit(1).await;
    l.on_success(t, 1);
    assert_eq!(l.limit(), 2);
    l.on_success(t, 1);
    l.on_success(t, 1);
    assert_eq!(l.limit(), 3);
    for _ in 0..100 {
        l.on_success(t, 1);
    }
    assert_eq!(l.limit(), 8);
    assert_eq!(l.decreases(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_429_among_successes_soon_after_a_cut_is_no_reason_for_another() {
    let l = AdaptiveLimit::new(8, 8);
    steady(&l, 30, MB, Duration::from_millis(100)).await;
    l.on_throttled(l.admit(MB).await);
    let cut = l.rate().unwrap();
    // Three of four answers since the cut went through: the 429 is not the rate's fault.
    steady(&l, 3, MB, Duration::from_millis(100)).await;
    l.on_throttled(l.admit(MB).await);
    assert_eq!((l.decreases(), l.throttled()), (1, 2));
    assert!(l.rate().unwrap() >= cut);
    // Mostly refused since: the estimate was too high, cut again.
    l.on_throttled(l.admit(MB).await);
    assert_eq!(l.decreases(), 2);
    assert!(l.rate().unwrap() < cut);
    // Once the calm is over, a single 429 cuts.
    steady(&l, 90, MB, Duration::from_millis(100)).await;
    l.on_throttled(l.admit(MB).await);
    assert_eq!(l.decreases(), 3);
}

#[tokio::test(start_paused = true)]
async fn documents_refused_with_429_narrow_the_window_but_leave_the_pace() {
    let l = AdaptiveLimit::new(8, 8);
    steady(&l, 30, MB, Duration::from_millis(100)).await;
    let t = l.admit(MB).await;
    l.on_items_throttled(t);
    l.on_items_throttled(t);
    assert_eq!(
        (l.limit(), l.decreases(), l.throttled(), l.rate()),
        (4, 1, 2, None)
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_is_paced_before_the_first_push_back() {
    let l = AdaptiveLimit::new(4, 4);
    let t0 = Instant::now();
    for _ in 0..100 {
        let t = l.admit(100 * MB).await;
        l.on_success(t, 100 * MB);
    }
    assert_eq!(Instant::now(), t0);
    assert_eq!(l.rate(), None);
}

/// Acknowledges `n` requests of `bytes`, one every `every`, each admitted by the pace first.
async fn steady(l: &AdaptiveLimit, n: usize, bytes: u64, every: Duration) {
    for _ in 0..n {
        let t = l.admit(bytes).await;
        tokio::time::sleep(every).await;
        l.on_success(t, bytes);
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_push_back_requests_are_paced_under_the_rate_the_target_accepted() {
    let l = AdaptiveLimit::new(4, 4);
    // 1 MB acknowledged every 100 ms: the target accepts 10 MB/s.
    steady(&l, 30, MB, Duration::from_millis(100)).await;
    let t = l.admit(MB).await;
    l.on_throttled(t);
    let rate = l.rate().expect("a pace after a push-back");
    assert!((rate - 8.5e6).abs() < 0.1e6, "{rate}");
    // Four 1 MB requests back to back now start 1/8.5 s apart.
    let t0 = Instant::now();
    for _ in 0..4 {
        l.admit(MB).await;
    }
    let spacing = (Instant::now() - t0).as_secs_f64() / 3.0;
    assert!((spacing - 1.0 / 8.5).abs() < 0.002, "{spacing}");
}

#[tokio::test(start_paused = true)]
async fn the_pace_grows_slowly_near_the_push_back_and_faster_after() {
    let l = AdaptiveLimit::new(4, 4);
    steady(&l, 30, MB, Duration::from_millis(100)).await;
    l.on_throttled(l.admit(MB).await);
    let after_decrease = l.rate().unwrap();
    // Acknowledged as fast as the pace lets them go: the worker keeps up with its pace.
    let mut grown = Vec::new();
    for _ in 0..2 {
        let (r0, t0) = (l.rate().unwrap(), Instant::now());
        while Instant::now() - t0 < CALM {
            let t = l.admit(MB).await;
            l.on_success(t, MB);
        }
        grown.push((l.rate().unwrap() - r0) / (Instant::now() - t0).as_secs_f64());
    }
    // Per second: 2% of the 10 MB/s accepted before the decrease, then 10%.
    assert!((grown[0] - 0.2e6).abs() < 0.02e6, "{grown:?}");
    assert!((grown[1] - 1.0e6).abs() < 0.1e6, "{grown:?}");
    assert!(after_decrease < 10e6 && l.rate().unwrap() > 10e6);
}

#[tokio::test(start_paused = true)]
async fn the_pace_does_not_grow_past_what_the_worker_sends() {
    let l = AdaptiveLimit::new(4, 4);
    steady(&l, 30, MB, Duration::from_millis(100)).await;
    l.on_throttled(l.admit(MB).await);
    // The reader only feeds 4 MB/s for a minute: the pace (8.5 MB/s, over 1.5 times that)
    // stays put, instead of climbing by 1 MB/s every second to some 60 MB/s.
    steady(&l, 240, MB, Duration::from_millis(250)).await;
    let rate = l.rate().unwrap();
    assert!(rate < 9e6, "{rate}");
}

/// A target that admits `capacity` bytes of `_source` per second with a second's worth of
/// burst (a token bucket, as the fault proxy's `--capacity-bytes-per-sec`), refusing whole
/// requests with 429 beyond it (and, with `refuse_every`, every n-th request whatever the rate),
/// and takes `latency` per admitted request.
struct Capacity {
    capacity: f64,
    refuse_every: Option<u64>,
    latency: Duration,
    bucket: Mutex<Option<(f64, Instant)>>,
    requests: AtomicU64,
    refused: AtomicU64,
    admitted: AtomicU64,
}

impl Capacity {
    fn new(capacity: u64, latency: Duration) -> Capacity {
        Capacity {
            capacity: capacity as f64,
            refuse_every: None,
            latency,
            bucket: Mutex::new(None),
            requests: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            admitted: AtomicU64::new(0),
        }
    }

    fn admit(&self, bytes: u64) -> bool {
        let now = Instant::now();
        let full = self.capacity;
        let mut bucket = self.bucket.lock().unwrap();
        let (tokens, last) = bucket.get_or_insert((full, now));
        *tokens = (*tokens + (now - *last).as_secs_f64() * full).min(full);
        *last = now;
        let need = (bytes as f64).min(full);
        let ok = *tokens >= need;
        if ok {
            *tokens -= need;
        }
        ok
    }
}

#[async_trait]
impl Target for Capacity {
    async fn bulk(&self, docs: &[&BulkDoc]) -> Result<Vec<BulkItemResult>, TargetError> {
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes: u64 = docs.iter().map(|d| d.source.len() as u64).sum();
        let unlucky = self.refuse_every.is_some_and(|every| n % every == 0);
        if unlucky || !self.admit(bytes) {
            self.refused.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(1)).await;
            return Err(TargetError::Throttled { status: 429 });
        }
        self.admitted.fetch_add(bytes, Ordering::Relaxed);
        tokio::time::sleep(self.latency).await;
        Ok(docs.iter().map(|_| BulkItemResult::ok(201)).collect())
    }
    async fn index_exists(&self, _: &str) -> Result<bool, TargetError> {
        Ok(true)
    }
    async fn create_index(&self, _: &str, _: &serde_json::Value) -> Result<(), TargetError> {
        Ok(())
    }
    async fn get_source(
        &self,
        _: &str,
        _: &str,
        _: Option<&str>,
    ) -> Result<Option<Vec<u8>>, TargetError> {
        Ok(None)
    }
}

/// Sends `batches` copies of `batch` as the shard loop does (a new request whenever fewer than
/// the limit are in flight); returns the virtual seconds taken.
async fn drive(target: Arc<Capacity>, batch: Arc<Vec<BulkDoc>>, batches: usize) -> f64 {
    drive_with(target, batch, batches, RetryPolicy::default()).await
}

async fn drive_with(
    target: Arc<Capacity>,
    batch: Arc<Vec<BulkDoc>>,
    batches: usize,
    policy: RetryPolicy,
) -> f64 {
    let limit = Arc::new(AdaptiveLimit::new(4, 4));
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut started = 0;
    loop {
        while started < batches && tasks.len() < limit.limit() {
            let (target, batch, limit) = (target.clone(), batch.clone(), limit.clone());
            tasks.spawn(async move { sender::send(&*target, &batch, &policy, &limit).await });
            started += 1;
        }
        match tasks.join_next().await {
            Some(sent) => assert_eq!(sent.unwrap().unwrap().indexed, batch.len() as u64),
            None => break,
        }
    }
    (Instant::now() - t0).as_secs_f64()
}

/// The bench's shape: 2,000 documents of 2.5 KB a request (5 MB).
fn bench_batch() -> Arc<Vec<BulkDoc>> {
    let doc = BulkDoc {
        index: "logs".into(),
        source: vec![b'x'; 2_500],
        ..BulkDoc::default()
    };
    Arc::new(vec![doc; 2_000])
}

#[tokio::test(start_paused = true)]
async fn a_target_of_fixed_capacity_is_held_near_it_with_few_429s() {
    // 200 requests (1 GB) into a target that admits 50 MB/s and answers an admitted request in
    // 25 ms (it could take 200 MB/s).
    fastrand::seed(13);
    let batch = bench_batch();
    let target = Arc::new(Capacity::new(50 * MB, Duration::from_millis(25)));
    let seconds = drive(target.clone(), batch, 200).await;
    let requests = target.requests.load(Ordering::Relaxed);
    let refused = target.refused.load(Ordering::Relaxed);
    let admitted = target.admitted.load(Ordering::Relaxed) as f64;
    let used = admitted / seconds / target.capacity;
    let share = refused as f64 / requests as f64;
    eprintln!(
        "{seconds:.1} s, {:.0}% of the capacity, {refused} of {requests} requests answered 429 ({:.0}%)",
        used * 100.0,
        share * 100.0
    );
    assert_eq!(admitted, 200.0 * 5e6);
    assert!(used >= 0.85, "{used:.2} of the capacity used");
    assert!(
        share <= 0.08,
        "{refused} of {requests} requests answered 429"
    );
}

#[tokio::test(start_paused = true)]
async fn refusals_that_come_whatever_the_rate_do_not_slow_the_worker_to_a_crawl() {
    // Every fourth request refused, however slowly they come (as the fault proxy's
    // `--throttle-every 4`): slowing down does not help, and the pace must not sink on and on.
    // The bench's requests, and the fault test's (10 documents, retries after 20 to 200 ms).
    fastrand::seed(13);
    let small = Arc::new(vec![
        BulkDoc {
            index: "logs".into(),
            source: vec![b'x'; 400],
            ..BulkDoc::default()
        };
        10
    ]);
    let quick = RetryPolicy {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..RetryPolicy::default()
    };
    let shapes = [
        (
            bench_batch(),
            200,
            Duration::from_millis(25),
            RetryPolicy::default(),
        ),
        (small, 300, Duration::from_millis(10), quick),
    ];
    for (batch, batches, latency, policy) in shapes {
        let unlimited = 1_000_000 * MB;
        let free = Arc::new(Capacity::new(unlimited, latency));
        let alone = drive_with(free, batch.clone(), batches, policy).await;
        let mut unlucky = Capacity::new(unlimited, latency);
        unlucky.refuse_every = Some(4);
        let unlucky = Arc::new(unlucky);
        let seconds = drive_with(unlucky.clone(), batch, batches, policy).await;
        let refused = unlucky.refused.load(Ordering::Relaxed);
        eprintln!(
            "{alone:.1} s unhindered, {seconds:.1} s with every fourth request refused ({refused} 429s)"
        );
        assert!(refused as usize >= batches / 4);
        // Each refusal costs its request a backoff (half the first wait on average) while the
        // window is narrow: well under that per refusal in all. A pace cut at every refusal took
        // over a minute for the bench's shape.
        let bound = alone + refused as f64 * policy.initial_backoff.as_secs_f64();
        assert!(seconds < bound, "{seconds:.1} s, over {bound:.1} s");
    }
}
