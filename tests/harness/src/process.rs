//! A server child process that cannot outlive us: own process group (killed as a group on
//! drop, so helpers it forks go too), `PR_SET_PDEATHSIG` on Linux (killed if we die without
//! dropping it: SIGKILL, a panic with `panic = abort`, `std::process::exit`, a static never
//! dropped), output captured to a log file, and a readiness wait that notices an early exit.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, Once, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::HarnessError;

/// How often a port is picked again when the server could not bind it (another process took it
/// between our probe and the server's bind).
const PORT_ATTEMPTS: usize = 3;
const POLL: Duration = Duration::from_millis(50);

pub(crate) struct ServerProcess {
    server: &'static str,
    command: String,
    child: Child,
    /// Set once `wait`/`try_wait` reaped the child: its pid (and group id) may then be reused, so
    /// the group must not be signalled any more.
    reaped: bool,
    log: PathBuf,
    keep_log: bool,
    port: Option<u16>,
}

impl ServerProcess {
    /// Spawns `cmd` with stdin closed and stdout/stderr going to a fresh log file.
    pub(crate) fn spawn(server: &'static str, mut cmd: Command) -> Result<Self, HarnessError> {
        let command = describe(&cmd);
        let log = new_log_path(server)?;
        let out = File::create(&log)
            .map_err(|e| HarnessError::io(format!("creating {}", log.display()), e))?;
        let err = out
            .try_clone()
            .map_err(|e| HarnessError::io(format!("opening {}", log.display()), e))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        die_with_parent(&mut cmd);

        match spawn_from_long_lived_thread(cmd) {
            Ok(child) => Ok(ServerProcess {
                server,
                command,
                child,
                reaped: false,
                log,
                keep_log: false,
                port: None,
            }),
            Err(e) => Err(HarnessError::Start {
                server,
                reason: format!("could not run it: {e}"),
                command,
                log_tail: String::new(),
                log,
            }),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn log_path(&self) -> &Path {
        &self.log
    }

    /// Polls `probe` until it succeeds, the child exits (an error) or `timeout` passes.
    pub(crate) fn wait_ready<T>(
        &mut self,
        timeout: Duration,
        mut probe: impl FnMut() -> Result<T, String>,
    ) -> Result<T, HarnessError> {
        let start = Instant::now();
        loop {
            self.check_alive()?;
            let why = match probe() {
                // Checked again: had another process taken our port, our server would have
                // exited and the answer come from the other one.
                Ok(value) => return self.check_alive().map(|_| value),
                Err(why) => why,
            };
            if start.elapsed() >= timeout {
                let reason = format!("no answer within {timeout:?} (last: {why})");
                return Err(self.start_error(reason));
            }
            thread::sleep(POLL);
        }
    }

    fn check_alive(&mut self) -> Result<(), HarnessError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                self.reaped = true;
                Err(self.start_error(format!("it exited during startup ({status})")))
            }
            Err(e) => Err(self.start_error(format!("cannot watch it: {e}"))),
        }
    }

    /// An error naming the server, command and log; the log is then kept for reading.
    pub(crate) fn start_error(&mut self, reason: String) -> HarnessError {
        self.keep_log = true;
        HarnessError::Start {
            server: self.server,
            command: self.command.clone(),
            log: self.log.clone(),
            reason,
            log_tail: log_tail(&self.log),
        }
    }

    /// Kills the process group and reaps the child. Called by Drop; idempotent.
    pub(crate) fn stop(&mut self) {
        if !self.reaped {
            // SAFETY: kill(2) with a negative pid signals the group we created for the child;
            // the leader is not reaped yet, so the group id cannot belong to anyone else.
            unsafe {
                libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL);
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        self.reaped = true;
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
        if let Some(port) = self.port.take() {
            lock_ports().remove(&port);
        }
        // A failing test (unwinding) or a failed start keeps the log for whoever investigates.
        if !self.keep_log && !thread::panicking() {
            let _ = fs::remove_file(&self.log);
        }
    }
}

