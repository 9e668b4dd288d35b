//! Builds the engine from the configuration (clients once per process) and runs it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use backfill_aws::{DynamoStore, EmfMetrics, S3Location, S3Reports, Snapshots};
use backfill_core::control::endpoint_policy::{EndpointError, OverridePolicy, TargetUrl};
use backfill_core::worker::{Engine, EngineError, LocalReports, RejectionSink, Stop};
use backfill_opensearch::{AuthSetting, AuthSource, OpenSearchTarget, TargetConfig};
use tokio::sync::watch;

use crate::config::{AuthMode, WorkerConfig};

pub async fn run(cfg: WorkerConfig) -> u8 {
    match run_inner(cfg).await {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "worker failed");
            eprintln!("error: {e:#}");
            e.downcast_ref::<ConfigError>().map_or(1, |_| 2)
        }
    }
}

/// A configuration that cannot work (exit code 2).
#[derive(Debug)]
struct ConfigError(String);

impl std::error::Error for ConfigError {}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

async fn run_inner(cfg: WorkerConfig) -> anyhow::Result<u8> {
    let worker_id = cfg.worker_id.clone().unwrap_or_else(default_worker_id);
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&aws)
            .force_path_style(path_style())
            .build(),
    );
    let store = Arc::new(DynamoStore::new(dynamodb, &cfg.table));
    let record = match backfill_core::WorkStore::backfill(store.as_ref(), &cfg.backfill_id).await? {
        Some(r) => r,
        None => {
            tracing::error!(backfill = %cfg.backfill_id, table = %cfg.table, "no such backfill");
            eprintln!(
                "error: backfill {} does not exist in table {}",
                cfg.backfill_id, cfg.table
            );
            return Ok(3);
        }
    };
    let endpoint = cfg
        .target_endpoint
        .clone()
        .unwrap_or_else(|| record.target.endpoint.clone());
    check_target(&cfg, &endpoint)?;
    let target = Arc::new(OpenSearchTarget::new(
        target_config(&cfg, &endpoint, &aws).await?,
    )?);
    let reports: Arc<dyn RejectionSink> = match cfg.reports.as_deref() {
        Some(uri) if uri.starts_with("s3://") => Arc::new(S3Reports {
            client: s3.clone(),
            location: S3Location::parse(uri).ok_or_else(|| {
                ConfigError(format!("--reports {uri:?} is not s3://bucket/prefix"))
            })?,
            worker: worker_id.clone(),
        }),
        Some(dir) => Arc::new(LocalReports::new(dir, &worker_id)),
        None => Arc::new(LocalReports::new("failed-documents-reports", &worker_id)),
    };
    let metrics =
        Arc::new(EmfMetrics::stdout(&cfg.backfill_id).with_namespace(&cfg.metrics_namespace));
    let snapshots = Arc::new(Snapshots {
        s3,
        runtime: tokio::runtime::Handle::current(),
    });
    let engine = Engine::new(
        cfg.engine(&worker_id),
        store.clone(),
        target,
        snapshots,
        reports,
        metrics.clone(),
    );

    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_stop_signal().await;
        tracing::info!("stop requested: checkpointing and releasing the current item");
        let _ = tx.send(true);
    });
    let flusher = {
        let metrics = metrics.clone();
        let every = Duration::from_secs(cfg.metrics_seconds.max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                metrics.flush();
            }
        })
    };
    tracing::info!(backfill = %cfg.backfill_id, worker = %worker_id, target = %endpoint, "worker started");
    let result = engine.run(rx).await;
    flusher.abort();
    metrics.flush();
    match result {
        Ok((stop, summary)) => {
            tracing::info!(
                ?stop,
                checkpoints = summary.checkpoints,
                items_completed = summary.items_completed,
                items_failed = summary.items_failed,
                items_released = summary.items_released,
                leases_lost = summary.leases_lost,
                docs = summary.docs,
                bytes = summary.bytes,
                rejected = summary.rejected,
                dynamodb_requests = store.requests(),
                "worker done"
            );
            match stop {
                Stop::NoWorkLeft | Stop::Interrupted | Stop::NotRunning(_) => Ok(0),
            }
        }
        Err(EngineError::NoSuchBackfill(id)) => {
            eprintln!("error: backfill {id} does not exist");
            Ok(3)
        }
        Err(e) => Err(e.into()),
    }
}

/// Before any credential is fetched or sent: the target follows the URL rules, and a target
/// taken from the backfill's record (which a caller of `start` chose) gets credentials only if
/// the operator's list names it. `--target-endpoint` is the operator's own choice.
fn check_target(cfg: &WorkerConfig, endpoint: &str) -> anyhow::Result<()> {
    let policy = OverridePolicy {
        allowed_target_endpoints: cfg
            .allowed_target_endpoints
            .iter()
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect(),
        ..OverridePolicy::default()
    };
    let refused = |e: EndpointError| ConfigError(e.to_string());
    TargetUrl::parse(endpoint).map_err(refused)?;
    if cfg.target_endpoint.is_none() && cfg.target_auth != AuthMode::None {
        policy.credentials_may_go_to(endpoint).map_err(refused)?;
    }
    Ok(())
}

/// Path-style S3 addressing when an endpoint override is set (moto and other emulators).
fn path_style() -> bool {
    std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
}

async fn target_config(
    cfg: &WorkerConfig,
    endpoint: &str,
    aws: &aws_config::SdkConfig,
) -> anyhow::Result<TargetConfig> {
    let mut t = TargetConfig::new(endpoint);
    t.gzip = cfg.target_gzip;
    t.request_timeout = Duration::from_secs(cfg.target_timeout_seconds.max(1));
    t.insecure_skip_verify = cfg.target_insecure;
    let setting = match cfg.target_auth {
        AuthMode::None => AuthSetting::None,
        AuthMode::Basic => match (&cfg.target_secret_arn, &cfg.target_username, &cfg.target_password) {
            (Some(arn), _, _) => AuthSetting::BasicSecret { secret_id: arn.clone() },
            (None, Some(u), Some(p)) => AuthSetting::Basic {
                username: u.clone(),
                password: p.clone(),
            },
            _ => bail!(ConfigError(
                "--target-auth basic needs --target-secret-arn, or --target-username and --target-password".into()
            )),
        },
        AuthMode::Sigv4 => AuthSetting::SigV4 {
            region: cfg.target_region.clone(),
            service: cfg.target_service.clone(),
        },
    };
    // Fetched now, at start-up: a worker that cannot authenticate says so before it claims.
    t.auth = AuthSource::resolve(&setting, aws)
        .map_err(|e| ConfigError(format!("--target-auth: {e}")))?
        .get()
        .await?;
    Ok(t)
}

/// The ECS task id when running on ECS, else host-pid-random.
fn default_worker_id() -> String {
    if let Ok(uri) = std::env::var("ECS_CONTAINER_METADATA_URI_V4") {
        // .../v4/<task id>-<container>: the last path segment names the task uniquely.
        if let Some(last) = uri.trim_end_matches('/').rsplit('/').next() {
            return format!("ecs-{last}");
        }
    }
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!("{host}-{}-{:04x}", std::process::id(), fastrand::u16(..))
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
