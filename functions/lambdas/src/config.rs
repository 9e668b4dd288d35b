//! The functions' configuration: environment variables set by the template, read once per cold
//! start into one typed value.

use backfill_aws::S3Location;
use backfill_core::control::endpoint_policy::{split_list, OverridePolicy, Repository, TargetUrl};
use backfill_opensearch::AuthSetting;

/// Every variable a function reads (the template sets them; a check compares the two).
pub const ENV_VARS: [&str; 19] = [
    "BACKFILL_TABLE",
    "DEFAULT_BACKFILL_ID",
    "DEFAULT_WORKERS",
    "MAX_WORKERS",
    "ECS_CLUSTER",
    "ECS_SERVICE",
    "STOP_STATE_MACHINE_ARN",
    "ARCHIVE_S3_URI",
    "METRICS_NAMESPACE",
    "SNAPSHOT_REPOSITORY",
    "SNAPSHOT_NAME",
    "TARGET_ENDPOINT",
    "CREATE_MISSING_INDICES",
    "TARGET_AUTH",
    "TARGET_SECRET_ARN",
    "TARGET_REGION",
    "TARGET_SERVICE",
    "ALLOWED_TARGET_ENDPOINTS",
    "ALLOWED_SNAPSHOT_REPOSITORIES",
];

#[derive(Debug, Clone)]
pub struct Env {
    pub table: String,
    pub default_backfill: String,
    pub default_workers: u32,
    pub max_workers: u32,
    pub ecs_cluster: String,
    pub ecs_service: String,
    pub stop_state_machine_arn: String,
    pub archive: S3Location,
    pub metrics_namespace: String,
    pub snapshot_repository: Option<String>,
    pub snapshot_name: Option<String>,
    pub target_endpoint: Option<String>,
    pub create_missing_indices: bool,
    /// How the control plane authenticates to the target (for `cat-indices`), as the
    /// workers do.
    pub target_auth: AuthSetting,
    /// Other targets and repositories a start may name (comma-separated lists).
    pub overrides: OverridePolicy,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub(crate) String);

impl Env {
    pub fn from_process() -> Result<Env, ConfigError> {
        Env::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Env, ConfigError> {
        let need = |k: &str| {
            get(k)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ConfigError(format!("{k} is not set")))
        };
        let opt = |k: &str| get(k).filter(|v| !v.is_empty());
        let num = |k: &str, default: u32| -> Result<u32, ConfigError> {
            match opt(k) {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|_| ConfigError(format!("{k}={v:?} is not a number"))),
            }
        };
        let archive_uri = need("ARCHIVE_S3_URI")?;
        Ok(Env {
            table: need("BACKFILL_TABLE")?,
            default_backfill: opt("DEFAULT_BACKFILL_ID").unwrap_or_else(|| "default".into()),
            default_workers: num("DEFAULT_WORKERS", 5)?,
            max_workers: num("MAX_WORKERS", 50)?,
            ecs_cluster: need("ECS_CLUSTER")?,
            ecs_service: need("ECS_SERVICE")?,
            stop_state_machine_arn: opt("STOP_STATE_MACHINE_ARN").unwrap_or_default(),
            archive: S3Location::parse(&archive_uri).ok_or_else(|| {
                ConfigError(format!(
                    "ARCHIVE_S3_URI={archive_uri:?} is not s3://bucket/prefix"
                ))
            })?,
            metrics_namespace: opt("METRICS_NAMESPACE").unwrap_or_else(|| "Backfill".into()),
            snapshot_repository: opt("SNAPSHOT_REPOSITORY")
                .map(|r| Repository::parse(&r, false).map(|_| r))
                .transpose()
                .map_err(|e| ConfigError(format!("SNAPSHOT_REPOSITORY: {e}")))?,
            snapshot_name: opt("SNAPSHOT_NAME"),
            target_endpoint: opt("TARGET_ENDPOINT")
                .map(|t| TargetUrl::parse(&t).map(|_| t))
                .transpose()
                .map_err(|e| ConfigError(format!("TARGET_ENDPOINT: {e}")))?,
            create_missing_indices: opt("CREATE_MISSING_INDICES").is_some_and(|v| v == "true"),
            target_auth: match opt("TARGET_AUTH").as_deref().unwrap_or("none") {
                "none" => AuthSetting::None,
                "basic" => AuthSetting::BasicSecret {
                    secret_id: need("TARGET_SECRET_ARN")?,
                },
                "sigv4" => AuthSetting::SigV4 {
                    region: opt("TARGET_REGION"),
                    service: opt("TARGET_SERVICE").unwrap_or_else(|| "es".into()),
                },
                other => {
                    return Err(ConfigError(format!(
                        "TARGET_AUTH={other:?}: none, basic or sigv4"
                    )))
                }
            },
            overrides: overrides(&opt)?,
        })
    }
}

/// The operator's lists of other targets and repositories; each entry must follow the rules.
fn overrides(opt: &impl Fn(&str) -> Option<String>) -> Result<OverridePolicy, ConfigError> {
    let list = |k: &str| split_list(&opt(k).unwrap_or_default());
    let policy = OverridePolicy {
        allowed_target_endpoints: list("ALLOWED_TARGET_ENDPOINTS"),
        allowed_snapshot_repositories: list("ALLOWED_SNAPSHOT_REPOSITORIES"),
        local_directories: false,
    };
    for e in &policy.allowed_target_endpoints {
        TargetUrl::parse(e).map_err(|e| ConfigError(format!("ALLOWED_TARGET_ENDPOINTS: {e}")))?;
    }
    for r in &policy.allowed_snapshot_repositories {
        Repository::parse(r, false)
            .map_err(|e| ConfigError(format!("ALLOWED_SNAPSHOT_REPOSITORIES: {e}")))?;
    }
    Ok(policy)
}
