//! Repositories written around real Lucene files, read back with our own SMILE decoder and
//! checked blob by blob.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use snapshot::repo::node::Node;
use snapshot_testkit::blobfmt::{self, DEFLATE_PREFIX};
use snapshot_testkit::lucene::base36;
use snapshot_testkit::{MetadataCompression, RepoBuilder, WriteOptions};

use snapshot_testkit::shared_dir;

fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn blob(path: &Path) -> blobfmt::ChecksummedBlob {
    let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    blobfmt::read_checksummed(&path.display().to_string(), &data).unwrap()
}

fn str_of<'a>(n: &'a Node, key: &str) -> &'a str {
    n.get(key)
        .and_then(Node::as_str)
        .unwrap_or_else(|| panic!("no string {key} in {n:?}"))
}

fn int_of(n: &Node, key: &str) -> i64 {
    n.get(key)
        .and_then(Node::as_i64)
        .unwrap_or_else(|| panic!("no int {key} in {n:?}"))
}

fn keys(n: &Node) -> Vec<&str> {
    n.as_object()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_str())
        .collect()
}

fn only_file(dir: &Path, prefix: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    assert_eq!(found.len(), 1, "{prefix}* in {}: {found:?}", dir.display());
    found.remove(0)
}

/// The shard-0 directory of `posts_2024_01_01` in the ES 7.10 fixture: the shard snapshot's
/// `files[]` maps each Lucene file to its blob, and `v__` files' bytes are their `meta_hash`.
/// Returns the Lucene files and the fixture's own file entries.
fn reassemble_fixture_shard(out: &Path) -> (BTreeMap<String, Vec<u8>>, Vec<Node>) {
    let repo = shared_dir().join("fixtures/snapshots/ES_7_10_Single");
    let data: Value = serde_json::from_slice(&fs::read(repo.join("index-1")).unwrap()).unwrap();
    let id = data["indices"]["posts_2024_01_01"]["id"].as_str().unwrap();
    let shard = repo.join("indices").join(id).join("0");
    let snap = blob(&only_file(&shard, "snap-")).document;
    let entries = snap.get("files").and_then(Node::as_array).unwrap().to_vec();
    let mut files = BTreeMap::new();
    fs::create_dir_all(out).unwrap();
    for f in &entries {
        let name = str_of(f, "name");
        let bytes = if name.starts_with("v__") {
            f.get("meta_hash")
                .and_then(Node::as_binary)
                .unwrap()
                .to_vec()
        } else {
            fs::read(shard.join(name)).unwrap()
        };
        assert_eq!(bytes.len() as i64, int_of(f, "length"));
        fs::write(out.join(str_of(f, "physical_name")), &bytes).unwrap();
        files.insert(str_of(f, "physical_name").to_string(), bytes);
    }
    (files, entries)
}

