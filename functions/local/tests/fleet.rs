//! The local fleet with fake workers: scaling seen through a new `LocalFleet` each time (as
//! separate CLI invocations would), SIGTERM on scale-in, restart backoff, no process left.

use std::path::Path;
use std::time::{Duration, Instant};

use backfill_core::control::ports::{Fleet, FleetState};
use backfill_local::LocalFleet;

/// Exits 0 on SIGTERM, saying so in its log.
const WORKER: &str =
    r#"trap "echo got-term; exit 0" TERM; echo trap-set; while true; do sleep 0.1; done"#;
const PENDING_FOR: Duration = Duration::from_millis(500);

fn fleet(dir: &Path, script: &str) -> LocalFleet {
    LocalFleet::new(
        dir,
        vec!["sh".into(), "-c".into(), script.into()],
        vec![("FAKE_WORKER".into(), "1".into())],
    )
    .with_pending_for(PENDING_FOR)
}

/// Kills whatever the fleet in `dir` still has, even when a test fails half-way.
struct Cleanup<'a>(&'a Path);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = fleet(self.0, "true").kill_all(Duration::from_secs(5));
    }
}

fn pid_alive(pid: u32) -> bool {
    // A zombie has exited; it only waits to be reaped.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s[s.rfind(')').unwrap() + 1..].split_whitespace().next();
            !matches!(state, Some("Z" | "X"))
        })
        .unwrap_or(false)
}

/// Reconciles through a new `LocalFleet` from `make` until `ok`.
async fn wait_for(
    make: impl Fn() -> LocalFleet,
    what: &str,
    ok: impl Fn(&FleetState) -> bool,
) -> FleetState {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = make().state().await.unwrap();
        if ok(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "waiting for {what}: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the workers' logs hold `n` lines with `needle`.
async fn wait_logs(dir: &Path, needle: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while count_in_logs(dir, needle) < n {
        assert!(Instant::now() < deadline, "waiting for {n} × {needle:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count_in_logs(dir, needle), n, "{needle:?}");
}

fn count_in_logs(dir: &Path, needle: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "log").then(|| std::fs::read_to_string(p).unwrap())
        })
        .map(|text| text.matches(needle).count())
        .sum()
}

#[tokio::test]
async fn scales_up_and_down_across_invocations() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fleet");
    let _cleanup = Cleanup(&dir);

    let s = fleet(&dir, WORKER).state().await.unwrap();
    assert_eq!(s, FleetState::default());

    let s = fleet(&dir, WORKER).set_desired(3).await.unwrap();
    assert_eq!((s.desired, s.running, s.pending), (3, 0, 3), "{s:?}");
    let s = wait_for(|| fleet(&dir, WORKER), "3 running", |s| s.running == 3).await;
    assert_eq!(s, state(3, 3, 0, 0));
    let all = fleet(&dir, WORKER).workers().unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|w| pid_alive(w.pid) && !w.stopping));
    // Reconciling again starts nothing more.
    let s = fleet(&dir, WORKER).state().await.unwrap();
    assert_eq!(s, state(3, 3, 0, 0));
    assert_eq!(count_in_logs(&dir, "starting worker"), 3);
    // A shell killed before it sets its trap would not say it got the signal.
    wait_logs(&dir, "trap-set", 3).await;

    // Scale in: the two newest get SIGTERM, the oldest keeps running.
    let oldest = all.iter().min_by_key(|w| w.slot).unwrap().pid;
    let s = fleet(&dir, WORKER).set_desired(1).await.unwrap();
    assert_eq!((s.desired, s.running, s.pending), (1, 1, 0), "{s:?}");
    assert_eq!(s.running + s.terminating, 3, "{s:?}");
    let s = wait_for(|| fleet(&dir, WORKER), "2 stopped", |s| s.terminating == 0).await;
    assert_eq!(s, state(1, 1, 0, 0));
    wait_logs(&dir, "got-term", 2).await;
    let left = fleet(&dir, WORKER).workers().unwrap();
    assert_eq!(left.iter().map(|w| w.pid).collect::<Vec<_>>(), [oldest]);
    for w in &all {
        assert_eq!(pid_alive(w.pid), w.pid == oldest, "{w:?}");
    }

    let s = fleet(&dir, WORKER).set_desired(0).await.unwrap();
    assert_eq!((s.desired, s.running, s.pending), (0, 0, 0), "{s:?}");
    let s = wait_for(|| fleet(&dir, WORKER), "drained", |s| s.drained()).await;
    assert_eq!(s, state(0, 0, 0, 0));
    wait_logs(&dir, "got-term", 3).await;
    assert!(all.iter().all(|w| !pid_alive(w.pid)));
    assert!(fleet(&dir, WORKER).workers().unwrap().is_empty());
    // No restart of workers that were asked to stop.
    assert_eq!(count_in_logs(&dir, "starting worker"), 3);
}

