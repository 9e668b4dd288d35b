//! The worker fleet on one machine: worker processes supervised with an ECS service's meaning
//! (a desired count; tasks that crash are replaced; scale-in sends SIGTERM to the newest).
//!
//! There is no daemon: each `backfill scale N` is a short-lived process, so the whole state is
//! in a directory and every call reconciles it (under an exclusive `flock`):
//!
//! ```text
//! <dir>/desired          the desired count
//! <dir>/worker-<k>.json  worker slot k: pid, its /proc start time, when it started, when asked to stop
//! <dir>/worker-<k>.log   its standard output and error (appended across restarts)
//! <dir>/lock             taken by every call, so concurrent CLIs reconcile one at a time
//! ```
//!
//! Counts, disjoint like ECS's: a worker is *pending* for [`DEFAULT_PENDING_FOR`] after it
//! starts (there is no readiness probe: a worker that lives that long is *running*),
//! *terminating* once SIGTERM was sent until it exits (SIGKILL after [`DEFAULT_STOP_TIMEOUT`]).
//! A worker that exits on its own (crash, or nothing left to do) is restarted in its slot, at
//! most once per [`DEFAULT_RESTART_BACKOFF`]. Workers are detached (their own session, stdin
//! closed), so they outlive the CLI that started them. Linux only (`/proc`).

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use backfill_core::control::ports::{ErrorKind, Fleet, FleetState, PortError};
use backfill_core::lease::now_ms;

/// How long a new worker counts as pending.
pub const DEFAULT_PENDING_FOR: Duration = Duration::from_secs(1);
/// At most one restart per worker slot this often, so a crash loop does not spin.
pub const DEFAULT_RESTART_BACKOFF: Duration = Duration::from_secs(5);
/// SIGKILL a worker this long after its SIGTERM (ECS's default `stopTimeout`).
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Worker processes on this machine; see the module documentation.
#[derive(Debug, Clone)]
pub struct LocalFleet {
    dir: PathBuf,
    /// Program and arguments.
    command: Vec<String>,
    /// Added to the inherited environment.
    env: Vec<(String, String)>,
    pending_for: Duration,
    restart_backoff: Duration,
    stop_timeout: Duration,
}

/// A live worker, as [`LocalFleet::workers`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalWorker {
    pub slot: u32,
    pub pid: u32,
    /// SIGTERM was sent.
    pub stopping: bool,
    pub log: PathBuf,
}

/// One slot's file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    pid: u32,
    /// Field 22 of `/proc/<pid>/stat`: tells our worker from a later process with the same pid.
    start_ticks: u64,
    started_ms: i64,
    #[serde(default)]
    stop_sent_ms: Option<i64>,
    #[serde(default)]
    killed: bool,
}

/// Workers started by this process. Reaped at each reconcile: an exited child stays a zombie
/// until its parent waits for it, and a long-lived caller (tests, a local control plane) would
/// pile them up.
static CHILDREN: Mutex<Vec<Child>> = Mutex::new(Vec::new());

impl LocalFleet {
    pub fn new(
        dir: impl Into<PathBuf>,
        command: Vec<String>,
        env: Vec<(String, String)>,
    ) -> LocalFleet {
        LocalFleet {
            dir: dir.into(),
            command,
            env,
            pending_for: DEFAULT_PENDING_FOR,
            restart_backoff: DEFAULT_RESTART_BACKOFF,
            stop_timeout: DEFAULT_STOP_TIMEOUT,
        }
    }

    pub fn with_pending_for(mut self, d: Duration) -> LocalFleet {
        self.pending_for = d;
        self
    }

    pub fn with_restart_backoff(mut self, d: Duration) -> LocalFleet {
        self.restart_backoff = d;
        self
    }

