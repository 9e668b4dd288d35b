//! `backfill snapshot list | docs`: read-only views of a snapshot repository.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use crate::json_escape::write_json_str;
use anyhow::{bail, Context, Result};
use base64::Engine;
use clap::{Args, Subcommand};
use snapshot::{
    ErrorKind, LocalDirectory, Location, ReadOptions, Repository, ShardReader, ShardStats,
};

#[derive(Subcommand)]
pub enum SnapshotCommand {
    /// List the snapshots of a repository with their indices, shards, documents and sizes.
    List(ListArgs),
    /// Print the live documents of a snapshot as NDJSON, one document a line.
    Docs(DocsArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// The repository's root directory (an `fs` repository or a copy of an S3 one).
    #[arg(long)]
    repo: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Skip counting documents (it reads every shard's commit files).
    #[arg(long)]
    no_counts: bool,
}

#[derive(Args)]
pub struct DocsArgs {
    #[arg(long)]
    repo: PathBuf,
    #[arg(long)]
    snapshot: String,
    /// Only this index.
    #[arg(long)]
    index: Option<String>,
    /// Only this shard (with --index).
    #[arg(long, requires = "index")]
    shard: Option<u32>,
    /// Add `segment`, `doc` and `next` (the resume position) to every line.
    #[arg(long)]
    with_position: bool,
    /// Skip the CRC32 verification of stored-fields and doc-values files.
    #[arg(long)]
    no_verify: bool,
}

pub fn run(cmd: SnapshotCommand) -> Result<()> {
    match cmd {
        SnapshotCommand::List(a) => list(a),
        SnapshotCommand::Docs(a) => docs(a),
    }
}

/// Exit codes: 3 = something named does not exist, 4 = data corrupt or unsupported, 1 = other.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<snapshot::Error>().map(|e| &e.kind) {
        Some(
            ErrorKind::UnknownSnapshot { .. }
            | ErrorKind::UnknownIndex { .. }
            | ErrorKind::UnknownShard { .. }
            | ErrorKind::Blob(snapshot::BlobError::NotFound { .. }),
        ) => 3,
        Some(_) => 4,
        None if e.to_string().contains("does not exist") => 3,
        None => 1,
    }
}

fn open(repo: &PathBuf) -> Result<Repository> {
    if !repo.is_dir() {
        bail!(
            "repository {} does not exist or is not a directory",
            repo.display()
        );
    }
    Ok(Repository::open(Arc::new(LocalDirectory::new(repo)))?)
}

#[derive(serde::Serialize)]
struct IndexRow {
    name: String,
    shards: u32,
    /// Live documents by the Lucene commits (includes nested children), if counted.
    docs: Option<u64>,
    size_bytes: u64,
    version_created: Option<String>,
}

#[derive(serde::Serialize)]
struct SnapshotRow {
    name: String,
    uuid: String,
    state: Option<String>,
    version: Option<String>,
    indices: Vec<IndexRow>,
}

