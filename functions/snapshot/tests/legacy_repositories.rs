//! Repositories written by real Elasticsearch 1.7.6 and 2.4.6 nodes (Maven Central, in one JVM,
//! driven by `tests/real-snapshots/generate_legacy.py`) open in their own layout: no `index-N`,
//! snapshots named by their blobs (`snapshot-<name>` in 1.x, `snap-<name>.dat` in 2.x), index
//! folders named by index, mapping types. What the node reported at snapshot time is the truth:
//! the snapshots in the order they were taken, the indices of each, their shard counts and
//! mapping types; each shard's file list must assemble from its blobs (`__N`, `.partK` in the
//! compressed repository) into files of the listed length whose Lucene footer checksum is the
//! one the list records.

use std::collections::BTreeSet;
use std::sync::Arc;

use backfill_harness::{RealSnapshots, RealSource, TruthDocument, TypedTruthDocument};
use snapshot::lucene::codec::{to_base36, verify_footer, FOOTER_MAGIC};
use snapshot::repo::{Layout, MetadataFormat, SnapshotState};
use snapshot::{
    BlobError, BlobMeta, BlobStore, ErrorKind, LocalDirectory, ReadOptions, Repository,
    ShardEntryRef, ShardReader,
};

fn real(source: RealSource) -> RealSnapshots {
    RealSnapshots::get(source).unwrap_or_else(|e| panic!("{}: {e}", source.name()))
}

fn open(real: &RealSnapshots, name: &str) -> Repository {
    Repository::open(Arc::new(LocalDirectory::new(real.repository(name))))
        .unwrap_or_else(|e| panic!("{} {name}: {e}", real.version))
}

/// Snapshots, their order, states and writer version, and the format of their blobs.
fn lists_snapshots(source: RealSource, format: MetadataFormat) {
    let real = real(source);
    assert_eq!(real.repositories, ["compressed", "plain"]);
    assert!(real.snapshots.len() >= 3);
    for name in &real.repositories {
        let repo = open(&real, name);
        let data = repo.data();
        assert_eq!(data.layout, Layout::Legacy, "{name}");
        let names: Vec<&str> = data.snapshots.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names, real.snapshots,
            "{} {name}: snapshots in order",
            real.version
        );
        for s in &data.snapshots {
            assert_eq!(s.state, Some(SnapshotState::Success), "{name} {}", s.name);
            assert_eq!(s.version.as_deref(), Some(real.version.as_str()));
            assert_eq!(s.format, format);
            let info = repo.snapshot(&s.name).unwrap().info().unwrap();
            assert_eq!(info.state.as_deref(), Some("SUCCESS"));
            assert!(info.start_time.unwrap() <= info.end_time.unwrap());
        }
    }
}

/// Indices, shard counts and mapping types of every snapshot, as the node reported them.
fn lists_indices_and_types(source: RealSource) {
    let real = real(source);
    for name in &real.repositories {
        let repo = open(&real, name);
        for snapshot in &real.snapshots {
            let what = format!("{} {name} {snapshot}", real.version);
            let snap = repo.snapshot(snapshot).unwrap();
            let summary = real.indices(snapshot).unwrap();
            let summary = summary.as_object().unwrap();
            let want: Vec<&String> = summary.keys().collect();
            assert_eq!(
                snap.index_names().iter().collect::<Vec<_>>(),
                want,
                "{what}"
            );
            assert_eq!(snap.info().unwrap().indices.len(), want.len(), "{what}");
            for (index, truth) in summary {
                let meta = snap.index(index).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(meta.repository_id, *index, "{what}: folder by name");
                assert_eq!(
                    u64::from(meta.number_of_shards),
                    truth["shards"].as_u64().unwrap(),
                    "{what} {index}"
                );
                // The node keeps its mappings in a hash map: their order is not the truth.
                let types: BTreeSet<&str> = meta
                    .mappings
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(t, _)| t.as_str())
                    .collect();
                let want: BTreeSet<&str> = truth["types"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap())
                    .collect();
                assert_eq!(types, want, "{what} {index}: mapping types");
                assert_eq!(meta.version_created.as_deref(), Some(real.version.as_str()));
                // The mapping bodies arrive as JSON objects (1.x/2.x write them as maps).
                for (t, body) in meta.mappings.as_object().unwrap() {
                    assert!(body.get("properties").is_some(), "{what} {index} {t}");
                }
                if index == "packed" {
                    // 1.x only: `_source` stored LZF-compressed, as the mapping records.
                    let source = meta.mappings.get("doc").and_then(|d| d.get("_source"));
                    let compress = source.and_then(|s| s.get("compress"));
                    assert_eq!(compress.and_then(|c| c.as_bool()), Some(true), "{what}");
                }
            }
        }
    }
}

