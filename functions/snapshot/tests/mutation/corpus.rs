//! The fixture repositories in memory, a blob store that serves one of them with one blob
//! replaced, and a reader that reads everything a repository holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use snapshot::blob::{BlobError, BlobMeta, BlobStore};
use snapshot::repo::ShardSnapshot;
use snapshot::{Location, ReadOptions, Repository, ShardEntryRef, ShardReader};

/// One fixture repository: its blobs, and for each shard-level blob the shards whose commit
/// holds it.
pub struct Fixture {
    pub name: String,
    pub blobs: Arc<BTreeMap<String, Vec<u8>>>,
    /// (snapshot, index, shard) → the files of that shard as the snapshot records them.
    pub shards: Vec<(String, String, u32, ShardSnapshot)>,
    /// What an undamaged read gives, to compare with.
    pub pristine: Reading,
}

/// A blob to damage: a blob of the repository, or a `v__` file held inline in a shard's
/// `snap-*.dat` (its bytes are the file).
#[derive(Debug, Clone)]
pub enum Target {
    Blob(String),
    Inline { shard: usize, physical: String },
}

impl Fixture {
    pub fn load(name: &str) -> Fixture {
        let root = super::common::shared_dir()
            .join("fixtures/snapshots")
            .join(name);
        let mut blobs = BTreeMap::new();
        load_dir(&root, "", &mut blobs);
        assert!(!blobs.is_empty(), "no fixture at {}", root.display());
        let blobs = Arc::new(blobs);
        let store = Overlay::new(name, blobs.clone(), None);
        let repo = Repository::open(Arc::new(store.clone())).expect("the fixture opens");
        let mut shards = Vec::new();
        for s in &repo.data().snapshots {
            let snap = repo.snapshot(&s.name).unwrap();
            for index in snap.index_names() {
                let meta = snap.index(&index).unwrap();
                for n in 0..meta.number_of_shards {
                    let files = snap.shard(&meta, n).unwrap();
                    shards.push((s.name.clone(), index.clone(), n, files));
                }
            }
        }
        let pristine = read_repository(Arc::new(store), ReadOptions::default());
        assert!(
            pristine.errors.is_empty() && pristine.documents > 0,
            "{name}: {:?}",
            pristine.errors
        );
        Fixture {
            name: name.to_string(),
            blobs,
            shards,
            pristine,
        }
    }

    /// Every blob, and every inline file of every shard.
    pub fn targets(&self) -> Vec<Target> {
        let mut out: Vec<Target> = self.blobs.keys().cloned().map(Target::Blob).collect();
        for (i, (_, _, _, files)) in self.shards.iter().enumerate() {
            for f in files.files.iter().filter(|f| f.is_virtual()) {
                out.push(Target::Inline {
                    shard: i,
                    physical: f.physical_name.clone(),
                });
            }
        }
        out
    }

    /// The shards whose commit holds the blob at `path`, with that file's physical name.
    pub fn holders(&self, path: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (i, (_, _, _, files)) in self.shards.iter().enumerate() {
            for f in &files.files {
                if !f.is_virtual() && format!("{}/{}", files.folder, f.blob_name) == path {
                    out.push((i, f.physical_name.clone()));
                }
            }
        }
        out
    }
}

fn load_dir(dir: &std::path::Path, rel: &str, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if e.file_type().unwrap().is_dir() {
            load_dir(&e.path(), &path, out);
        } else {
            out.insert(path, std::fs::read(e.path()).unwrap());
        }
    }
}

/// A repository in memory with at most one blob replaced. Reads allocate the buffer the caller
/// asks for before looking at the blob, as `LocalDirectory` does, so a length the reader did
/// not check shows up as a huge allocation.
#[derive(Debug, Clone)]
pub struct Overlay {
    name: String,
    base: Arc<BTreeMap<String, Vec<u8>>>,
    replaced: Option<(String, Arc<Vec<u8>>)>,
}

impl Overlay {
    pub fn new(
        name: &str,
        base: Arc<BTreeMap<String, Vec<u8>>>,
        replaced: Option<(String, Vec<u8>)>,
    ) -> Overlay {
        Overlay {
            name: format!("mem://{name}"),
            base,
            replaced: replaced.map(|(p, d)| (p, Arc::new(d))),
        }
    }

    fn get(&self, path: &str) -> Option<&[u8]> {
        match &self.replaced {
            Some((p, d)) if p == path => Some(d),
            _ => self.base.get(path).map(Vec::as_slice),
        }
    }
}

impl BlobStore for Overlay {
    fn location(&self) -> String {
        self.name.clone()
    }

    fn list(&self, dir: &str) -> Result<Vec<BlobMeta>, BlobError> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        Ok(self
            .base
            .keys()
            .filter_map(|k| {
                let rest = k.strip_prefix(&prefix)?;
                (!rest.contains('/')).then(|| BlobMeta {
                    name: rest.to_string(),
                    size: self.get(k).map_or(0, |d| d.len() as u64),
                })
            })
            .collect())
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, BlobError> {
        self.get(path)
            .map(<[u8]>::to_vec)
            .ok_or(BlobError::NotFound {
                path: path.to_string(),
            })
    }

    fn read_range(&self, path: &str, offset: u64, len: usize) -> Result<Vec<u8>, BlobError> {
        let mut buf = vec![0u8; len];
        self.read_range_into(path, offset, &mut buf)?;
        Ok(buf)
    }

