//! Delta backfill on repositories written by real engines (`tests/real-snapshots/`): between two
//! snapshots the node added, replaced and deleted documents, deleted an index and created one.
//! A target that holds the first snapshot's documents (what a full backfill gives: the reader is
//! proven on the same data by `real_snapshots.rs` and `legacy_repositories.rs`), to which the
//! delta's indexes and deletes are applied, holds exactly the second snapshot's documents, as
//! the node returned them (ids, routing, `_source`). And the plan reads no byte of any segment's
//! data: only manifests, commits and `.si` files.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use backfill_harness::{RealSnapshots, RealSource};
use snapshot::{
    new_documents, plan_snapshot, shard_deletions, stale_documents, BlobError, BlobMeta, BlobStore,
    Deletion, IndexChange, LocalDirectory, ReadOptions, Repository, SegmentChange, ShardEntryRef,
    ShardReader, ShardSide, Snapshot,
};

/// A blob store that counts the bytes read from each blob.
#[derive(Debug)]
struct Counting {
    inner: LocalDirectory,
    read: Mutex<BTreeMap<String, u64>>,
}

impl Counting {
    /// The bytes read per blob since the last call.
    fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut self.read.lock().unwrap())
    }

    fn count(&self, path: &str, n: usize) {
        *self.read.lock().unwrap().entry(path.into()).or_default() += n as u64;
    }
}

