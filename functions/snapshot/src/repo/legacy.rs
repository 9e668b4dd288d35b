//! The repository layout of Elasticsearch 1.x and 2.x: no `index.latest` / `index-N`; the
//! snapshot blobs at the root are the table of contents. See docs/formats-es1-es2-repository.md.
//!
//! ```text
//! index                              {"snapshots":[names]}: JSON (1.x: LZF when compressing)
//! snapshot-<name>  metadata-<name>   1.x: SnapshotInfo, global metadata; bare JSON, maybe LZF
//! snap-<name>.dat  meta-<name>.dat   2.x: the same in ChecksumBlobStoreFormat (SMILE, maybe DFL)
//! indices/<index name>/snapshot-<name> | meta-<name>.dat          index metadata
//! indices/<index name>/<shard>/snapshot-<name> | snap-<name>.dat  the shard's file list
//! indices/<index name>/<shard>/index-<N>                          2.x: all snapshots of the shard
//! indices/<index name>/<shard>/__<base 36 counter>[.partK]        Lucene files
//! ```
//!
//! Rules from ES 1.7.6 `BlobStoreRepository` (`snapshots()`: the listing of `snapshot-*` is the
//! list, the `index` blob only its fall-back; `writeSnapshot`, `writeSnapshotList`: JSON through
//! `CompressorFactory.defaultCompressor()` = LZF when `compress`) and ES 2.4.6
//! `BlobStoreRepository` (`snapshots()` lists `snap`-prefixed blobs: `snap-<name>.dat` and legacy
//! `snapshot-<name>`; `readSnapshot` prefers the `.dat`; a snapshot's version picks the format of
//! all its blobs, `legacyMetaData(version)` = before 2.0.0-beta1).

use std::collections::BTreeMap;

use super::node::Node;
use super::repository_data::{
    IndexEntry, Layout, MetadataFormat, RepositoryData, SnapshotEntry, SnapshotState,
};
use super::{blob_format, smile, version_from_id};
use crate::lzf;
use crate::blob::{BlobError, BlobMeta, BlobStore};
use crate::error::{Error, ErrorKind, Location, Result};

/// The snapshot a root blob describes, and in which format.
fn snapshot_blob(name: &str) -> Option<(&str, MetadataFormat)> {
    if let Some(n) = name.strip_prefix("snap-").and_then(|n| n.strip_suffix(".dat")) {
        return (!n.is_empty()).then_some((n, MetadataFormat::Checksummed));
    }
    let n = name.strip_prefix("snapshot-")?;
    (!n.is_empty()).then_some((n, MetadataFormat::Legacy))
}

/// Whether the root holds blobs of the 1.x/2.x layout (called when there is no index-N).
pub(super) fn looks_legacy(listed: &[BlobMeta]) -> bool {
    listed
        .iter()
        .any(|b| b.name == "index" || snapshot_blob(&b.name).is_some())
}

/// Decodes a 1.x-format metadata blob: JSON or SMILE, bare or compressed (LZF as 1.x writes;
/// DEFLATE as 2.x's compressor would), detected by the leading bytes as ES's `XContentHelper`
/// does.
pub fn decode(blob: &str, data: &[u8]) -> Result<Node> {
    let mut inflated = Vec::new();
    let body = if lzf::is_compressed(data) {
        lzf::decompress(data, &mut inflated).map_err(|e| Error::corrupt(blob, e.to_string()))?;
        &inflated[..]
    } else if let Some(z) = data.strip_prefix(b"DFL\0") {
        inflated = blob_format::inflate_all(z).map_err(|e| Error::corrupt(blob, e))?;
        &inflated[..]
    } else {
        data
    };
    if body.starts_with(b":)\n") {
        return smile::decode(body).map_err(|e| Error::corrupt(blob, format!("SMILE: {e}")));
    }
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {
            let v: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| Error::corrupt(blob, format!("not valid JSON: {e}")))?;
            Ok(Node::from_json(&v))
        }
        _ => Err(Error::in_file(
            blob,
            ErrorKind::Unsupported(format!(
                "a metadata blob that is neither JSON, SMILE, LZF nor DEFLATE (starts with {:02x?})",
                &body[..body.len().min(8)]
            )),
        )),
    }
}

