//! An interpreter of the Amazon States Language subset our state machines use.
//!
//! Depends on no crate of ours (tokio, serde_json and small helpers); the domain uses it, never
//! the reverse.
//!
//! Why it exists: moto runs Step Functions definitions, but its Lambda tasks cannot run our code
//! (they need Docker), so the stop state machine's definition is executed here, locally and in
//! tests, against the real handlers. Its semantics follow the AWS Step Functions documentation;
//! what it does not implement is refused when the definition is read ([`AslError::Unsupported`]),
//! never silently approximated.
//!
//! Supported: Task, Pass, Wait, Choice, Succeed and Fail states; Retry and Catch; InputPath,
//! Parameters, ResultSelector, ResultPath and OutputPath; reference paths (`$.a.b`, `$.a[0]`,
//! `$['k']`, `$$.Execution.Input`); the intrinsics States.Format, StringToJson, JsonToString,
//! MathAdd, Array, ArrayLength, ArrayGetItem, ArrayContains, JsonMerge (shallow) and UUID;
//! TimeoutSeconds on tasks and on the whole machine.
//! Not supported: Parallel and Map states, JSONata and variables (Arguments, Output, Assign),
//! callback and `.sync` integrations, TimeoutSecondsPath/HeartbeatSecondsPath, full JSONPath.

mod choice;
mod clock;
mod definition;
mod graph;
mod intrinsic;
mod path;
mod run;
mod template;
mod time;

#[cfg(test)]
mod tests;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

pub use clock::{Clock, FastClock, RealClock, VirtualClock};
pub use time::UtcTime;

/// The optimized Lambda integration: Parameters carry FunctionName and Payload, and the result
/// is wrapped as `{"Payload": …, "StatusCode": 200, "ExecutedVersion": "$LATEST"}`.
pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// Error names Step Functions defines.
pub mod errors {
    /// Matches any error but States.Runtime (Retry/Catch only).
    pub const ALL: &str = "States.ALL";
    /// Matches any error but States.Timeout (Retry/Catch only).
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const TIMEOUT: &str = "States.Timeout";
    /// A path that does not resolve, a transition cap: never retried, never caught.
    pub const RUNTIME: &str = "States.Runtime";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
}

/// How Task states reach code: the interpreter hands over the Task's resource and its effective
/// input; the invoker runs the handler.
#[async_trait]
pub trait TaskInvoker: Send + Sync {
    /// `resource` is the Task's "Resource"; for the optimized Lambda integration
    /// ([`LAMBDA_INVOKE`]), `function` is Parameters.FunctionName and `payload` is
    /// Parameters.Payload (paths resolved; `{}` when absent); for any other resource (a Lambda
    /// ARN), `function` is that resource and `payload` the effective input.
    async fn invoke(
        &self,
        resource: &str,
        function: &str,
        payload: Value,
    ) -> Result<Value, TaskFailure>;
}

/// A handler's failure: `error` is the name Retry and Catch match (a Lambda's errorType, e.g.
/// "Retryable").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    pub error: String,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskFailure {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// A definition the interpreter refuses; each names the state it is about where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AslError {
    #[error("invalid state machine definition{}: {message}", in_state(.state))]
    Invalid {
        state: Option<String>,
        message: String,
    },
    #[error("the local ASL interpreter does not support {feature}{}", in_state(.state))]
    Unsupported {
        state: Option<String>,
        feature: String,
    },
}

fn in_state(state: &Option<String>) -> String {
    state
        .as_ref()
        .map(|s| format!(" (state '{s}')"))
        .unwrap_or_default()
}

