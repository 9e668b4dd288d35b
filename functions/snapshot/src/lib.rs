//! A pure-Rust reader of Elasticsearch/OpenSearch snapshot repositories and the Lucene
//! segments in them: from blobs to the live documents of every shard.
//!
//! Layers (public with the `internals` feature; the API is what the root re-exports):
//! - `blob`: the storage port (list, read, ranged read) with a local-directory adapter;
//! - `repo`: repository metadata (`index-N`, snapshot, index and shard metadata, SMILE);
//! - `lucene`: commits, segments, compound files, field infos, live docs, soft deletes and
//!   stored fields of Lucene 6 to 10;
//! - `es`: what ES stores in Lucene (`_id`, `_uid`, `_routing`, `_source`);
//! - `knn`: k-NN derived source (vectors put back into `_source` from the vector files);
//! - `shard`: the live documents of a shard as a resumable stream;
//! - `delta`: what changed in each shard between two snapshots (documents to index and to
//!   delete), planned from the shard manifests.
//!
//! No async runtime and no AWS dependency: an S3 adapter implements [`BlobStore`].

/// The layers are the crate's own: its public API is what the root re-exports. The `internals`
/// feature opens them, for the testkit, the format-level tests and the fuzz targets.
macro_rules! layers {
    ($($layer:ident),*) => {$(
        #[cfg(feature = "internals")]
        pub mod $layer;
        #[cfg(not(feature = "internals"))]
        #[allow(dead_code, unused_imports)] // parts only the testkit and tests use
        mod $layer;
    )*};
}
layers!(blob, delta, error, es, knn, lucene, lzf, rebuild, repo, shard, zstd);

pub use blob::{BlobError, BlobMeta, BlobStore, LocalDirectory};
pub use delta::{
    new_documents, plan_shard, plan_snapshot, shard_deletions, stale_documents, Deletion,
    DeletionStats, DocumentKey, GoneSegment, IndexChange, IndexPlan, SegmentChange, SegmentPlan,
    ShardDeletions, ShardPlan, ShardSide, SnapshotPlan,
};
pub use error::{Error, ErrorKind, Location, Result};
pub use es::Document;
pub use lucene::ReadOptions;
pub use repo::smile::SmileError;
pub use repo::{IndexMetadata, Repository, ShardSnapshot, Snapshot};
pub use shard::{
    Position, SegmentSize, ShardDocument, ShardDocumentRef, ShardEntryRef, ShardReader, ShardStats,
};

/// A SMILE document (a `_source` indexed as `application/smile`) as JSON.
pub fn smile_to_json(bytes: &[u8]) -> std::result::Result<serde_json::Value, SmileError> {
    repo::smile::decode(bytes).map(|node| node.to_json())
}
