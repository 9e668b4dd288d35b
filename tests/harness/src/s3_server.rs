//! s3s-fs: an S3-compatible server in Rust that keeps its objects as files in one folder (the
//! `s3s-fs` crate's binary, pinned). moto is S3 enough for the tests, but it is Python: in the
//! end-to-end benchmark it, not the worker, would set the pace. This one serves ranged
//! `GetObject`s from disk fast enough that the worker is what gets measured.
//!
//! Installed by `tests/harness/install-s3s-fs.sh` (a `cargo install` of three minutes on two
//! cores, so not part of `make harness`); the benchmark runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::http::request_with_timeout;
use crate::process::{start_on_free_port, ServerProcess};
use crate::{harness_dir, HarnessError};

/// The crate version `install-s3s-fs.sh` installs; its folder under the harness is keyed by it.
/// 0.14.1 is the newest that builds on Rust 1.95 (0.15 and later need 1.96).
pub const S3S_FS_VERSION: &str = "0.14.1";

const INSTALL: &str = "bash tests/harness/install-s3s-fs.sh";

/// An s3s-fs server on a loopback port, over a fresh folder of its own (deleted with it).
/// Buckets are the folder's subfolders. It checks SigV4 signatures (it refuses signed requests
/// without a key to check them with): clients sign with [`crate::ACCESS_KEY_ID`] and
/// [`crate::SECRET_ACCESS_KEY`], as [`crate::sdk_config`] does.
pub struct S3Fs {
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    port: u16,
    // Declared before the folder: the server is stopped before its files are deleted.
    process: ServerProcess,
    root: tempfile::TempDir,
}

impl S3Fs {
    pub const START_TIMEOUT: Duration = Duration::from_secs(30);

    pub fn start() -> Result<Self, HarnessError> {
        let binary = s3s_fs_binary()?;
        let root = tempfile::Builder::new()
            .prefix("s3s-fs-")
            .tempdir()
            .map_err(|e| HarnessError::io("creating the s3s-fs folder", e))?;
        let (process, endpoint) = start_on_free_port(
            "s3s-fs",
            Self::START_TIMEOUT,
            |port| {
                let mut cmd = Command::new(&binary);
                cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .args(["--access-key", crate::ACCESS_KEY_ID])
                    .args(["--secret-key", crate::SECRET_ACCESS_KEY])
                    .arg(root.path());
                cmd
            },
            |endpoint| {
                // An unsigned ListBuckets: S3's refusal in XML means it is serving.
                let r = request_with_timeout(endpoint, "GET", "/", &[], b"", PROBE_TIMEOUT)
                    .map_err(|e| e.to_string())?;
                match r.text().contains("<Error><Code>") {
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
        Ok(S3Fs {
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

    /// `"s3s-fs 0.14.1"`, for reports.
    pub fn name() -> String {
        format!("s3s-fs {S3S_FS_VERSION}")
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

/// `<harness>/s3s-fs-<version>/bin/s3s-fs`, where `cargo install --root` put it.
pub fn s3s_fs_binary() -> Result<PathBuf, HarnessError> {
    let path = harness_dir()
        .join(format!("s3s-fs-{S3S_FS_VERSION}"))
        .join("bin")
        .join("s3s-fs");
    if path.is_file() {
        Ok(path)
    } else {
        Err(HarnessError::NotInstalledBy {
            what: "s3s-fs",
            path,
            install: INSTALL,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_script_pins_the_version_the_starter_looks_for() {
        let script = crate::workspace_root().join("tests/harness/install-s3s-fs.sh");
        let text = std::fs::read_to_string(&script).unwrap();
        let pin = format!("S3S_FS_VERSION=\"{S3S_FS_VERSION}\"");
        assert!(text.contains(&pin), "{} lacks {pin}", script.display());
        assert!(INSTALL.ends_with("tests/harness/install-s3s-fs.sh"));
    }
}
