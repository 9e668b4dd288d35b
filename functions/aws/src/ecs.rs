//! The worker fleet as an ECS service: its desired count is the fleet size.

use async_trait::async_trait;
use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{DesiredStatus, Service};
use aws_sdk_ecs::Client;
use backfill_core::control::ports::{Fleet, FleetState, PortError};

use crate::errors::port_error;

/// Stopped tasks ECS still lists are read at most this many pages of 100 deep to count the
/// ones still stopping (ECS keeps stopped tasks listed for about an hour; a crash loop could
/// leave hundreds, and the ones still stopping are the recent ones).
const MAX_STOPPED_TASK_PAGES: usize = 5;

/// An ECS service running the workers.
///
/// `terminating` counts the service's tasks that ECS is stopping (desired status `STOPPED`, last
/// status not yet `STOPPED`: still checkpointing after SIGTERM), from `ListTasks` +
/// `DescribeTasks`: two more calls per read, because ECS's `runningCount` drops as soon as a
/// task starts stopping and "drained" must wait for those tasks to exit. Needs
/// `ecs:DescribeServices`, `ecs:UpdateService`, `ecs:ListTasks` and `ecs:DescribeTasks`.
#[derive(Debug, Clone)]
pub struct EcsFleet {
    pub client: Client,
    pub cluster: String,
    pub service: String,
}

impl EcsFleet {
    pub fn new(client: Client, cluster: impl Into<String>, service: impl Into<String>) -> Self {
        EcsFleet {
            client,
            cluster: cluster.into(),
            service: service.into(),
        }
    }

    fn name(&self) -> String {
        format!("ECS service {} in cluster {}", self.service, self.cluster)
    }

    fn error<E>(&self, operation: &str, e: SdkError<E, HttpResponse>) -> PortError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        port_error(&format!("{}: {operation}", self.name()), &e)
    }

    async fn counts(&self, service: &Service) -> Result<FleetState, PortError> {
        if service.status() == Some("INACTIVE") {
            return Err(PortError::not_found(format!(
                "{}: the service is INACTIVE (deleted)",
                self.name()
            )));
        }
        Ok(FleetState {
            desired: count(service.desired_count()),
            running: count(service.running_count()),
            pending: count(service.pending_count()),
            terminating: self.terminating().await?,
        })
    }

    async fn terminating(&self) -> Result<u32, PortError> {
        let mut stopping = 0;
        let mut token = None;
        for _ in 0..MAX_STOPPED_TASK_PAGES {
            let page = self
                .client
                .list_tasks()
                .cluster(&self.cluster)
                .service_name(&self.service)
                .desired_status(DesiredStatus::Stopped)
                .max_results(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.error("ListTasks", e))?;
            if !page.task_arns().is_empty() {
                let tasks = self
                    .client
                    .describe_tasks()
                    .cluster(&self.cluster)
                    .set_tasks(Some(page.task_arns().to_vec()))
                    .send()
                    .await
                    .map_err(|e| self.error("DescribeTasks", e))?;
                stopping += tasks
                    .tasks()
                    .iter()
                    .filter(|t| t.last_status() != Some("STOPPED"))
                    .count() as u32;
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(stopping)
    }
}

#[async_trait]
impl Fleet for EcsFleet {
    async fn set_desired(&self, workers: u32) -> Result<FleetState, PortError> {
        let desired = i32::try_from(workers).map_err(|_| {
            PortError::invalid(format!(
                "{}: desired count {workers} too large",
                self.name()
            ))
        })?;
        let out = self
            .client
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .desired_count(desired)
            .send()
            .await
            .map_err(|e| self.error("UpdateService", e))?;
        match out.service() {
            Some(service) => self.counts(service).await,
            None => self.state().await,
        }
    }

    async fn state(&self) -> Result<FleetState, PortError> {
        let out = self
            .client
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .send()
            .await
            .map_err(|e| self.error("DescribeServices", e))?;
        if let Some(service) = out.services().first() {
            return self.counts(service).await;
        }
        // DescribeServices answers 200 with a `failures` entry (reason MISSING) for a service
        // that does not exist.
        let reason = out
            .failures()
            .first()
            .map(|f| f.reason().unwrap_or("no reason given").to_string())
            .unwrap_or_else(|| "not in the response".to_string());
        // MISSING is the one reason ECS gives for a service it does not have.
        let error = format!("{}: DescribeServices: {reason}", self.name());
        Err(if reason == "MISSING" {
            PortError::not_found(error).with_code("MISSING")
        } else {
            PortError::failed(error)
        })
    }
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}
