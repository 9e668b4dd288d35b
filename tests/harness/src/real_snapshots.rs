//! Repositories written by a real engine, with the ground truth the node gave at snapshot time:
//! `tests/real-snapshots/generate.py` (`generate_legacy.py` for Elasticsearch 1.x/2.x, whose API
//! has mapping types) drives a node of the harness over HTTP. Generated on first use into
//! `.cache/real-snapshots/<source>-<key>/`, where the key hashes the generator and the node's
//! launcher, so a change to either regenerates and a warm cache costs nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::elasticsearch::{Elasticsearch, EsVersion};
use crate::error::HarnessError;
use crate::opensearch::{Flavour, OpenSearch};
use crate::workspace_root;

/// An engine that writes real repositories here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealSource {
    /// Elasticsearch 1.7.6: the 1.x repository layout (`snapshot-<name>`, plain JSON).
    Elasticsearch1_7,
    /// Elasticsearch 2.4.6: `snap-<name>.dat` checksummed blobs, no index-N.
    Elasticsearch2_4,
    OpenSearch2_19,
    OpenSearch3_9,
    Elasticsearch8_19,
    Elasticsearch9_5,
    /// OpenSearch 2.19.1 with the k-NN plugin: vector indices (`generate_knn.py`).
    OpenSearch2_19Knn,
    /// OpenSearch 3.5.0 with the k-NN plugin.
    OpenSearch3_5Knn,
    /// Elasticsearch 8.19 indices without a stored `_source` (`generate_synthetic.py`).
    Elasticsearch8_19Synthetic,
    /// Elasticsearch 9.5 indices without a stored `_source`.
    Elasticsearch9_5Synthetic,
}

impl RealSource {
    pub const ALL: [RealSource; 10] = [
        RealSource::Elasticsearch1_7,
        RealSource::Elasticsearch2_4,
        RealSource::OpenSearch2_19,
        RealSource::OpenSearch3_9,
        RealSource::Elasticsearch8_19,
        RealSource::Elasticsearch9_5,
        RealSource::OpenSearch2_19Knn,
        RealSource::OpenSearch3_5Knn,
        RealSource::Elasticsearch8_19Synthetic,
        RealSource::Elasticsearch9_5Synthetic,
    ];

