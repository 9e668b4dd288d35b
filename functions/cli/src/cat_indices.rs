//! `backfill clusters cat-indices`: documents per index in the snapshot (SOURCE CLUSTER) and in
//! the target (TARGET CLUSTER), with a MISMATCH line for each index whose counts differ. The
//! counting is the control plane's `cat-indices` handler (on AWS, a Lambda inside the target's
//! network).

use anyhow::{Context, Result};
use backfill_core::control::{CatIndicesReport, Handler};
use serde_json::json;

use crate::backend::{Backend, Connection};

#[derive(Debug, Clone, clap::Args)]
pub struct CatIndicesArgs {
    /// Refresh the target first, so that every indexed document is counted.
    #[arg(long)]
    pub refresh: bool,
    /// Only these indices (names or `prefix*`; repeatable). Default: the backfill's.
    #[arg(long = "index")]
    pub indices: Vec<String>,
    /// Also compare indices whose name starts with '.'.
    #[arg(long)]
    pub include_system_indices: bool,
    /// The whole report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prints both tables and the verdicts; returns how many indices differ.
pub async fn run(backend: &Backend, conn: &Connection, a: CatIndicesArgs) -> Result<usize> {
    let mut payload = json!({
        "refresh": a.refresh,
        "indices": a.indices,
        "include_system_indices": a.include_system_indices,
    });
    if let Some(id) = &conn.backfill {
        payload["backfill_id"] = id.clone().into();
    }
    let answer = backend.call(Handler::CatIndices, payload).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    }
    let report: CatIndicesReport =
        serde_json::from_value(answer).context("unexpected cat-indices answer")?;
    if !a.json {
        print!("{}", report.text);
    }
    Ok(report.mismatches.len())
}
