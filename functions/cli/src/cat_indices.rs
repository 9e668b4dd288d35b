//! `backfill clusters cat-indices`: documents per index in the snapshot (the source) and in the
//! target, side by side, with a verdict for each index whose counts differ.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use backfill_aws::Snapshots;
use backfill_core::control::{Handler, StatusReport};
use backfill_core::worker::SnapshotSource;
use backfill_target::{Auth, IndexRow, OpenSearchTarget, TargetConfig};
use serde_json::json;
use snapshot::{ReadOptions, ShardReader, Snapshot};

use crate::backend::{Backend, Connection};

#[derive(Debug, Clone, clap::Args)]
pub struct CatIndicesArgs {
    /// Refresh the target first, so that every indexed document is counted.
    #[arg(long)]
    pub refresh: bool,
    /// Only these indices (names or `prefix*`; repeatable).
    #[arg(long = "index")]
    pub indices: Vec<String>,
    /// Also compare indices whose name starts with '.'.
    #[arg(long)]
    pub include_system_indices: bool,
    /// The snapshot (default: the backfill's).
    #[arg(long)]
    pub snapshot_repository: Option<String>,
    #[arg(long)]
    pub snapshot_name: Option<String>,
    /// The target (default: the backfill's).
    #[arg(long)]
    pub target_endpoint: Option<String>,
    /// Sign target requests with SigV4 for Amazon OpenSearch Service (`es`) or Serverless (`aoss`).
    #[arg(long, value_name = "SERVICE")]
    pub target_sigv4: Option<String>,
}

/// One index of the snapshot: shards and live (top-level) documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceIndex {
    pub shards: u32,
    pub documents: u64,
}

/// Counts live top-level documents by reading every shard (nested children are not documents
/// of their own in the target, so commit-level counts would not compare).
pub fn count_source(
    snap: &Snapshot,
    wanted: impl Fn(&str) -> bool,
) -> Result<BTreeMap<String, SourceIndex>> {
    let mut jobs = Vec::new();
    let mut out = BTreeMap::new();
    for name in snap.index_names().into_iter().filter(|n| wanted(n)) {
        let meta = snap
            .index(&name)
            .with_context(|| format!("index {name} of the snapshot"))?;
        out.insert(
            name.clone(),
            SourceIndex {
                shards: meta.number_of_shards,
                documents: 0,
            },
        );
        jobs.extend((0..meta.number_of_shards).map(|s| (name.clone(), s)));
    }
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let counts: Vec<Result<(String, u64)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((index, shard)) = jobs.get(i) else {
                            break;
                        };
                        done.push(count_shard(snap, index, *shard).map(|n| (index.clone(), n)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a counting thread does not panic"))
            .collect()
    });
    for c in counts {
        let (index, n) = c?;
        out.get_mut(&index).expect("listed above").documents += n;
    }
    Ok(out)
}

fn count_shard(snap: &Snapshot, index: &str, shard: u32) -> Result<u64> {
    let mut reader = ShardReader::open(snap, index, shard, ReadOptions::default())
        .with_context(|| format!("opening shard {index}/{shard}"))?;
    let mut n = 0;
    while reader
        .next_document_ref()
        .with_context(|| format!("reading shard {index}/{shard}"))?
        .is_some()
    {
        n += 1;
    }
    Ok(n)
}

fn wanted(name: &str, selection: &[String], include_system: bool) -> bool {
    if name.starts_with('.') && !include_system {
        return false;
    }
    selection.is_empty()
        || selection.iter().any(|s| match s.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => s == name,
        })
}

/// Prints both tables and the verdicts; returns how many indices differ.
pub async fn run(backend: &Backend, conn: &Connection, a: CatIndicesArgs) -> Result<usize> {
    let report: Option<StatusReport> = match backend
        .call(
            Handler::Status,
            json!({ "backfill_id": conn.backfill, "deep_check": false }),
        )
        .await
    {
        Ok(v) => serde_json::from_value(v).ok(),
        Err(_) => None,
    };
    let (mut repo, mut name, mut target) = (
        a.snapshot_repository.clone(),
        a.snapshot_name.clone(),
        a.target_endpoint.clone(),
    );
    if let Some(r) = &report {
        if let Some(s) = &r.snapshot {
            repo = repo.or_else(|| Some(s.repository.clone()));
            name = name.or_else(|| Some(s.name.clone()));
        }
        target = target.or_else(|| r.target_endpoint.clone());
    }
    if let Backend::Local(l) = backend {
        repo = repo.or_else(|| Some(l.setup.snapshot_repository.clone()));
        name = name.or_else(|| Some(l.setup.snapshot_name.clone()));
        target = target.or_else(|| Some(l.setup.target_endpoint.clone()));
    }
    let repo =
        repo.context("no snapshot: start the backfill first or pass --snapshot-repository")?;
    let name = name.context("no snapshot: start the backfill first or pass --snapshot-name")?;
    let target = target.context("no target: start the backfill first or pass --target-endpoint")?;

    let aws = match backend {
        Backend::Local(l) => l.setup.sdk_config().await,
        Backend::Api(_) => aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
    };
    let s3 = match backend {
        Backend::Local(l) => l.setup.s3(&aws),
        Backend::Api(_) => aws_sdk_s3::Client::new(&aws),
    };
    let snapshots = Arc::new(Snapshots {
        s3,
        runtime: tokio::runtime::Handle::current(),
    });
    let (sel, system) = (a.indices.clone(), a.include_system_indices);
    let (repo2, name2) = (repo.clone(), name.clone());
    let source = tokio::task::spawn_blocking(move || -> Result<_> {
        let snap = snapshots
            .open(&repo2, &name2)
            .with_context(|| format!("snapshot {name2} in {repo2}"))?;
        count_source(&snap, |n| wanted(n, &sel, system))
    })
    .await??;

    let auth = match &a.target_sigv4 {
        None => Auth::None,
        Some(service) => Auth::SigV4 {
            region: aws
                .region()
                .map(|r| r.to_string())
                .context("--target-sigv4 needs AWS_REGION")?,
            service: service.clone(),
            credentials: aws
                .credentials_provider()
                .context("no AWS credentials for --target-sigv4")?,
        },
    };
    let client = OpenSearchTarget::new(TargetConfig {
        auth,
        ..TargetConfig::new(&target)
    })?;
    if a.refresh {
        client
            .refresh()
            .await
            .with_context(|| format!("refreshing {target}"))?;
    }
    let rows = client
        .cat_indices()
        .await
        .with_context(|| format!("_cat/indices of {target}"))?;
    print!("{}", render(&repo, &name, &source, &target, &rows));
    Ok(differences(&source, &rows).len())
}

