//! The stop workflow's definition (`infra/stop.asl.json`) and running it in this process: on one
//! machine, and in tests, an interpreter executes the same definition that Step Functions runs
//! on AWS, with its Task states calling the handlers directly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use async_trait::async_trait;
use serde_json::Value;

use super::dispatch::{dispatch, Handler};
use super::ports::{ExecutionStatus, PortError, StopWorkflow};
use super::Control;
use backfill_asl::{self as asl, Clock, Outcome, TaskFailure, TaskInvoker};

/// The definition, as deployed.
pub const STOP_DEFINITION: &str = include_str!("../../../../infra/stop.asl.json");

/// The functions the definition names (template substitutions) and the handler behind each.
pub const STOP_FUNCTIONS: [(&str, Handler); 4] = [
    ("${ScaleFunctionArn}", Handler::Scale),
    ("${DrainCheckFunctionArn}", Handler::DrainCheck),
    ("${ArchiveFunctionArn}", Handler::Archive),
    ("${FinalizeStopFunctionArn}", Handler::FinalizeStop),
];

pub fn stop_definition() -> Value {
    serde_json::from_str(STOP_DEFINITION)
        .expect("infra/stop.asl.json is valid JSON (checked by a test)")
}

/// Task states → handlers of a `Control` in this process.
pub struct ControlInvoker {
    pub control: Weak<Control>,
}

#[async_trait]
impl TaskInvoker for ControlInvoker {
    async fn invoke(
        &self,
        _resource: &str,
        function: &str,
        payload: Value,
    ) -> Result<Value, TaskFailure> {
        let handler = STOP_FUNCTIONS
            .iter()
            .find(|(name, _)| *name == function)
            .map(|(_, h)| *h)
            .ok_or_else(|| {
                TaskFailure::new(
                    "NonRetryable",
                    format!("no handler for function {function}"),
                )
            })?;
        let control = self
            .control
            .upgrade()
            .ok_or_else(|| TaskFailure::new("NonRetryable", "the control plane is gone"))?;
        dispatch(&control, handler, payload)
            .await
            .map_err(|e| TaskFailure::new(e.error_type(), e.to_string()))
    }
}

/// A `StopWorkflow` that interprets the definition in this process.
pub struct InProcessStop {
    control: OnceLock<Weak<Control>>,
    clock: Arc<dyn Clock>,
    executions: Arc<Mutex<HashMap<String, ExecutionStatus>>>,
}

impl InProcessStop {
    pub fn new(clock: Arc<dyn Clock>) -> InProcessStop {
        InProcessStop {
            control: OnceLock::new(),
            clock,
            executions: Arc::default(),
        }
    }

    /// Connects the workflow to the control plane that owns it (they refer to each other).
    pub fn bind(&self, control: &Arc<Control>) {
        let _ = self.control.set(Arc::downgrade(control));
    }
}

#[async_trait]
impl StopWorkflow for InProcessStop {
    async fn start(&self, backfill: &str) -> Result<String, PortError> {
        let control = self.control.get().cloned().ok_or_else(|| {
            PortError::failed("the stop workflow is not bound to a control plane")
        })?;
        let name = format!("local-stop-{backfill}-{}", crate::lease::now_ms());
        self.executions
            .lock()
            .unwrap()
            .insert(name.clone(), ExecutionStatus::Running);
        let (executions, clock, key) = (self.executions.clone(), self.clock.clone(), name.clone());
        let input = serde_json::json!({ "backfill_id": backfill });
        tokio::spawn(async move {
            let invoker = ControlInvoker { control };
            let status = match asl::execute(&stop_definition(), input, &invoker, clock.as_ref())
                .await
            {
                Ok(ex) => match ex.outcome {
                    Outcome::Succeeded(_) => ExecutionStatus::Succeeded,
                    Outcome::Failed { error, cause } => ExecutionStatus::Failed { error, cause },
                },
                Err(e) => ExecutionStatus::Failed {
                    error: "States.Runtime".into(),
                    cause: e.to_string(),
                },
            };
            executions.lock().unwrap().insert(key, status);
        });
        Ok(name)
    }

    async fn status(&self, execution: &str) -> Result<ExecutionStatus, PortError> {
        self.executions
            .lock()
            .unwrap()
            .get(execution)
            .cloned()
            .ok_or_else(|| {
                PortError::not_found(format!("no stop execution {execution} in this process"))
            })
    }
}
