//! S3 emulators from registries that keep their objects as files in one folder, for the
//! end-to-end benchmark. moto is S3 enough for the tests, but it is Python: in the benchmark it,
//! not the worker, would set the pace. These serve ranged `GetObject`s from disk:
//! - gofakes3 (Go, the `github.com/johannesboyne/gofakes3` module's command, pinned; its `fs`
//!   backend): the default, about a fifth of an emulator CPU-second per worker CPU-second;
//! - s3s-fs (Rust, the `s3s-fs` crate's binary, pinned): 0.14.1, the newest that builds on this
//!   Rust, reads files 4 KiB at a time and spends more CPU than the worker it serves.
//!
//! Installed by `tests/harness/install-gofakes3.sh` (a `go install`, under a minute) and
//! `tests/harness/install-s3s-fs.sh` (a `cargo install` of three minutes on two cores), so not
//! part of `make harness`; the benchmark runs them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::http::request_with_timeout;
use crate::process::{start_on_free_port, ServerProcess};
use crate::{harness_dir, HarnessError};

/// The crate version `install-s3s-fs.sh` installs; its folder under the harness is keyed by it.
/// 0.14.1 is the newest that builds on Rust 1.95 (0.15 and later need 1.96).
pub const S3S_FS_VERSION: &str = "0.14.1";
/// The module version `install-gofakes3.sh` installs (the newest the Go proxy serves).
pub const GOFAKES3_VERSION: &str = "v1.2.0";

/// Which emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Emulator {
    S3sFs,
    GoFakeS3,
}

impl S3Emulator {
    /// The name `harness-servers` and `BENCH_S3` take.
    pub fn name(self) -> &'static str {
        match self {
            S3Emulator::S3sFs => "s3s-fs",
            S3Emulator::GoFakeS3 => "gofakes3",
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            S3Emulator::S3sFs => S3S_FS_VERSION,
            S3Emulator::GoFakeS3 => GOFAKES3_VERSION,
        }
    }

    fn install(self) -> &'static str {
        match self {
            S3Emulator::S3sFs => "bash tests/harness/install-s3s-fs.sh",
            S3Emulator::GoFakeS3 => "bash tests/harness/install-gofakes3.sh",
        }
    }

    /// `<harness>/<name>-<version>/bin/<name>`, where the install script put it.
    pub fn binary(self) -> Result<PathBuf, HarnessError> {
        let path = harness_dir()
            .join(format!("{}-{}", self.name(), self.version()))
            .join("bin")
            .join(self.name());
        if path.is_file() {
            Ok(path)
        } else {
            Err(HarnessError::NotInstalledBy {
                what: self.name(),
                path,
                install: self.install(),
            })
        }
    }

    /// Whether clients must sign with the harness's key (s3s-fs checks SigV4 signatures;
    /// gofakes3 does not look at them).
    pub fn checks_signatures(self) -> bool {
        self == S3Emulator::S3sFs
    }

    fn command(self, binary: &Path, port: u16, root: &Path) -> Command {
        let mut cmd = Command::new(binary);
        match self {
            S3Emulator::S3sFs => {
                cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .args(["--access-key", crate::ACCESS_KEY_ID])
                    .args(["--secret-key", crate::SECRET_ACCESS_KEY])
                    .arg(root);
            }
            S3Emulator::GoFakeS3 => {
                // Buckets under `<root>/buckets`; `-autobucket` so the SDK's first PutObject
                // needs no CreateBucket; `-quiet` keeps a log line per request out.
                cmd.args(["-backend", "fs", "-fs.create", "-autobucket", "-quiet"])
                    .arg("-fs.path")
                    .arg(root)
                    .args(["-host", &format!("127.0.0.1:{port}")]);
            }
        }
        cmd
    }
}

/// An S3 emulator on a loopback port, over a fresh folder of its own (deleted with it). Clients
/// sign with [`crate::ACCESS_KEY_ID`] and [`crate::SECRET_ACCESS_KEY`], as [`crate::sdk_config`]
/// does (s3s-fs refuses signed requests without a key to check them with).
pub struct LocalS3 {
    pub emulator: S3Emulator,
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    port: u16,
    // Declared before the folder: the server is stopped before its files are deleted.
    process: ServerProcess,
    root: tempfile::TempDir,
}

impl LocalS3 {
    pub const START_TIMEOUT: Duration = Duration::from_secs(30);

    pub fn start(emulator: S3Emulator) -> Result<Self, HarnessError> {
        let binary = emulator.binary()?;
        let root = tempfile::Builder::new()
            .prefix(&format!("{}-", emulator.name()))
            .tempdir()
            .map_err(|e| HarnessError::io("creating the S3 emulator's folder", e))?;
        let (process, endpoint) = start_on_free_port(
            emulator.name(),
            Self::START_TIMEOUT,
            |port| emulator.command(&binary, port, root.path()),
            |endpoint| {
                // A ListBuckets: S3's XML (a refusal or a list) means it is serving.
                let r = request_with_timeout(endpoint, "GET", "/", &[], b"", PROBE_TIMEOUT)
                    .map_err(|e| e.to_string())?;
                let text = r.text();
                match text.contains("<Error><Code>") || text.contains("ListAllMyBucketsResult") {
                    true => Ok(()),
                    false => Err(format!("an answer that is not S3's: {}", r.status)),
                }
            },
        )?;
        let port = endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        Ok(LocalS3 {
            emulator,
            endpoint,
            port,
            process,
            root,
        })
    }

    /// The folder that holds the buckets.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `"gofakes3 v1.2.0"`, for reports.
    pub fn name(&self) -> String {
        format!("{} {}", self.emulator.name(), self.emulator.version())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_scripts_pin_the_versions_the_starter_looks_for() {
        for (emulator, var) in [
            (S3Emulator::S3sFs, "S3S_FS_VERSION"),
            (S3Emulator::GoFakeS3, "GOFAKES3_VERSION"),
        ] {
            let script = emulator.install().trim_start_matches("bash ");
            let path = crate::workspace_root().join(script);
            let text = std::fs::read_to_string(&path).unwrap();
            let pin = format!("{var}=\"{}\"", emulator.version());
            assert!(text.contains(&pin), "{} lacks {pin}", path.display());
        }
    }
}
