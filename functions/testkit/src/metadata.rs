//! The metadata documents of an ES 7.10 repository as [`Node`] trees, keys in the order ES
//! writes them (checked against the ES 7.10 fixtures).

use snapshot::repo::node::Node;

/// RepositoryData's `min_version` for the layout written here (index-metadata dedup, UUID
/// shard generations).
pub const MIN_VERSION: &str = "7.9.0";

fn obj(entries: Vec<(&str, Node)>) -> Node {
    Node::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn text(s: &str) -> Node {
    Node::String(s.to_string())
}

fn strings<'a>(items: impl IntoIterator<Item = &'a String>) -> Node {
    Node::Array(items.into_iter().map(|s| text(s)).collect())
}

/// `7.10.2` from ES's id `7100299`; OpenSearch ids have bit 27 set (`2.11.1` = `136327927`).
pub fn version_string(id: i64) -> String {
    let id = if id & 0x0800_0000 != 0 {
        id ^ 0x0800_0000
    } else {
        id
    };
    format!(
        "{}.{}.{}",
        id / 1_000_000,
        id / 10_000 % 100,
        id / 100 % 100
    )
}

/// One entry of a shard's `files[]` (BlobStoreIndexShardSnapshot.FileInfo).
#[derive(Debug, Clone, PartialEq)]
pub struct FileInfo {
    /// `__<uuid>` for uploaded files, `v__<uuid>` for files whose bytes are only `meta_hash`.
    pub blob_name: String,
    pub physical_name: String,
    pub length: u64,
    /// The Lucene footer CRC in base 36.
    pub checksum: String,
    /// Bytes per part; `i64::MAX` when the repository has no chunk size (as ES 7.10 records it).
    pub part_size: u64,
    pub written_by: String,
    /// The whole file for `segments_N` and `.si`.
    pub meta_hash: Option<Vec<u8>>,
}

impl FileInfo {
    pub fn is_virtual(&self) -> bool {
        self.blob_name.starts_with("v__")
    }

    /// `ceil(length / part_size)`, at least 1 (ES's FileInfo).
    pub fn number_of_parts(&self) -> u64 {
        self.length.div_ceil(self.part_size.max(1)).max(1)
    }

    /// The blob holding part `i`: the name itself when there is one part.
    pub fn part_name(&self, i: u64) -> String {
        if self.number_of_parts() > 1 {
            format!("{}.part{i}", self.blob_name)
        } else {
            self.blob_name.clone()
        }
    }

    /// Whether a later snapshot can reuse this file's blob (ES compares name, length,
    /// checksum and hash).
    pub fn same_file(&self, other: &FileInfo) -> bool {
        self.physical_name == other.physical_name
            && self.length == other.length
            && self.checksum == other.checksum
            && self.meta_hash == other.meta_hash
    }

    pub fn to_node(&self) -> Node {
        let mut e = vec![
            ("name", text(&self.blob_name)),
            ("physical_name", text(&self.physical_name)),
            ("length", Node::Int(self.length as i64)),
            ("checksum", text(&self.checksum)),
            (
                "part_size",
                Node::Int(self.part_size.min(i64::MAX as u64) as i64),
            ),
            ("written_by", text(&self.written_by)),
        ];
        if let Some(hash) = &self.meta_hash {
            e.push(("meta_hash", Node::Binary(hash.clone())));
        }
        obj(e)
    }
}

/// `indices/<id>/<shard>/snap-<uuid>.dat`. The counts are incremental: only files this
/// snapshot uploaded (virtual ones included, as in ES).
pub struct ShardSnapshot<'a> {
    pub snapshot: &'a str,
    pub start_time: i64,
    pub took_ms: i64,
    pub incremental_files: u64,
    pub incremental_size: u64,
    pub files: &'a [FileInfo],
}

impl ShardSnapshot<'_> {
    pub fn to_node(&self) -> Node {
        obj(vec![
            ("name", text(self.snapshot)),
            ("index_version", Node::Int(0)),
            ("start_time", Node::Int(self.start_time)),
            ("time", Node::Int(self.took_ms)),
            ("number_of_files", Node::Int(self.incremental_files as i64)),
            ("total_size", Node::Int(self.incremental_size as i64)),
            (
                "files",
                Node::Array(self.files.iter().map(FileInfo::to_node).collect()),
            ),
        ])
    }
}