fn list(a: ListArgs) -> Result<()> {
    let repo = open(&a.repo)?;
    let mut rows = Vec::new();
    for entry in &repo.data().snapshots {
        let snap = repo.snapshot(&entry.name)?;
        let info = snap.info()?;
        let mut indices = Vec::new();
        for name in snap.index_names() {
            let meta = snap.index(&name)?;
            let mut size = 0;
            let mut docs = Some(0u64);
            for shard in 0..meta.number_of_shards {
                let files = snap.shard(&meta, shard)?;
                size += files.total_size();
                if !a.no_counts {
                    let dir = snap.shard_directory(&files)?;
                    let loc = Location {
                        index: Some(name.clone()),
                        shard: Some(shard),
                        ..snap.location()
                    };
                    let reader = ShardReader::from_directory(dir, loc, ReadOptions::default())?;
                    docs = docs.map(|d| d + reader.live_doc_count().unwrap_or(0));
                }
            }
            indices.push(IndexRow {
                name,
                shards: meta.number_of_shards,
                docs: if a.no_counts { None } else { docs },
                size_bytes: size,
                version_created: meta.version_created,
            });
        }
        rows.push(SnapshotRow {
            name: entry.name.clone(),
            uuid: entry.uuid.clone(),
            state: info
                .state
                .or_else(|| entry.state.as_ref().map(|s| s.as_str().to_string())),
            version: info.version.or_else(|| entry.version.clone()),
            indices,
        });
    }
    let out = std::io::stdout();
    let mut out = out.lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "Repository {} (generation {}, {} snapshot(s))",
        a.repo.display(),
        repo.data().generation,
        rows.len()
    )?;
    for s in &rows {
        writeln!(
            out,
            "\nSnapshot {}  state {}  written by {}  ({} index(es))",
            s.name,
            s.state.as_deref().unwrap_or("?"),
            s.version.as_deref().unwrap_or("?"),
            s.indices.len()
        )?;
        let w = s
            .indices
            .iter()
            .map(|i| i.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(
            out,
            "  {:<w$}  {:>6}  {:>12}  {:>10}  CREATED BY",
            "INDEX", "SHARDS", "DOCS", "SIZE"
        )?;
        for i in &s.indices {
            let docs = i.docs.map_or("-".to_string(), |d| d.to_string());
            writeln!(
                out,
                "  {:<w$}  {:>6}  {:>12}  {:>10}  {}",
                i.name,
                i.shards,
                docs,
                human_bytes(i.size_bytes),
                i.version_created.as_deref().unwrap_or("?")
            )?;
        }
    }
    Ok(())
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn docs(a: DocsArgs) -> Result<()> {
    let repo = open(&a.repo)?;
    let snap = repo.snapshot(&a.snapshot)?;
    let indices = match &a.index {
        Some(i) => vec![i.clone()],
        None => snap.index_names(),
    };
    let opts = ReadOptions {
        verify_checksums: !a.no_verify,
        ..ReadOptions::default()
    };
    let stdout = std::io::stdout();
    let mut out = Output {
        sink: stdout.lock(),
        buf: Vec::with_capacity(2 << 20),
    };
    let mut totals = ShardStats::default();
    let mut not_utf8 = 0u64;
    for index in &indices {
        let meta = snap.index(index)?;
        let shards: Vec<u32> = match a.shard {
            Some(s) => vec![s],
            None => (0..meta.number_of_shards).collect(),
        };
        for shard in shards {
            let mut reader = ShardReader::open(&snap, index, shard, opts)?;
            // The part every line of this shard starts with.
            let mut prefix = b"{\"snapshot\":".to_vec();
            write_json_str(&mut prefix, snap.name());
            prefix.extend_from_slice(b",\"index\":");
            write_json_str(&mut prefix, index);
            write!(prefix, ",\"shard\":{shard},\"id\":")?;
            while let Some(d) = reader.next_document_ref()? {
                let line = &mut out.buf;
                line.extend_from_slice(&prefix);
                write_json_str(line, &d.id);
                line.extend_from_slice(b",\"type\":");
                write_opt_str(line, d.doc_type.as_deref());
                line.extend_from_slice(b",\"routing\":");
                write_opt_str(line, d.routing.as_deref());
                line.extend_from_slice(b",\"source\":");
                match std::str::from_utf8(d.source) {
                    Ok(text) => write_json_str(line, text),
                    Err(_) => {
                        // SMILE/CBOR sources are binary: print them losslessly, never mangled.
                        not_utf8 += 1;
                        line.extend_from_slice(b"null,\"source_base64\":\"");
                        line.extend_from_slice(
                            base64::engine::general_purpose::STANDARD
                                .encode(d.source)
                                .as_bytes(),
                        );
                        line.push(b'"');
                    }
                }
                if a.with_position {
                    write!(
                        line,
                        ",\"segment\":\"{}\",\"doc\":{},\"next\":\"{}\"",
                        d.segment,
                        d.doc,
                        d.next_position()
                    )?;
                }
                line.extend_from_slice(b"}\n");
                if out.buf.len() >= 1 << 20 && !out.flush()? {
                    return Ok(());
                }
            }
            add(&mut totals, reader.stats());
            report_skips(index, shard, reader.stats());
        }
    }
    if !out.flush()? {
        return Ok(());
    }
    eprintln!(
        "{} document(s), {} byte(s) of _source from {} segment(s); skipped: {} nested child(ren), {} without _source; deleted: {} hard, {} soft",
        totals.documents,
        totals.source_bytes,
        totals.segments,
        totals.nested_children,
        totals.without_source,
        totals.hard_deleted,
        totals.soft_deleted
    );
    if not_utf8 > 0 {
        eprintln!("warning: {not_utf8} document(s) have a _source that is not UTF-8 text (SMILE or CBOR); printed as source_base64");
    }
    Ok(())
}

/// Standard output with our own buffer (lines are built in place, then written in large
/// writes).
struct Output<W: Write> {
    sink: W,
    buf: Vec<u8>,
}

impl<W: Write> Output<W> {
    /// Writes the buffer out; `false` when the reader has gone (`| head`): stop quietly.
    fn flush(&mut self) -> Result<bool> {
        let r = self
            .sink
            .write_all(&self.buf)
            .and_then(|_| self.sink.flush());
        self.buf.clear();
        match r {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(e).context("writing to standard output"),
        }
    }
}

fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn add(t: &mut ShardStats, s: &ShardStats) {
    t.segments += s.segments;
    t.max_docs += s.max_docs;
    t.hard_deleted += s.hard_deleted;
    t.soft_deleted += s.soft_deleted;
    t.documents += s.documents;
    t.source_bytes += s.source_bytes;
    t.nested_children += s.nested_children;
    t.without_source += s.without_source;
}

fn report_skips(index: &str, shard: u32, s: &ShardStats) {
    if s.without_source > 0 {
        eprintln!(
            "warning: index {index} shard {shard}: {} live document(s) have no _source and were skipped (first ids: {})",
            s.without_source,
            s.without_source_ids.join(", ")
        );
    }
    if s.not_rebuilt > 0 {
        eprintln!(
            "warning: index {index} shard {shard}: {} live document(s) have k-NN vectors that could not be put back into _source and were skipped (first ids: {})",
            s.not_rebuilt,
            s.not_rebuilt_ids.join(", ")
        );
    }
}
