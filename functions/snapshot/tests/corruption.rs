//! A corrupt, truncated or missing blob is an error that names where it is, never a panic and
//! never a wrong document.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use snapshot::{ErrorKind, LocalDirectory, ReadOptions, Repository, ShardReader};

const REPO: &str = "ES_7_10_Updates_Deletes_wo_Soft";
const SNAPSHOT: &str = "rfs_snapshot";
const INDEX: &str = "test_updates_deletes";

/// A private copy of a shared fixture repository, to damage.
fn copy_repo(name: &str) -> (tempfile::TempDir, PathBuf) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), &target).unwrap();
                let mut p = std::fs::metadata(&target).unwrap().permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                p.set_readonly(false);
                std::fs::set_permissions(&target, p).unwrap();
            }
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join(name);
    copy(
        &common::shared_dir().join("fixtures/snapshots").join(name),
        &root,
    );
    (tmp, root)
}

/// The blob path holding a Lucene file of shard 0.
fn blob_of(root: &Path, physical: &str) -> PathBuf {
    let repo = Repository::open(Arc::new(LocalDirectory::new(root))).unwrap();
    let snap = repo.snapshot(SNAPSHOT).unwrap();
    let meta = snap.index(INDEX).unwrap();
    let shard = snap.shard(&meta, 0).unwrap();
    let f = shard
        .files
        .iter()
        .find(|f| f.physical_name == physical)
        .unwrap();
    root.join(&shard.folder).join(&f.blob_name)
}

/// The Lucene files of shard 0 with this extension.
fn files_with_extension(root: &Path, ext: &str) -> Vec<String> {
    let repo = Repository::open(Arc::new(LocalDirectory::new(root))).unwrap();
    let snap = repo.snapshot(SNAPSHOT).unwrap();
    let meta = snap.index(INDEX).unwrap();
    let mut names: Vec<String> = snap
        .shard(&meta, 0)
        .unwrap()
        .files
        .into_iter()
        .map(|f| f.physical_name)
        .filter(|n| n.ends_with(ext))
        .collect();
    names.sort();
    names
}

/// Reads every document of shard 0; returns the first error.
fn read_shard(root: &Path) -> Result<usize, snapshot::Error> {
    let repo = Repository::open(Arc::new(LocalDirectory::new(root)))?;
    let snap = repo.snapshot(SNAPSHOT)?;
    let mut reader = ShardReader::open(&snap, INDEX, 0, ReadOptions::default())?;
    let mut n = 0;
    while reader.next_document()?.is_some() {
        n += 1;
    }
    Ok(n)
}

fn assert_names_everything(e: &snapshot::Error, file: &str) {
    let msg = e.to_string();
    for part in [REPO, SNAPSHOT, INDEX, "shard 0", file] {
        assert!(msg.contains(part), "{msg:?} does not name {part}");
    }
}

#[test]
fn the_undamaged_copy_reads_fine() {
    let (_tmp, root) = copy_repo(REPO);
    assert_eq!(read_shard(&root).unwrap(), 3);
}

#[test]
fn a_flipped_byte_in_stored_fields_is_a_checksum_error() {
    let (_tmp, root) = copy_repo(REPO);
    let blob = blob_of(&root, "_3.fdt");
    let mut data = std::fs::read(&blob).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0x01;
    std::fs::write(&blob, data).unwrap();
    let e = read_shard(&root).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Checksum { .. }), "{e}");
    assert_names_everything(&e, "_3.fdt");
}

#[test]
fn a_truncated_blob_is_an_error() {
    let (_tmp, root) = copy_repo(REPO);
    let blob = blob_of(&root, "_3.fdt");
    let data = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, &data[..data.len() - 5]).unwrap();
    let e = read_shard(&root).unwrap_err();
    assert_names_everything(&e, "_3.fdt");
}

#[test]
fn a_missing_blob_is_an_error_naming_the_blob() {
    let (_tmp, root) = copy_repo(REPO);
    let blob = blob_of(&root, "_3.fnm");
    std::fs::remove_file(&blob).unwrap();
    let e = read_shard(&root).unwrap_err();
    assert!(
        matches!(
            e.kind,
            ErrorKind::Blob(snapshot::BlobError::NotFound { .. })
        ),
        "{e}"
    );
    assert_names_everything(&e, "_3.fnm");
    assert!(e
        .to_string()
        .contains(blob.file_name().unwrap().to_str().unwrap()));
}

