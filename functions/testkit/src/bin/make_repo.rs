//! `make-repo`: wraps Lucene index directories into an Elasticsearch-style snapshot repository.
//!
//! ```text
//! make-repo --out repo --index articles=shard0,shard1 --index legacy=old \
//!           --snapshot first --snapshot second --compress --part-size 1048576 --virtual-small-files
//! ```

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Parser;
use snapshot_testkit::{MetadataCompression, RepoBuilder, WriteOptions};

#[derive(Parser, Debug)]
#[command(
    name = "make-repo",
    about = "Write an fs snapshot repository (ES 7.10 layout) around Lucene index directories"
)]
struct Args {
    /// Repository directory to write (created if missing; should be empty).
    #[arg(long)]
    out: PathBuf,
    /// An index: NAME=SHARD0_DIR[,SHARD1_DIR…], each directory holding one Lucene commit.
    #[arg(long = "index", value_name = "NAME=DIRS", required = true)]
    indices: Vec<String>,
    /// Snapshot to write; repeat for several (later ones reuse the blobs). Default: snapshot_1.
    #[arg(long = "snapshot", value_name = "NAME")]
    snapshots: Vec<String>,
    /// Index mappings from a JSON file (`{"properties": …}`): NAME=FILE.
    #[arg(long = "mapping", value_name = "NAME=FILE")]
    mappings: Vec<String>,
    /// An index setting: NAME:KEY=VALUE (`index.` is added to KEY when missing).
    #[arg(long = "setting", value_name = "NAME:KEY=VALUE")]
    settings: Vec<String>,
    /// Compress metadata blobs: `deflate` (`DFL\0`, the repository setting `compress: true`)
    /// or `zstd` (`ZSTD\0`, OpenSearch's `compression_type: zstd`). Alone: deflate.
    #[arg(long, value_name = "CODEC", num_args = 0..=1, default_missing_value = "deflate")]
    compress: Option<Compress>,
    /// Split data blobs into parts of at most this many bytes (`chunk_size`).
    #[arg(long, value_name = "BYTES")]
    part_size: Option<u64>,
    /// Store segments_N and .si only inside the shard metadata (`v__` files), as ES 7+ does.
    #[arg(long)]
    virtual_small_files: bool,
    /// Writer version id recorded in the metadata (7100299 = ES 7.10.2).
    #[arg(long, default_value_t = 7_100_299)]
    es_version_id: i64,
    /// Lucene version for `written_by` when the files do not tell.
    #[arg(long, value_name = "X.Y.Z")]
    written_by: Option<String>,
    /// Seed for uuids and timestamps, for byte-identical output across runs.
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Compress {
    Deflate,
    Zstd,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let opts = WriteOptions {
        compress: match args.compress {
            None => MetadataCompression::None,
            Some(Compress::Deflate) => MetadataCompression::Deflate,
            Some(Compress::Zstd) => MetadataCompression::Zstd,
        },
        part_size: args.part_size,
        virtual_small_files: args.virtual_small_files,
        es_version_id: args.es_version_id,
        written_by: args.written_by.clone(),
        seed: args.seed,
        hashed_shard_paths: None,
    };
    let mut repo = RepoBuilder::new(&args.out, opts);
    for spec in &args.indices {
        let (name, dirs) = spec
            .split_once('=')
            .with_context(|| format!("--index {spec:?}: expected NAME=DIR[,DIR…]"))?;
        let shards: Vec<PathBuf> = dirs
            .split(',')
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .collect();
        if shards.is_empty() {
            bail!("--index {spec:?}: no shard directory");
        }
        let mapping = mapping_for(name, &args.mappings)?;
        repo.add_index(name, &shards, settings_for(name, &args.settings)?, mapping);
    }
    let snapshots = if args.snapshots.is_empty() {
        vec!["snapshot_1".to_string()]
    } else {
        args.snapshots.clone()
    };
    for name in &snapshots {
        let written = repo
            .write_snapshot(name)
            .with_context(|| format!("writing snapshot {name:?} to {}", args.out.display()))?;
        for index in &written.indices {
            let files: usize = index.shards.iter().map(|s| s.files.len()).sum();
            let uploaded: usize = index.shards.iter().map(|s| s.uploaded).sum();
            println!(
                "snapshot {} ({}): index {} id {} shards {} files {files} uploaded {uploaded}",
                written.name,
                written.uuid,
                index.name,
                index.id,
                index.shards.len()
            );
        }
        println!("repository generation {}", written.generation);
    }
    Ok(())
}

fn mapping_for(index: &str, specs: &[String]) -> Result<serde_json::Value> {
    for spec in specs {
        let (name, file) = spec
            .split_once('=')
            .with_context(|| format!("--mapping {spec:?}: expected NAME=FILE"))?;
        if name == index {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
            return serde_json::from_str(&text).with_context(|| format!("{file} is not JSON"));
        }
    }
    Ok(serde_json::json!({}))
}

fn settings_for(index: &str, specs: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for spec in specs {
        let (name, kv) = spec
            .split_once(':')
            .with_context(|| format!("--setting {spec:?}: expected NAME:KEY=VALUE"))?;
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--setting {spec:?}: expected NAME:KEY=VALUE"))?;
        if name == index {
            out.push((k.to_string(), v.to_string()));
        }
    }
    Ok(out)
}
