//! Test tools for the snapshot reader: wrap real Lucene index directories into a snapshot
//! repository laid out like Elasticsearch 7.10+ (and OpenSearch) `fs` repositories write them,
//! so the reader can be tested on data no fixture has: many shards, multi-part blobs
//! (`__uuid.partN`), compressed metadata (`DFL\0`, `ZSTD\0`), virtual `v__` files,
//! incremental snapshots.
//!
//! Test-only: depends on the snapshot reader (its formats); no production crate depends on it.
//!
//! ```no_run
//! use snapshot_testkit::{MetadataCompression, RepoBuilder, WriteOptions};
//! # fn main() -> Result<(), snapshot_testkit::Error> {
//! let opts = WriteOptions { compress: MetadataCompression::Deflate, part_size: Some(1 << 20), ..WriteOptions::default() };
//! let mut repo = RepoBuilder::new("/tmp/repo".as_ref(), opts);
//! repo.add_index("articles", &["/data/shard0".into()], vec![], serde_json::json!({"properties": {}}));
//! repo.write_snapshot("snap-1")?;
//! # Ok(())
//! # }
//! ```
//!
//! What is written (ES 7.10, see FORMATS.md A.0–A.5): `index.latest`, `index-N` (plain JSON),
//! root `snap-<uuid>.dat` and `meta-<uuid>.dat`, `indices/<id>/meta-<blob id>.dat`, and per
//! shard `snap-<uuid>.dat`, `index-<gen>` and the data blobs. Every `*.dat`/`index-<gen>` is a
//! ChecksumBlobStoreFormat blob with SMILE flags 0x05, as ES writes them.

use std::path::{Path, PathBuf};

pub mod blobfmt;
mod builder;
mod ids;
pub mod lucene;
pub mod metadata;

pub use blobfmt::MetadataCompression;
pub use builder::{
    HashedShardPaths, IndexWritten, RepoBuilder, ShardWritten, SnapshotWritten, WriteOptions,
};
pub use metadata::FileInfo;

/// `../shared` beside the checkout (as CI lays it out), or `$BACKFILL_SHARED_DIR`: the shared
/// fixtures every test crate reads, found in one place.
/// The mapping a source cluster would hold for the indexes of `tests/data/lucene/`
/// (`source-mapping.json`): their `price` is sometimes an integer, sometimes a float, so a
/// target mapping it dynamically from concurrent bulks (two shards, or requests in flight)
/// refuses some documents ("cannot be changed from type [float] to [long]"), which a real
/// snapshot, carrying its mapping, never makes it do.
pub fn lucene_cases_mapping() -> serde_json::Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/lucene/source-mapping.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn shared_dir() -> PathBuf {
    std::env::var_os("BACKFILL_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

/// The repositories of `shared/fixtures/snapshots/`, written by real Elasticsearch 5.6, 6.8 and 7.10.
pub const FIXTURE_REPOSITORIES: [&str; 6] = [
    "ES_5_6_Updates_Deletes",
    "ES_6_8_Single",
    "ES_6_8_Updates_Deletes_Native",
    "ES_7_10_Single",
    "ES_7_10_Updates_Deletes_w_Soft",
    "ES_7_10_Updates_Deletes_wo_Soft",
];

/// The shared repository `name` (`shared/fixtures/snapshots/<name>`), as a path string.
pub fn fixture_repository(name: &str) -> String {
    shared_dir()
        .join("fixtures/snapshots")
        .join(name)
        .display()
        .to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds no Lucene commit (no segments_N file)", dir.display())]
    NoCommit { dir: PathBuf },
    #[error("{} is not an intact Lucene file: {reason}", path.display())]
    NotLucene { path: PathBuf, reason: String },
    #[error(
        "cannot tell which Lucene version wrote {}; set WriteOptions::written_by",
        path.display()
    )]
    UnknownLuceneVersion { path: PathBuf },
    #[error("snapshot {0:?} already exists in this repository")]
    DuplicateSnapshot(String),
    #[error("blob {path}: {reason}")]
    BadBlob { path: String, reason: String },
    #[error("blob {path}: {source}")]
    Smile {
        path: String,
        #[source]
        source: snapshot::repo::smile::SmileError,
    },
}