/// The indices whose counts differ: (index, snapshot, target or None when missing).
pub fn differences(
    source: &BTreeMap<String, SourceIndex>,
    rows: &[IndexRow],
) -> Vec<(String, u64, Option<u64>)> {
    let target: BTreeMap<&str, &IndexRow> = rows.iter().map(|r| (r.index.as_str(), r)).collect();
    source
        .iter()
        .filter_map(|(name, s)| {
            let t = target.get(name.as_str()).map(|r| r.docs_count.unwrap_or(0));
            (t != Some(s.documents)).then(|| (name.clone(), s.documents, t))
        })
        .collect()
}

pub fn render(
    repo: &str,
    snapshot: &str,
    source: &BTreeMap<String, SourceIndex>,
    target: &str,
    rows: &[IndexRow],
) -> String {
    let mut out = format!("SOURCE CLUSTER (snapshot {snapshot} in {repo})\n");
    let w = source.keys().map(|k| k.len()).max().unwrap_or(5).max(5);
    out += &format!("{:<w$}  {:>6}  {:>10}\n", "index", "shards", "docs.count");
    for (name, s) in source {
        out += &format!("{name:<w$}  {:>6}  {:>10}\n", s.shards, s.documents);
    }
    out += &format!("\nTARGET CLUSTER ({target})\n");
    let mut rows: Vec<&IndexRow> = rows.iter().collect();
    rows.sort_by(|a, b| a.index.cmp(&b.index));
    let w = rows.iter().map(|r| r.index.len()).max().unwrap_or(5).max(5);
    out += &format!(
        "{:<7} {:<6} {:<w$}  {:>3} {:>3} {:>10} {:>12}\n",
        "health", "status", "index", "pri", "rep", "docs.count", "docs.deleted"
    );
    let opt = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    for r in &rows {
        out += &format!(
            "{:<7} {:<6} {:<w$}  {:>3} {:>3} {:>10} {:>12}\n",
            r.health.as_deref().unwrap_or("-"),
            r.status.as_deref().unwrap_or("-"),
            r.index,
            opt(r.primaries.map(u64::from)),
            opt(r.replicas.map(u64::from)),
            opt(r.docs_count),
            opt(r.docs_deleted),
        );
    }
    out.push('\n');
    let diffs = differences(source, &rows.into_iter().cloned().collect::<Vec<_>>());
    if diffs.is_empty() {
        out += &format!(
            "All {} indices have the same document count in the snapshot and the target.\n",
            source.len()
        );
    }
    for (name, s, t) in diffs {
        out += &match t {
            None => format!("MISMATCH {name}: {s} documents in the snapshot, the index is missing from the target\n"),
            Some(t) if t < s => format!("MISMATCH {name}: {s} documents in the snapshot, {t} in the target ({} missing)\n", s - t),
            Some(t) => format!("MISMATCH {name}: {s} documents in the snapshot, {t} in the target ({} more)\n", t - s),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(index: &str, docs: Option<u64>) -> IndexRow {
        IndexRow {
            index: index.into(),
            health: Some("green".into()),
            status: Some("open".into()),
            primaries: Some(1),
            replicas: Some(0),
            docs_count: docs,
            docs_deleted: Some(0),
            store_size: None,
        }
    }

    #[test]
    fn verdicts_name_each_index_that_differs_and_how() {
        let source: BTreeMap<String, SourceIndex> = [("a", 10), ("b", 5), ("c", 7), ("d", 3)]
            .into_iter()
            .map(|(n, d)| {
                (
                    n.to_string(),
                    SourceIndex {
                        shards: 1,
                        documents: d,
                    },
                )
            })
            .collect();
        let rows = vec![
            row("a", Some(10)),
            row("b", Some(4)),
            row("c", Some(9)),
            row("other", Some(1)),
        ];
        let text = render("s3://b/r", "snap", &source, "http://t", &rows);
        assert!(
            text.contains("MISMATCH b: 5 documents in the snapshot, 4 in the target (1 missing)"),
            "{text}"
        );
        assert!(
            text.contains("MISMATCH c: 7 documents in the snapshot, 9 in the target (2 more)"),
            "{text}"
        );
        assert!(
            text.contains(
                "MISMATCH d: 3 documents in the snapshot, the index is missing from the target"
            ),
            "{text}"
        );
        assert!(!text.contains("MISMATCH a"), "{text}");
        assert!(!text.contains("MISMATCH other"), "{text}");
        assert_eq!(differences(&source, &rows).len(), 3);
        let same = render(
            "s3://b/r",
            "snap",
            &source,
            "http://t",
            &[
                row("a", Some(10)),
                row("b", Some(5)),
                row("c", Some(7)),
                row("d", Some(3)),
            ],
        );
        assert!(
            same.contains("All 4 indices have the same document count"),
            "{same}"
        );
    }
}
