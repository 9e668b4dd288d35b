//! `backfill start | scale N | pause | stop | status`: the Migration Assistant's backfill
//! console, with its output.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Result};
use backfill_core::control::{Handler, StatusReport};
use serde_json::{json, Value};

use crate::backend::{Backend, CallError, Connection};

#[derive(Debug, Clone, clap::Args)]
pub struct StartArgs {
    /// Workers to run (default: the deployment's default).
    #[arg(long)]
    pub workers: Option<i64>,
    /// Only these indices (names or `prefix*`; repeatable). First start only.
    #[arg(long = "index")]
    pub indices: Vec<String>,
    /// Also indices whose name starts with '.'. First start only.
    #[arg(long)]
    pub include_system_indices: bool,
    /// `s3://bucket/prefix` of the snapshot repository (first start; default: the deployment's).
    #[arg(long)]
    pub snapshot_repository: Option<String>,
    #[arg(long)]
    pub snapshot_name: Option<String>,
    /// The target cluster (first start; default: the deployment's).
    #[arg(long)]
    pub target_endpoint: Option<String>,
    /// Where a mapping type of an Elasticsearch 5.x index goes: INDEX/TYPE=TARGET, INDEX and
    /// TYPE names or `prefix*` (repeatable; the first match decides). First start only.
    #[arg(long = "type-mapping", value_name = "INDEX/TYPE=TARGET")]
    pub type_mappings: Vec<backfill_core::type_mapping::TypeRule>,
    /// Split a shard with more live documents than this into ranges that several workers read
    /// at once (0: never by documents; default 10,000,000). First start only.
    #[arg(long, value_name = "DOCS")]
    pub split_docs: Option<u64>,
    /// Split a shard larger than this many bytes in the snapshot into ranges (0: never by
    /// bytes; default 10 GiB). First start only.
    #[arg(long, value_name = "BYTES")]
    pub split_bytes: Option<u64>,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Add the shard counts (total, completed, incomplete, in progress, unclaimed).
    #[arg(long)]
    pub deep_check: bool,
    /// The whole report as JSON: documents, bytes, percent, rate, ETA, failed shards.
    #[arg(long)]
    pub json: bool,
    /// Follow progress with a bar until every shard is done (or the backfill is paused/stopped).
    #[arg(long)]
    pub watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 2.0)]
    pub interval: f64,
}

fn with_id(conn: &Connection, mut payload: Value) -> Value {
    if let Some(id) = &conn.backfill {
        payload["backfill_id"] = Value::String(id.clone());
    }
    payload
}

fn print_action(answer: &Value, as_json: bool) {
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(answer).unwrap_or_default()
        );
    } else if let Some(m) = answer.get("message").and_then(Value::as_str) {
        println!("{m}");
    }
}

pub async fn start(backend: &Backend, conn: &Connection, a: StartArgs) -> Result<(), CallError> {
    let mut payload = json!({
        "indices": a.indices,
        "include_system_indices": a.include_system_indices,
    });
    if !a.type_mappings.is_empty() {
        payload["type_mappings"] = json!(a.type_mappings);
    }
    for (k, v) in [
        ("snapshot_repository", &a.snapshot_repository),
        ("snapshot_name", &a.snapshot_name),
        ("target_endpoint", &a.target_endpoint),
    ] {
        if let Some(v) = v {
            payload[k] = Value::String(v.clone());
        }
    }
    if let Some(w) = a.workers {
        payload["workers"] = w.into();
    }
    for (k, v) in [("split_docs", a.split_docs), ("split_bytes", a.split_bytes)] {
        if let Some(v) = v {
            payload[k] = v.into();
        }
    }
    let answer = backend.call(Handler::Start, with_id(conn, payload)).await?;
    print_action(&answer, a.json);
    Ok(())
}

pub async fn scale(
    backend: &Backend,
    conn: &Connection,
    workers: i64,
    as_json: bool,
) -> Result<(), CallError> {
    let answer = backend
        .call(Handler::Scale, with_id(conn, json!({ "workers": workers })))
        .await?;
    print_action(&answer, as_json);
    Ok(())
}

pub async fn pause(backend: &Backend, conn: &Connection, as_json: bool) -> Result<(), CallError> {
    let answer = backend
        .call(Handler::Pause, with_id(conn, json!({})))
        .await?;
    print_action(&answer, as_json);
    Ok(())
}

/// Starts the stop workflow, then follows it until the working state is archived.
pub async fn stop(backend: &Backend, conn: &Connection, no_wait: bool) -> Result<()> {
    let answer = backend
        .call(Handler::Stop, with_id(conn, json!({})))
        .await?;
    print_action(&answer, false);
    if answer.get("state").and_then(Value::as_str) == Some("stopped") || no_wait {
        return Ok(());
    }
    if let Some(ex) = answer.get("stop_execution").and_then(Value::as_str) {
        println!("Following the stop workflow {ex} …");
    }
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let report = status_report(backend, conn, false).await?;
        match report.state.map(|s| s.as_str()) {
            Some("stopped") => {
                let archive = report.archive_uri.unwrap_or_default();
                println!("Backfill working state archived to: {archive}");
                return Ok(());
            }
            None => bail!("the backfill disappeared while stopping"),
            _ => {}
        }
        if let Some(backfill_core::control::ports::ExecutionStatus::Failed { error, cause }) =
            report.stop_status
        {
            bail!("the stop workflow failed: {error}: {cause}");
        }
    }
}