impl BlobStore for Counting {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn list(&self, dir: &str) -> Result<Vec<BlobMeta>, BlobError> {
        self.inner.list(dir)
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, BlobError> {
        let b = self.inner.read(path)?;
        self.count(path, b.len());
        Ok(b)
    }
    fn read_range(&self, path: &str, offset: u64, len: usize) -> Result<Vec<u8>, BlobError> {
        self.count(path, len);
        self.inner.read_range(path, offset, len)
    }
    fn read_range_into(&self, path: &str, offset: u64, buf: &mut [u8]) -> Result<(), BlobError> {
        self.count(path, buf.len());
        self.inner.read_range_into(path, offset, buf)
    }
}

/// A document in the target: (index, type, id) → (routing, `_source`).
type Key = (String, Option<String>, String);
type Target = BTreeMap<Key, (Option<String>, String)>;

/// The documents a full backfill of `snapshot` leaves in the target, by the engine's truth
/// (documents without `_source` are not migrated). `typed`: 1.x/2.x, keys carry the type.
fn truth_target(real: &RealSnapshots, snapshot: &str, typed: bool) -> Target {
    let mut t = Target::new();
    if typed {
        for d in real.typed_truth(snapshot).unwrap() {
            if let Some(s) = d.doc.source {
                t.insert(
                    (d.doc.index, Some(d.doc_type), d.doc.id),
                    (d.doc.routing, s),
                );
            }
        }
    } else {
        for d in real.truth(snapshot).unwrap() {
            if let Some(s) = d.source {
                t.insert((d.index, None, d.id), (d.routing, s));
            }
        }
    }
    t
}

/// One operation of the delta, as the target receives it.
#[derive(Debug, Clone)]
enum Op {
    Index(Key, Option<String>, String),
    Delete(Key, Option<String>),
}

/// What a delta read, per part, in bytes.
#[derive(Debug, Default)]
struct Bytes {
    plan: u64,
    /// Of which: blobs of Lucene data files (not `.si`, not `segments_N`).
    plan_data: u64,
    deletions: u64,
    indexing: u64,
    /// Sizes of the current snapshot's shards that the delta plans.
    planned_shards: u64,
    /// Bytes of unchanged segments with no deletion that were read (must be none).
    untouched_read: u64,
    /// Bytes read from unchanged segments with deletions, and their size.
    deleted_from_read: u64,
    deleted_from_size: u64,
}

/// The blobs of a shard's files: blob path → (physical name, segment).
fn blobs_of(side: &ShardSide) -> BTreeMap<String, String> {
    let f = &side.files;
    f.files
        .iter()
        .flat_map(|file| {
            let base = format!("{}/{}", f.folder, file.blob_name);
            let n = file.number_of_parts();
            let names: Vec<String> = if n == 1 {
                vec![base]
            } else {
                (0..n).map(|i| format!("{base}.part{i}")).collect()
            };
            names.into_iter().map(|b| (b, file.physical_name.clone()))
        })
        .collect()
}

/// The segment a Lucene file belongs to (`_3.cfs`, `_3_1.liv` → `_3`).
fn segment_of(file: &str) -> Option<&str> {
    let end = file[1..].find(['.', '_']).map(|i| i + 1)?;
    file.starts_with('_').then(|| &file[..end])
}

/// Every operation of the delta from `prev` to `curr`, with `delete_gone_indices` as the
/// explicit flag a user gives, and what each part read.
fn delta(
    repo_store: &Counting,
    prev: &Snapshot,
    curr: &Snapshot,
    typed: bool,
) -> (Vec<Op>, Vec<String>, Vec<IndexChange>, Bytes) {
    let opts = ReadOptions::default();
    let mut ops = Vec::new();
    let mut bytes = Bytes::default();
    repo_store.take();
    let plan = plan_snapshot(prev, curr).unwrap();
    let plan_reads = repo_store.take();
    bytes.plan = plan_reads.values().sum();
    let key = |index: &str, t: Option<String>, id: String| {
        (index.to_string(), if typed { t } else { None }, id)
    };
    let mut all_blobs = BTreeMap::new();
    for index in &plan.indices {
        let whole = match &index.change {
            IndexChange::New => true,
            IndexChange::Recreated { .. } => {
                for Deletion {
                    doc_type,
                    id,
                    routing,
                } in stale_documents(prev, curr, &index.index, &opts).unwrap()
                {
                    ops.push(Op::Delete(key(&index.index, doc_type, id), routing));
                }
                true
            }
            IndexChange::Same => false,
        };
        if whole {
            let meta = curr.index(&index.index).unwrap();
            for shard in 0..meta.number_of_shards {
                let reader = ShardReader::open(curr, &index.index, shard, opts).unwrap();
                push_documents(reader, &index.index, typed, &mut ops);
            }
            continue;
        }
        let (old, meta) = (
            prev.index(&index.index).unwrap(),
            curr.index(&index.index).unwrap(),
        );
        for shard in &index.shards {
            let p = ShardSide::open(prev, &old, shard.shard).unwrap();
            let c = ShardSide::open(curr, &meta, shard.shard).unwrap();
            let blobs: BTreeMap<String, String> =
                blobs_of(&p).into_iter().chain(blobs_of(&c)).collect();
            all_blobs.extend(blobs.clone());
            bytes.planned_shards += shard.total_bytes;
            repo_store.take();
            let deletions = shard_deletions(&p, &c, shard, &opts).unwrap();
            let del_reads = repo_store.take();
            for d in deletions.deletions {
                ops.push(Op::Delete(key(&index.index, d.doc_type, d.id), d.routing));
            }
            let reader = new_documents(curr, shard, opts).unwrap();
            push_documents(reader, &index.index, typed, &mut ops);
            let index_reads = repo_store.take();
            bytes.deletions += del_reads.values().sum::<u64>();
            bytes.indexing += index_reads.values().sum::<u64>();
            // Unchanged segments: with no deletion, never read; with some, how much.
            for seg in &shard.segments {
                let SegmentChange::Unchanged { deleted_since } = seg.change else {
                    continue;
                };
                let read: u64 = del_reads
                    .iter()
                    .chain(&index_reads)
                    .filter(|(b, _)| {
                        blobs.get(*b).and_then(|f| segment_of(f)) == Some(seg.name.as_str())
                    })
                    .map(|(_, n)| n)
                    .sum();
                if deleted_since == 0 {
                    bytes.untouched_read += read;
                } else {
                    bytes.deleted_from_read += read;
                    bytes.deleted_from_size += seg.bytes;
                }
            }
        }
    }
    // What the plan read of Lucene data files: their blobs, besides commits and `.si` files.
    bytes.plan_data = plan_reads
        .iter()
        .filter(|(b, _)| {
            all_blobs
                .get(*b)
                .is_some_and(|f| !f.ends_with(".si") && !f.starts_with("segments_"))
        })
        .map(|(_, n)| n)
        .sum();
    let changes = plan.indices.iter().map(|i| i.change.clone()).collect();
    (ops, plan.gone_indices.clone(), changes, bytes)
}

fn push_documents(mut reader: ShardReader, index: &str, typed: bool, ops: &mut Vec<Op>) {
    while let Some(entry) = reader.next_entry_ref().unwrap() {
        match entry {
            ShardEntryRef::Document(d) => ops.push(Op::Index(
                (
                    index.to_string(),
                    if typed { d.doc_type } else { None },
                    d.id,
                ),
                d.routing,
                String::from_utf8(d.source.to_vec()).unwrap(),
            )),
            ShardEntryRef::WithoutSource { .. } => {}
            ShardEntryRef::NotRebuilt { id, reason, .. } => panic!("{index}: {id}: {reason}"),
        }
    }
}

/// Applies the operations as `_bulk` would; a delete must find its document (a delete of
/// something the target never had would be a wrong delete), with the routing it was indexed
/// with.
fn apply(target: &mut Target, ops: &[Op], strict: bool) {
    for op in ops {
        match op {
            Op::Index(k, r, s) => {
                target.insert(k.clone(), (r.clone(), s.clone()));
            }
            Op::Delete(k, r) => match target.remove(k) {
                Some((routing, _)) => assert_eq!(&routing, r, "{k:?}: routing of the delete"),
                None => assert!(!strict, "{k:?}: deleted, but the target does not hold it"),
            },
        }
    }
}

fn check_delta(real: &RealSnapshots, repository: &str, from: &str, to: &str) {
    let typed = real.engine == "elasticsearch" && real.version.starts_with(['1', '2']);
    let what = format!("{} {} {repository} {from}→{to}", real.engine, real.version);
    let names = |s: &str| -> BTreeSet<String> {
        let v = real.indices(s).unwrap();
        v.as_object().unwrap().keys().cloned().collect()
    };
    let gone_want: Vec<String> = names(from).difference(&names(to)).cloned().collect();
    let (before, want) = (
        truth_target(real, from, typed),
        truth_target(real, to, typed),
    );
    let (ops, changes, bytes) = check_ops(
        &what,
        &real.repository(repository),
        (from, to),
        typed,
        (before, want),
        &gone_want,
    );
    let (indexes, deletes) = ops.iter().fold((0, 0), |(i, d), op| match op {
        Op::Index(..) => (i + 1, d),
        Op::Delete(..) => (i, d + 1),
    });
    assert!(
        indexes > 0 && deletes > 0,
        "{what}: {indexes} indexes, {deletes} deletes"
    );
    let new_want = names(to).difference(&names(from)).count();
    let new = changes.iter().filter(|c| **c == IndexChange::New).count();
    assert_eq!(new, new_want, "{what}: new indices");
    assert!(
        !changes
            .iter()
            .any(|c| matches!(c, IndexChange::Recreated { .. })),
        "{what}: an index seen as recreated: {changes:?}"
    );
    assert_eq!(
        bytes.plan_data, 0,
        "{what}: the plan read Lucene data files"
    );
    assert_eq!(
        bytes.untouched_read, 0,
        "{what}: unchanged segments without deletes were read"
    );
    eprintln!(
        "{what}: {indexes} index(es), {deletes} delete(s); bytes read: plan {}, deletions {}, new documents {}; of unchanged segments with deletes {} of {}; the planned shards hold {}",
        bytes.plan,
        bytes.deletions,
        bytes.indexing,
        bytes.deleted_from_read,
        bytes.deleted_from_size,
        bytes.planned_shards
    );
}

/// Runs the delta `from`→`to` of the repository at `root` on a target holding `before`, and
/// checks that it then holds `want` (after the user's explicit deletion of gone indices), in
/// any order of the operations and when they are sent twice.
fn check_ops(
    what: &str,
    root: &std::path::Path,
    (from, to): (&str, &str),
    typed: bool,
    (before, want): (Target, Target),
    gone_want: &[String],
) -> (Vec<Op>, Vec<IndexChange>, Bytes) {
    let store = Arc::new(Counting {
        inner: LocalDirectory::new(root),
        read: Mutex::default(),
    });
    let repo = Repository::open(store.clone()).unwrap();
    let (prev, curr) = (repo.snapshot(from).unwrap(), repo.snapshot(to).unwrap());
    let (ops, gone, changes, bytes) = delta(&store, &prev, &curr, typed);
    let indices = |t: &Target| t.keys().map(|k| k.0.clone()).collect::<BTreeSet<_>>();
    assert_eq!(gone, gone_want, "{what}: gone indices");

    // The target after the full backfill, the delta, and the user's "delete gone indices".
    let mut target = before.clone();
    apply(&mut target, &ops, true);
    target.retain(|k, _| !gone.contains(&k.0));
    assert_eq!(indices(&target), indices(&want), "{what}: indices");
    assert_eq!(target.len(), want.len(), "{what}: document count");
    for (k, v) in &want {
        assert_eq!(target.get(k), Some(v), "{what}: {k:?}");
    }

    // Indexes and deletes are disjoint: in reverse order, or sent twice, the same target.
    let mut reversed = before.clone();
    let back: Vec<Op> = ops.iter().rev().cloned().collect();
    apply(&mut reversed, &back, true);
    reversed.retain(|k, _| !gone.contains(&k.0));
    assert_eq!(reversed, want, "{what}: operations in reverse order");
    apply(&mut target, &ops, false);
    assert_eq!(target, want, "{what}: the delta applied twice");

    (ops, changes, bytes)
}

fn check(source: RealSource) {
    let real = RealSnapshots::get(source).unwrap_or_else(|e| panic!("{}: {e}", source.name()));
    for repository in &real.repositories {
        for pair in real.snapshots.windows(2) {
            check_delta(&real, repository, &pair[0], &pair[1]);
        }
    }
}

#[test]
fn opensearch_2_19_delta_gives_the_second_snapshot() {
    check(RealSource::OpenSearch2_19);
}

#[test]
fn opensearch_3_9_delta_gives_the_second_snapshot() {
    check(RealSource::OpenSearch3_9);
}

#[test]
fn elasticsearch_8_19_delta_gives_the_second_snapshot() {
    check(RealSource::Elasticsearch8_19);
}

#[test]
fn elasticsearch_9_5_delta_gives_the_second_snapshot() {
    check(RealSource::Elasticsearch9_5);
}

#[test]
fn elasticsearch_1_7_delta_gives_each_next_snapshot() {
    check(RealSource::Elasticsearch1_7);
}

#[test]
fn elasticsearch_2_4_delta_gives_each_next_snapshot() {
    check(RealSource::Elasticsearch2_4);
}

/// The Elasticsearch 2.4 node took over the 1.7 node's repository and added `snap-4`: its indices
/// have the names of the 1.7 node's, but are other indices (another `index.uuid`), in the same
/// repository folders. Each is migrated whole, and what only the 1.7 index held is deleted.
#[test]
fn an_index_created_again_under_its_name_is_migrated_whole_and_its_stale_documents_deleted() {
    let old = RealSnapshots::get(RealSource::Elasticsearch1_7).unwrap();
    let new = RealSnapshots::get(RealSource::Elasticsearch2_4).unwrap();
    let up = new
        .upgraded
        .clone()
        .expect("the 2.4 source takes over a 1.7 repository");
    // From the 1.x snapshot before the last: its `catalog` still holds a document that both
    // nodes deleted before their last snapshot, so the 2.4 index lacks it.
    let n = up.snapshots.len();
    let (from, to) = (&up.snapshots[n - 3], &up.snapshots[n - 1]);
    let what = format!("{} {from} → 2.4 {to}", old.version);
    let names = |r: &RealSnapshots, s: &str| -> BTreeSet<String> {
        let v = r.indices(s).unwrap();
        v.as_object().unwrap().keys().cloned().collect()
    };
    let gone_want: Vec<String> = names(&old, from)
        .difference(&names(&new, &up.truth_of))
        .cloned()
        .collect();
    let before = truth_target(&old, from, true);
    let want = truth_target(&new, &up.truth_of, true);
    let (ops, changes, _) = check_ops(
        &what,
        &new.repository(&up.repository),
        (from, to),
        true,
        (before, want),
        &gone_want,
    );
    let recreated = changes
        .iter()
        .filter(|c| matches!(c, IndexChange::Recreated { .. }))
        .count();
    assert_eq!(
        recreated,
        names(&old, from)
            .intersection(&names(&new, &up.truth_of))
            .count(),
        "{what}: {changes:?}"
    );
    let deletes = ops.iter().filter(|o| matches!(o, Op::Delete(..))).count();
    assert!(deletes > 0, "{what}: no stale document deleted");
    eprintln!(
        "{what}: {recreated} recreated indices, {} operations, {deletes} stale documents deleted",
        ops.len()
    );
}

/// A delta's new documents resume like a full read: from the position after any document, a
/// reader opened again returns exactly the documents after it; a position in a segment the
/// delta does not read is refused.
#[test]
fn new_documents_resume_at_any_position() {
    let real = RealSnapshots::get(RealSource::OpenSearch2_19).unwrap();
    let repo = Repository::open(Arc::new(LocalDirectory::new(real.repository("plain")))).unwrap();
    let (prev, curr) = (
        repo.snapshot("snap-1").unwrap(),
        repo.snapshot("snap-2").unwrap(),
    );
    let plan = plan_snapshot(&prev, &curr).unwrap();
    let logs = plan.indices.iter().find(|i| i.index == "logs").unwrap();
    let opts = ReadOptions::default();
    for shard in &logs.shards {
        let all: Vec<_> = new_documents(&curr, shard, opts)
            .unwrap()
            .map(|d| d.unwrap())
            .collect();
        assert!(!all.is_empty(), "logs/{}: no new documents", shard.shard);
        let new = shard.new_segments();
        assert!(all.iter().all(|d| new.contains(&d.segment)));
        for cut in [0, all.len() / 2, all.len() - 1] {
            let mut reader = new_documents(&curr, shard, opts).unwrap();
            reader.seek(&all[cut].next).unwrap();
            let rest: Vec<String> = reader.map(|d| d.unwrap().document.id).collect();
            let want: Vec<String> = all[cut + 1..]
                .iter()
                .map(|d| d.document.id.clone())
                .collect();
            assert_eq!(rest, want, "logs/{} resumed after {cut}", shard.shard);
        }
        let unchanged = shard
            .segments
            .iter()
            .find(|s| s.change != SegmentChange::New)
            .unwrap();
        let mut reader = new_documents(&curr, shard, opts).unwrap();
        let at = snapshot::Position {
            segment: unchanged.name.clone(),
            doc: 0,
            chunk: None,
        };
        let e = reader.seek(&at).unwrap_err().to_string();
        assert!(e.contains(&unchanged.name), "{e}");
    }
}
