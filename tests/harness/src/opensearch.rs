//! A real OpenSearch node (Maven Central artifacts, one JVM) as a test target: the launcher in
//! `tests/opensearch/` is built into `.cache/opensearch/` on first use (`build.sh`, keyed by the
//! content of its pom and source), then started on a port the OS picks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::HarnessError;
use crate::process::ServerProcess;
use crate::servers::announced_and_answering;
use crate::workspace_root;

/// A flavour of the real target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// OpenSearch 2.19.6 (Lucene 9.12) on the default Java 17.
    V2_19,
    /// OpenSearch 3.9.0 (Lucene 10.5) on Temurin 25 (`JAVA25_HOME`, by default
    /// `/usr/lib/jvm/temurin-25-jdk-amd64`).
    V3_9,
    /// OpenSearch 2.19.1 with the k-NN plugin 2.19.1.0 (launcher `KnnNode`), Java 17: a source
    /// of vector indices, not a target.
    V2_19Knn,
    /// OpenSearch 3.5.0 with the k-NN plugin 3.5.0.0, Temurin 25.
    V3_5Knn,
}

impl Flavour {
    fn name(self) -> &'static str {
        match self {
            Flavour::V2_19 => "2.19",
            Flavour::V3_9 => "3.9",
            Flavour::V2_19Knn => "2.19-knn",
            Flavour::V3_5Knn => "3.5-knn",
        }
    }

    /// The launcher's main class (`tests/opensearch/src/`).
    fn main_class(self) -> &'static str {
        match self {
            Flavour::V2_19 | Flavour::V3_9 => "OpenSearchNode",
            Flavour::V2_19Knn | Flavour::V3_5Knn => "KnnNode",
        }
    }
}

/// One node, stopped (its process group killed) when dropped.
pub struct OpenSearch {
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    /// `version.number` as the node reports it, e.g. "2.19.6".
    pub version: String,
    /// The folder `fs` snapshot repositories may use (`path.repo`).
    pub repo_dir: PathBuf,
    flavour: Flavour,
    settings: Vec<String>,
    _home: tempfile::TempDir,
    process: ServerProcess,
}

impl OpenSearch {
    /// Start-up is about 15 s on two cores; the first build fetches the jars.
    pub const START_TIMEOUT: Duration = Duration::from_secs(120);

    pub fn start(flavour: Flavour) -> Result<Self, HarnessError> {
        OpenSearch::start_with(flavour, &[])
    }

    /// A node with extra node settings (`thread_pool.write.size=1`, …), which override the
    /// launcher's defaults.
    pub fn start_with(flavour: Flavour, settings: &[(&str, &str)]) -> Result<Self, HarnessError> {
        let home = tempfile::Builder::new()
            .prefix("opensearch-node-")
            .tempdir()
            .map_err(|e| HarnessError::io("creating the node's home", e))?;
        let settings: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let (process, endpoint, version) = launch(flavour, home.path(), &settings)?;
        Ok(OpenSearch {
            endpoint,
            version,
            repo_dir: home.path().join("repo"),
            flavour,
            settings,
            _home: home,
            process,
        })
    }

    /// Kills the node (as a crash would) and starts it again on the same port with the same
    /// data and settings; returns once it answers again.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.kill();
        let port = self
            .endpoint
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut settings = self.settings.clone();
        settings.push(format!("http.port={port}"));
        let (process, endpoint, _) = launch(self.flavour, self._home.path(), &settings)?;
        self.process = process;
        assert_eq!(
            endpoint, self.endpoint,
            "the restarted node took another port"
        );
        Ok(())
    }

    /// Kills the node's process group (`kill -9`) and waits for it; [`OpenSearch::restart`]
    /// brings it back.
    pub fn kill(&mut self) {
        self.process.stop();
    }

    /// The node's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Its stdout and stderr (removed on drop unless a test is failing).
    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }
}

/// Starts the launcher with `home` and its settings: the process, its endpoint and version.
fn launch(
    flavour: Flavour,
    home: &Path,
    settings: &[String],
) -> Result<(ServerProcess, String, String), HarnessError> {
    let built = build(flavour)?;
    let read = |name: &str| {
        std::fs::read_to_string(built.join(name))
            .map(|s| s.trim().to_string())
            .map_err(|e| HarnessError::io(format!("reading {}/{name}", built.display()), e))
    };
    let (classpath, java) = (read("classpath")?, read("java")?);
    let mut cmd = Command::new(java);
    cmd.args(["-Xms256m", "-Xmx512m", "-XX:+UseSerialGC"]);
    if matches!(flavour, Flavour::V3_9 | Flavour::V3_5Knn) {
        // Lucene 10 and OpenSearch 3 call native code (memory mapping, vectors).
        cmd.arg("--enable-native-access=ALL-UNNAMED");
    }
    cmd.arg("-cp")
        .arg(classpath)
        .arg(flavour.main_class())
        .arg(home.join("home"))
        .arg(home.join("repo"))
        .args(settings);
    let mut process = ServerProcess::spawn("opensearch", cmd)?;
    let log = process.log_path().to_path_buf();
    let (endpoint, line) =
        process.wait_ready(OpenSearch::START_TIMEOUT, || announced_and_answering(&log))?;
    let version = line["version"].as_str().unwrap_or_default().to_string();
    Ok((process, endpoint, version))
}

/// `bash tests/opensearch/build.sh <flavour>`: the folder holding `classpath`.
pub(crate) fn build(flavour: Flavour) -> Result<PathBuf, HarnessError> {
    let script = workspace_root().join("tests/opensearch/build.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(flavour.name())
        .output()
        .map_err(|e| HarnessError::io(format!("running {}", script.display()), e))?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return Err(HarnessError::NotInstalled {
            what: "the OpenSearch launcher (needs java, javac and mvn with Maven Central)",
            path: script,
        });
    }
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(PathBuf::from(dir))
}