/// Every file of every shard: assembled from its blobs, of the listed length, and (where it
/// has a Lucene footer) with the listed checksum. Returns how many files had parts.
fn files_assemble_from_their_blobs(source: RealSource) {
    let real = real(source);
    for name in &real.repositories {
        let repo = open(&real, name);
        let (mut files, mut footers, mut parted) = (0, 0, 0);
        for snapshot in &real.snapshots {
            let snap = repo.snapshot(snapshot).unwrap();
            for index in snap.index_names() {
                let meta = snap.index(&index).unwrap();
                for shard in 0..meta.number_of_shards {
                    let what = format!("{} {name} {snapshot} {index}/{shard}", real.version);
                    let list = snap
                        .shard(&meta, shard)
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(list.folder, format!("indices/{index}/{shard}"));
                    let commits: Vec<&str> = list
                        .files
                        .iter()
                        .map(|f| f.physical_name.as_str())
                        .filter(|n| n.starts_with("segments_"))
                        .collect();
                    assert_eq!(commits.len(), 1, "{what}: one commit point");
                    assert!(list.files.iter().all(|f| f.blob_name.starts_with("__")));
                    let dir = snap.shard_directory(&list).unwrap();
                    for f in &list.files {
                        let bytes = dir.open(&f.physical_name).unwrap().read_all().unwrap();
                        assert_eq!(bytes.len() as u64, f.length, "{what} {}", f.physical_name);
                        files += 1;
                        parted += usize::from(f.number_of_parts() > 1);
                        let magic = bytes
                            .len()
                            .checked_sub(16)
                            .map(|at| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()));
                        if magic == Some(FOOTER_MAGIC) {
                            let stored = verify_footer(&bytes)
                                .unwrap_or_else(|e| panic!("{what} {}: {e}", f.physical_name));
                            assert_eq!(to_base36(stored), f.checksum, "{what} {}", f.physical_name);
                            footers += 1;
                        }
                    }
                }
            }
        }
        // Lucene 4.8+ ends every file of a commit with a footer.
        assert!(files > 50, "{name}: {files} files");
        assert_eq!(
            footers, files,
            "{} {name}: files with a footer",
            real.version
        );
        if name == "compressed" {
            assert!(
                parted > 0,
                "{name}: no file in .partN blobs (chunk_size 256kb)"
            );
        } else {
            assert_eq!(parted, 0, "{name}");
        }
    }
}

#[test]
fn elasticsearch_1_7_repositories_list_their_snapshots() {
    lists_snapshots(RealSource::Elasticsearch1_7, MetadataFormat::Legacy);
}

#[test]
fn elasticsearch_2_4_repositories_list_their_snapshots() {
    lists_snapshots(RealSource::Elasticsearch2_4, MetadataFormat::Checksummed);
}

#[test]
fn elasticsearch_1_7_indices_shards_and_mapping_types_are_the_nodes() {
    lists_indices_and_types(RealSource::Elasticsearch1_7);
}

#[test]
fn elasticsearch_2_4_indices_shards_and_mapping_types_are_the_nodes() {
    lists_indices_and_types(RealSource::Elasticsearch2_4);
}

#[test]
fn elasticsearch_1_7_shard_files_assemble_with_their_lengths_and_checksums() {
    files_assemble_from_their_blobs(RealSource::Elasticsearch1_7);
}

#[test]
fn elasticsearch_2_4_shard_files_assemble_with_their_lengths_and_checksums() {
    files_assemble_from_their_blobs(RealSource::Elasticsearch2_4);
}

/// Copies `files` (relative paths) of a real repository into a new folder, flat.
fn root_with(real: &RealSnapshots, repo: &str, files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let name = f.rsplit('/').next().unwrap();
        std::fs::copy(real.repository(repo).join(f), dir.path().join(name)).unwrap();
    }
    dir
}