#[test]
fn a_fixture_shard_rewrapped_with_parts_compression_and_virtual_files() {
    let tmp = tempfile::tempdir().unwrap();
    let lucene_dir = tmp.path().join("shard0");
    let (originals, es_entries) = reassemble_fixture_shard(&lucene_dir);
    let root = tmp.path().join("repo");
    let opts = WriteOptions {
        compress: MetadataCompression::Deflate,
        part_size: Some(100),
        virtual_small_files: true,
        seed: Some(1),
        ..WriteOptions::default()
    };
    let mut repo = RepoBuilder::new(&root, opts);
    let mapping = json!({"properties": {"author": {"type": "keyword"}}});
    repo.add_index(
        "posts",
        &[lucene_dir],
        vec![("soft_deletes.enabled".into(), "true".into())],
        mapping.clone(),
    );
    let written = repo.write_snapshot("snap-1").unwrap();
    let (uuid, index) = (&written.uuid, &written.indices[0]);

    // index.latest and index-0: plain JSON RepositoryData shaped like ES 7.10's.
    assert_eq!(
        fs::read(root.join("index.latest")).unwrap(),
        0i64.to_be_bytes()
    );
    let data: Value = serde_json::from_slice(&fs::read(root.join("index-0")).unwrap()).unwrap();
    assert_eq!(data["min_version"], "7.9.0");
    let snap = &data["snapshots"][0];
    assert_eq!(
        (&snap["name"], &snap["uuid"], &snap["state"]),
        (&json!("snap-1"), &json!(uuid), &json!(1))
    );
    assert_eq!(snap["version"], "7.10.2");
    let identifier = snap["index_metadata_lookup"][&index.id].as_str().unwrap();
    assert_eq!(
        data["index_metadata_identifiers"][identifier],
        json!(index.metadata_blob_id)
    );
    let entry = &data["indices"]["posts"];
    assert_eq!(
        (&entry["id"], &entry["snapshots"]),
        (&json!(index.id), &json!([uuid]))
    );
    assert_eq!(
        entry["shard_generations"],
        json!([index.shards[0].generation])
    );

    // Every metadata blob: CodecUtil header, DFL\0 body, valid CRC, the right codec.
    let shard_dir = root.join("indices").join(&index.id).join("0");
    let metadata_blobs = [
        (root.join(format!("snap-{uuid}.dat")), "snapshot"),
        (root.join(format!("meta-{uuid}.dat")), "metadata"),
        (
            root.join(format!(
                "indices/{}/meta-{}.dat",
                index.id, index.metadata_blob_id
            )),
            "index-metadata",
        ),
        (shard_dir.join(format!("snap-{uuid}.dat")), "snapshot"),
        (
            shard_dir.join(format!("index-{}", index.shards[0].generation)),
            "snapshots",
        ),
    ];
    for (path, codec) in &metadata_blobs {
        let raw = fs::read(path).unwrap();
        assert_eq!(
            raw[5 + codec.len() + 4..][..4],
            *DEFLATE_PREFIX,
            "{}",
            path.display()
        );
        let stored = u64::from_be_bytes(raw[raw.len() - 8..].try_into().unwrap());
        assert_eq!(stored, u64::from(crc32fast::hash(&raw[..raw.len() - 8])));
        let b = blob(path);
        assert_eq!(
            (b.codec.as_str(), b.compression),
            (*codec, MetadataCompression::Deflate),
            "{}",
            path.display()
        );
    }

    let info = blob(&metadata_blobs[0].0).document;
    let info = info.get("snapshot").unwrap();
    assert_eq!(
        (str_of(info, "name"), str_of(info, "state")),
        ("snap-1", "SUCCESS")
    );
    assert_eq!(
        (int_of(info, "version_id"), int_of(info, "total_shards")),
        (7_100_299, 1)
    );

    let meta = blob(&metadata_blobs[2].0).document;
    let meta = meta.get("posts").unwrap();
    let settings = meta.get("settings").unwrap();
    assert_eq!(
        settings.get("index.number_of_shards"),
        Some(&Node::String("1".into()))
    );
    assert_eq!(str_of(settings, "index.version.created"), "7100299");
    assert_eq!(str_of(settings, "index.soft_deletes.enabled"), "true");
    assert_eq!(
        meta.get("mappings"),
        Some(&Node::Array(vec![Node::from_json(
            &json!({"_doc": mapping})
        )]))
    );

    // The shard's files: parts of at most 100 bytes that concatenate to the original file,
    // v__ files with no blob, checksums from the Lucene footers, ES's key order.
    let shard_snap = blob(&metadata_blobs[3].0).document;
    assert_eq!(str_of(&shard_snap, "name"), "snap-1");
    let files = shard_snap.get("files").and_then(Node::as_array).unwrap();
    assert_eq!(files.len(), originals.len());
    assert_eq!(int_of(&shard_snap, "number_of_files"), files.len() as i64);
    let mut blobs_seen = 0;
    for f in files {
        let physical = str_of(f, "physical_name");
        let original = &originals[physical];
        let name = str_of(f, "name");
        let footer = u64::from_be_bytes(original[original.len() - 8..].try_into().unwrap());
        assert_eq!(str_of(f, "checksum"), base36(footer), "{physical}");
        assert_eq!(
            (int_of(f, "length"), int_of(f, "part_size")),
            (original.len() as i64, 100)
        );
        assert_eq!(str_of(f, "written_by"), "8.7.0");
        let es = es_entries
            .iter()
            .find(|e| str_of(e, "physical_name") == physical)
            .unwrap();
        assert_eq!(
            keys(f),
            keys(es),
            "{physical}: FileInfo keys as ES writes them"
        );
        let small = physical.starts_with("segments_") || physical.ends_with(".si");
        assert_eq!(name.starts_with("v__"), small, "{physical} is {name}");
        if small {
            assert_eq!(
                f.get("meta_hash").and_then(Node::as_binary),
                Some(&original[..])
            );
            assert!(!shard_dir.join(name).exists());
            continue;
        }
        let parts = original.len().div_ceil(100);
        let mut joined = Vec::new();
        for i in 0..parts {
            let part_name = if parts > 1 {
                format!("{name}.part{i}")
            } else {
                name.to_string()
            };
            let part = fs::read(shard_dir.join(&part_name)).unwrap();
            assert!(
                part.len() <= 100 && !part.is_empty(),
                "{part_name}: {} bytes",
                part.len()
            );
            joined.extend(part);
            blobs_seen += 1;
        }
        assert!(parts == 1 || !shard_dir.join(name).exists());
        assert!(!shard_dir.join(format!("{name}.part{parts}")).exists());
        assert_eq!(&joined, original, "{physical}");
    }
    let data_blobs = |dir: &Path| {
        fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("__")
            })
            .count()
    };
    assert_eq!(data_blobs(&shard_dir), blobs_seen, "no stray data blobs");
    assert!(blobs_seen > files.len(), "multi-part blobs were written");

    // A second snapshot reuses every blob, bumps the generation, replaces the shard index-<gen>.
    let second = repo.write_snapshot("snap-2").unwrap();
    assert_eq!(second.generation, 1);
    assert_eq!(
        fs::read(root.join("index.latest")).unwrap(),
        1i64.to_be_bytes()
    );
    assert_eq!(second.indices[0].shards[0].uploaded, 0);
    assert_eq!(second.indices[0].metadata_blob_id, index.metadata_blob_id);
    assert_eq!(data_blobs(&shard_dir), blobs_seen);
    assert!(
        !metadata_blobs[4].0.exists(),
        "the old shard generation is gone"
    );
    let gen2 = &second.indices[0].shards[0].generation;
    let shard_index = blob(&shard_dir.join(format!("index-{gen2}"))).document;
    assert_eq!(
        keys(shard_index.get("snapshots").unwrap()),
        ["snap-1", "snap-2"]
    );
    assert_eq!(
        shard_index
            .get("files")
            .and_then(Node::as_array)
            .unwrap()
            .len(),
        files.len()
    );
    let second_snap = blob(&shard_dir.join(format!("snap-{}.dat", second.uuid))).document;
    assert_eq!(int_of(&second_snap, "number_of_files"), 0);
    assert_eq!(second_snap.get("files"), shard_snap.get("files"));
    let data: Value = serde_json::from_slice(&fs::read(root.join("index-1")).unwrap()).unwrap();
    assert_eq!(data["snapshots"].as_array().unwrap().len(), 2);
    assert_eq!(data["indices"]["posts"]["shard_generations"], json!([gen2]));
    assert!(root.join("index-0").exists());
}

