use std::io;
use std::path::PathBuf;

/// What can go wrong while starting or talking to a local server.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// `install.sh` has not run (or not to completion) for the folder in use.
    #[error(
        "{what} is not installed: {} is missing; run `make harness` (tests/harness/install.sh) first",
        path.display()
    )]
    NotInstalled { what: &'static str, path: PathBuf },

    /// A server installed by a script of its own (not `make harness`) that has not run.
    #[error("{what} is not installed: {} is missing; run `{install}` first", path.display())]
    NotInstalledBy {
        what: &'static str,
        path: PathBuf,
        install: &'static str,
    },

    /// The server exited during startup or did not answer in time. `log_tail` is already
    /// formatted (empty, or the last lines of the log, indented).
    #[error("{server} did not start: {reason}\n  command: {command}\n  log: {}{log_tail}", log.display())]
    Start {
        server: &'static str,
        command: String,
        log: PathBuf,
        reason: String,
        log_tail: String,
    },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// A request of the harness's own HTTP client failed or got an unexpected answer.
    #[error("{method} {url}: {reason}")]
    Http {
        method: String,
        url: String,
        reason: String,
    },

    #[error("ECS {operation} {target}: {message}")]
    Ecs {
        operation: &'static str,
        target: String,
        message: String,
    },

    /// A test-data generator failed.
    #[error("generating {what}: {reason}")]
    Generate { what: String, reason: String },

    #[error("S3 {operation} {target}: {message}")]
    S3 {
        operation: &'static str,
        target: String,
        message: String,
    },
}

impl HarnessError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        HarnessError::Io {
            context: context.into(),
            source,
        }
    }
}