#[test]
fn a_layout_the_reader_does_not_know_is_named_with_its_files_not_called_corrupt() {
    let es1 = real(RealSource::Elasticsearch1_7);
    let es2 = real(RealSource::Elasticsearch2_4);
    // Only the global metadata of a 1.x snapshot, only the index folder of a 2.x one.
    let cases = [
        root_with(&es1, "plain", &["metadata-snap-1"]),
        root_with(
            &es2,
            "plain",
            &[
                "indices/logs/meta-snap-1.dat",
                "indices/logs/meta-snap-2.dat",
            ],
        ),
    ];
    let hints = ["Elasticsearch 1.x", "Elasticsearch 2.x"];
    for (dir, hint) in cases.iter().zip(hints) {
        let e = Repository::open(Arc::new(LocalDirectory::new(dir.path()))).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{text}");
        assert!(!text.contains("corrupt"), "{text}");
        assert!(text.contains("layout this reader knows"), "{text}");
        assert!(text.contains(hint), "{text}");
        for f in std::fs::read_dir(dir.path()).unwrap() {
            let f = f.unwrap().file_name();
            assert!(text.contains(f.to_str().unwrap()), "{text} names {f:?}");
        }
    }
}

/// A store whose root listing shows only the `index` blob, as for a store that cannot list
/// by prefix; everything else reads through.
#[derive(Debug)]
struct ListsOnlyIndex(LocalDirectory);

impl BlobStore for ListsOnlyIndex {
    fn location(&self) -> String {
        self.0.location()
    }
    fn list(&self, dir: &str) -> Result<Vec<BlobMeta>, BlobError> {
        let mut listed = self.0.list(dir)?;
        if dir.is_empty() {
            listed.retain(|b| b.name == "index");
        }
        Ok(listed)
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, BlobError> {
        self.0.read(path)
    }
    fn read_range(&self, path: &str, offset: u64, len: usize) -> Result<Vec<u8>, BlobError> {
        self.0.read_range(path, offset, len)
    }
}

#[test]
fn without_a_listing_the_index_blob_names_the_snapshots() {
    for source in [RealSource::Elasticsearch1_7, RealSource::Elasticsearch2_4] {
        let real = real(source);
        for name in &real.repositories {
            let store = ListsOnlyIndex(LocalDirectory::new(real.repository(name)));
            let repo = Repository::open(Arc::new(store))
                .unwrap_or_else(|e| panic!("{} {name}: {e}", real.version));
            let names: Vec<&str> = repo
                .data()
                .snapshots
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            assert_eq!(names, real.snapshots, "{} {name}", real.version);
        }
    }
    // 1.x compresses the list itself when the repository compresses (LZF).
    let es1 = real(RealSource::Elasticsearch1_7);
    let raw = std::fs::read(es1.repository("compressed").join("index")).unwrap();
    assert_eq!(&raw[..2], b"ZV");
}

/// Every live document of each real repository as the reader sees it (type included).
fn read(repo: &Repository, snapshot: &str) -> Vec<TypedTruthDocument> {
    let snap = repo.snapshot(snapshot).unwrap();
    let mut docs = Vec::new();
    for index in snap.index_names() {
        let meta = snap.index(&index).unwrap();
        for shard in 0..meta.number_of_shards {
            let mut reader = ShardReader::open(&snap, &index, shard, ReadOptions::default())
                .unwrap_or_else(|e| panic!("{snapshot} {index}/{shard}: {e}"));
            while let Some(entry) = reader
                .next_entry_ref()
                .unwrap_or_else(|e| panic!("{snapshot} {index}/{shard}: {e}"))
            {
                let ShardEntryRef::Document(d) = entry else {
                    panic!("{snapshot} {index}/{shard}: a document without _source")
                };
                docs.push(TypedTruthDocument {
                    doc_type: d.doc_type.unwrap_or_default(),
                    doc: TruthDocument {
                        index: index.clone(),
                        shard,
                        id: d.id,
                        routing: d.routing,
                        source: Some(String::from_utf8(d.source.to_vec()).unwrap()),
                    },
                });
            }
        }
    }
    docs.sort();
    docs
}

fn documents_are_the_nodes(source: RealSource) {
    let real = real(source);
    for name in &real.repositories {
        let repo = open(&real, name);
        for snapshot in &real.snapshots {
            let want = real.typed_truth(snapshot).unwrap();
            let got = read(&repo, snapshot);
            let shared: BTreeSet<_> = want
                .iter()
                .filter(|d| d.doc.id.starts_with("shared-"))
                .map(|d| (&d.doc_type, &d.doc.id))
                .collect();
            assert!(shared.len() > 2, "{name} {snapshot}: one _id in two types");
            assert_eq!(got.len(), want.len(), "{name} {snapshot}: document count");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g, w, "{name} {snapshot}: first difference");
            }
        }
    }
    // 2.4: the repository it took over from 1.7 (1.x snapshots: the 1.7 truth).
    if let Some(up) = &real.upgraded {
        let es1 = RealSnapshots::get(RealSource::Elasticsearch1_7).unwrap();
        let repo = open(&real, &up.repository);
        let (last, old) = up.snapshots.split_last().unwrap();
        for (snapshot, truth) in old
            .iter()
            .map(|s| (s, es1.typed_truth(s).unwrap()))
            .chain([(last, real.typed_truth(&up.truth_of).unwrap())])
        {
            assert_eq!(read(&repo, snapshot), truth, "upgraded {snapshot}");
        }
    }
}

