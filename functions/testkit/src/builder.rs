//! [`RepoBuilder`]: writes snapshots of Lucene directories as an `fs` repository.

use std::path::{Path, PathBuf};

use crate::blobfmt::{
    self, MetadataCompression, CODEC_INDEX_METADATA, CODEC_METADATA, CODEC_SHARD_SNAPSHOTS,
    CODEC_SNAPSHOT,
};
use crate::ids::Ids;
use crate::lucene::{self, base36};
use crate::metadata::{
    self, FileInfo, IndexMeta, RepoIndex, RepoSnapshot, ShardSnapshot, SnapshotInfo,
};
use crate::Error;

/// How the repository is written.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// How metadata blobs (`*.dat`, shard `index-<gen>`) are compressed: `DFL\0` + raw
    /// DEFLATE of the SMILE as with the repository setting `compress: true`, or OpenSearch's
    /// `ZSTD\0` + zstd. `index-N` stays plain JSON.
    pub compress: MetadataCompression,
    /// Split data blobs into `__uuid.part0`, `.part1`, … of at most this many bytes (the
    /// repository `chunk_size`). A file that fits one part keeps the plain `__uuid` name.
    pub part_size: Option<u64>,
    /// `segments_N` and `.si` become `v__<uuid>` entries whose bytes exist only as
    /// `meta_hash` (ES 7.x and later); otherwise they are uploaded too (ES 6.8).
    pub virtual_small_files: bool,
    /// The writer's version id, e.g. `7100299` for 7.10.2 (OpenSearch ids have bit 27 set).
    pub es_version_id: i64,
    /// `written_by` for files whose Lucene version cannot be read from `segments_N`/`.si`.
    pub written_by: Option<String>,
    /// Seeds the uuids and a synthetic clock, so the same inputs give the same bytes.
    /// `None`: random uuids and the real clock.
    pub seed: Option<u64>,
    /// OpenSearch 2.17+ hashed shard paths; `None`: the fixed `indices/<id>/<shard>/`.
    pub hashed_shard_paths: Option<HashedShardPaths>,
}

/// Shard blobs under `<hash>/indices/<id>/<shard>/` with `index-N` recording the path type and
/// `snapshot_shard_paths/snapshot_path_<id>.<name>.<shards>.<type>.1` listing the folders, as
/// OpenSearch writes them. The hash is a stand-in (readers take the folders from the list).
#[derive(Debug, Clone)]
pub struct HashedShardPaths {
    /// 1 HASHED_PREFIX, 2 HASHED_INFIX.
    pub path_type: i64,
    /// What each listed folder starts with: a repository `base_path` (with its `/`), which
    /// OpenSearch includes since its paths are relative to the blob store's root.
    pub listed_prefix: String,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            compress: MetadataCompression::None,
            part_size: None,
            virtual_small_files: true,
            es_version_id: 7_100_299,
            written_by: None,
            seed: None,
            hashed_shard_paths: None,
        }
    }
}

/// What [`RepoBuilder::write_snapshot`] wrote.
#[derive(Debug, Clone)]
pub struct SnapshotWritten {
    pub name: String,
    pub uuid: String,
    /// The repository generation: this snapshot's `index-N` and `index.latest`.
    pub generation: u64,
    pub indices: Vec<IndexWritten>,
}

#[derive(Debug, Clone)]
pub struct IndexWritten {
    pub name: String,
    /// The directory under `indices/`.
    pub id: String,
    /// `indices/<id>/meta-<blob id>.dat`, shared with earlier snapshots when unchanged.
    pub metadata_blob_id: String,
    pub shards: Vec<ShardWritten>,
}

#[derive(Debug, Clone)]
pub struct ShardWritten {
    /// The shard's new `index-<gen>` blob.
    pub generation: String,
    /// The commit's files as recorded in the shard snapshot.
    pub files: Vec<FileInfo>,
    /// How many of them were uploaded now (the others are blobs of earlier snapshots).
    pub uploaded: usize,
}

/// Builds a repository snapshot by snapshot. Each index is a list of shard directories, each
/// holding one Lucene commit; snapshots include every index added so far, and a later snapshot
/// reuses the blobs of unchanged files as ES's incremental snapshots do.
pub struct RepoBuilder {
    root: PathBuf,
    opts: WriteOptions,
    ids: Ids,
    clock: Option<i64>,
    cluster_uuid: String,
    generation: Option<u64>,
    indices: Vec<IndexState>,
    snapshots: Vec<RepoSnapshot>,
    /// Index metadata identifier → blob id, over all snapshots.
    identifiers: Vec<(String, String)>,
}

