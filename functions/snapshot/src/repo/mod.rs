//! The repository layer: blobs and metadata written by Elasticsearch/OpenSearch snapshots.
//!
//! `index.latest` → `index-N` (which snapshots and indices exist) → index metadata (shard
//! count, settings, mappings) → shard snapshot (the Lucene files of the shard's commit and the
//! blobs that hold them). Elasticsearch 1.x/2.x repositories have no `index-N`: `legacy` builds
//! the same table from their snapshot blobs, and the rest reads them through the same types.

pub mod blob_format;
pub mod legacy;
pub mod node;
pub mod repository_data;
mod shard_paths;
mod shard_snapshot;
pub mod smile;

use std::sync::Arc;

use crate::lzf;
use crate::blob::{BlobError, BlobStore};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::lucene::directory::Directory;
pub use node::Node;
pub use repository_data::{
    IndexEntry, Layout, MetadataFormat, RepositoryData, SnapshotEntry, SnapshotState,
};
pub use shard_snapshot::{FileInfo, ShardSnapshot};

/// An opened snapshot repository (cheap to clone).
#[derive(Clone, Debug)]
pub struct Repository {
    store: Arc<dyn BlobStore>,
    data: Arc<RepositoryData>,
}

impl Repository {
    /// Reads the newest repository generation (or, in the Elasticsearch 1.x/2.x layout, the
    /// snapshot blobs at the root).
    pub fn open(store: Arc<dyn BlobStore>) -> Result<Repository> {
        let loc = Location {
            repository: Some(store.location()),
            ..Default::default()
        };
        let at = |file: &str| Location {
            file: Some(file.to_string()),
            ..loc.clone()
        };
        let mut by_latest = true;
        let generation = match store.read("index.latest") {
            Ok(bytes) if bytes.len() == 8 => i64::from_be_bytes(bytes.try_into().expect("8 bytes")),
            Ok(bytes) => {
                return Err(Error::new(
                    at("index.latest"),
                    ErrorKind::Corrupt(format!("{} byte(s), expected 8", bytes.len())),
                ))
            }
            // Some stores (read-only URL repositories, listings) lack index.latest: take the
            // largest index-N.
            Err(BlobError::NotFound { .. }) => {
                by_latest = false;
                let listed = store.list("").map_err(|e| Error::new(loc.clone(), e))?;
                let newest = listed
                    .iter()
                    .filter_map(|b| b.name.strip_prefix("index-")?.parse::<i64>().ok())
                    .max();
                match newest {
                    Some(g) => g,
                    None if listed.is_empty() => {
                        return Err(Error::new(
                            loc,
                            ErrorKind::Corrupt(
                                "the repository is empty or does not exist (no index.latest, no index-N)".into(),
                            ),
                        ))
                    }
                    None if legacy::looks_legacy(&listed) => {
                        let data = legacy::open(store.as_ref(), &loc, &listed)?;
                        return Ok(Repository {
                            store,
                            data: Arc::new(data),
                        });
                    }
                    None => {
                        return Err(Error::new(
                            loc,
                            ErrorKind::Unsupported(legacy::describe_unknown(&listed)),
                        ))
                    }
                }
            }
            Err(e) => return Err(Error::new(at("index.latest"), e)),
        };
        if generation < 0 {
            return Err(Error::new(
                at("index.latest"),
                ErrorKind::Corrupt(format!("names repository generation {generation}")),
            ));
        }
        let name = format!("index-{generation}");
        let bytes = store.read(&name).map_err(|e| match e {
            // ES writes index-N before index.latest: a missing one means a damaged pointer.
            BlobError::NotFound { .. } if by_latest => Error::new(
                at("index.latest"),
                ErrorKind::Corrupt(format!(
                    "names generation {generation}, but blob {name} does not exist"
                )),
            ),
            e => Error::new(at(&name), e),
        })?;
        let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::new(
                at(&name),
                ErrorKind::Corrupt(format!("not valid JSON: {e}")),
            )
        })?;
        let data = RepositoryData::parse(generation, &Node::from_json(&json))
            .map_err(|e| Error::new(at(&name), ErrorKind::Corrupt(e)))?;
        Ok(Repository {
            store,
            data: Arc::new(data),
        })
    }

    pub fn store(&self) -> &Arc<dyn BlobStore> {
        &self.store
    }

    pub fn data(&self) -> &RepositoryData {
        &self.data
    }

    pub fn location(&self) -> Location {
        Location {
            repository: Some(self.store.location()),
            ..Default::default()
        }
    }

    /// A snapshot by name.
    pub fn snapshot(&self, name: &str) -> Result<Snapshot> {
        match self.data.snapshot(name) {
            Some(entry) => Ok(Snapshot {
                repo: self.clone(),
                entry: entry.clone(),
            }),
            None => {
                let known: Vec<&str> = self
                    .data
                    .snapshots
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect();
                Err(Error::new(
                    self.location(),
                    ErrorKind::UnknownSnapshot {
                        name: name.to_string(),
                        known: if known.is_empty() {
                            "no snapshots".into()
                        } else {
                            known.join(", ")
                        },
                    },
                ))
            }
        }
    }

    fn read_metadata(
        &self,
        loc: &Location,
        path: &str,
        codec: &str,
        format: MetadataFormat,
    ) -> Result<Node> {
        let bytes = self.store.read(path).map_err(|e| {
            // Every metadata blob's name comes from index-N (which has no checksum), or in
            // the legacy layout from the snapshot's own blob.
            let e = match e {
                BlobError::NotFound { path } => BlobError::NotFound {
                    path: match self.data.layout {
                        Layout::Generations => {
                            format!("{path} (named by index-{})", self.data.generation)
                        }
                        Layout::Legacy => format!("{path} (named by the snapshot's blob)"),
                    },
                },
                e => e,
            };
            Error::new(loc.clone(), e).within(&Location::file(path))
        })?;
        match format {
            MetadataFormat::Checksummed => blob_format::decode(path, &bytes, codec),
            MetadataFormat::Legacy => legacy::decode(path, &bytes),
        }
        .map_err(|e| e.within(loc))
    }
}