#[test]
fn a_wrong_checksum_in_a_footer_is_detected() {
    let (_tmp, root) = copy_repo(REPO);
    let blob = blob_of(&root, "_3.fnm");
    let mut data = std::fs::read(&blob).unwrap();
    let n = data.len();
    data[n - 1] ^= 0x40;
    std::fs::write(&blob, data).unwrap();
    let e = read_shard(&root).unwrap_err();
    assert_names_everything(&e, "_3.fnm");
    assert!(e.to_string().contains("checksum"), "{e}");
}

#[test]
fn a_file_changed_with_a_consistent_footer_does_not_match_the_snapshot_checksum() {
    // A valid Lucene file, but not the one the snapshot recorded: renaming `_source` in the
    // field infos would silently drop every document if only the footer were trusted.
    let (_tmp, root) = copy_repo(REPO);
    let fnm = files_with_extension(&root, ".fnm");
    let blob = blob_of(&root, &fnm[0]);
    let mut data = std::fs::read(&blob).unwrap();
    let at = data
        .windows(7)
        .position(|w| w == b"_source")
        .expect("_source field");
    data[at + 6] = b'f';
    let n = data.len();
    let crc = crc32fast::hash(&data[..n - 8]) as u64;
    data[n - 8..].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(&blob, data).unwrap();
    let e = read_shard(&root).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Checksum { .. }), "{e}");
    assert!(e.to_string().contains("snapshot metadata"), "{e}");
    assert_names_everything(&e, &fnm[0]);
}

#[test]
fn a_flipped_byte_in_shard_metadata_names_the_metadata_blob() {
    let (_tmp, root) = copy_repo(REPO);
    let dir = root.join("indices/-lYIRDVeQqWB1FUYhr8Mmg/0");
    let snap = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("snap-")
        })
        .unwrap();
    let mut data = std::fs::read(&snap).unwrap();
    data[40] ^= 0x20;
    std::fs::write(&snap, data).unwrap();
    let e = read_shard(&root).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("snap-") && msg.contains(INDEX) && msg.contains("shard 0"),
        "{msg}"
    );
}

#[test]
fn a_damaged_repository_index_is_an_error() {
    let (_tmp, root) = copy_repo(REPO);
    std::fs::write(root.join("index-0"), b"{\"snapshots\": [").unwrap();
    let e = read_shard(&root).unwrap_err();
    assert!(e.to_string().contains("index-0"), "{e}");
}

#[test]
fn random_damage_never_panics_and_never_yields_a_wrong_document() {
    // Every byte of every blob of the shard, flipped one at a time (a sample of positions).
    let (_tmp, root) = copy_repo(REPO);
    let shard_dir = root.join("indices/-lYIRDVeQqWB1FUYhr8Mmg/0");
    let good = read_shard(&root).unwrap();
    for entry in std::fs::read_dir(&shard_dir).unwrap() {
        let path = entry.unwrap().path();
        let original = std::fs::read(&path).unwrap();
        for pos in (0..original.len()).step_by(7) {
            let mut damaged = original.clone();
            damaged[pos] ^= 0x5A;
            std::fs::write(&path, &damaged).unwrap();
            match read_shard(&root) {
                Err(_) => {}
                // A byte the reader never needs (e.g. postings inside a compound file).
                Ok(n) => assert_eq!(n, good, "{} byte {pos}", path.display()),
            }
        }
        std::fs::write(&path, &original).unwrap();
    }
}

