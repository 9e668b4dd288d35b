//! `index-N`: the repository's table of contents (plain JSON). Repositories of Elasticsearch
//! 1.x/2.x have none; `legacy.rs` builds the same table from their snapshot blobs.

use std::collections::BTreeMap;

use super::node::Node;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotState {
    InProgress,
    Success,
    Failed,
    Partial,
    Incompatible,
    Unknown(i64),
}

impl SnapshotState {
    fn from_code(c: i64) -> Self {
        match c {
            0 => SnapshotState::InProgress,
            1 => SnapshotState::Success,
            2 => SnapshotState::Failed,
            3 => SnapshotState::Partial,
            4 => SnapshotState::Incompatible,
            other => SnapshotState::Unknown(other),
        }
    }

    /// The state as 1.x/2.x snapshot blobs spell it (`"SUCCESS"`).
    pub(super) fn from_name(name: &str) -> Self {
        match name {
            "IN_PROGRESS" => SnapshotState::InProgress,
            "SUCCESS" => SnapshotState::Success,
            "FAILED" => SnapshotState::Failed,
            "PARTIAL" => SnapshotState::Partial,
            "INCOMPATIBLE" => SnapshotState::Incompatible,
            _ => SnapshotState::Unknown(-1),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            SnapshotState::InProgress => "IN_PROGRESS",
            SnapshotState::Success => "SUCCESS",
            SnapshotState::Failed => "FAILED",
            SnapshotState::Partial => "PARTIAL",
            SnapshotState::Incompatible => "INCOMPATIBLE",
            SnapshotState::Unknown(_) => "UNKNOWN",
        }
    }
}

/// How a snapshot's metadata blobs are named and framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataFormat {
    /// `snap-<uuid>.dat`, `indices/<id>/meta-<blob id>.dat`, `indices/<id>/<shard>/snap-<uuid>.dat`
    /// in ChecksumBlobStoreFormat: ES 2.0+ and OpenSearch. ES 2.x names things by name: its
    /// snapshot uuid is the snapshot name and its index id the index name.
    Checksummed,
    /// ES 1.x (`LegacyBlobStoreFormat` in 2.x): `snapshot-<name>`, `indices/<index>/snapshot-<name>`,
    /// `indices/<index>/<shard>/snapshot-<name>`, bare JSON (or SMILE), LZF-compressed when the
    /// repository compresses.
    Legacy,
}

#[derive(Debug, Clone)]
pub struct SnapshotEntry {
    pub name: String,
    pub uuid: String,
    pub state: Option<SnapshotState>,
    /// Writer version (ES ≥ 7.x, OpenSearch).
    pub version: Option<String>,
    /// index id → index-metadata identifier (ES ≥ 7.9, OpenSearch).
    pub index_metadata_lookup: BTreeMap<String, String>,
    pub format: MetadataFormat,
}

impl SnapshotEntry {
    /// The snapshot's own blob (SnapshotInfo) at the repository root.
    pub fn info_blob(&self) -> String {
        match self.format {
            MetadataFormat::Checksummed => format!("snap-{}.dat", self.uuid),
            MetadataFormat::Legacy => format!("snapshot-{}", self.name),
        }
    }

    /// An index's metadata blob in the index folder `indices/<id>`.
    pub fn index_metadata_blob(&self, index_id: &str, blob_id: &str) -> String {
        match self.format {
            MetadataFormat::Checksummed => format!("indices/{index_id}/meta-{blob_id}.dat"),
            MetadataFormat::Legacy => format!("indices/{index_id}/snapshot-{}", self.name),
        }
    }

    /// A shard's file list in the shard folder `dir`.
    pub fn shard_blob(&self, dir: &str) -> String {
        match self.format {
            MetadataFormat::Checksummed => format!("{dir}/snap-{}.dat", self.uuid),
            MetadataFormat::Legacy => format!("{dir}/snapshot-{}", self.name),
        }
    }
}

/// Where the table of contents came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `index.latest` / `index-N` (ES 5.0+, OpenSearch).
    Generations,
    /// ES 1.x/2.x: the snapshot blobs at the root (and the `index` list where a store cannot list).
    Legacy,
}