/// A Task state of a definition, as the invoker will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRef {
    pub state: String,
    pub resource: String,
    /// Parameters.FunctionName for [`LAMBDA_INVOKE`] (None when given by a path), the resource
    /// itself otherwise: what [`TaskInvoker::invoke`] receives as `function`.
    pub function: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded(Value),
    /// `error` and `cause` are empty when a Fail state gives none.
    Failed {
        error: String,
        cause: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// Time since the execution started, by the clock it ran with.
    pub elapsed: Duration,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    ExecutionStarted {
        input: Value,
    },
    StateEntered {
        state: String,
        input: Value,
    },
    StateExited {
        state: String,
        output: Value,
    },
    TaskScheduled {
        state: String,
        resource: String,
        function: String,
        payload: Value,
    },
    /// `output` is the handler's, before the lambda:invoke wrapping and ResultSelector.
    TaskSucceeded {
        state: String,
        output: Value,
    },
    TaskFailed {
        state: String,
        error: String,
        cause: String,
    },
    /// `attempt` counts the retries made by this retrier (all its errors), from 1; `delay` is
    /// the wait before it.
    RetryScheduled {
        state: String,
        error: String,
        attempt: u64,
        delay: Duration,
    },
    ErrorCaught {
        state: String,
        error: String,
        next: String,
    },
    WaitStarted {
        state: String,
        duration: Duration,
    },
    ExecutionSucceeded {
        output: Value,
    },
    ExecutionFailed {
        error: String,
        cause: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub outcome: Outcome,
    pub history: Vec<HistoryEvent>,
}

impl Execution {
    /// The names of the states entered, in order.
    pub fn states_entered(&self) -> Vec<&str> {
        self.history
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::StateEntered { state, .. } => Some(state.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// What an execution is called and how long it may go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `$$.Execution.Name`.
    pub execution_name: String,
    /// `$$.StateMachine.Name`.
    pub state_machine_name: String,
    /// States entered before the execution fails with States.Runtime: Step Functions stops at
    /// 25,000 history events; this stops endless loops (retries are bounded by MaxAttempts).
    pub max_transitions: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            execution_name: "local-execution".into(),
            state_machine_name: "local-state-machine".into(),
            max_transitions: 25_000,
        }
    }
}

/// Checks a definition statically: StartAt and every Next/Default/Catch target exist, every
/// state's type and field is supported, Choice rules, paths, templates and intrinsics are
/// well-formed, every state is reachable and can reach a terminal state. Returns the Task states
/// (sorted by name) with their resources and functions, to check against a template.
pub fn validate(definition: &Value) -> Result<Vec<TaskRef>, AslError> {
    definition::parse(definition).map(|machine| graph::task_refs(&machine))
}

/// Runs a definition to its end. `Err` only for a definition [`validate`] refuses; everything
/// that goes wrong during the run is an [`Outcome::Failed`] with Step Functions' error name.
pub async fn execute(
    definition: &Value,
    input: Value,
    invoker: &dyn TaskInvoker,
    clock: &dyn Clock,
) -> Result<Execution, AslError> {
    execute_with(definition, input, invoker, clock, &Options::default()).await
}

pub async fn execute_with(
    definition: &Value,
    input: Value,
    invoker: &dyn TaskInvoker,
    clock: &dyn Clock,
    options: &Options,
) -> Result<Execution, AslError> {
    let machine = definition::parse(definition)?;
    Ok(run::execute(&machine, input, invoker, clock, options).await)
}

/// A failure during a run, before it is caught or ends the execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub error: String,
    pub cause: String,
}

impl Fault {
    pub(crate) fn new(error: &str, cause: impl Into<String>) -> Fault {
        Fault {
            error: error.to_owned(),
            cause: cause.into(),
        }
    }

    pub(crate) fn runtime(cause: impl Into<String>) -> Fault {
        Fault::new(errors::RUNTIME, cause)
    }

    /// Interpreter-made causes say where, as Step Functions' do.
    pub(crate) fn in_state(self, state: &str) -> Fault {
        Fault {
            cause: format!(
                "An error occurred while executing the state '{state}': {}",
                self.cause
            ),
            ..self
        }
    }

    /// Whether a Retry or Catch with these error names applies.
    pub(crate) fn matches(&self, names: &[String]) -> bool {
        self.error != errors::RUNTIME
            && names.iter().any(|name| {
                *name == self.error
                    || name == errors::ALL
                    || (name == errors::TASK_FAILED && self.error != errors::TIMEOUT)
            })
    }
}

impl From<TaskFailure> for Fault {
    fn from(f: TaskFailure) -> Fault {
        Fault {
            error: f.error,
            cause: f.cause,
        }
    }
}
