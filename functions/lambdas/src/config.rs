//! The functions' configuration: environment variables set by the template, read once per cold
//! start into one typed value.

use std::sync::Arc;

use backfill_aws::{
    CloudWatchProgress, DynamoStore, EcsFleet, S3Archive, S3Location, Snapshots, StepFunctionsStop,
};
use backfill_core::control::{Control, ControlConfig};
use backfill_target::{basic_auth_from_secret, Auth, OpenSearchClusters};

/// Every variable a function reads (the template sets them; a check compares the two).
pub const ENV_VARS: [&str; 17] = [
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
];

/// How the control plane authenticates to the target (for `cat-indices`), as the workers do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetAuth {
    None,
    /// Basic auth from a Secrets Manager secret `{"username": …, "password": …}`.
    Basic {
        secret_arn: String,
    },
    /// SigV4 with the function's role: `es` (OpenSearch Service) or `aoss` (Serverless).
    SigV4 {
        region: Option<String>,
        service: String,
    },
}

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
    pub target_auth: TargetAuth,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

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
            snapshot_repository: opt("SNAPSHOT_REPOSITORY"),
            snapshot_name: opt("SNAPSHOT_NAME"),
            target_endpoint: opt("TARGET_ENDPOINT"),
            create_missing_indices: opt("CREATE_MISSING_INDICES").is_some_and(|v| v == "true"),
            target_auth: match opt("TARGET_AUTH").as_deref().unwrap_or("none") {
                "none" => TargetAuth::None,
                "basic" => TargetAuth::Basic {
                    secret_arn: need("TARGET_SECRET_ARN")?,
                },
                "sigv4" => TargetAuth::SigV4 {
                    region: opt("TARGET_REGION"),
                    service: opt("TARGET_SERVICE").unwrap_or_else(|| "es".into()),
                },
                other => {
                    return Err(ConfigError(format!(
                        "TARGET_AUTH={other:?}: none, basic or sigv4"
                    )))
                }
            },
        })
    }
}

/// The control plane on AWS: DynamoDB, ECS, Step Functions, S3, CloudWatch.
pub async fn control_from_env(env: &Env) -> Result<Control, ConfigError> {
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&aws)
            .force_path_style(
                std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
                    || std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            )
            .build(),
    );
    let target_auth = match &env.target_auth {
        TargetAuth::None => Auth::None,
        TargetAuth::Basic { secret_arn } => {
            basic_auth_from_secret(&aws_sdk_secretsmanager::Client::new(&aws), secret_arn)
                .await
                .map_err(|e| ConfigError(e.to_string()))?
        }
        TargetAuth::SigV4 { region, service } => Auth::SigV4 {
            region: region
                .clone()
                .or_else(|| aws.region().map(|r| r.to_string()))
                .ok_or_else(|| ConfigError("TARGET_AUTH=sigv4 needs a region".into()))?,
            service: service.clone(),
            credentials: aws
                .credentials_provider()
                .ok_or_else(|| ConfigError("TARGET_AUTH=sigv4: no AWS credentials".into()))?,
        },
    };
    Ok(Control {
        config: ControlConfig {
            default_backfill: env.default_backfill.clone(),
            default_workers: env.default_workers,
            max_workers: env.max_workers,
            fleet_name: format!("Service {}", env.ecs_service),
            snapshot_repository: env.snapshot_repository.clone(),
            snapshot_name: env.snapshot_name.clone(),
            target_endpoint: env.target_endpoint.clone(),
            create_missing_indices: env.create_missing_indices,
            ..ControlConfig::default()
        },
        store: Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&aws),
            &env.table,
        )),
        fleet: Arc::new(EcsFleet::new(
            aws_sdk_ecs::Client::new(&aws),
            &env.ecs_cluster,
            &env.ecs_service,
        )),
        snapshots: Arc::new(Snapshots {
            s3: s3.clone(),
            runtime: tokio::runtime::Handle::current(),
        }),
        stop_workflow: Arc::new(StepFunctionsStop::new(
            aws_sdk_sfn::Client::new(&aws),
            &env.stop_state_machine_arn,
        )),
        archive: Arc::new(S3Archive::new(s3, env.archive.clone())),
        progress: Arc::new(CloudWatchProgress::new(
            aws_sdk_cloudwatch::Client::new(&aws),
            &env.metrics_namespace,
        )),
        clusters: Arc::new(OpenSearchClusters::new(target_auth)),
    })
}