#[derive(Debug, Clone)]
pub struct IndexEntry {
    pub name: String,
    pub id: String,
    pub snapshots: Vec<String>,
    /// One per shard where the repository records them (ES ≥ 7.6, OpenSearch).
    pub shard_generations: Option<usize>,
    /// OpenSearch ≥ 2.17: 0 = fixed `indices/<id>/<shard>/` paths; others are hashed.
    pub shard_path_type: i64,
}

#[derive(Debug, Clone)]
pub struct RepositoryData {
    /// The `index-N` read; -1 in the legacy layout, which has none.
    pub generation: i64,
    pub layout: Layout,
    pub snapshots: Vec<SnapshotEntry>,
    pub indices: Vec<IndexEntry>,
    /// identifier → blob id of the index metadata (ES ≥ 7.9, OpenSearch).
    pub index_metadata_identifiers: BTreeMap<String, String>,
}

/// The string-valued entries of an object (absent: empty).
fn string_map(node: Option<&Node>) -> BTreeMap<String, String> {
    node.and_then(Node::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

impl RepositoryData {
    /// Parses `index-N`, ignoring keys it does not know.
    pub fn parse(generation: i64, root: &Node) -> Result<RepositoryData, String> {
        let mut snapshots = Vec::new();
        if let Some(list) = root.get("snapshots") {
            let list = list.as_array().ok_or("\"snapshots\" is not an array")?;
            for s in list {
                let name = s
                    .get("name")
                    .and_then(Node::as_str)
                    .ok_or("a snapshot has no name")?
                    .to_string();
                let uuid = s
                    .get("uuid")
                    .and_then(Node::as_str)
                    .ok_or_else(|| format!("snapshot {name} has no uuid"))?
                    .to_string();
                let index_metadata_lookup = string_map(s.get("index_metadata_lookup"));
                snapshots.push(SnapshotEntry {
                    name,
                    uuid,
                    state: s
                        .get("state")
                        .and_then(Node::as_i64)
                        .map(SnapshotState::from_code),
                    version: s.get("version").and_then(Node::as_str).map(str::to_string),
                    index_metadata_lookup,
                    format: MetadataFormat::Checksummed,
                });
            }
        }
        let mut indices = Vec::new();
        if let Some(map) = root.get("indices") {
            let map = map.as_object().ok_or("\"indices\" is not an object")?;
            for (name, v) in map {
                let id = v
                    .get("id")
                    .and_then(Node::as_str)
                    .ok_or_else(|| format!("index {name} has no id"))?
                    .to_string();
                let snaps = v
                    .get("snapshots")
                    .and_then(Node::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                indices.push(IndexEntry {
                    name: name.clone(),
                    id,
                    snapshots: snaps,
                    shard_generations: v
                        .get("shard_generations")
                        .and_then(Node::as_array)
                        .map(<[Node]>::len),
                    shard_path_type: v.get("shard_path_type").and_then(Node::as_i64).unwrap_or(0),
                });
            }
        }
        let index_metadata_identifiers = string_map(root.get("index_metadata_identifiers"));
        Ok(RepositoryData {
            generation,
            layout: Layout::Generations,
            snapshots,
            indices,
            index_metadata_identifiers,
        })
    }

    pub fn snapshot(&self, name: &str) -> Option<&SnapshotEntry> {
        self.snapshots.iter().find(|s| s.name == name)
    }

    /// The indices that are part of a snapshot, by name.
    pub fn indices_of(&self, snapshot_uuid: &str) -> Vec<&IndexEntry> {
        let mut v: Vec<&IndexEntry> = self
            .indices
            .iter()
            .filter(|i| i.snapshots.iter().any(|s| s == snapshot_uuid))
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// The blob id of an index's metadata in a snapshot: deduplicated through identifiers in
    /// ES ≥ 7.9 / OpenSearch, the snapshot uuid before.
    pub fn index_metadata_blob_id(&self, snapshot: &SnapshotEntry, index: &IndexEntry) -> String {
        snapshot
            .index_metadata_lookup
            .get(&index.id)
            .and_then(|ident| self.index_metadata_identifiers.get(ident))
            .cloned()
            .unwrap_or_else(|| snapshot.uuid.clone())
    }
}