/// Builds the table of contents of a 1.x/2.x repository from its root blobs.
pub(super) fn open(
    store: &dyn BlobStore,
    loc: &Location,
    listed: &[BlobMeta],
) -> Result<RepositoryData> {
    // name → format; a `.dat` wins over `snapshot-<name>` (ES 2.4 reads it first).
    let mut found: BTreeMap<String, MetadataFormat> = BTreeMap::new();
    for b in listed {
        if let Some((name, format)) = snapshot_blob(&b.name) {
            let slot = found.entry(name.to_string()).or_insert(format);
            if format == MetadataFormat::Checksummed {
                *slot = format;
            }
        }
    }
    if found.is_empty() {
        // A store that lists nothing useful: the `index` blob names the snapshots.
        for name in snapshot_list(store, loc)? {
            let format = if exists(store, &format!("snap-{name}.dat"), loc)? {
                MetadataFormat::Checksummed
            } else {
                MetadataFormat::Legacy
            };
            found.insert(name, format);
        }
    }
    let mut snapshots = Vec::new();
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, format) in found {
        let mut entry = SnapshotEntry {
            name: name.clone(),
            // ES 2.x/5.x identify these snapshots and their blobs by name.
            uuid: name.clone(),
            state: None,
            version: None,
            index_metadata_lookup: BTreeMap::new(),
            format,
        };
        let path = entry.info_blob();
        let at = Location {
            snapshot: Some(name.clone()),
            file: Some(path.clone()),
            ..loc.clone()
        };
        let bytes = store
            .read(&path)
            .map_err(|e| Error::new(at.clone(), e))?;
        let root = match format {
            MetadataFormat::Checksummed => blob_format::decode(&path, &bytes, "snapshot"),
            MetadataFormat::Legacy => decode(&path, &bytes),
        }
        .map_err(|e| e.within(&at))?;
        let s = root.get("snapshot").unwrap_or(&root);
        let version_id = s.get("version_id").and_then(Node::as_i64);
        if let Some(v) = version_id.filter(|v| *v >= 5_000_000) {
            return Err(Error::new(
                at,
                ErrorKind::Unsupported(format!(
                    "written by Elasticsearch {}, whose repositories keep index-N and index.latest, but the root has neither: an incomplete copy of a 5.x+ repository",
                    version_from_id(v)
                )),
            ));
        }
        entry.version = version_id.map(version_from_id);
        entry.state = s
            .get("state")
            .and_then(Node::as_str)
            .map(SnapshotState::from_name);
        let indices = s
            .get("indices")
            .and_then(Node::as_array)
            .ok_or_else(|| Error::new(at.clone(), ErrorKind::Corrupt("no indices list".into())))?;
        for index in indices.iter().filter_map(Node::as_str) {
            members
                .entry(index.to_string())
                .or_default()
                .push(name.clone());
        }
        let start = s.get("start_time").and_then(Node::as_i64).unwrap_or(0);
        snapshots.push((start, entry));
    }
    // The order they were taken in: the `index` blob keeps none (1.x writes a hash set).
    snapshots.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
    let indices = members
        .into_iter()
        .map(|(name, snaps)| IndexEntry {
            id: name.clone(),
            name,
            snapshots: snaps,
            shard_generations: None,
            shard_path_type: 0,
        })
        .collect();
    Ok(RepositoryData {
        generation: -1,
        layout: Layout::Legacy,
        snapshots: snapshots.into_iter().map(|(_, e)| e).collect(),
        indices,
        index_metadata_identifiers: BTreeMap::new(),
    })
}

fn exists(store: &dyn BlobStore, path: &str, loc: &Location) -> Result<bool> {
    match store.read_range(path, 0, 1) {
        Ok(_) => Ok(true),
        Err(BlobError::NotFound { .. } | BlobError::ShortRead { .. }) => Ok(false),
        Err(e) => Err(Error::new(loc.clone(), e).within(&Location::file(path))),
    }
}

/// The names in the root `index` blob (`{"snapshots":[…]}`).
fn snapshot_list(store: &dyn BlobStore, loc: &Location) -> Result<Vec<String>> {
    let at = Location {
        file: Some("index".into()),
        ..loc.clone()
    };
    let bytes = store.read("index").map_err(|e| Error::new(at.clone(), e))?;
    let root = decode("index", &bytes).map_err(|e| e.within(&at))?;
    let list = root
        .get("snapshots")
        .and_then(Node::as_array)
        .ok_or_else(|| Error::new(at, ErrorKind::Corrupt("no \"snapshots\" list".into())))?;
    Ok(list
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect())
}

/// What the root of a store that is no repository this reader knows holds, and what that
/// suggests: for the error that names the layout as unknown (never as corrupt).
pub(super) fn describe_unknown(listed: &[BlobMeta]) -> String {
    let mut names: Vec<&str> = listed.iter().map(|b| b.name.as_str()).collect();
    names.sort_unstable();
    let shown = names
        .iter()
        .take(12)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let more = names
        .len()
        .checked_sub(12)
        .filter(|n| *n > 0)
        .map(|n| format!(" and {n} more"))
        .unwrap_or_default();
    let hint = if names.contains(&"incompatible-snapshots") {
        "incompatible-snapshots suggests Elasticsearch 6.x/7.x, whose index-N is missing"
    } else if names.iter().any(|n| n.starts_with("metadata-")) {
        "metadata-<name> suggests Elasticsearch 1.x, but no snapshot-<name> blob is there"
    } else if names.iter().any(|n| n.starts_with("meta-") && n.ends_with(".dat")) {
        "meta-*.dat suggests Elasticsearch 2.x or later, but no snap-*.dat or index-N is there"
    } else if names.iter().any(|n| n.starts_with("segments_")) {
        "segments_N suggests a Lucene index (a node's data folder), not a snapshot repository"
    } else {
        "none of the blobs of an Elasticsearch/OpenSearch repository (index.latest, index-N, index, snap-*, snapshot-*)"
    };
    format!(
        "not a snapshot repository layout this reader knows: the root holds {shown}{more}; {hint}"
    )
}
