//! The stop workflow as a Step Functions state machine.

use async_trait::async_trait;
use aws_sdk_sfn::primitives::{DateTime, DateTimeFormat};
use aws_sdk_sfn::types::ExecutionStatus as SfnStatus;
use aws_sdk_sfn::Client;
use backfill_core::control::ports::{ExecutionStatus, PortError, StopWorkflow};

use crate::errors::port_error;

/// Step Functions' limit on execution names.
const MAX_NAME: usize = 80;

/// Starts the stop state machine with `{"backfill_id": "<id>"}`.
///
/// Executions are named `stop-<id>-<yyyyMMddHHmmss>` (UTC): readable in the console, and two
/// stops of the same backfill within one second are one execution, since a standard workflow
/// started again with the same name and input returns the running execution.
#[derive(Debug, Clone)]
pub struct StepFunctionsStop {
    pub client: Client,
    pub state_machine_arn: String,
}

impl StepFunctionsStop {
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        StepFunctionsStop {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

#[async_trait]
impl StopWorkflow for StepFunctionsStop {
    async fn start(&self, backfill: &str) -> Result<String, PortError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let input = serde_json::json!({ "backfill_id": backfill }).to_string();
        let out = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(execution_name(backfill, now))
            .input(input)
            .send()
            .await
            .map_err(|e| {
                port_error(
                    &format!(
                        "Step Functions StartExecution of {} for backfill {backfill}",
                        self.state_machine_arn
                    ),
                    &e,
                )
            })?;
        Ok(out.execution_arn().to_string())
    }

    async fn status(&self, execution: &str) -> Result<ExecutionStatus, PortError> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .map_err(|e| {
                port_error(&format!("Step Functions DescribeExecution {execution}"), &e)
            })?;
        let detail = |default: &str| out.cause().or(out.error()).unwrap_or(default).to_string();
        Ok(match out.status() {
            SfnStatus::Running => ExecutionStatus::Running,
            SfnStatus::Succeeded => ExecutionStatus::Succeeded,
            SfnStatus::Failed => ExecutionStatus::Failed {
                error: out.error().unwrap_or("FAILED").to_string(),
                cause: out.cause().unwrap_or("").to_string(),
            },
            SfnStatus::TimedOut => ExecutionStatus::Failed {
                error: "TIMED_OUT".into(),
                cause: detail("the execution timed out"),
            },
            SfnStatus::Aborted => ExecutionStatus::Failed {
                error: "ABORTED".into(),
                cause: detail("the execution was aborted"),
            },
            // Failed, waiting for someone to redrive it: a failure until then.
            other => ExecutionStatus::Failed {
                error: other.as_str().to_string(),
                cause: detail(""),
            },
        })
    }
}

/// `stop-<id>-<yyyyMMddHHmmss>`, keeping only the characters Step Functions allows everywhere
/// (CloudWatch Logs included: letters, digits, `-`, `_`) and at most 80 of them.
pub(crate) fn execution_name(backfill: &str, unix_secs: i64) -> String {
    let stamp: String = DateTime::from_secs(unix_secs)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    let room = MAX_NAME - "stop-".len() - 1 - stamp.len();
    let id: String = backfill
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(room)
        .collect();
    format!("stop-{id}-{stamp}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_names_are_sanitised_and_bounded() {
        // 2024-03-05T06:07:08Z
        let t = 1_709_618_828;
        assert_eq!(execution_name("bf-1", t), "stop-bf-1-20240305060708");
        assert_eq!(
            execution_name("a b/c:d#é", t),
            "stop-a_b_c_d__-20240305060708"
        );
        let long = execution_name(&"x".repeat(200), t);
        assert_eq!(long.len(), 80);
        assert!(long.ends_with("-20240305060708"));
    }
}