/// Starts a server that takes its port on the command line: picks a free port, spawns
/// `command(port)`, waits for `probe(endpoint)`. When the server exits during startup (most
/// likely its port was taken meanwhile) it is tried again on another port.
pub(crate) fn start_on_free_port(
    server: &'static str,
    timeout: Duration,
    command: impl Fn(u16) -> Command,
    probe: impl Fn(&str) -> Result<(), String>,
) -> Result<(ServerProcess, String), HarnessError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = reserve_free_port()?;
        let mut process = match ServerProcess::spawn(server, command(port)) {
            Ok(p) => p,
            Err(e) => {
                lock_ports().remove(&port);
                return Err(e);
            }
        };
        process.port = Some(port);
        let endpoint = format!("http://127.0.0.1:{port}");
        let pid = process.pid();
        let ready = || {
            probe(&endpoint)?;
            // Another test process may have picked the same port at the same moment: then the
            // answer came from its server, and ours is about to exit.
            match holds_listener(pid, port) {
                true => Ok(()),
                false => Err(format!("port {port} answered, but not by pid {pid}")),
            }
        };
        match process.wait_ready(timeout, ready) {
            Ok(()) => return Ok((process, endpoint)),
            Err(_) if process.reaped && attempt < PORT_ATTEMPTS => {
                process.keep_log = false;
                continue;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A port that was free on 127.0.0.1 a moment ago and that this process has not handed out
/// to another server still running (the kernel may offer a just-released port again).
fn reserve_free_port() -> Result<u16, HarnessError> {
    for _ in 0..20 {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| HarnessError::io("binding 127.0.0.1:0 to find a free port", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| HarnessError::io("reading the port of 127.0.0.1:0", e))?
            .port();
        drop(listener);
        if lock_ports().insert(port) {
            return Ok(port);
        }
    }
    Err(HarnessError::io(
        "finding a free port",
        io::Error::new(
            io::ErrorKind::AddrInUse,
            "the kernel kept offering ports in use",
        ),
    ))
}

/// Whether process `pid` holds the socket listening on `port` (any local address, IPv4 or 6).
/// Where /proc cannot tell, the probe's answer is trusted.
fn holds_listener(pid: u32, port: u16) -> bool {
    const LISTEN: &str = "0A";
    let port_hex = format!(":{port:04X}");
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() > 9 && fields[1].ends_with(&port_hex) && fields[3] == LISTEN {
                inodes.push(format!("socket:[{}]", fields[9]));
            }
        }
    }
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return true;
    };
    fds.flatten().any(|fd| {
        fs::read_link(fd.path()).is_ok_and(|target| inodes.iter().any(|i| target == Path::new(i)))
    })
}

fn lock_ports() -> std::sync::MutexGuard<'static, HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

fn die_with_parent(cmd: &mut Command) {
    // SAFETY: getpid is async-signal-safe; it is read before the fork.
    let parent = unsafe { libc::getpid() };
    let hook = move || -> io::Result<()> {
        // Own group: the whole server (and anything it forks) is killed with one kill(-pgid).
        // SAFETY: setpgid, prctl, getppid and _exit are async-signal-safe, as pre_exec requires.
        unsafe {
            if libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            #[cfg(target_os = "linux")]
            {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                // We may have died between fork and prctl: then nobody would send the signal.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
            }
            let _ = parent;
        }
        Ok(())
    };
    // SAFETY: the hook only makes async-signal-safe calls and allocates nothing.
    unsafe {
        cmd.pre_exec(hook);
    }
}

/// Spawns a child that dies with this process (own process group, `PR_SET_PDEATHSIG`), for
/// children a caller supervises itself (the soak's workers).
pub(crate) fn spawn_dying_with_us(mut cmd: Command) -> io::Result<Child> {
    die_with_parent(&mut cmd);
    spawn_from_long_lived_thread(cmd)
}

type SpawnJob = (Command, mpsc::Sender<io::Result<Child>>);

/// PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, not the process. Test
/// threads (and tokio's blocking threads) end all the time, and a server shared through a
/// static would die with the test that happened to start it; so every fork happens on one
/// thread that lives as long as the process.
fn spawn_from_long_lived_thread(cmd: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnJob>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<SpawnJob>();
        thread::Builder::new()
            .name("harness-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in queue {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("cannot start the harness's spawner thread");
        jobs
    });
    let (reply, answer) = mpsc::channel();
    let gone = || io::Error::other("the harness's spawner thread is gone");
    spawner.send((cmd, reply)).map_err(|_| gone())?;
    answer.recv().map_err(|_| gone())?
}

fn new_log_path(server: &str) -> Result<PathBuf, HarnessError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    static PRUNE: Once = Once::new();
    let dir = std::env::temp_dir().join("backfill-harness");
    fs::create_dir_all(&dir)
        .map_err(|e| HarnessError::io(format!("creating {}", dir.display()), e))?;
    PRUNE.call_once(|| prune_old_logs(&dir));
    let slug: String = server
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!("{slug}-{}-{seq}.log", std::process::id())))
}

