//! The `backfill` binary run as a user runs it, against one local setup (`BACKFILL_LOCAL`),
//! and the local fleet's processes and logs.

#![allow(dead_code)] // not every test binary uses every helper

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Runs the `backfill` binary against one local setup (`BACKFILL_LOCAL`).
pub struct Cli<'a> {
    pub local: &'a Path,
}

pub struct Run {
    pub args: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`backfill {}` exited {}\n--- stdout\n{}--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }
}

impl Cli<'_> {
    /// Runs to the end (killed, and the test failed, after `timeout`).
    pub fn run(&self, args: &[&str], timeout: Duration) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_backfill"))
            .args(args)
            .env("BACKFILL_LOCAL", self.local)
            .env_remove("BACKFILL_API")
            .env_remove("BACKFILL_ID")
            .env_remove("BACKFILL_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run backfill");
        let stdout = drain(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let run = Run {
            args: args.join(" "),
            code: status.and_then(|s| s.code()).unwrap_or(-1),
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        };
        if status.is_none() {
            panic!(
                "still running after {timeout:?}: {run}\nworker logs:\n{}",
                worker_logs(self.local)
            );
        }
        run
    }

    /// Runs a command that must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args, Duration::from_secs(60));
        assert_eq!(
            run.code,
            0,
            "{run}\nworker logs:\n{}",
            worker_logs(self.local)
        );
        run.stdout
    }
}

pub fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

pub fn status_json(cli: &Cli) -> Value {
    serde_json::from_str(&cli.ok(&["status", "--json"])).expect("status --json is JSON")
}

/// Kills the workers of a local setup when dropped (`backfill local teardown`), so that a
/// failing test leaves no process behind.
pub struct Teardown(pub PathBuf);

impl Drop for Teardown {
    fn drop(&mut self) {
        if self.0.join("local.json").is_file() {
            let _: Result<Output, _> = Command::new(env!("CARGO_BIN_EXE_backfill"))
                .args(["local", "teardown", "--dir"])
                .arg(&self.0)
                .stdin(Stdio::null())
                .output();
        }
    }
}

/// Processes (workers) started for this local setup: they inherit the CLI's `BACKFILL_LOCAL`.
pub fn workers_alive(local: &Path) -> Vec<u32> {
    let marker = format!("BACKFILL_LOCAL={}", local.display());
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        // Unreadable (another user's) or empty (a zombie): not a live worker of ours.
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|&b| b == 0)
            .any(|var| var == marker.as_bytes())
        {
            pids.push(pid);
        }
    }
    pids
}

/// Every worker log of the local fleet, for failure messages.
pub fn worker_logs(local: &Path) -> String {
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(local.join("fleet")) else {
        return out;
    };
    let mut logs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    for log in logs {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        out += &format!("=== {}\n", log.display());
        for line in tail.into_iter().rev() {
            out += line;
            out.push('\n');
        }
    }
    out
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

/// Every object under `s3://bucket/prefix`, as text.
pub async fn s3_texts(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Vec<(String, String)> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for o in listed.contents() {
        let key = o.key().unwrap().to_string();
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        out.push((key, String::from_utf8_lossy(&bytes).into_owned()));
    }
    out
}

/// The failed-documents reports of the local setup whose bucket is `bucket` (in moto), one JSON
/// value per reported document.
pub fn reported_documents(aws_endpoint: &str, bucket: &str) -> Vec<Value> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let texts = rt.block_on(async {
        let s3 = backfill_harness::s3_client(&backfill_harness::sdk_config(aws_endpoint).await);
        s3_texts(&s3, bucket, "reports/").await
    });
    texts
        .iter()
        .flat_map(|(_, text)| text.lines())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
