//! Small deterministic cases of what the mutation run found, measured by the counting
//! allocator of this test binary (a length that drives a huge allocation aborts the binary
//! before the fix, and must fail cleanly after it).

use std::sync::Arc;

use snapshot::lucene::Directory;
use snapshot::{ReadOptions, ShardReader};

use super::corpus::{self, Fixture, Overlay};
use super::{alloc, SERIAL, SINGLE_LIMIT};

/// Runs `f` alone in this binary and returns its result and its largest single allocation.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let _alone = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    alloc::reset();
    let r = f();
    (r, alloc::measured().1)
}

/// Every document of a plain Lucene index directory, or the first error.
fn read_all(dir: Directory, opts: ReadOptions) -> Result<usize, snapshot::Error> {
    let mut reader = ShardReader::from_directory(dir, Default::default(), opts)?;
    let mut n = 0;
    while reader.next_document()?.is_some() {
        n += 1;
    }
    Ok(n)
}

#[test]
fn a_chunk_length_beyond_what_the_file_can_hold_is_an_error_not_a_2_gib_buffer() {
    // The first chunk of a Lucene 9.8 .fdt made to say: one document of 2 GiB - 16 bytes
    // (checksum recomputed). Its buffer was allocated before decoding failed.
    let src = super::common::project_dir().join("tests/data/lucene/l9_100k");
    let mut files = Vec::new();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        let mut data = std::fs::read(e.path()).unwrap();
        if name == "_6.fdt" {
            // magic, codec name, version, id, suffix: the chunks follow.
            let name_len = data[4] as usize;
            let at = 4 + 1 + name_len + 4 + 16;
            let first_chunk = at + 1 + data[at] as usize;
            let header = [0x00, 0x01 << 2, 0x01, 0xF0, 0xFF, 0xFF, 0xFF, 0x07];
            data[first_chunk..first_chunk + header.len()].copy_from_slice(&header);
            let n = data.len();
            let crc = crc32fast::hash(&data[..n - 8]) as u64;
            data[n - 8..].copy_from_slice(&crc.to_be_bytes());
        }
        files.push((name, data));
    }
    for verify in [true, false] {
        let opts = ReadOptions {
            verify_checksums: verify,
            ..Default::default()
        };
        let (r, largest) =
            measured(|| read_all(super::common::memory_directory(files.clone()), opts));
        let e = r.expect_err("a chunk of 2 GiB in a small file");
        assert!(e.to_string().contains("_6.fdt"), "{e}");
        assert!(e.to_string().contains("cannot come from"), "{e}");
        assert!(largest < SINGLE_LIMIT, "largest allocation {largest}");
    }
}

#[test]
fn a_file_length_from_metadata_far_beyond_its_blob_does_not_drive_the_read_buffer() {
    // The shard metadata says a small file is 1 TiB long: reading it whole asked the store
    // for 1 TiB in one request (LocalDirectory allocates the buffer first).
    let fx = Fixture::load("ES_7_10_Single");
    let (snap, index, shard, files) = fx.shards[0].clone();
    for ext in [".cfe", ".cfs"] {
        let mut files = files.clone();
        let f = files
            .files
            .iter_mut()
            .find(|f| !f.is_virtual() && f.physical_name.ends_with(ext))
            .unwrap();
        f.length = 1 << 40;
        let name = f.physical_name.clone();
        let store = Arc::new(Overlay::new(&fx.name, fx.blobs.clone(), None));
        let key = (snap.clone(), index.clone(), shard);
        let (r, largest) =
            measured(|| corpus::read_patched_shard(store, key, &files, ReadOptions::default()));
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        assert!(r.errors[0].contains(&name), "{}", r.errors[0]);
        assert!(largest < SINGLE_LIMIT, "largest allocation {largest}");
    }
}

#[test]
fn a_segment_size_beyond_its_live_docs_file_does_not_size_the_bitset() {
    // `_1.si` of a Lucene 9.8 index made to say 2^31 - 1 documents (checksum recomputed): the
    // live-docs bitset of that many documents (256 MiB) was allocated before the `.liv` file,
    // of a few bytes, was found too short.
    let src = super::common::project_dir().join("tests/data/lucene/l9_os_zstd");
    let mut files = Vec::new();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        let mut data = std::fs::read(e.path()).unwrap();
        if name == "_1.si" {
            // Index header, then the version (3 ints), hasMinVersion and the min version (3
            // ints), then docCount (little-endian, Lucene 9).
            let at = 4 + 1 + data[4] as usize + 4 + 16;
            let mut p = at + 1 + data[at] as usize + 12;
            p += 1 + if data[p] == 1 { 12 } else { 0 };
            data[p..p + 4].copy_from_slice(&i32::MAX.to_le_bytes());
            let n = data.len();
            let crc = crc32fast::hash(&data[..n - 8]) as u64;
            data[n - 8..].copy_from_slice(&crc.to_be_bytes());
        }
        files.push((name, data));
    }
    let (r, largest) = measured(|| {
        read_all(
            super::common::memory_directory(files),
            ReadOptions::default(),
        )
    });
    assert!(largest < SINGLE_LIMIT, "largest allocation {largest}");
    let e = r.expect_err("2^31 - 1 documents in a few bytes of bitset");
    assert!(e.to_string().contains("_1.si"), "{e}");
}

#[test]
fn a_segment_size_beyond_its_stored_fields_is_an_error_before_liveness_is_sized_by_it() {
    // `_0.si` (held inline in the shard's metadata) of a soft-deletes segment made to say
    // 2^31 - 1 documents: liveness was computed for that many (a 256 MiB bitset and a loop of
    // seconds) before anything compared the count with the stored fields.
    let fx = Fixture::load("ES_7_10_Updates_Deletes_w_Soft");
    let (snap, index, shard, mut files) = fx.shards[0].clone();
    let si = files
        .files
        .iter_mut()
        .find(|f| f.physical_name == "_0.si")
        .unwrap();
    let data = si.meta_hash.as_mut().unwrap();
    // Index header, the version (3 ints), hasMinVersion and the min version (3 ints), then
    // docCount (big-endian before Lucene 9).
    let at = 4 + 1 + data[4] as usize + 4 + 16;
    let mut p = at + 1 + data[at] as usize + 12;
    p += 1 + if data[p] == 1 { 12 } else { 0 };
    data[p..p + 4].copy_from_slice(&i32::MAX.to_be_bytes());
    let n = data.len();
    let crc = crc32fast::hash(&data[..n - 8]) as u64;
    data[n - 8..].copy_from_slice(&crc.to_be_bytes());
    si.checksum = snapshot::lucene::codec::to_base36(crc);
    let store = Arc::new(Overlay::new(&fx.name, fx.blobs.clone(), None));
    let started = std::time::Instant::now();
    let (r, largest) = measured(|| {
        corpus::read_patched_shard(store, (snap, index, shard), &files, ReadOptions::default())
    });
    assert!(largest < SINGLE_LIMIT, "largest allocation {largest}");
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(r.errors[0].contains("_0.si"), "{}", r.errors[0]);
}