    pub fn with_stop_timeout(mut self, d: Duration) -> LocalFleet {
        self.stop_timeout = d;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records the desired count, then reconciles.
    pub fn set_desired_blocking(&self, workers: u32) -> io::Result<FleetState> {
        let _lock = self.lock()?;
        write_atomic(&self.dir.join("desired"), format!("{workers}\n").as_bytes())?;
        self.reconcile_locked()
    }

    /// Brings the processes in line with the desired count: prunes exited workers, restarts
    /// crashed ones (backoff), starts missing ones, sends SIGTERM to the newest extra ones and
    /// SIGKILL to those that ignored it for the stop timeout. Returns the counts.
    pub fn reconcile(&self) -> io::Result<FleetState> {
        let _lock = self.lock()?;
        self.reconcile_locked()
    }

    /// The live workers, without reconciling.
    pub fn workers(&self) -> io::Result<Vec<LocalWorker>> {
        let _lock = self.lock()?;
        reap_children();
        Ok(self
            .read_records()?
            .into_iter()
            .filter(|(_, r)| alive(r))
            .map(|(slot, r)| LocalWorker {
                slot,
                pid: r.pid,
                stopping: r.stop_sent_ms.is_some(),
                log: self.log_path(slot),
            })
            .collect())
    }

    /// Tear-down: desired 0, SIGKILL to every worker (no checkpoint, unlike scaling to 0), and
    /// waits up to `wait` for them to be gone. Returns how many were killed.
    pub fn kill_all(&self, wait: Duration) -> io::Result<u32> {
        let _lock = self.lock()?;
        write_atomic(&self.dir.join("desired"), b"0\n")?;
        let records = self.read_records()?;
        let mut killed = 0;
        for r in records.values().filter(|r| alive(r)) {
            signal(r.pid, libc::SIGKILL);
            killed += 1;
        }
        let deadline = std::time::Instant::now() + wait;
        while records.values().any(alive) && std::time::Instant::now() < deadline {
            reap_children();
            std::thread::sleep(Duration::from_millis(20));
        }
        for slot in records.keys() {
            remove_if_exists(&self.record_path(*slot))?;
        }
        Ok(killed)
    }

    fn reconcile_locked(&self) -> io::Result<FleetState> {
        reap_children();
        let desired = self.read_desired()?;
        let now = now_ms();
        let mut records = self.read_records()?;
        let mut active = Vec::new(); // (started_ms, slot)
        let mut exited = Vec::new(); // slots of workers that ended on their own
        let mut terminating = 0u32;
        let mut gone = Vec::new(); // slots of workers that ended after a SIGTERM
        for (&slot, r) in records.iter_mut() {
            match (alive(r), r.stop_sent_ms) {
                (true, None) => active.push((r.started_ms, slot)),
                (true, Some(sent)) => {
                    terminating += 1;
                    if !r.killed && now - sent >= self.stop_timeout.as_millis() as i64 {
                        signal(r.pid, libc::SIGKILL);
                        r.killed = true;
                        self.write_record(slot, r)?;
                    }
                }
                (false, Some(_)) => gone.push(slot),
                (false, None) => exited.push(slot),
            }
        }
        for slot in gone {
            remove_if_exists(&self.record_path(slot))?;
            records.remove(&slot);
        }

        // Scale in: the newest workers go first, as they have done the least work.
        active.sort();
        while active.len() > desired as usize {
            let (_, slot) = active.pop().expect("non-empty");
            let r = records.get_mut(&slot).expect("active slot has a record");
            signal(r.pid, libc::SIGTERM);
            r.stop_sent_ms = Some(now);
            self.write_record(slot, r)?;
            terminating += 1;
        }

        // Scale out: crashed slots first (each restarted at most once per backoff), so that a
        // crash loop cannot dodge its backoff by moving to a fresh slot.
        let mut missing = (desired as usize).saturating_sub(active.len());
        let mut pending = 0u32;
        for &slot in &exited {
            if missing == 0 {
                remove_if_exists(&self.record_path(slot))?;
                records.remove(&slot);
                continue;
            }
            missing -= 1;
            let last = records[&slot].started_ms;
            if now - last >= self.restart_backoff.as_millis() as i64 {
                let r = self.start(slot)?;
                records.insert(slot, r);
                pending += 1;
            }
        }
        let mut slot = 0u32;
        while missing > 0 {
            if let Entry::Vacant(free) = records.entry(slot) {
                free.insert(self.start(slot)?);
                pending += 1;
                missing -= 1;
            }
            slot += 1;
        }

        let mut running = 0u32;
        for (started, _) in &active {
            if now - started < self.pending_for.as_millis() as i64 {
                pending += 1;
            } else {
                running += 1;
            }
        }
        Ok(FleetState {
            desired,
            running,
            pending,
            terminating,
        })
    }

    fn start(&self, slot: u32) -> io::Result<Record> {
        let (program, args) = self.command.split_first().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no worker command configured")
        })?;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(slot))?;
        writeln!(log, "--- local fleet: starting worker {slot} ---")?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent. Its own
        // session (and process group) detaches the worker from the CLI's terminal and signals.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("starting worker `{program}`: {e}")))?;
        let pid = child.id();
        // Not reaped yet, so /proc/<pid> exists even if it already exited.
        let start_ticks = proc_stat(pid).map(|s| s.start_ticks).unwrap_or(0);
        CHILDREN
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(child);
        let r = Record {
            pid,
            start_ticks,
            started_ms: now_ms(),
            stop_sent_ms: None,
            killed: false,
        };
        self.write_record(slot, &r)?;
        Ok(r)
    }

    fn lock(&self) -> io::Result<DirLock> {
        fs::create_dir_all(&self.dir)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join("lock"))?;
        loop {
            // SAFETY: a valid open descriptor; the lock is released when `file` is closed.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(DirLock { _file: file });
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    fn read_desired(&self) -> io::Result<u32> {
        match fs::read_to_string(self.dir.join("desired")) {
            Ok(s) => s.trim().parse().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: not a count: {s:?}", self.dir.join("desired").display()),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn read_records(&self) -> io::Result<BTreeMap<u32, Record>> {
        let mut out = BTreeMap::new();
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            let Some(slot) = name
                .to_str()
                .and_then(|n| n.strip_prefix("worker-")?.strip_suffix(".json"))
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let path = self.record_path(slot);
            let text = fs::read(&path)?;
            let r = serde_json::from_slice(&text).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?;
            out.insert(slot, r);
        }
        Ok(out)
    }

    fn write_record(&self, slot: u32, r: &Record) -> io::Result<()> {
        let body = serde_json::to_vec(r).map_err(io::Error::other)?;
        write_atomic(&self.record_path(slot), &body)
    }

    fn record_path(&self, slot: u32) -> PathBuf {
        self.dir.join(format!("worker-{slot}.json"))
    }

    fn log_path(&self, slot: u32) -> PathBuf {
        self.dir.join(format!("worker-{slot}.log"))
    }
}