    /// `opensearch-2.19`, …: the folder name and what `make real-snapshots` takes.
    pub fn name(self) -> &'static str {
        match self {
            RealSource::Elasticsearch1_7 => "elasticsearch-1.7",
            RealSource::Elasticsearch2_4 => "elasticsearch-2.4",
            RealSource::OpenSearch2_19 => "opensearch-2.19",
            RealSource::OpenSearch3_9 => "opensearch-3.9",
            RealSource::Elasticsearch8_19 => "elasticsearch-8.19",
            RealSource::Elasticsearch9_5 => "elasticsearch-9.5",
            RealSource::OpenSearch2_19Knn => "opensearch-2.19-knn",
            RealSource::OpenSearch3_5Knn => "opensearch-3.5-knn",
            RealSource::Elasticsearch8_19Synthetic => "elasticsearch-8.19-synthetic",
            RealSource::Elasticsearch9_5Synthetic => "elasticsearch-9.5-synthetic",
        }
    }

    /// The generator scripts in `tests/real-snapshots/`: the one that runs first, and all of them
    /// are part of the cache key (`generate_knn.py` imports `generate.py`).
    fn scripts(self) -> &'static [&'static str] {
        match self {
            RealSource::OpenSearch2_19Knn | RealSource::OpenSearch3_5Knn => {
                &["generate_knn.py", "generate.py"]
            }
            RealSource::Elasticsearch8_19Synthetic | RealSource::Elasticsearch9_5Synthetic => {
                &["generate_synthetic.py", "generate.py"]
            }
            // Their API has mapping types.
            RealSource::Elasticsearch1_7 | RealSource::Elasticsearch2_4 => &["generate_legacy.py"],
            _ => &["generate.py"],
        }
    }

    pub fn from_name(name: &str) -> Option<RealSource> {
        RealSource::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Elasticsearch 1.x/2.x: mapping types, the layout before index-N, `generate_legacy.py`.
    pub fn is_legacy(self) -> bool {
        matches!(
            self,
            RealSource::Elasticsearch1_7 | RealSource::Elasticsearch2_4
        )
    }

    /// The launcher's build folder (part of the cache key).
    fn launcher(self) -> Result<PathBuf, HarnessError> {
        match self {
            RealSource::Elasticsearch1_7 => crate::elasticsearch::build(EsVersion::V1_7),
            RealSource::Elasticsearch2_4 => crate::elasticsearch::build(EsVersion::V2_4),
            RealSource::OpenSearch2_19 => crate::opensearch::build(Flavour::V2_19),
            RealSource::OpenSearch3_9 => crate::opensearch::build(Flavour::V3_9),
            RealSource::Elasticsearch8_19 | RealSource::Elasticsearch8_19Synthetic => {
                crate::elasticsearch::build(EsVersion::V8_19)
            }
            RealSource::Elasticsearch9_5 | RealSource::Elasticsearch9_5Synthetic => {
                crate::elasticsearch::build(EsVersion::V9_5)
            }
            RealSource::OpenSearch2_19Knn => crate::opensearch::build(Flavour::V2_19Knn),
            RealSource::OpenSearch3_5Knn => crate::opensearch::build(Flavour::V3_5Knn),
        }
    }

    /// A running node: its endpoint, its `path.repo`, and what keeps it alive.
    fn start(self) -> Result<(String, PathBuf, Box<dyn std::any::Any>), HarnessError> {
        let os = |f| {
            OpenSearch::start(f).map(|n| {
                (
                    n.endpoint.clone(),
                    n.repo_dir.clone(),
                    Box::new(n) as Box<dyn std::any::Any>,
                )
            })
        };
        let es = |v| {
            Elasticsearch::start(v).map(|n| {
                (
                    n.endpoint.clone(),
                    n.repo_dir.clone(),
                    Box::new(n) as Box<dyn std::any::Any>,
                )
            })
        };
        match self {
            RealSource::Elasticsearch1_7 => es(EsVersion::V1_7),
            RealSource::Elasticsearch2_4 => es(EsVersion::V2_4),
            RealSource::OpenSearch2_19 => os(Flavour::V2_19),
            RealSource::OpenSearch3_9 => os(Flavour::V3_9),
            RealSource::Elasticsearch8_19 | RealSource::Elasticsearch8_19Synthetic => {
                es(EsVersion::V8_19)
            }
            RealSource::Elasticsearch9_5 | RealSource::Elasticsearch9_5Synthetic => {
                es(EsVersion::V9_5)
            }
            RealSource::OpenSearch2_19Knn => os(Flavour::V2_19Knn),
            RealSource::OpenSearch3_5Knn => os(Flavour::V3_5Knn),
        }
    }
}

/// One live top-level document of the ground truth.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TruthDocument {
    pub index: String,
    pub shard: u32,
    pub id: String,
    pub routing: Option<String>,
    /// The stored `_source` as the node returned it; `None` where the index keeps none.
    pub source: Option<String>,
}

/// One live document of an Elasticsearch 1.x/2.x index: its mapping type besides the rest (the
/// same `_id` may live in two types of one index).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TypedTruthDocument {
    pub doc_type: String,
    pub doc: TruthDocument,
}

/// The generated repositories of one engine and their ground truth.
#[derive(Debug, Clone)]
pub struct RealSnapshots {
    pub dir: PathBuf,
    /// `opensearch` or `elasticsearch`.
    pub engine: String,
    /// The node's `version.number`, e.g. "2.19.6".
    pub version: String,
    pub lucene_version: String,
    /// The repository names: `plain`, and `hashed` (OpenSearch 2.17+: hashed shard paths) or
    /// `chunked` (`compressed` for 1.x/2.x), with compressed metadata and files in 256 KiB
    /// `.partN` blobs.
    pub repositories: Vec<String>,
    /// In the order they were taken.
    pub snapshots: Vec<String>,
    /// Elasticsearch 2.4 only: the `plain` repository of the 1.7 source taken over by the 2.4
    /// node, which added `snap-4` to it.
    pub upgraded: Option<Upgraded>,
}