    fn read_range_into(&self, path: &str, offset: u64, buf: &mut [u8]) -> Result<(), BlobError> {
        let data = self.get(path).ok_or(BlobError::NotFound {
            path: path.to_string(),
        })?;
        let start = (offset.min(data.len() as u64)) as usize;
        let got = (data.len() - start).min(buf.len());
        buf[..got].copy_from_slice(&data[start..start + got]);
        if got < buf.len() {
            return Err(BlobError::ShortRead {
                path: path.to_string(),
                offset,
                wanted: buf.len(),
                got,
            });
        }
        Ok(())
    }
}

/// What reading a whole repository gave: the documents (as a digest of what each shard
/// returned, in order) and every error met on the way (reading goes on with the next shard).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reading {
    pub documents: u64,
    pub digest: Vec<(String, String, u32, u64)>,
    pub errors: Vec<String>,
}

/// FNV-1a, to compare documents without keeping them.
fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= *b as u64;
        *h = h.wrapping_mul(0x100_0000_01B3);
    }
    *h ^= 0xFF;
    *h = h.wrapping_mul(0x100_0000_01B3);
}

/// Every document of every shard of every index of every snapshot, as a worker, `snapshot
/// list` and `cat-indices` read them (snapshot info, live counts, entries with and without
/// `_source`).
pub fn read_repository(store: Arc<dyn BlobStore>, opts: ReadOptions) -> Reading {
    let mut out = Reading::default();
    let repo = match Repository::open(store) {
        Ok(r) => r,
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    for s in &repo.data().snapshots {
        let snap = match repo.snapshot(&s.name) {
            Ok(s) => s,
            Err(e) => {
                out.errors.push(e.to_string());
                continue;
            }
        };
        if let Err(e) = snap.info() {
            out.errors.push(e.to_string());
        }
        for index in snap.index_names() {
            let meta = match snap.index(&index) {
                Ok(m) => m,
                Err(e) => {
                    out.errors.push(e.to_string());
                    continue;
                }
            };
            for shard in 0..meta.number_of_shards.min(64) {
                let key = (s.name.clone(), index.clone(), shard);
                match ShardReader::open(&snap, &index, shard, opts) {
                    Ok(r) => read_shard(r, key, &mut out),
                    Err(e) => out.errors.push(e.to_string()),
                }
            }
        }
    }
    out
}

/// Reads one shard's documents into `out`.
pub fn read_shard(mut r: ShardReader, key: (String, String, u32), out: &mut Reading) {
    if let Err(e) = r.live_doc_count() {
        out.errors.push(e.to_string());
    }
    let mut h = 0xCBF2_9CE4_8422_2325u64;
    loop {
        match r.next_entry_ref() {
            Ok(Some(ShardEntryRef::Document(d))) => {
                fnv(&mut h, d.id.as_bytes());
                fnv(&mut h, d.source);
                fnv(&mut h, d.routing.as_deref().unwrap_or("").as_bytes());
                out.documents += 1;
            }
            Ok(Some(ShardEntryRef::WithoutSource { id, .. })) => fnv(&mut h, id.as_bytes()),
            Ok(Some(ShardEntryRef::NotRebuilt { id, reason, .. })) => {
                fnv(&mut h, id.as_bytes());
                fnv(&mut h, reason.as_bytes());
            }
            Ok(None) => {
                out.digest.push((key.0, key.1, key.2, h));
                return;
            }
            Err(e) => {
                out.errors.push(e.to_string());
                return;
            }
        }
    }
}

/// Reads one shard from a file list the test patched (the checksum and length of a damaged
/// file updated, as if the snapshot had recorded the damaged file).
pub fn read_patched_shard(
    store: Arc<dyn BlobStore>,
    key: (String, String, u32),
    files: &ShardSnapshot,
    opts: ReadOptions,
) -> Reading {
    let mut out = Reading::default();
    let snap = match Repository::open(store).and_then(|r| r.snapshot(&key.0)) {
        Ok(s) => s,
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    let location = Location {
        index: Some(key.1.clone()),
        shard: Some(key.2),
        ..snap.location()
    };
    match snap
        .shard_directory(files)
        .and_then(|dir| ShardReader::from_directory(dir, location, opts))
    {
        Ok(r) => read_shard(r, key, &mut out),
        Err(e) => out.errors.push(e.to_string()),
    }
    out
}

/// A Lucene index written by real Lucene (`tests/data/lucene/<name>`), held in memory.
pub struct LuceneIndex {
    pub name: String,
    pub files: Vec<(String, Vec<u8>)>,
    pub pristine: Reading,
}

impl LuceneIndex {
    pub fn load(name: &str) -> LuceneIndex {
        let dir = super::common::project_dir()
            .join("tests/data/lucene")
            .join(name);
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        let mut ix = LuceneIndex {
            name: name.to_string(),
            files,
            pristine: Reading::default(),
        };
        ix.pristine = ix.read(ix.files.clone(), ReadOptions::default());
        assert!(
            ix.pristine.errors.is_empty() && ix.pristine.documents > 0,
            "{name}: {:?}",
            ix.pristine.errors
        );
        ix
    }

    /// Reads the index from `files` (its own, or a damaged copy) as one shard.
    pub fn read(&self, files: Vec<(String, Vec<u8>)>, opts: ReadOptions) -> Reading {
        let mut out = Reading::default();
        let location = Location {
            index: Some(self.name.clone()),
            shard: Some(0),
            ..Default::default()
        };
        let dir = super::common::memory_directory(files);
        match ShardReader::from_directory(dir, location, opts) {
            Ok(r) => read_shard(r, ("lucene".into(), self.name.clone(), 0), &mut out),
            Err(e) => out.errors.push(e.to_string()),
        }
        out
    }
}