#[tokio::test]
async fn a_worker_that_exits_at_once_is_restarted_with_a_backoff() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fleet");
    let _cleanup = Cleanup(&dir);
    let backoff = Duration::from_millis(1500);
    let crashing = |d: &Path| fleet(d, "echo fake-up; exit 3").with_restart_backoff(backoff);

    let started = Instant::now();
    let s = crashing(&dir).set_desired(1).await.unwrap();
    assert_eq!(s, state(1, 0, 1, 0));
    wait_for(|| crashing(&dir), "the worker exits", |s| s.pending == 0).await;
    // Within the backoff, however often it is reconciled: no restart, nothing counted.
    while started.elapsed() < backoff - Duration::from_millis(200) {
        assert_eq!(crashing(&dir).state().await.unwrap(), state(1, 0, 0, 0));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count_in_logs(&dir, "starting worker"), 1);
    // After it: one restart, in the same slot (same log).
    tokio::time::sleep((backoff + Duration::from_millis(100)).saturating_sub(started.elapsed()))
        .await;
    let s = crashing(&dir).state().await.unwrap();
    assert_eq!(s, state(1, 0, 1, 0));
    assert_eq!(count_in_logs(&dir, "starting worker"), 2);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = std::fs::read_to_string(dir.join("worker-0.log")).unwrap();
        if log.matches("fake-up").count() == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "{log}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Scaling to 0 forgets the crashed slot: nothing is restarted any more.
    let s = crashing(&dir).set_desired(0).await.unwrap();
    assert_eq!(s, state(0, 0, 0, 0));
    tokio::time::sleep(backoff + Duration::from_millis(100)).await;
    assert_eq!(crashing(&dir).state().await.unwrap(), state(0, 0, 0, 0));
    assert_eq!(count_in_logs(&dir, "starting worker"), 2);
}

#[tokio::test]
async fn a_worker_that_ignores_sigterm_is_killed_after_the_stop_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fleet");
    let _cleanup = Cleanup(&dir);
    let stubborn = r#"trap "echo ignoring" TERM; echo trap-set; while true; do sleep 0.1; done"#;
    let f = |d: &Path| fleet(d, stubborn).with_stop_timeout(Duration::from_millis(1500));

    f(&dir).set_desired(1).await.unwrap();
    let pid = f(&dir).workers().unwrap()[0].pid;
    wait_logs(&dir, "trap-set", 1).await;
    let s = f(&dir).set_desired(0).await.unwrap();
    assert_eq!(s, state(0, 0, 0, 1));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(f(&dir).state().await.unwrap(), state(0, 0, 0, 1));
    assert!(pid_alive(pid));
    let s = wait_for(|| f(&dir), "killed", |s| s.drained()).await;
    assert_eq!(s, state(0, 0, 0, 0));
    assert!(!pid_alive(pid));
}

#[tokio::test]
async fn a_missing_program_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fleet");
    let _cleanup = Cleanup(&dir);
    let f = LocalFleet::new(&dir, vec!["/nonexistent/backfill-worker".into()], vec![]);
    let e = f.set_desired(1).await.unwrap_err();
    assert!(
        !e.is_retryable() && e.message.contains("/nonexistent/backfill-worker"),
        "{e:?}"
    );
}

#[tokio::test]
async fn kill_all_leaves_no_process() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fleet");
    fleet(&dir, WORKER).set_desired(2).await.unwrap();
    let pids: Vec<u32> = fleet(&dir, WORKER)
        .workers()
        .unwrap()
        .iter()
        .map(|w| w.pid)
        .collect();
    assert_eq!(pids.len(), 2);
    assert_eq!(
        fleet(&dir, WORKER)
            .kill_all(Duration::from_secs(5))
            .unwrap(),
        2
    );
    assert!(pids.iter().all(|p| !pid_alive(*p)));
    assert_eq!(
        fleet(&dir, WORKER).state().await.unwrap(),
        state(0, 0, 0, 0)
    );
}

fn state(desired: u32, running: u32, pending: u32, terminating: u32) -> FleetState {
    FleetState {
        desired,
        running,
        pending,
        terminating,
    }
}