/// A repository of 1.x snapshots to which a 2.x node added one.
#[derive(Debug, Clone)]
pub struct Upgraded {
    /// Its name under `repos/`.
    pub repository: String,
    /// In the order they were taken: the 1.x ones, then the 2.x one.
    pub snapshots: Vec<String>,
    /// The snapshot of this source whose ground truth the 2.x snapshot has (same node, same
    /// moment); the 1.x snapshots have the truth of the 1.7 source.
    pub truth_of: String,
}

impl RealSnapshots {
    /// The generated repositories of `source`, generating them first if the cache has none for
    /// this generator and launcher (about half a minute plus the node's start).
    pub fn get(source: RealSource) -> Result<RealSnapshots, HarnessError> {
        let folder = workspace_root().join("tests/real-snapshots");
        let script = folder.join(source.scripts()[0]);
        let launcher = source.launcher()?;
        // 2.4 also takes over the 1.7 source's plain repository (its cache folder is in the key).
        let upgrade_from = match source {
            RealSource::Elasticsearch2_4 => Some(
                RealSnapshots::get(RealSource::Elasticsearch1_7)?
                    .repository("plain")
                    .to_path_buf(),
            ),
            _ => None,
        };
        let key = {
            let mut h = Sha256::new();
            // One script hashes as before, so the plain sources keep their cache.
            for name in source.scripts() {
                let path = folder.join(name);
                let generator = std::fs::read(&path)
                    .map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))?;
                h.update(&generator);
            }
            h.update(launcher.to_string_lossy().as_bytes());
            if let Some(old) = &upgrade_from {
                h.update(old.to_string_lossy().as_bytes());
            }
            h.finalize()
                .iter()
                .take(6)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let cache = workspace_root().join(".cache/real-snapshots");
        let dir = cache.join(format!("{}-{key}", source.name()));
        if !dir.join("engine.json").is_file() {
            // Tests of one binary ask at once: one generates, the others wait and find it.
            static GENERATING: Mutex<()> = Mutex::new(());
            let _one = GENERATING.lock().unwrap_or_else(|e| e.into_inner());
            if !dir.join("engine.json").is_file() {
                generate(source, &script, &cache, &dir, upgrade_from.as_deref())?;
            }
        }
        RealSnapshots::open(&dir)
    }

    fn open(dir: &Path) -> Result<RealSnapshots, HarnessError> {
        let path = dir.join("engine.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| HarnessError::io(format!("parsing {}", path.display()), e.into()))?;
        let strings = |key: &str| -> Vec<String> {
            v[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(RealSnapshots {
            dir: dir.to_path_buf(),
            engine: v["engine"].as_str().unwrap_or_default().into(),
            version: v["version"].as_str().unwrap_or_default().into(),
            lucene_version: v["lucene_version"].as_str().unwrap_or_default().into(),
            repositories: strings("repositories"),
            snapshots: strings("snapshots"),
            upgraded: v["upgraded"].as_object().map(|u| Upgraded {
                repository: u["repository"].as_str().unwrap_or_default().into(),
                snapshots: u["snapshots"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                truth_of: u["truth_of"].as_str().unwrap_or_default().into(),
            }),
        })
    }

    /// The folder of repository `name` (an `fs` repository: `index-N`, `indices/`, …).
    pub fn repository(&self, name: &str) -> PathBuf {
        self.dir.join("repos").join(name)
    }

    /// Every live top-level document at `snapshot`, sorted by index, shard and id.
    pub fn truth(&self, snapshot: &str) -> Result<Vec<TruthDocument>, HarnessError> {
        Ok(self
            .truth_lines(snapshot)?
            .into_iter()
            .map(|(_, d)| d)
            .collect())
    }

    /// Every live document at `snapshot` with its mapping type (sources written by
    /// `generate_legacy.py`; the others have no types and fail here), sorted by index, shard,
    /// type and id.
    pub fn typed_truth(&self, snapshot: &str) -> Result<Vec<TypedTruthDocument>, HarnessError> {
        let path = self.dir.join("truth").join(format!("{snapshot}.ndjson"));
        let mut docs = Vec::new();
        for (doc_type, doc) in self.truth_lines(snapshot)? {
            let Some(doc_type) = doc_type else {
                return Err(HarnessError::io(
                    format!("reading {}", path.display()),
                    std::io::Error::other("a document without a mapping type"),
                ));
            };
            docs.push(TypedTruthDocument { doc_type, doc });
        }
        docs.sort();
        Ok(docs)
    }

    /// The lines of `truth/<snapshot>.ndjson`: each document with its mapping type, if any.
    fn truth_lines(
        &self,
        snapshot: &str,
    ) -> Result<Vec<(Option<String>, TruthDocument)>, HarnessError> {
        let path = self.dir.join("truth").join(format!("{snapshot}.ndjson"));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))?;
        let mut docs = Vec::new();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line)
                .map_err(|e| HarnessError::io(format!("parsing {}", path.display()), e.into()))?;
            let doc = TruthDocument {
                index: v["index"].as_str().unwrap_or_default().into(),
                shard: v["shard"].as_u64().unwrap_or_default() as u32,
                id: v["id"].as_str().unwrap_or_default().into(),
                routing: v["routing"].as_str().map(String::from),
                source: v["source"].as_str().map(String::from),
            };
            docs.push((v["type"].as_str().map(String::from), doc));
        }
        Ok(docs)
    }

    /// Per index at `snapshot`: `shards`, `documents` (`_count`), `lucene_docs` (nested children
    /// included), `source` (whether `_source` is kept), `codec`; 1.x/2.x sources: `types`.
    pub fn indices(&self, snapshot: &str) -> Result<Value, HarnessError> {
        let path = self
            .dir
            .join("truth")
            .join(format!("{snapshot}.indices.json"));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))?;
        serde_json::from_str(&text)
            .map_err(|e| HarnessError::io(format!("parsing {}", path.display()), e.into()))
    }
}