async fn status_report(
    backend: &Backend,
    conn: &Connection,
    deep: bool,
) -> Result<StatusReport, CallError> {
    // Local mode has no schedule: the poller runs before each status, so that a backfill
    // whose shards are all done is completed and its fleet scaled to 0, as on AWS.
    if backend.is_local() {
        backend
            .call(Handler::Poll, with_id(conn, json!({})))
            .await?;
    }
    let answer = backend
        .call(
            Handler::Status,
            with_id(conn, json!({ "deep_check": deep })),
        )
        .await?;
    serde_json::from_value(answer).map_err(|e| CallError {
        status: 500,
        message: format!("unexpected status answer: {e}"),
    })
}

pub async fn status(backend: &Backend, conn: &Connection, a: StatusArgs) -> Result<()> {
    if a.watch {
        return watch(backend, conn, &a).await;
    }
    let report = status_report(backend, conn, a.deep_check || a.json).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report.seed_text(a.deep_check));
    }
    warn_failed(&report);
    Ok(())
}

fn warn_failed(report: &StatusReport) {
    if report.failed_shards.is_empty() {
        return;
    }
    eprintln!(
        "warning: {} shard(s) failed and will not be retried:",
        report.failed_shards.len()
    );
    for f in &report.failed_shards {
        eprintln!(
            "  {}/{} after {} attempt(s): {}",
            f.index,
            f.shard,
            f.failures,
            f.reason.as_deref().unwrap_or("no reason recorded")
        );
    }
}

/// Refreshes a progress bar until every shard is completed or failed, or the backfill is no
/// longer running.
async fn watch(backend: &Backend, conn: &Connection, a: &StatusArgs) -> Result<()> {
    let tty = std::io::stdout().is_terminal();
    let interval = Duration::from_secs_f64(a.interval.max(0.2));
    loop {
        let report = status_report(backend, conn, true).await?;
        let line = progress_line(&report);
        let mut out = std::io::stdout();
        if tty {
            write!(out, "\r\x1b[2K{line}")?;
        } else {
            writeln!(out, "{line}")?;
        }
        out.flush()?;
        let shards = report.shards.unwrap_or_default();
        let done = shards.total > 0 && shards.completed + shards.failed == shards.total;
        let state = report.state.map(|s| s.as_str()).unwrap_or("not started");
        if done || !matches!(state, "running") {
            if tty {
                println!();
            }
            println!("{}", report.seed_text(true));
            match state {
                _ if done => println!(
                    "Backfill {}: every shard is done ({} completed, {} failed); {} documents in {}.",
                    report.backfill_id,
                    shards.completed,
                    shards.failed,
                    thousands(report.documents),
                    report
                        .started_at
                        .map(|s| clock(
                            (report.completed_at.unwrap_or_else(backfill_core::lease::now_ms) - s)
                                as f64
                                / 1000.0
                        ))
                        .unwrap_or_else(|| "-".into())
                ),
                other => println!("Backfill {} is {other}.", report.backfill_id),
            }
            warn_failed(&report);
            return Ok(());
        }
        tokio::time::sleep(interval).await;
    }
}

/// `[#######-------]  52.3%  58,610/112,071 docs  7,912 docs/s  ETA 0:00:07  shards 1/4 done, 3 running`
pub fn progress_line(r: &StatusReport) -> String {
    const WIDTH: usize = 30;
    let filled = ((r.percent / 100.0) * WIDTH as f64)
        .round()
        .clamp(0.0, WIDTH as f64) as usize;
    let s = r.shards.unwrap_or_default();
    let expected = if r.documents_expected > 0 {
        format!("/{}", thousands(r.documents_expected))
    } else {
        String::new()
    };
    format!(
        "[{}{}] {:5.1}%  {}{} docs  {} docs/s  ETA {}  shards {}/{} done, {} in progress{}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        r.percent,
        thousands(r.documents),
        expected,
        thousands(r.rate.unwrap_or(0.0).round() as u64),
        r.eta_seconds.map(clock).unwrap_or_else(|| "-".into()),
        s.completed,
        s.total,
        s.in_progress,
        if s.failed > 0 {
            format!(", {} failed", s.failed)
        } else {
            String::new()
        }
    )
}

pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `h:mm:ss`.
fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(112_071), "112,071");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(clock(7.4), "0:00:07");
        assert_eq!(clock(3725.0), "1:02:05");
    }
}

#[cfg(test)]
mod type_mapping_flag_tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        start: StartArgs,
    }

    #[test]
    fn type_mappings_are_repeatable_flags_sent_as_the_api_s_json_rules() {
        let c = Cli::try_parse_from([
            "start",
            "--type-mapping",
            "logs/error=logs_error",
            "--type-mapping",
            "logs-*/*=logs",
        ])
        .unwrap();
        assert_eq!(
            json!(c.start.type_mappings),
            json!([
                {"index": "logs", "type": "error", "target": "logs_error"},
                {"index": "logs-*", "type": "*", "target": "logs"}
            ])
        );
        let e = Cli::try_parse_from(["start", "--type-mapping", "logs=x"])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("INDEX/TYPE=TARGET"), "{e}");
    }
}
