//! The worker's configuration: flags, or the environment of the ECS task definition, read
//! once at start-up into one typed value.

use std::time::Duration;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// No authentication.
    None,
    /// HTTP Basic: `--target-username`/`--target-password`, or a Secrets Manager secret.
    Basic,
    /// SigV4 for Amazon OpenSearch Service (`es`) or Serverless (`aoss`).
    Sigv4,
}

/// Moves shards of a snapshot into the target cluster, sharing them with other workers
/// through leases in DynamoDB. Exits 0 when no work is left.
#[derive(Debug, Clone, Parser)]
#[command(name = "backfill-worker", version)]
pub struct WorkerConfig {
    /// The backfill to work on.
    #[arg(long, env = "BACKFILL_ID")]
    pub backfill_id: String,
    /// The DynamoDB table that holds the working state.
    #[arg(long, env = "BACKFILL_TABLE", default_value = backfill_aws::table::DEFAULT_TABLE_NAME)]
    pub table: String,
    /// This worker's name in leases (default: the ECS task id, else host-pid-random).
    #[arg(long, env = "BACKFILL_WORKER_ID")]
    pub worker_id: Option<String>,
    /// Where failed-documents reports go: `s3://bucket/prefix` or a local directory.
    #[arg(long, env = "BACKFILL_REPORTS")]
    pub reports: Option<String>,

    /// Overrides the target endpoint recorded in the backfill.
    #[arg(long, env = "TARGET_ENDPOINT")]
    pub target_endpoint: Option<String>,
    /// Where the worker may send the target's credentials (Basic or SigV4) when it takes the
    /// target from the backfill's record, comma-separated; any other target is refused. On AWS:
    /// the template's TargetEndpoint and AllowedTargetEndpoints.
    #[arg(long, env = "ALLOWED_TARGET_ENDPOINTS", value_delimiter = ',')]
    pub allowed_target_endpoints: Vec<String>,
    #[arg(long, env = "TARGET_AUTH", value_enum, default_value_t = AuthMode::None)]
    pub target_auth: AuthMode,
    #[arg(long, env = "TARGET_USERNAME")]
    pub target_username: Option<String>,
    /// Prefer `--target-secret-arn`: a password in the environment shows in the task definition.
    #[arg(long, env = "TARGET_PASSWORD", hide_env_values = true)]
    pub target_password: Option<String>,
    /// Secrets Manager secret holding `{"username": …, "password": …}`.
    #[arg(long, env = "TARGET_SECRET_ARN")]
    pub target_secret_arn: Option<String>,
    /// Region for SigV4 (default: the AWS region of the environment).
    #[arg(long, env = "TARGET_REGION")]
    pub target_region: Option<String>,
    /// SigV4 service name: `es` (OpenSearch Service) or `aoss` (Serverless).
    #[arg(long, env = "TARGET_SERVICE", default_value = "es")]
    pub target_service: String,
    /// Gzip `_bulk` bodies.
    #[arg(long, env = "TARGET_GZIP", default_value_t = false)]
    pub target_gzip: bool,
    /// Seconds per request to the target.
    #[arg(long, env = "TARGET_TIMEOUT_SECONDS", default_value_t = 120)]
    pub target_timeout_seconds: u64,
    /// Accept any certificate from the target (self-signed test clusters only).
    #[arg(long, env = "TARGET_INSECURE", default_value_t = false)]
    pub target_insecure: bool,