#[test]
fn lucene_8_and_9_directories_in_the_es_6_8_style() {
    let tmp = tempfile::tempdir().unwrap();
    let data = project_dir().join("tests/data/lucene");
    let opts = WriteOptions {
        virtual_small_files: false,
        seed: Some(2),
        ..WriteOptions::default()
    };
    let mut repo = RepoBuilder::new(tmp.path(), opts);
    repo.add_index(
        "two",
        &[data.join("l8_fast"), data.join("l9_mixed")],
        vec![],
        Value::Null,
    );
    let written = repo.write_snapshot("s").unwrap();
    let index = &written.indices[0];
    for (shard, lucene) in index.shards.iter().zip(["8.8.1", "9.8.0"]) {
        for f in &shard.files {
            // Uploaded like ES 6.8: a blob for every file, meta_hash beside it for the small ones.
            assert!(f.blob_name.starts_with("__"));
            assert_eq!(
                f.meta_hash.is_some(),
                f.physical_name.starts_with("segments_") || f.physical_name.ends_with(".si")
            );
            assert_eq!(f.part_size, i64::MAX as u64);
            assert_eq!(f.written_by, lucene, "{}", f.physical_name);
        }
        let shard_dir = tmp.path().join("indices").join(&index.id);
        for f in &shard.files {
            let n = index
                .shards
                .iter()
                .position(|s| std::ptr::eq(s, shard))
                .unwrap();
            let bytes = fs::read(shard_dir.join(n.to_string()).join(&f.blob_name)).unwrap();
            assert_eq!(bytes.len() as u64, f.length);
            assert_eq!(&bytes[..4], &[0x3F, 0xD7, 0x6C, 0x17]);
        }
    }
    let meta = blob(&tmp.path().join(format!(
        "indices/{}/meta-{}.dat",
        index.id, index.metadata_blob_id
    )));
    assert_eq!(meta.compression, MetadataCompression::None);
    let body = meta.document.get("two").unwrap();
    assert_eq!(body.get("mappings"), Some(&Node::Array(vec![])));
    assert_eq!(int_of(body, "routing_num_shards"), 1024);
}