struct IndexState {
    name: String,
    id: String,
    uuid: String,
    shards: Vec<PathBuf>,
    settings: Vec<(String, String)>,
    mappings: serde_json::Value,
    meta_version: i64,
    creation_date: i64,
    allocation_ids: Vec<String>,
    snapshot_uuids: Vec<String>,
    shard_state: Vec<ShardState>,
}

#[derive(Default)]
struct ShardState {
    generation: Option<String>,
    /// Every file of the shard's snapshots (the shard `index-<gen>` file list).
    files: Vec<FileInfo>,
    /// Snapshot name → blob names it uses.
    snapshots: Vec<(String, Vec<String>)>,
}

impl RepoBuilder {
    /// A builder writing under `root` (created when the first snapshot is written).
    pub fn new(root: &Path, opts: WriteOptions) -> Self {
        let mut ids = Ids::new(opts.seed);
        let cluster_uuid = ids.uuid();
        RepoBuilder {
            root: root.to_path_buf(),
            clock: opts.seed.map(|_| 1_700_000_000_000),
            opts,
            ids,
            cluster_uuid,
            generation: None,
            indices: Vec::new(),
            snapshots: Vec::new(),
            identifiers: Vec::new(),
        }
    }

    /// Adds an index whose shard `i` is the Lucene commit in `shards[i]`. `settings` are added
    /// to the ones ES always has (`index.` is prefixed when missing); `mappings` is the
    /// type-less mapping body (`{"properties": …}`), stored as `[{"_doc": mappings}]`
    /// (`Null` for none). Adding a name again redefines that index for later snapshots; it
    /// keeps its id and uuid and gets new index metadata.
    pub fn add_index(
        &mut self,
        name: &str,
        shards: &[PathBuf],
        settings: Vec<(String, String)>,
        mappings: serde_json::Value,
    ) {
        let now = self.now_ms();
        let pos = match self.indices.iter().position(|i| i.name == name) {
            Some(pos) => {
                self.indices[pos].meta_version += 1;
                pos
            }
            None => {
                let (id, uuid) = (self.ids.uuid(), self.ids.uuid());
                self.indices.push(IndexState {
                    name: name.to_string(),
                    id,
                    uuid,
                    shards: Vec::new(),
                    settings: Vec::new(),
                    mappings: serde_json::Value::Null,
                    meta_version: 1,
                    creation_date: now,
                    allocation_ids: Vec::new(),
                    snapshot_uuids: Vec::new(),
                    shard_state: Vec::new(),
                });
                self.indices.len() - 1
            }
        };
        let allocation_ids = (0..shards.len()).map(|_| self.ids.uuid()).collect();
        let index = &mut self.indices[pos];
        index.shards = shards.to_vec();
        index
            .shard_state
            .resize_with(shards.len(), ShardState::default);
        index.allocation_ids = allocation_ids;
        index.mappings = mappings;
        index.settings = full_settings(index, name, &self.opts, settings);
    }

    /// Writes one snapshot of every index added so far, then the new `index-N` and
    /// `index.latest`. Every shard directory is read and checked first (one commit, intact
    /// footers, a known Lucene version), so such errors leave the repository untouched.
    pub fn write_snapshot(&mut self, snapshot_name: &str) -> Result<SnapshotWritten, Error> {
        if self.snapshots.iter().any(|s| s.name == snapshot_name) {
            return Err(Error::DuplicateSnapshot(snapshot_name.to_string()));
        }
        for index in &self.indices {
            for dir in &index.shards {
                for f in lucene::read_commit(dir)? {
                    if f.written_by.is_none() && self.opts.written_by.is_none() {
                        return Err(Error::UnknownLuceneVersion {
                            path: dir.join(&f.name),
                        });
                    }
                }
            }
        }
        let uuid = self.ids.uuid();
        let start_time = self.now_ms();
        let mut written = Vec::new();
        let mut lookup = Vec::new();
        for i in 0..self.indices.len() {
            let (index_written, identifier) = self.write_index(i, snapshot_name, &uuid)?;
            lookup.push((index_written.id.clone(), identifier));
            written.push(index_written);
        }
        let end_time = self.now_ms();
        let compress = self.opts.compress;
        let global = metadata::global_metadata(&self.cluster_uuid);
        self.put_blob(
            &format!("meta-{uuid}.dat"),
            &blobfmt::write_checksummed(CODEC_METADATA, &global, compress),
        )?;
        let info = SnapshotInfo {
            name: snapshot_name,
            uuid: &uuid,
            version_id: self.opts.es_version_id,
            indices: self.indices.iter().map(|i| i.name.clone()).collect(),
            start_time,
            end_time,
            total_shards: self.indices.iter().map(|i| i.shards.len()).sum(),
        };
        let info_blob = blobfmt::write_checksummed(CODEC_SNAPSHOT, &info.to_node(), compress);
        self.put_blob(&format!("snap-{uuid}.dat"), &info_blob)?;

        self.snapshots.push(RepoSnapshot {
            name: snapshot_name.to_string(),
            uuid: uuid.clone(),
            index_metadata_lookup: lookup,
            version: metadata::version_string(self.opts.es_version_id),
        });
        let generation = self.generation.map_or(0, |g| g + 1);
        self.write_repository_data(generation)?;
        self.generation = Some(generation);
        Ok(SnapshotWritten {
            name: snapshot_name.to_string(),
            uuid,
            generation,
            indices: written,
        })
    }