/// A copy of the generated Lucene 9.8 index `l9_100k` whose `_6.fdt` header is patched (and its
/// footer checksum recomputed, so the file is otherwise intact).
fn read_with_patched_fdt(patch: impl Fn(&mut Vec<u8>)) -> snapshot::Error {
    let src = common::project_dir().join("tests/data/lucene/l9_100k");
    let tmp = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), tmp.path().join(e.file_name())).unwrap();
    }
    let fdt = tmp.path().join("_6.fdt");
    let mut data = std::fs::read(&fdt).unwrap();
    patch(&mut data);
    let n = data.len();
    let crc = crc32fast::hash(&data[..n - 8]) as u64;
    data[n - 8..].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(&fdt, data).unwrap();
    let store = Arc::new(LocalDirectory::new(tmp.path()));
    let dir = snapshot::lucene::Directory::from_blob_folder(store, "").unwrap();
    let loc = snapshot::Location {
        index: Some("patched".into()),
        shard: Some(0),
        ..Default::default()
    };
    let mut reader = ShardReader::from_directory(dir, loc, ReadOptions::default()).unwrap();
    loop {
        match reader.next_document() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the patched file was read without complaint"),
            Err(e) => return e,
        }
    }
}

#[test]
fn a_stored_fields_codec_we_cannot_read_is_named_with_its_file() {
    let e = read_with_patched_fdt(|data| {
        let at = data
            .windows(28)
            .position(|w| w == b"Lucene90StoredFieldsFastData")
            .unwrap();
        data[at..at + 28].copy_from_slice(b"Lucene90StoredFieldsZstdData");
    });
    assert!(matches!(e.kind, ErrorKind::UnsupportedCodec { .. }), "{e}");
    let msg = e.to_string();
    for part in [
        "Lucene90StoredFieldsZstdData",
        "_6.fdt",
        "zstd",
        "index patched",
        "shard 0",
    ] {
        assert!(msg.contains(part), "{msg:?} lacks {part}");
    }
}

#[test]
fn an_unknown_format_version_is_named_with_its_file() {
    let e = read_with_patched_fdt(|data| {
        let at = data
            .windows(28)
            .position(|w| w == b"Lucene90StoredFieldsFastData")
            .unwrap();
        data[at + 28..at + 32].copy_from_slice(&7i32.to_be_bytes());
    });
    let msg = e.to_string();
    assert!(
        matches!(e.kind, ErrorKind::UnsupportedCodec { version: 7, .. }),
        "{msg}"
    );
    assert!(
        msg.contains("Lucene90StoredFieldsFastData") && msg.contains("_6.fdt"),
        "{msg}"
    );
}

/// The files of a generated Lucene index (`tests/data/lucene/<case>`), in memory.
fn generated_index(case: &str) -> Vec<(String, Vec<u8>)> {
    let dir = common::project_dir().join("tests/data/lucene").join(case);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Every live document of an index directory, or the first error.
fn read_all(files: Vec<(String, Vec<u8>)>) -> Result<usize, snapshot::Error> {
    let dir = common::memory_directory(files);
    let mut reader = ShardReader::from_directory(dir, Default::default(), ReadOptions::default())?;
    let mut n = 0;
    while reader.next_document()?.is_some() {
        n += 1;
    }
    Ok(n)
}

#[test]
fn damaged_zstd_frames_are_errors_never_panics() {
    // Bytes of the zstd stored fields flipped with the file's checksum made to match, so that
    // only the zstd decoder (and the chunk checks around it) stands between the damage and the
    // documents: it must fail cleanly or give documents, never panic or hang.
    for case in ["l9_es_zstd_best_speed", "l9_os_zstd", "l9_os_zstd_no_dict"] {
        let files = generated_index(case);
        let good = read_all(files.clone()).unwrap();
        let fdt = files.iter().position(|(n, _)| n == "_0.fdt").unwrap();
        let len = files[fdt].1.len();
        let mut errors = 0;
        // Past the index header (~60 bytes), before the footer.
        for pos in (64..len - 16).step_by(len / 300) {
            let mut damaged = files.clone();
            let data = &mut damaged[fdt].1;
            data[pos] ^= 0x5A;
            let crc = crc32fast::hash(&data[..len - 8]) as u64;
            data[len - 8..].copy_from_slice(&crc.to_be_bytes());
            match read_all(damaged) {
                Err(e) => {
                    assert!(e.to_string().contains("_0.fdt"), "{case} byte {pos}: {e}");
                    errors += 1;
                }
                Ok(n) => assert!(n <= good, "{case} byte {pos}: {n} documents"),
            }
        }
        assert!(errors > 0, "{case}: no damage was noticed");
    }
}