#[test]
fn the_same_seed_writes_the_same_bytes() {
    let data = project_dir().join("tests/data/lucene/l8_fast");
    let write = |root: &Path| {
        let opts = WriteOptions {
            compress: MetadataCompression::Deflate,
            part_size: Some(4096),
            seed: Some(9),
            ..WriteOptions::default()
        };
        let mut repo = RepoBuilder::new(root, opts);
        repo.add_index("i", std::slice::from_ref(&data), vec![], json!({}));
        repo.write_snapshot("a").unwrap();
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(a.path());
    write(b.path());
    let tree = |root: &Path| {
        let mut out = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.insert(
                        p.strip_prefix(root).unwrap().to_path_buf(),
                        fs::read(&p).unwrap(),
                    );
                }
            }
        }
        out
    };
    assert_eq!(tree(a.path()), tree(b.path()));
}

#[test]
fn a_directory_without_a_commit_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let mut repo = RepoBuilder::new(&tmp.path().join("repo"), WriteOptions::default());
    repo.add_index("x", &[empty], vec![], Value::Null);
    let err = repo.write_snapshot("s").unwrap_err();
    assert!(err.to_string().contains("no Lucene commit"), "{err}");
    assert!(matches!(
        repo.write_snapshot("s"),
        Err(snapshot_testkit::Error::NoCommit { .. })
    ));
}

#[test]
fn make_repo_writes_a_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let data = project_dir().join("tests/data/lucene");
    let out = tmp.path().join("repo");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_make-repo"))
        .arg("--out")
        .arg(&out)
        .arg("--index")
        .arg(format!(
            "a={},{}",
            data.join("l9_mixed").display(),
            data.join("l10_mixed").display()
        ))
        .args([
            "--snapshot",
            "one",
            "--snapshot",
            "two",
            "--compress",
            "--part-size",
            "65536",
        ])
        .args([
            "--virtual-small-files",
            "--setting",
            "a:refresh_interval=5s",
        ])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert_eq!(
        fs::read(out.join("index.latest")).unwrap(),
        1i64.to_be_bytes()
    );
    let data: Value = serde_json::from_slice(&fs::read(out.join("index-1")).unwrap()).unwrap();
    assert_eq!(
        data["indices"]["a"]["shard_generations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(stdout.contains("uploaded 0"), "{stdout}");
}

#[test]
fn hashed_shard_paths_are_found_through_their_list_and_a_missing_list_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = project_dir().join("tests/data/lucene");
    let opts = WriteOptions {
        seed: Some(3),
        hashed_shard_paths: Some(snapshot_testkit::HashedShardPaths {
            path_type: 1,
            listed_prefix: String::new(),
        }),
        ..WriteOptions::default()
    };
    let mut repo = RepoBuilder::new(tmp.path(), opts);
    repo.add_index("hashed", &[data.join("l8_fast")], vec![], Value::Null);
    let written = repo.write_snapshot("s").unwrap();
    let id = written.indices[0].id.clone();
    // Nothing under the fixed path: the shard is only where the list says.
    assert!(!tmp.path().join("indices").join(&id).join("0").exists());

    let open = || {
        let r = snapshot::Repository::open(std::sync::Arc::new(snapshot::LocalDirectory::new(
            tmp.path(),
        )))
        .unwrap();
        let snap = r.snapshot("s").unwrap();
        let meta = snap.index("hashed").unwrap();
        snap.shard(&meta, 0)
    };
    let shard = open().unwrap();
    assert!(
        shard.folder.ends_with(&format!("/indices/{id}/0")),
        "{}",
        shard.folder
    );
    assert!(!shard.folder.starts_with("indices/"), "{}", shard.folder);

    // HASHED_PREFIX under a base path: the listed folder lies outside the repository.
    let list = only_file(&tmp.path().join("snapshot_shard_paths"), "snapshot_path_");
    let text = fs::read_to_string(&list).unwrap();
    fs::write(
        &list,
        text.replace("\"H", "\"elsewhere/H")
            .replace("/indices", "/base/indices"),
    )
    .unwrap();
    let e = open().unwrap_err();
    assert!(e.to_string().contains("outside the base path"), "{e}");

    fs::remove_file(&list).unwrap();
    let e = open().unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("no shard paths for index id {id}")),
        "{msg}"
    );
    assert!(msg.contains("hashed"), "{msg}");
}
