//! A pure-Rust reader of Elasticsearch/OpenSearch snapshot repositories and the Lucene
//! segments in them: from blobs to the live documents of every shard.
//!
//! Layers, each usable on its own:
//! - [`blob`]: the storage port (list, read, ranged read) with a local-directory adapter;
//! - [`repo`]: repository metadata (`index-N`, snapshot, index and shard metadata, SMILE);
//! - [`lucene`]: commits, segments, compound files, field infos, live docs, soft deletes and
//!   stored fields of Lucene 6 to 10;
//! - [`es`]: what ES stores in Lucene (`_id`, `_uid`, `_routing`, `_source`);
//! - [`shard`]: the live documents of a shard as a resumable stream.
//!
//! No async runtime and no AWS dependency: an S3 adapter implements [`blob::BlobStore`].

pub mod blob;
pub mod error;
pub mod es;
pub mod lucene;
pub mod repo;
pub mod shard;
pub mod zstd;

pub use blob::{BlobError, BlobMeta, BlobStore, LocalDirectory};
pub use error::{Error, ErrorKind, Location, Result};
pub use es::Document;
pub use lucene::ReadOptions;
pub use repo::{IndexMetadata, Repository, ShardSnapshot, Snapshot};
pub use shard::{
    Position, ShardDocument, ShardDocumentRef, ShardEntryRef, ShardReader, ShardStats,
};
