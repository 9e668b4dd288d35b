//! A real Elasticsearch node (1.7, 2.4, 8.19 or 9.5, Maven Central artifacts, one JVM) as a
//! writer of real snapshot repositories: the launcher in `tests/elasticsearch/` (8.19, 9.5) or
//! `tests/elasticsearch-legacy/` (1.7, 2.4) is built into `.cache/elasticsearch*/` on first use
//! (`build.sh`, keyed by content), then started by its `run` script on a port the OS picks. As
//! root, the 8.19/9.5 `run` gives its folders to uid 65534 and runs the node as that user
//! (Elasticsearch refuses root); 1.7/2.4 started through `NodeBuilder` run as they are.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::HarnessError;
use crate::process::ServerProcess;
use crate::servers::announced_and_answering;
use crate::workspace_root;

/// A version of Elasticsearch that runs here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EsVersion {
    /// Elasticsearch 1.7.6 (Lucene 4.10) on Java 17, `NodeBuilder` with its own HTTP module.
    V1_7,
    /// Elasticsearch 2.4.6 (Lucene 5.5) on Java 17, `NodeBuilder` with its own HTTP module.
    V2_4,
    /// Elasticsearch 8.19.21 (Lucene 9.12) on the default Java 17.
    V8_19,
    /// Elasticsearch 9.5.3 (Lucene 10.5) on Temurin 25 (`JAVA25_HOME`).
    V9_5,
}

impl EsVersion {
    fn name(self) -> &'static str {
        match self {
            EsVersion::V1_7 => "1.7",
            EsVersion::V2_4 => "2.4",
            EsVersion::V8_19 => "8.19",
            EsVersion::V9_5 => "9.5",
        }
    }

    /// 1.x/2.x: mapping types in every API, the repository layout before index-N.
    pub fn is_legacy(self) -> bool {
        matches!(self, EsVersion::V1_7 | EsVersion::V2_4)
    }
}

/// One node, stopped (its process group killed) when dropped.
pub struct Elasticsearch {
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    /// `version.number` as the node reports it, e.g. "8.19.21".
    pub version: String,
    /// The folder `fs` snapshot repositories may use (`path.repo`).
    pub repo_dir: PathBuf,
    _home: tempfile::TempDir,
    _process: ServerProcess,
}

impl Elasticsearch {
    /// Start-up is 10–20 s on two cores; the first build fetches the jars.
    pub const START_TIMEOUT: Duration = Duration::from_secs(120);

    pub fn start(version: EsVersion) -> Result<Self, HarnessError> {
        let built = build(version)?;
        let home = tempfile::Builder::new()
            .prefix("elasticsearch-node-")
            .tempdir()
            .map_err(|e| HarnessError::io("creating the node's home", e))?;
        let repo_dir = home.path().join("repo");
        let mut cmd = Command::new("bash");
        cmd.arg(built.join("run"))
            .arg(home.path().join("home"))
            .arg(&repo_dir);
        let mut process = ServerProcess::spawn("elasticsearch", cmd)?;
        let log = process.log_path().to_path_buf();
        let (endpoint, line) =
            process.wait_ready(Self::START_TIMEOUT, || announced_and_answering(&log))?;
        let version = line["version"].as_str().unwrap_or_default().to_string();
        Ok(Elasticsearch {
            endpoint,
            version,
            repo_dir,
            _home: home,
            _process: process,
        })
    }
}

/// `bash tests/elasticsearch{,-legacy}/build.sh <version>`: the folder holding `run`.
pub(crate) fn build(version: EsVersion) -> Result<PathBuf, HarnessError> {
    let script = workspace_root().join(if version.is_legacy() {
        "tests/elasticsearch-legacy/build.sh"
    } else {
        "tests/elasticsearch/build.sh"
    });
    let out = Command::new("bash")
        .arg(&script)
        .arg(version.name())
        .output()
        .map_err(|e| HarnessError::io(format!("running {}", script.display()), e))?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return Err(HarnessError::NotInstalled {
            what: "the Elasticsearch launcher (needs java, javac and mvn with Maven Central)",
            path: script,
        });
    }
    Ok(Path::new(String::from_utf8_lossy(&out.stdout).trim()).to_path_buf())
}
