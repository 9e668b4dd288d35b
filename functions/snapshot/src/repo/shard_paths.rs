//! Where a shard's blobs are: `indices/<index id>/<shard>/`, or, for an index that OpenSearch
//! (2.17+, `snapshot.shard_path_type`) snapshotted with hashed shard paths, the folder that the
//! repository's `snapshot_shard_paths/` file for the index lists. The hash (FNV-1a over the index
//! id and shard, whose inputs changed between releases) is never recomputed: the list OpenSearch
//! wrote is the authority.

use serde::Deserialize;

use crate::blob::BlobStore;
use crate::error::{Error, ErrorKind, Location, Result};

/// The folder of the per-index lists (`SnapshotShardPaths.DIR`).
pub const SHARD_PATHS_DIR: &str = "snapshot_shard_paths";

/// `snapshot_shard_paths/snapshot_path_<index id>.<name>.<shards>.<path type>.<hash algorithm>`
/// (`#` between the parts in some releases): plain JSON, no checksum.
#[derive(Debug, Deserialize)]
struct ShardPathsFile {
    #[serde(rename = "indexId")]
    index_id: Option<String>,
    paths: Vec<String>,
}

/// The folders, relative to the repository root, where shard `shard` of the index with
/// repository id `index_id` may be, most likely first. A listed path is relative to the blob
/// store's root, which is the repository root unless the repository has a `base_path`; then it
/// also holds the base path (before the hash for HASHED_INFIX, after it for HASHED_PREFIX), so
/// each shorter suffix that still ends in `indices/<id>/<shard>` is a candidate too.
pub fn hashed_shard_dirs(
    store: &dyn BlobStore,
    loc: &Location,
    index_id: &str,
    shard: u32,
    path_type: i64,
) -> Result<Vec<String>> {
    let unsupported = |what: String| {
        Error::new(
            loc.clone(),
            ErrorKind::Unsupported(format!(
                "hashed shard paths (OpenSearch shard_path_type {path_type}): {what}"
            )),
        )
    };
    let listed = store
        .list(SHARD_PATHS_DIR)
        .map_err(|e| Error::new(loc.clone(), e))?;
    let file = listed
        .iter()
        .map(|b| b.name.as_str())
        .find(|name| {
            let rest = name.strip_prefix("snapshot_path_").unwrap_or(name);
            rest.strip_prefix(index_id)
                .is_some_and(|r| r.starts_with('.') || r.starts_with('#'))
        })
        .ok_or_else(|| {
            unsupported(format!(
                "{SHARD_PATHS_DIR}/ lists no shard paths for index id {index_id}, so its shards cannot be found"
            ))
        })?;
    let path = format!("{SHARD_PATHS_DIR}/{file}");
    let at = Location {
        file: Some(path.clone()),
        ..loc.clone()
    };
    let bytes = store.read(&path).map_err(|e| Error::new(at.clone(), e))?;
    let corrupt = |what: String| Error::new(at.clone(), ErrorKind::Corrupt(what));
    let parsed: ShardPathsFile = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(format!("not a shard paths list: {e}")))?;
    if let Some(id) = parsed.index_id.as_deref().filter(|id| *id != index_id) {
        return Err(corrupt(format!(
            "lists the shards of index id {id}, not {index_id}"
        )));
    }
    let listed_path = parsed.paths.get(shard as usize).ok_or_else(|| {
        corrupt(format!(
            "lists {} shard path(s), none for shard {shard}",
            parsed.paths.len()
        ))
    })?;
    let parts: Vec<&str> = listed_path.split('/').filter(|p| !p.is_empty()).collect();
    let tail = ["indices", index_id, &shard.to_string()].map(str::to_string);
    if parts.len() < 3 || parts[parts.len() - 3..] != tail {
        return Err(corrupt(format!(
            "the path of shard {shard}, {listed_path:?}, does not end in indices/{index_id}/{shard}"
        )));
    }
    Ok((0..=parts.len() - 3)
        .map(|from| parts[from..].join("/"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::LocalDirectory;

    fn store_with(file: &str, body: &str) -> (tempfile::TempDir, LocalDirectory) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(SHARD_PATHS_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), body).unwrap();
        let store = LocalDirectory::new(tmp.path());
        (tmp, store)
    }

    #[test]
    fn the_listed_path_and_its_suffixes_are_the_candidates() {
        let (_t, store) = store_with(
            "snapshot_path_AbC.logs.2.2.1",
            r#"{"indexId":"AbC","indexName":"logs","number_of_shards":2,"shard_path_type":2,
                "shard_path_hash_algorithm":1,"paths":["base/X0101/indices/AbC/0/","base/Y1100/indices/AbC/1/"]}"#,
        );
        let dirs = hashed_shard_dirs(&store, &Location::default(), "AbC", 1, 2).unwrap();
        assert_eq!(
            dirs,
            [
                "base/Y1100/indices/AbC/1",
                "Y1100/indices/AbC/1",
                "indices/AbC/1"
            ]
        );
    }

    #[test]
    fn older_names_with_hashes_between_the_parts_are_found() {
        let (_t, store) = store_with(
            "snapshot_path_AbC#logs#1#1#1",
            r#"{"paths":["Z0001/indices/AbC/0"]}"#,
        );
        let dirs = hashed_shard_dirs(&store, &Location::default(), "AbC", 0, 1).unwrap();
        assert_eq!(dirs[0], "Z0001/indices/AbC/0");
    }

    #[test]
    fn a_missing_or_wrong_list_is_a_clear_error() {
        let (_t, store) = store_with(
            "snapshot_path_Other.x.1.1.1",
            r#"{"paths":["a/indices/Other/0"]}"#,
        );
        let e = hashed_shard_dirs(&store, &Location::default(), "AbC", 0, 1).unwrap_err();
        assert!(
            e.to_string().contains("no shard paths for index id AbC"),
            "{e}"
        );

        let (_t, store) = store_with(
            "snapshot_path_AbC.x.1.1.1",
            r#"{"paths":["a/indices/Other/0"]}"#,
        );
        let e = hashed_shard_dirs(&store, &Location::default(), "AbC", 0, 1).unwrap_err();
        assert!(
            e.to_string().contains("does not end in indices/AbC/0"),
            "{e}"
        );
        let e = hashed_shard_dirs(&store, &Location::default(), "AbC", 3, 1).unwrap_err();
        assert!(e.to_string().contains("none for shard 3"), "{e}");

        let (_t, store) = store_with("snapshot_path_AbC.x.1.1.1", "not json");
        let e = hashed_shard_dirs(&store, &Location::default(), "AbC", 0, 1).unwrap_err();
        assert!(e.to_string().contains("snapshot_path_AbC.x.1.1.1"), "{e}");
    }
}