#[async_trait]
impl Fleet for LocalFleet {
    async fn set_desired(&self, workers: u32) -> Result<FleetState, PortError> {
        let this = self.clone();
        self.blocking(move || this.set_desired_blocking(workers))
            .await
    }

    async fn state(&self) -> Result<FleetState, PortError> {
        let this = self.clone();
        self.blocking(move || this.reconcile()).await
    }
}

impl LocalFleet {
    // Files, locks and fork/exec block: keep them off the async workers.
    async fn blocking(
        &self,
        f: impl FnOnce() -> io::Result<FleetState> + Send + 'static,
    ) -> Result<FleetState, PortError> {
        let dir = self.dir.display().to_string();
        match tokio::task::spawn_blocking(f).await {
            Ok(Ok(state)) => Ok(state),
            Ok(Err(e)) => {
                let kind = match e.kind() {
                    io::ErrorKind::NotFound => ErrorKind::NotFound,
                    io::ErrorKind::PermissionDenied => ErrorKind::Denied,
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => ErrorKind::Invalid,
                    _ => ErrorKind::Retryable,
                };
                Err(PortError::new(kind, format!("local fleet {dir}: {e}")))
            }
            Err(e) => Err(PortError::retryable(format!("local fleet {dir}: {e}"))),
        }
    }
}

/// Held while it lives; `flock` locks are released when the file is closed.
struct DirLock {
    _file: File,
}

struct ProcStat {
    state: char,
    start_ticks: u64,
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so cut at the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        // Field 22 of the line; `rest` starts at field 3.
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// The recorded process still exists, is the same process, and is not a zombie (this
/// machine's PID 1 reaps orphans slowly).
fn alive(r: &Record) -> bool {
    match proc_stat(r.pid) {
        Some(s) => s.start_ticks == r.start_ticks && !matches!(s.state, 'Z' | 'X' | 'x'),
        None => false,
    }
}

/// Signals the worker's process group (it is the leader of its own session), so a wrapper
/// script's children get it too; the process alone if the group is gone.
fn signal(pid: u32, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: plain syscalls; the caller checked that `pid` is still our worker.
    unsafe {
        if libc::kill(-pid, sig) != 0 {
            libc::kill(pid, sig);
        }
    }
}

fn reap_children() {
    let mut children = CHILDREN.lock().unwrap_or_else(|p| p.into_inner());
    children.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
}

fn write_atomic(path: &Path, body: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, body)?;
    fs::rename(&tmp, path)
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = std::process::id();
        let s = proc_stat(me).unwrap();
        assert!(!matches!(s.state, 'Z' | 'X'));
        let r = Record {
            pid: me,
            start_ticks: s.start_ticks,
            started_ms: 0,
            stop_sent_ms: None,
            killed: false,
        };
        assert!(alive(&r));
        assert!(!alive(&Record {
            start_ticks: s.start_ticks + 1,
            ..r
        }));
    }
}
