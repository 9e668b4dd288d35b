//! `index-N`: the repository's table of contents (plain JSON).

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

#[derive(Debug, Clone)]
pub struct SnapshotEntry {
    pub name: String,
    pub uuid: String,
    pub state: Option<SnapshotState>,
    /// Writer version (ES ≥ 7.x, OpenSearch).
    pub version: Option<String>,
    /// index id → index-metadata identifier (ES ≥ 7.9, OpenSearch).
    pub index_metadata_lookup: BTreeMap<String, String>,
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
    pub generation: i64,
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