/// Logs kept by failed starts, or left by test processes that were killed, go after a day.
fn prune_old_logs(dir: &Path) {
    const KEEP: Duration = Duration::from_secs(24 * 3600);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > KEEP);
        if old && entry.path().extension().is_some_and(|e| e == "log") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    let mut text = parts.join(" ");
    if let Some(dir) = cmd.get_current_dir() {
        text = format!("(cd {} && {text})", dir.display());
    }
    text
}

/// The last lines of a log, indented, for error messages.
pub(crate) fn log_tail(path: &Path) -> String {
    const MAX_BYTES: u64 = 4096;
    const MAX_LINES: usize = 25;
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(MAX_BYTES)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return "\n  (the log is empty)".into();
    }
    let mut out = String::from("\n  last lines of the log:");
    for line in &lines[lines.len().saturating_sub(MAX_LINES)..] {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        cmd
    }

    /// A stand-in server: listens on `port` and does nothing else.
    fn listener_on(port: u16) -> Command {
        let mut cmd = Command::new("python3");
        cmd.args([
            "-c",
            "import socket, sys, time\n\
             s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n\
             time.sleep(30)",
        ]);
        cmd.arg(port.to_string());
        cmd
    }

    /// The probe of a server that answers: the harness must still make sure the answer came
    /// from the process it started.
    fn answers(_: &str) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn a_server_that_loses_its_port_is_tried_on_another_one() {
        let calls = AtomicUsize::new(0);
        let ports = Mutex::new(Vec::new());
        let (process, endpoint) = start_on_free_port(
            "flaky",
            Duration::from_secs(10),
            |port| {
                ports.lock().unwrap().push(port);
                match calls.fetch_add(1, Ordering::SeqCst) {
                    // Fails to bind at once.
                    0 => sh("echo 'Address already in use'; exit 3"),
                    // Fails to bind after a while, as a JVM does, while the probe gets answers
                    // (from whoever holds the port).
                    1 => sh("sleep 1; exit 3"),
                    _ => listener_on(port),
                }
            },
            answers,
        )
        .unwrap();
        let ports = ports.into_inner().unwrap();
        assert_eq!(ports.len(), 3);
        assert!(endpoint.ends_with(&format!(":{}", ports[2])));
        let (pid, log) = (process.pid(), process.log_path().to_path_buf());
        drop(process);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        assert!(!log.exists());
    }

    #[test]
    fn a_server_that_keeps_exiting_is_an_error_naming_it_and_its_log() {
        let err = start_on_free_port(
            "broken",
            Duration::from_secs(10),
            |port| sh(&format!("echo cannot bind {port} >&2; exit 3")),
            answers,
        )
        .err()
        .expect("an error");
        let text = err.to_string();
        assert!(
            text.starts_with("broken did not start: it exited during startup"),
            "{text}"
        );
        assert!(text.contains("command: sh -c echo cannot bind"), "{text}");
        assert!(
            text.contains("last lines of the log:\n    cannot bind"),
            "{text}"
        );
        let HarnessError::Start { log, .. } = err else {
            panic!("{err:?}")
        };
        assert!(log.is_file(), "the log of a failed start is kept");
        fs::remove_file(log).unwrap();
    }

    #[test]
    fn the_listener_of_a_port_is_found_in_proc() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(holds_listener(std::process::id(), port));
        let mut other = sh("exec sleep 30").spawn().unwrap();
        assert!(!holds_listener(other.id(), port));
        other.kill().unwrap();
        other.wait().unwrap();
    }

    #[test]
    fn a_server_that_never_answers_times_out_and_is_killed() {
        let mut process =
            ServerProcess::spawn("silent", sh("echo booting; exec sleep 30")).unwrap();
        let pid = process.pid();
        let started = Instant::now();
        let err = process
            .wait_ready(Duration::from_millis(300), || {
                Err::<(), _>("refused".into())
            })
            .unwrap_err()
            .to_string();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            err.contains("no answer within 300ms (last: refused)"),
            "{err}"
        );
        assert!(err.contains("    booting"), "{err}");
        let log = process.log_path().to_path_buf();
        drop(process);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        fs::remove_file(log).unwrap();
    }
}