#[test]
fn elasticsearch_1_7_documents_read_exactly_as_the_node_held_them() {
    documents_are_the_nodes(RealSource::Elasticsearch1_7);
}

#[test]
fn elasticsearch_2_4_documents_read_exactly_as_the_node_held_them() {
    documents_are_the_nodes(RealSource::Elasticsearch2_4);
}

#[test]
fn a_1_x_repository_that_2_x_took_over_holds_both_formats() {
    // 1.7 wrote snap-1..3 (`snapshot-<name>`); 2.4 added snap-4 (`snap-snap-4.dat`) into the
    // same index folders, its `__N` blobs continuing the 1.x ones.
    let es2 = real(RealSource::Elasticsearch2_4);
    let es1 = real(RealSource::Elasticsearch1_7);
    let up = es2
        .upgraded
        .clone()
        .expect("the 2.4 source takes over a 1.7 repository");
    let repo = open(&es2, &up.repository);
    let got: Vec<(&str, MetadataFormat, Option<&str>)> = repo
        .data()
        .snapshots
        .iter()
        .map(|s| (s.name.as_str(), s.format, s.version.as_deref()))
        .collect();
    let (last, old) = up.snapshots.split_last().unwrap();
    let mut want: Vec<(&str, MetadataFormat, Option<&str>)> = old
        .iter()
        .map(|s| {
            (
                s.as_str(),
                MetadataFormat::Legacy,
                Some(es1.version.as_str()),
            )
        })
        .collect();
    want.push((
        last,
        MetadataFormat::Checksummed,
        Some(es2.version.as_str()),
    ));
    assert_eq!(got, want);
    for (snapshot, truth_source, truth_of) in
        old.iter()
            .map(|s| (s, &es1, s.as_str()))
            .chain([(last, &es2, up.truth_of.as_str())])
    {
        let snap = repo.snapshot(snapshot).unwrap();
        let summary = truth_source.indices(truth_of).unwrap();
        let summary = summary.as_object().unwrap();
        assert_eq!(
            snap.index_names().iter().collect::<Vec<_>>(),
            summary.keys().collect::<Vec<_>>(),
            "{snapshot}"
        );
        for (index, truth) in summary {
            let meta = snap.index(index).unwrap();
            assert_eq!(
                u64::from(meta.number_of_shards),
                truth["shards"].as_u64().unwrap()
            );
            assert_eq!(
                meta.version_created.as_deref(),
                Some(truth_source.version.as_str())
            );
            for shard in 0..meta.number_of_shards {
                let list = snap.shard(&meta, shard).unwrap();
                let dir = snap.shard_directory(&list).unwrap();
                for f in &list.files {
                    let bytes = dir.open(&f.physical_name).unwrap().read_all().unwrap();
                    let stored = verify_footer(&bytes).unwrap_or_else(|e| {
                        panic!("{snapshot} {index}/{shard} {}: {e}", f.physical_name)
                    });
                    assert_eq!(to_base36(stored), f.checksum);
                }
            }
        }
    }
}