    /// The index metadata blob (unless an identical one exists) and every shard.
    fn write_index(
        &mut self,
        i: usize,
        snapshot: &str,
        uuid: &str,
    ) -> Result<(IndexWritten, String), Error> {
        let index = &self.indices[i];
        // IndexMetaDataGenerations.buildUniqueIdentifier: uuid-historyUUID-settings-mapping-aliases.
        let v = index.meta_version;
        let identifier = format!("{}-_na_-{v}-{v}-1", index.uuid);
        let blob_id = match self.identifiers.iter().find(|(id, _)| *id == identifier) {
            Some((_, blob)) => blob.clone(),
            None => {
                let blob_id = self.ids.short_id();
                let meta = IndexMeta {
                    name: &index.name,
                    meta_version: v,
                    shards: index.shards.len(),
                    settings: &index.settings,
                    mappings: &index.mappings,
                    allocation_ids: &index.allocation_ids,
                }
                .to_node();
                let blob =
                    blobfmt::write_checksummed(CODEC_INDEX_METADATA, &meta, self.opts.compress);
                self.put_blob(&format!("indices/{}/meta-{blob_id}.dat", index.id), &blob)?;
                self.identifiers.push((identifier.clone(), blob_id.clone()));
                blob_id
            }
        };
        let mut shards = Vec::new();
        for shard in 0..self.indices[i].shards.len() {
            shards.push(self.write_shard(i, shard, snapshot, uuid)?);
        }
        if let Some(h) = &self.opts.hashed_shard_paths {
            let index = &self.indices[i];
            let paths: Vec<serde_json::Value> = (0..index.shards.len())
                .map(|s| format!("{}{}/", h.listed_prefix, self.shard_dir(&index.id, s)).into())
                .collect();
            let list = serde_json::json!({
                "indexId": index.id,
                "indexName": index.name,
                "number_of_shards": index.shards.len(),
                "shard_path_type": h.path_type,
                "shard_path_hash_algorithm": 1,
                "paths": paths,
            });
            let name = format!(
                "snapshot_shard_paths/snapshot_path_{}.{}.{}.{}.1",
                index.id,
                index.name,
                index.shards.len(),
                h.path_type
            );
            self.put_blob(&name, list.to_string().as_bytes())?;
        }
        let index = &mut self.indices[i];
        index.snapshot_uuids.push(uuid.to_string());
        let written = IndexWritten {
            name: index.name.clone(),
            id: index.id.clone(),
            metadata_blob_id: blob_id,
            shards,
        };
        Ok((written, identifier))
    }

