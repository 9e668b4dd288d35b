//! Builds a function's control plane from its configuration, with a client only for each port
//! its handler uses (`Handler::ports`): a function holds no client, and needs no permission,
//! for what it never calls. The target's credentials are not fetched here but on the first
//! call to the target (`AuthSource`), so only the functions that call it need the secret.
//!
//! One builder per port, named as the port's field: `functions/lambdas/tests/iam.rs` reads
//! them to know which adapter serves each port.

use std::sync::Arc;

use aws_config::SdkConfig;
use backfill_aws::{
    CloudWatchProgress, DynamoStore, EcsFleet, S3Archive, Snapshots, StepFunctionsStop,
};
use backfill_core::control::ports::{
    ArchiveStore, Fleet, ProgressSink, StopWorkflow, TargetClusters,
};
use backfill_core::control::{Control, ControlConfig, Handler, Port};
use backfill_core::worker::SnapshotSource;
use backfill_core::WorkStore;
use backfill_opensearch::{AuthSource, OpenSearchClusters};

use crate::config::{ConfigError, Env};
use crate::unwired::Unwired;

/// The port if `handler` uses it, else a stand-in that refuses every call.
macro_rules! wired {
    ($handler:expr, $port:expr, $build:expr) => {
        if $handler.uses($port) {
            $build
        } else {
            Arc::new(Unwired {
                handler: $handler,
                port: $port,
            })
        }
    };
}

/// The control plane for one handler on AWS.
pub async fn control_for(handler: Handler, env: &Env) -> Result<Control, ConfigError> {
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
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
            overrides: env.overrides.clone(),
            ..ControlConfig::default()
        },
        store: wired!(handler, Port::Store, store(&aws, env)),
        fleet: wired!(handler, Port::Fleet, fleet(&aws, env)),
        snapshots: wired!(handler, Port::Snapshots, snapshots(&aws)),
        stop_workflow: wired!(handler, Port::StopWorkflow, stop_workflow(&aws, env)),
        archive: wired!(handler, Port::Archive, archive(&aws, env)),
        progress: wired!(handler, Port::Progress, progress(&aws, env)),
        clusters: wired!(handler, Port::Clusters, clusters(&aws, env)?),
    })
}

fn store(aws: &SdkConfig, env: &Env) -> Arc<dyn WorkStore> {
    Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(aws),
        &env.table,
    ))
}

fn fleet(aws: &SdkConfig, env: &Env) -> Arc<dyn Fleet> {
    Arc::new(EcsFleet::new(
        aws_sdk_ecs::Client::new(aws),
        &env.ecs_cluster,
        &env.ecs_service,
    ))
}

/// Path-style addressing when an endpoint override is set (moto and other emulators).
fn s3_client(aws: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(aws)
            .force_path_style(
                std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
                    || std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            )
            .build(),
    )
}

fn snapshots(aws: &SdkConfig) -> Arc<dyn SnapshotSource> {
    Arc::new(Snapshots {
        s3: s3_client(aws),
        runtime: tokio::runtime::Handle::current(),
    })
}

fn stop_workflow(aws: &SdkConfig, env: &Env) -> Arc<dyn StopWorkflow> {
    Arc::new(StepFunctionsStop::new(
        aws_sdk_sfn::Client::new(aws),
        &env.stop_state_machine_arn,
    ))
}

fn archive(aws: &SdkConfig, env: &Env) -> Arc<dyn ArchiveStore> {
    Arc::new(S3Archive::new(s3_client(aws), env.archive.clone()))
}

fn progress(aws: &SdkConfig, env: &Env) -> Arc<dyn ProgressSink> {
    Arc::new(CloudWatchProgress::new(
        aws_sdk_cloudwatch::Client::new(aws),
        &env.metrics_namespace,
    ))
}

fn clusters(aws: &SdkConfig, env: &Env) -> Result<Arc<dyn TargetClusters>, ConfigError> {
    // A secret is fetched on the first call, then kept: read once per container.
    let auth = AuthSource::resolve(&env.target_auth, aws)
        .map_err(|e| ConfigError(format!("TARGET_AUTH: {e}")))?;
    Ok(Arc::new(OpenSearchClusters::new(auth)))
}