/// Starts a node, runs the generator against it into a folder beside `dir`, and renames that
/// folder to `dir` (a concurrent generation of the same key may win; its result is as good).
fn generate(
    source: RealSource,
    script: &Path,
    cache: &Path,
    dir: &Path,
    upgrade_from: Option<&Path>,
) -> Result<(), HarnessError> {
    std::fs::create_dir_all(cache)
        .map_err(|e| HarnessError::io(format!("creating {}", cache.display()), e))?;
    let tmp = cache.join(format!(
        ".{}-{}",
        dir.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    let (endpoint, repo_dir, node) = source.start()?;
    let mut cmd = Command::new("python3");
    if let Some(old) = upgrade_from {
        cmd.arg(script).arg("--upgrade-from").arg(old);
    } else {
        cmd.arg(script);
    }
    let out = cmd
        .args(["--url", &endpoint])
        .arg("--repo-dir")
        .arg(&repo_dir)
        .arg("--out")
        .arg(&tmp)
        .output()
        .map_err(|e| HarnessError::io(format!("running python3 {}", script.display()), e))?;
    drop(node);
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(HarnessError::Generate {
            what: format!("real snapshots of {}", source.name()),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    if std::fs::rename(&tmp, dir).is_err() && dir.join("engine.json").is_file() {
        let _ = std::fs::remove_dir_all(&tmp);
    } else if !dir.join("engine.json").is_file() {
        return Err(HarnessError::Generate {
            what: format!("real snapshots of {}", source.name()),
            reason: format!("could not move {} to {}", tmp.display(), dir.display()),
        });
    }
    Ok(())
}