    /// Uploads the shard's new files, then its `snap-<uuid>.dat` and a new `index-<gen>`.
    fn write_shard(
        &mut self,
        i: usize,
        shard: usize,
        snapshot: &str,
        uuid: &str,
    ) -> Result<ShardWritten, Error> {
        let start_time = self.now_ms();
        let index_id = self.indices[i].id.clone();
        let dir = self.shard_dir(&index_id, shard);
        let commit = lucene::read_commit(&self.indices[i].shards[shard])?;
        let part_size = self
            .opts
            .part_size
            .filter(|&p| p > 0)
            .unwrap_or(i64::MAX as u64);
        let mut files = Vec::new();
        let (mut uploaded, mut uploaded_bytes) = (0usize, 0u64);
        for f in &commit {
            let written_by = f
                .written_by
                .clone()
                .or_else(|| self.opts.written_by.clone())
                .ok_or_else(|| Error::UnknownLuceneVersion {
                    path: self.indices[i].shards[shard].join(&f.name),
                })?;
            let mut info = FileInfo {
                blob_name: String::new(),
                physical_name: f.name.clone(),
                length: f.bytes.len() as u64,
                checksum: base36(f.checksum),
                part_size,
                written_by,
                meta_hash: f.hash_is_content().then(|| f.bytes.clone()),
            };
            let state = &self.indices[i].shard_state[shard];
            if let Some(existing) = state.files.iter().find(|e| e.same_file(&info)) {
                files.push(existing.clone());
                continue;
            }
            let virtual_file = self.opts.virtual_small_files && info.meta_hash.is_some();
            info.blob_name = format!(
                "{}__{}",
                if virtual_file { "v" } else { "" },
                self.ids.uuid()
            );
            if !virtual_file {
                for part in 0..info.number_of_parts() {
                    let from = (part * part_size) as usize;
                    let to = (from as u64 + part_size).min(info.length) as usize;
                    self.put_blob(
                        &format!("{dir}/{}", info.part_name(part)),
                        &f.bytes[from..to],
                    )?;
                }
            }
            uploaded += 1;
            uploaded_bytes += info.length;
            self.indices[i].shard_state[shard].files.push(info.clone());
            files.push(info);
        }
        let took_ms = self.now_ms() - start_time;
        let snap = ShardSnapshot {
            snapshot,
            start_time,
            took_ms,
            incremental_files: uploaded as u64,
            incremental_size: uploaded_bytes,
            files: &files,
        };
        let compress = self.opts.compress;
        self.put_blob(
            &format!("{dir}/snap-{uuid}.dat"),
            &blobfmt::write_checksummed(CODEC_SNAPSHOT, &snap.to_node(), compress),
        )?;

        let generation = self.ids.uuid();
        let state = &mut self.indices[i].shard_state[shard];
        state.snapshots.push((
            snapshot.to_string(),
            files.iter().map(|f| f.blob_name.clone()).collect(),
        ));
        let index_blob = metadata::shard_snapshots(&state.files, &state.snapshots);
        let old = state.generation.replace(generation.clone());
        self.put_blob(
            &format!("{dir}/index-{generation}"),
            &blobfmt::write_checksummed(CODEC_SHARD_SNAPSHOTS, &index_blob, compress),
        )?;
        // ES deletes the superseded shard generation once the new one is referenced.
        if let Some(old) = old {
            let path = self.root.join(format!("{dir}/index-{old}"));
            std::fs::remove_file(&path).map_err(|source| Error::Io { path, source })?;
        }
        Ok(ShardWritten {
            generation,
            files,
            uploaded,
        })
    }

    fn write_repository_data(&self, generation: u64) -> Result<(), Error> {
        let indices: Vec<RepoIndex> = self
            .indices
            .iter()
            .filter(|i| !i.snapshot_uuids.is_empty())
            .map(|i| RepoIndex {
                name: i.name.clone(),
                id: i.id.clone(),
                snapshots: i.snapshot_uuids.clone(),
                shard_generations: i
                    .shard_state
                    .iter()
                    .map(|s| s.generation.clone().unwrap_or_else(|| "_new".into()))
                    .collect(),
                shard_path_type: self
                    .opts
                    .hashed_shard_paths
                    .as_ref()
                    .map_or(0, |h| h.path_type),
            })
            .collect();
        let data = metadata::repository_data(&self.snapshots, &indices, &self.identifiers);
        self.put_blob(
            &format!("index-{generation}"),
            blobfmt::json_text(&data).as_bytes(),
        )?;
        self.put_blob("index.latest", &(generation as i64).to_be_bytes())
    }

    /// The folder of a shard's blobs.
    fn shard_dir(&self, index_id: &str, shard: usize) -> String {
        match &self.opts.hashed_shard_paths {
            None => format!("indices/{index_id}/{shard}"),
            Some(_) => {
                let hash = crc32fast::hash(format!("{index_id}/{shard}").as_bytes());
                format!("H{hash:08x}/indices/{index_id}/{shard}")
            }
        }
    }

    fn put_blob(&self, rel: &str, bytes: &[u8]) -> Result<(), Error> {
        let path = self.root.join(rel);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, bytes).map_err(io)
    }

    /// Milliseconds since the epoch; with a seed, a clock that ticks 1 s per call.
    fn now_ms(&mut self) -> i64 {
        match &mut self.clock {
            Some(t) => {
                *t += 1000;
                *t
            }
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
        }
    }
}

/// ES's own index settings, then the caller's (which win), sorted as ES's Settings are.
fn full_settings(
    index: &IndexState,
    name: &str,
    opts: &WriteOptions,
    extra: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut all = std::collections::BTreeMap::new();
    all.insert(
        "index.creation_date".to_string(),
        index.creation_date.to_string(),
    );
    all.insert("index.number_of_replicas".to_string(), "0".to_string());
    all.insert(
        "index.number_of_shards".to_string(),
        index.shards.len().to_string(),
    );
    all.insert("index.provided_name".to_string(), name.to_string());
    all.insert("index.uuid".to_string(), index.uuid.clone());
    all.insert(
        "index.version.created".to_string(),
        opts.es_version_id.to_string(),
    );
    for (k, v) in extra {
        let key = if k.starts_with("index.") {
            k
        } else {
            format!("index.{k}")
        };
        all.insert(key, v);
    }
    all.into_iter().collect()
}
