//! Logging set-up, the same for every binary: `BACKFILL_LOG` (an `EnvFilter`, e.g.
//! `info,backfill_core=debug`) chooses what is logged.

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, for the CLI.
    Text,
    /// One JSON object per line, for the worker (collected from standard error by ECS).
    Json,
    /// JSON without a timestamp, on standard output: CloudWatch Logs stamps each line of a
    /// Lambda. (The others write to standard error, which keeps the CLI's output clean.)
    JsonUntimed,
}

/// Installs the process's subscriber; `default` is the filter when `BACKFILL_LOG` is unset or
/// invalid. A second call (a test that runs two binaries' entry points) changes nothing.
pub fn init_logging(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BACKFILL_LOG")
        .unwrap_or_else(|_| default.into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder.with_writer(std::io::stderr).try_init(),
        LogFormat::Json => builder.json().with_writer(std::io::stderr).try_init(),
        LogFormat::JsonUntimed => builder.json().without_time().try_init(),
    };
}