/// General facts of a snapshot from its `snap-<uuid>.dat`.
#[derive(Debug, Clone)]
pub struct SnapshotInfo {
    pub state: Option<String>,
    /// The writer's version, e.g. `7.10.2` or `OpenSearch 2.11.1`.
    pub version: Option<String>,
    pub indices: Vec<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    /// OpenSearch remote-store shallow copy: the data is not in this repository.
    pub shallow_copy: bool,
}

/// One snapshot of a repository.
#[derive(Clone, Debug)]
pub struct Snapshot {
    repo: Repository,
    entry: SnapshotEntry,
}

impl Snapshot {
    pub fn name(&self) -> &str {
        &self.entry.name
    }

    pub fn uuid(&self) -> &str {
        &self.entry.uuid
    }

    pub fn entry(&self) -> &SnapshotEntry {
        &self.entry
    }

    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    pub fn location(&self) -> Location {
        Location {
            snapshot: Some(self.entry.name.clone()),
            ..self.repo.location()
        }
    }

    /// Names of the indices in this snapshot, sorted.
    pub fn index_names(&self) -> Vec<String> {
        self.repo
            .data
            .indices_of(&self.entry.uuid)
            .into_iter()
            .map(|i| i.name.clone())
            .collect()
    }

    pub fn info(&self) -> Result<SnapshotInfo> {
        let path = self.entry.info_blob();
        let root =
            self.repo
                .read_metadata(&self.location(), &path, "snapshot", self.entry.format)?;
        let s = root.get("snapshot").unwrap_or(&root);
        let version = s
            .get("version_id")
            .and_then(Node::as_i64)
            .map(version_from_id)
            .or_else(|| s.get("version").and_then(Node::as_str).map(str::to_string));
        Ok(SnapshotInfo {
            state: s.get("state").and_then(Node::as_str).map(str::to_string),
            version,
            indices: s
                .get("indices")
                .and_then(Node::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            start_time: s.get("start_time").and_then(Node::as_i64),
            end_time: s.get("end_time").and_then(Node::as_i64),
            shallow_copy: s
                .get("remote_store_index_shallow_copy")
                .and_then(Node::as_bool)
                .unwrap_or(false),
        })
    }

    /// The metadata of an index in this snapshot.
    pub fn index(&self, name: &str) -> Result<IndexMetadata> {
        let entries = self.repo.data.indices_of(&self.entry.uuid);
        let Some(entry) = entries.iter().find(|i| i.name == name) else {
            let known: Vec<&str> = entries.iter().map(|i| i.name.as_str()).collect();
            return Err(Error::new(
                self.location(),
                ErrorKind::UnknownIndex {
                    name: name.to_string(),
                    known: if known.is_empty() {
                        "no indices".into()
                    } else {
                        known.join(", ")
                    },
                },
            ));
        };
        let loc = Location {
            index: Some(name.to_string()),
            ..self.location()
        };
        let blob_id = self.repo.data.index_metadata_blob_id(&self.entry, entry);
        let path = self.entry.index_metadata_blob(&entry.id, &blob_id);
        let root = self
            .repo
            .read_metadata(&loc, &path, "index-metadata", self.entry.format)?;
        IndexMetadata::from_node(name, entry, &root).map_err(|e| {
            Error::new(
                Location {
                    file: Some(path.clone()),
                    ..loc.clone()
                },
                ErrorKind::Corrupt(e),
            )
        })
    }

    /// The file list of one shard of an index.
    pub fn shard(&self, index: &IndexMetadata, shard: u32) -> Result<ShardSnapshot> {
        let loc = Location {
            index: Some(index.name.clone()),
            shard: Some(shard),
            ..self.location()
        };
        if shard >= index.number_of_shards {
            return Err(Error::new(
                loc,
                ErrorKind::UnknownShard {
                    shard,
                    count: index.number_of_shards,
                },
            ));
        }
        let (dir, root) = if index.shard_path_type == 0 {
            let dir = format!("indices/{}/{shard}", index.repository_id);
            let root = self.shard_metadata(&loc, &dir)?;
            (dir, root)
        } else {
            self.hashed_shard_metadata(&loc, index, shard)?
        };
        let path = self.entry.shard_blob(&dir);
        let legacy = self.repo.data.layout == Layout::Legacy;
        ShardSnapshot::from_node(index.name.clone(), shard, dir, &root, legacy).map_err(|e| {
            Error::new(
                Location {
                    file: Some(path.clone()),
                    ..loc.clone()
                },
                ErrorKind::Corrupt(e),
            )
        })
    }

    /// A shard's `snap-<uuid>.dat` in the folder `dir`.
    fn shard_metadata(&self, loc: &Location, dir: &str) -> Result<Node> {
        let path = self.entry.shard_blob(dir);
        match self
            .repo
            .read_metadata(loc, &path, "snapshot", self.entry.format)
        {
            Err(e) if matches!(e.kind, ErrorKind::Blob(BlobError::NotFound { .. })) => {
                let shallow = format!("{dir}/shallow-snap-{}.dat", self.entry.uuid);
                if self.repo.store.read_range(&shallow, 0, 1).is_ok() {
                    return Err(Error::new(
                        loc.clone(),
                        ErrorKind::Unsupported(
                            "an OpenSearch shallow (remote-store) snapshot: the shard's data is not in this repository".into(),
                        ),
                    ));
                }
                Err(e)
            }
            other => other,
        }
    }

    /// The folder and `snap-<uuid>.dat` of a shard snapshotted with hashed shard paths: the
    /// first of the listed path's candidates that holds the shard's metadata.
    fn hashed_shard_metadata(
        &self,
        loc: &Location,
        index: &IndexMetadata,
        shard: u32,
    ) -> Result<(String, Node)> {
        let dirs = shard_paths::hashed_shard_dirs(
            self.repo.store.as_ref(),
            loc,
            &index.repository_id,
            shard,
            index.shard_path_type,
        )?;
        for dir in &dirs {
            match self.shard_metadata(loc, dir) {
                Err(e) if matches!(e.kind, ErrorKind::Blob(BlobError::NotFound { .. })) => {}
                other => return Ok((dir.clone(), other?)),
            }
        }
        Err(Error::new(
            loc.clone(),
            ErrorKind::Unsupported(format!(
                "hashed shard paths (OpenSearch shard_path_type {}): no snap-{}.dat under {} inside this repository; with HASHED_PREFIX and a repository base_path the shard's blobs lie outside the base path",
                index.shard_path_type,
                self.entry.uuid,
                dirs[0]
            )),
        ))
    }

    /// The Lucene files of one shard, read straight from the repository's blobs.
    pub fn shard_directory(&self, shard: &ShardSnapshot) -> Result<Directory> {
        let loc = Location {
            index: Some(shard.index.clone()),
            shard: Some(shard.shard),
            ..self.location()
        };
        let mut dir = shard
            .directory(self.repo.store.clone())
            .map_err(|e| e.within(&loc))?;
        dir.set_listed_in(&self.entry.shard_blob(&shard.folder));
        Ok(dir)
    }
}

/// ES version ids are `major*1_000_000 + minor*10_000 + patch*100 + 99`; OpenSearch sets bit 27.
pub fn version_from_id(id: i64) -> String {
    let (prefix, v) = if id & 0x0800_0000 != 0 {
        ("OpenSearch ", id ^ 0x0800_0000)
    } else {
        ("", id)
    };
    // Release ids end in build 99; ES ≥ 8.11 index versions are a plain counter (8_500_003 …).
    if v % 100 != 99 {
        return format!("{prefix}index version {v}");
    }
    format!(
        "{prefix}{}.{}.{}",
        v / 1_000_000,
        (v / 10_000) % 100,
        (v / 100) % 100
    )
}

/// What the index metadata blob says about an index.
#[derive(Debug, Clone)]
pub struct IndexMetadata {
    pub name: String,
    /// The index's id in the repository (`indices/<id>/`).
    pub repository_id: String,
    pub number_of_shards: u32,
    /// Settings as flat `index.*` keys, as ES writes them.
    pub settings: Node,
    /// Mappings: `{"<type>": {...}}` per mapping type (one in ES ≥ 6).
    pub mappings: Node,
    pub version_created: Option<String>,
    pub shard_path_type: i64,
}

impl IndexMetadata {
    fn from_node(
        name: &str,
        entry: &IndexEntry,
        root: &Node,
    ) -> std::result::Result<IndexMetadata, String> {
        let meta = root
            .get(name)
            .or_else(|| {
                root.as_object()
                    .and_then(|o| (o.len() == 1).then(|| &o[0].1))
            })
            .ok_or_else(|| format!("index metadata does not describe index {name}"))?;
        let settings = meta
            .get("settings")
            .cloned()
            .unwrap_or(Node::Object(Vec::new()));
        let setting = |key: &str| -> Option<&Node> {
            settings.get(key).or_else(|| {
                // Nested form {"index": {"number_of_shards": …}}.
                let mut node = &settings;
                for part in key.split('.') {
                    node = node.get(part)?;
                }
                Some(node)
            })
        };
        let shards = setting("index.number_of_shards")
            .and_then(Node::as_i64)
            .ok_or("settings lack index.number_of_shards")?;
        if !(1..=100_000).contains(&shards) {
            return Err(format!("index.number_of_shards is {shards}"));
        }
        if let Some(gens) = entry.shard_generations {
            if gens != shards as usize {
                return Err(format!(
                    "the repository records {gens} shard generation(s) but the settings say {shards} shard(s)"
                ));
            }
        }
        let version_created = setting("index.version.created")
            .and_then(Node::as_i64)
            .map(version_from_id);
        let mappings = decode_mappings(meta.get("mappings"))?;
        Ok(IndexMetadata {
            name: name.to_string(),
            repository_id: entry.id.clone(),
            number_of_shards: shards as u32,
            settings,
            mappings,
            version_created,
            shard_path_type: entry.shard_path_type,
        })
    }
}

/// Mappings come as `[{"_doc": {...}}]` (1.x/2.x: one entry per mapping type), as an object,
/// or as compressed JSON bytes (`DFL\0` DEFLATE; LZF in 1.x).
fn decode_mappings(node: Option<&Node>) -> std::result::Result<Node, String> {
    fn one(n: &Node) -> std::result::Result<Vec<(String, Node)>, String> {
        match n {
            Node::Object(o) => Ok(o.clone()),
            Node::Binary(b) => {
                let json = match b.strip_prefix(b"DFL\0") {
                    Some(z) => blob_format::inflate_all(z)?,
                    None if lzf::is_compressed(b) => {
                        let mut json = Vec::new();
                        lzf::decompress(b, &mut json).map_err(|e| e.to_string())?;
                        json
                    }
                    None => b.clone(),
                };
                let v: serde_json::Value = serde_json::from_slice(&json)
                    .map_err(|e| format!("mapping is not JSON: {e}"))?;
                match Node::from_json(&v) {
                    Node::Object(o) => Ok(o),
                    _ => Err("mapping is not a JSON object".into()),
                }
            }
            _ => Err("unexpected mapping value".into()),
        }
    }
    let mut out = Vec::new();
    match node {
        None | Some(Node::Null) => {}
        Some(Node::Array(items)) => {
            for item in items {
                out.extend(one(item)?);
            }
        }
        Some(n) => out.extend(one(n)?),
    }
    Ok(Node::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_of_es_and_opensearch() {
        assert_eq!(version_from_id(7_100_299), "7.10.2");
        assert_eq!(version_from_id(6_080_099), "6.8.0");
        assert_eq!(version_from_id(136_327_927), "OpenSearch 2.11.1");
        assert_eq!(version_from_id(8_500_003), "index version 8500003");
    }
}