/// `indices/<id>/<shard>/index-<gen>`: every file of the shard's snapshots, and which
/// blobs each snapshot uses.
pub fn shard_snapshots(files: &[FileInfo], snapshots: &[(String, Vec<String>)]) -> Node {
    let per_snapshot = snapshots
        .iter()
        .map(|(name, blobs)| (name.clone(), obj(vec![("files", strings(blobs))])))
        .collect();
    obj(vec![
        (
            "files",
            Node::Array(files.iter().map(FileInfo::to_node).collect()),
        ),
        ("snapshots", Node::Object(per_snapshot)),
    ])
}

/// What the index metadata blob says about one index.
pub struct IndexMeta<'a> {
    pub name: &'a str,
    /// Bumped each time the index is (re)defined; used for settings and mapping versions.
    pub meta_version: i64,
    pub shards: usize,
    /// Full `index.*` settings, values as strings (ES writes them so), sorted by key.
    pub settings: &'a [(String, String)],
    pub mappings: &'a serde_json::Value,
    pub allocation_ids: &'a [String],
}

/// `MetadataCreateIndexService.calculateNumRoutingShards` for indices created on 7.x.
pub fn routing_num_shards(shards: usize) -> i64 {
    let shards = shards.max(1) as i64;
    let log2_shards = 64 - (shards - 1).leading_zeros() as i64;
    shards << (10 - log2_shards).max(1)
}

impl IndexMeta<'_> {
    pub fn to_node(&self) -> Node {
        let settings = self
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), text(v)))
            .collect();
        // ES 7 writes type-less mappings under the single type `_doc`; none is `[]`.
        let mappings = match self.mappings {
            serde_json::Value::Null => vec![],
            m => vec![obj(vec![("_doc", Node::from_json(m))])],
        };
        let in_sync = self
            .allocation_ids
            .iter()
            .enumerate()
            .map(|(i, a)| (i.to_string(), Node::Array(vec![text(a)])))
            .collect();
        let body = obj(vec![
            ("version", Node::Int(self.meta_version + 2)),
            ("mapping_version", Node::Int(self.meta_version)),
            ("settings_version", Node::Int(self.meta_version)),
            ("aliases_version", Node::Int(1)),
            (
                "routing_num_shards",
                Node::Int(routing_num_shards(self.shards)),
            ),
            ("state", text("open")),
            ("settings", Node::Object(settings)),
            ("mappings", Node::Array(mappings)),
            ("aliases", obj(vec![])),
            (
                "primary_terms",
                Node::Array(vec![Node::Int(1); self.shards]),
            ),
            ("in_sync_allocations", Node::Object(in_sync)),
            ("rollover_info", obj(vec![])),
            ("system", Node::Bool(false)),
        ]);
        Node::Object(vec![(self.name.to_string(), body)])
    }
}

/// Root `meta-<uuid>.dat`: a minimal global cluster metadata document.
pub fn global_metadata(cluster_uuid: &str) -> Node {
    let coordination = obj(vec![
        ("term", Node::Int(1)),
        ("last_committed_config", Node::Array(vec![])),
        ("last_accepted_config", Node::Array(vec![])),
        ("voting_config_exclusions", Node::Array(vec![])),
    ]);
    let meta = obj(vec![
        ("version", Node::Int(1)),
        ("cluster_uuid", text(cluster_uuid)),
        ("cluster_uuid_committed", Node::Bool(true)),
        ("cluster_coordination", coordination),
        ("templates", obj(vec![])),
        (
            "index-graveyard",
            obj(vec![("tombstones", Node::Array(vec![]))]),
        ),
    ]);
    obj(vec![("meta-data", meta)])
}