    /// First lease of an item, in seconds; it doubles each time a holder vanished.
    #[arg(long, env = "BACKFILL_LEASE_SECONDS", default_value_t = 300)]
    pub lease_seconds: u64,
    #[arg(long, env = "BACKFILL_MAX_LEASE_SECONDS", default_value_t = 4 * 3600)]
    pub max_lease_seconds: u64,
    /// Tolerated disagreement between workers' clocks, in seconds.
    #[arg(long, env = "BACKFILL_MAX_CLOCK_SKEW_SECONDS", default_value_t = 15)]
    pub max_clock_skew_seconds: u64,
    /// Checkpoint after this many documents …
    #[arg(long, env = "BACKFILL_CHECKPOINT_DOCS", default_value_t = 20_000)]
    pub checkpoint_docs: u64,
    /// … or this many seconds, whichever comes first.
    #[arg(long, env = "BACKFILL_CHECKPOINT_SECONDS", default_value_t = 30)]
    pub checkpoint_seconds: u64,
    #[arg(long, env = "BACKFILL_BULK_MAX_DOCS", default_value_t = 2_000)]
    pub bulk_max_docs: usize,
    #[arg(long, env = "BACKFILL_BULK_MAX_BYTES", default_value_t = 8 << 20)]
    pub bulk_max_bytes: usize,
    /// Upper bound of `_bulk` requests in flight; fewer while the target pushes back.
    #[arg(long, env = "BACKFILL_MAX_IN_FLIGHT", default_value_t = 4)]
    pub max_in_flight: usize,
    /// Sends of a document before its shard is given up for now.
    #[arg(long, env = "BACKFILL_MAX_SEND_ATTEMPTS", default_value_t = 12)]
    pub max_send_attempts: u32,
    /// First wait before resending to the target, in milliseconds; it doubles per attempt
    /// (with full jitter) up to `--retry-max-ms`.
    #[arg(long, env = "BACKFILL_RETRY_INITIAL_MS", default_value_t = 500)]
    pub retry_initial_ms: u64,
    #[arg(long, env = "BACKFILL_RETRY_MAX_MS", default_value_t = 30_000)]
    pub retry_max_ms: u64,
    /// Non-retryable failures before a shard is failed for good.
    #[arg(long, env = "BACKFILL_MAX_FAILURES", default_value_t = 3)]
    pub max_failures: u32,
    /// Seconds between claim attempts while every open item is leased.
    #[arg(long, env = "BACKFILL_IDLE_POLL_SECONDS", default_value_t = 5)]
    pub idle_poll_seconds: u64,
    /// Bytes per ranged read of the snapshot's large files.
    #[arg(long, env = "BACKFILL_READ_WINDOW_BYTES", default_value_t = 8 << 20)]
    pub read_window_bytes: usize,
    /// Skip the CRC32 pre-pass over stored fields (saves one read of each .fdt).
    #[arg(long, env = "BACKFILL_NO_VERIFY", default_value_t = false)]
    pub no_verify: bool,
    /// After SIGTERM, seconds in-flight `_bulk` requests may take before they are abandoned
    /// (and sent again by the next holder), so that the lease is released before the kill.
    #[arg(long, env = "BACKFILL_STOP_GRACE_SECONDS", default_value_t = 10)]
    pub stop_grace_seconds: u64,
    /// At most this many bytes of `_source` per second from this worker, to protect the target
    /// (0: no cap). The fleet sends at most this times its size.
    #[arg(long, env = "BACKFILL_MAX_BYTES_PER_SECOND", default_value_t = 0)]
    pub max_bytes_per_second: u64,
    /// CloudWatch namespace of the worker's metrics (the control plane's poller uses the same).
    #[arg(long, env = "METRICS_NAMESPACE", default_value = backfill_aws::emf::NAMESPACE)]
    pub metrics_namespace: String,
    /// Seconds between metric flushes (one EMF log line each).
    #[arg(long, env = "BACKFILL_METRICS_SECONDS", default_value_t = 10)]
    pub metrics_seconds: u64,
}

impl WorkerConfig {
    pub fn engine(&self, worker_id: &str) -> backfill_core::worker::EngineConfig {
        let mut c = backfill_core::worker::EngineConfig::new(&self.backfill_id, worker_id);
        c.lease = backfill_core::LeasePolicy {
            initial: Duration::from_secs(self.lease_seconds),
            max: Duration::from_secs(self.max_lease_seconds.max(self.lease_seconds)),
            max_clock_skew: Duration::from_secs(self.max_clock_skew_seconds),
        };
        c.checkpoint_docs = self.checkpoint_docs.max(1);
        c.checkpoint_interval = Duration::from_secs(self.checkpoint_seconds.max(1));
        c.batch.max_docs = self.bulk_max_docs.max(1);
        c.batch.max_bytes = self.bulk_max_bytes.max(1);
        c.max_in_flight = self.max_in_flight.max(1);
        c.retry.max_attempts = self.max_send_attempts.max(1);
        c.retry.initial_backoff = Duration::from_millis(self.retry_initial_ms.max(1));
        c.retry.max_backoff =
            Duration::from_millis(self.retry_max_ms.max(self.retry_initial_ms).max(1));
        c.max_failures = self.max_failures.max(1);
        c.idle_poll = Duration::from_secs(self.idle_poll_seconds.max(1));
        c.stop_grace = Duration::from_secs(self.stop_grace_seconds);
        c.max_bytes_per_second = Some(self.max_bytes_per_second).filter(|&b| b > 0);
        c.read = snapshot::ReadOptions {
            read_size: self.read_window_bytes.max(64 << 10),
            verify_checksums: !self.no_verify,
        };
        c
    }
}
