//! The worker fleet's ECS service on moto.

use aws_sdk_ecs::error::DisplayErrorContext;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType,
    NetworkConfiguration, NetworkMode,
};

use crate::{HarnessError, Moto};

/// Creates `cluster` with a Fargate service `service` of 0 tasks, as the template deploys it
/// (moto never runs a task: only the desired count and the task counts matter). moto checks
/// the subnets against its EC2 and answers 500 to a service without security groups: the
/// service uses its default VPC's.
pub async fn ecs_worker_service(
    moto: &Moto,
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<(), HarnessError> {
    let err = |operation: &'static str, message: String| HarnessError::Ecs {
        operation,
        target: format!("{cluster}/{service}"),
        message,
    };
    ecs.create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .map_err(|e| err("CreateCluster", DisplayErrorContext(e).to_string()))?;
    let worker = ContainerDefinition::builder()
        .name("worker")
        .image("backfill-worker:latest")
        .essential(true)
        .build();
    let task_definition = ecs
        .register_task_definition()
        .family(format!("{service}-task"))
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("1024")
        .memory("2048")
        .container_definitions(worker)
        .send()
        .await
        .map_err(|e| err("RegisterTaskDefinition", DisplayErrorContext(e).to_string()))?
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .map(str::to_string)
        .ok_or_else(|| {
            err(
                "RegisterTaskDefinition",
                "the answer has no task definition ARN".into(),
            )
        })?;
    let (subnet, group) = moto.default_network()?;
    let network = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets(subnet)
                .security_groups(group)
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()
                .map_err(|e| err("CreateService", e.to_string()))?,
        )
        .build();
    ecs.create_service()
        .cluster(cluster)
        .service_name(service)
        .task_definition(task_definition)
        .desired_count(0)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network)
        .send()
        .await
        .map_err(|e| err("CreateService", DisplayErrorContext(e).to_string()))?;
    Ok(())
}