/// Root `snap-<uuid>.dat` (SnapshotInfo) of a successful snapshot.
pub struct SnapshotInfo<'a> {
    pub name: &'a str,
    pub uuid: &'a str,
    pub version_id: i64,
    pub indices: Vec<String>,
    pub start_time: i64,
    pub end_time: i64,
    pub total_shards: usize,
}

impl SnapshotInfo<'_> {
    pub fn to_node(&self) -> Node {
        let body = obj(vec![
            ("name", text(self.name)),
            ("uuid", text(self.uuid)),
            ("version_id", Node::Int(self.version_id)),
            ("indices", strings(&self.indices)),
            ("data_streams", Node::Array(vec![])),
            ("state", text("SUCCESS")),
            ("include_global_state", Node::Bool(true)),
            ("metadata", Node::Null),
            ("start_time", Node::Int(self.start_time)),
            ("end_time", Node::Int(self.end_time)),
            ("total_shards", Node::Int(self.total_shards as i64)),
            ("successful_shards", Node::Int(self.total_shards as i64)),
            ("failures", Node::Array(vec![])),
        ]);
        obj(vec![("snapshot", body)])
    }
}

/// A snapshot as listed in `index-N`.
pub struct RepoSnapshot {
    pub name: String,
    pub uuid: String,
    /// index id → index metadata identifier.
    pub index_metadata_lookup: Vec<(String, String)>,
    pub version: String,
}

/// An index as listed in `index-N`.
pub struct RepoIndex {
    pub name: String,
    pub id: String,
    pub snapshots: Vec<String>,
    pub shard_generations: Vec<String>,
    /// OpenSearch ≥ 2.17: 0 fixed shard paths, 1 HASHED_PREFIX, 2 HASHED_INFIX.
    pub shard_path_type: i64,
}

/// The root `index-N` document (RepositoryData), written as plain JSON.
pub fn repository_data(
    snapshots: &[RepoSnapshot],
    indices: &[RepoIndex],
    identifiers: &[(String, String)],
) -> Node {
    let pairs = |v: &[(String, String)]| {
        Node::Object(v.iter().map(|(k, x)| (k.clone(), text(x))).collect())
    };
    let snapshots = snapshots
        .iter()
        .map(|s| {
            obj(vec![
                ("name", text(&s.name)),
                ("uuid", text(&s.uuid)),
                ("state", Node::Int(1)),
                ("index_metadata_lookup", pairs(&s.index_metadata_lookup)),
                ("version", text(&s.version)),
            ])
        })
        .collect();
    let indices = indices
        .iter()
        .map(|i| {
            let mut fields = vec![
                ("id", text(&i.id)),
                ("snapshots", strings(&i.snapshots)),
                ("shard_generations", strings(&i.shard_generations)),
            ];
            if i.shard_path_type != 0 {
                fields.push(("shard_path_type", Node::Int(i.shard_path_type)));
            }
            let entry = obj(fields);
            (i.name.clone(), entry)
        })
        .collect();
    obj(vec![
        ("snapshots", Node::Array(snapshots)),
        ("indices", Node::Object(indices)),
        ("min_version", text(MIN_VERSION)),
        ("index_metadata_identifiers", pairs(identifiers)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_routing_shards_follow_elasticsearch() {
        assert_eq!(version_string(7_100_299), "7.10.2");
        assert_eq!(version_string(136_327_927), "2.11.1");
        assert_eq!(routing_num_shards(1), 1024);
        assert_eq!(routing_num_shards(5), 640);
        assert_eq!(routing_num_shards(2), 1024);
    }

    #[test]
    fn parts_are_named_like_elasticsearch() {
        let mut f = FileInfo {
            blob_name: "__a".into(),
            physical_name: "_0.cfs".into(),
            length: 250,
            checksum: "1".into(),
            part_size: 100,
            written_by: "8.7.0".into(),
            meta_hash: None,
        };
        assert_eq!(f.number_of_parts(), 3);
        assert_eq!(f.part_name(2), "__a.part2");
        f.part_size = i64::MAX as u64;
        assert_eq!(
            (f.number_of_parts(), f.part_name(0)),
            (1, "__a".to_string())
        );
        f.length = 0;
        assert_eq!(f.number_of_parts(), 1);
    }
}
