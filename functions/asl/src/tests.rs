//! Runs definitions end to end against scripted handlers and the virtual clock: the polling
//! loop the stop path uses, retries and their timing, catchers, the Lambda result shape.
//! Choice operators, data processing, timeouts and limits, and validation have their own files
//! under `tests/`.

mod choice;
mod data;
mod limits;
mod validate;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::*;

type Handler = Box<dyn Fn(usize, &Value) -> Result<Value, TaskFailure> + Send + Sync>;

/// What the interpreter asked the invoker to run.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    resource: String,
    function: String,
    payload: Value,
}

/// Scripted handlers by function; each sees how many times it was called (from 1).
#[derive(Default)]
struct Fake {
    handlers: HashMap<String, Handler>,
    /// Virtual time a function's call takes (to meet TimeoutSeconds).
    work: HashMap<String, (Arc<VirtualClock>, Duration)>,
    calls: Mutex<Vec<Call>>,
}

impl Fake {
    fn on(
        mut self,
        function: &str,
        handler: impl Fn(usize, &Value) -> Result<Value, TaskFailure> + Send + Sync + 'static,
    ) -> Self {
        self.handlers.insert(function.to_owned(), Box::new(handler));
        self
    }

    fn taking(mut self, function: &str, clock: &Arc<VirtualClock>, d: Duration) -> Self {
        self.work.insert(function.to_owned(), (clock.clone(), d));
        self
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl TaskInvoker for Fake {
    async fn invoke(
        &self,
        resource: &str,
        function: &str,
        payload: Value,
    ) -> Result<Value, TaskFailure> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(Call {
                resource: resource.to_owned(),
                function: function.to_owned(),
                payload: payload.clone(),
            });
            calls.iter().filter(|c| c.function == function).count()
        };
        if let Some((clock, d)) = self.work.get(function) {
            clock.sleep(*d).await;
        }
        match self.handlers.get(function) {
            Some(handler) => handler(n, &payload),
            None => Err(TaskFailure::new(
                "Lambda.ResourceNotFoundException",
                function,
            )),
        }
    }
}

fn clock() -> Arc<VirtualClock> {
    Arc::new(VirtualClock::new())
}

async fn run(definition: &Value, input: Value, fake: &Fake, clock: &VirtualClock) -> Execution {
    execute(definition, input, fake, clock)
        .await
        .expect("valid definition")
}

fn failed(error: &str) -> impl Fn(&Outcome) -> bool + '_ {
    move |outcome| matches!(outcome, Outcome::Failed { error: e, .. } if e == error)
}

fn secs(list: &[u64]) -> Vec<Duration> {
    list.iter().map(|s| Duration::from_secs(*s)).collect()
}

/// The shape of the stop path: check the workers, loop through a Wait until they are gone,
/// give up after a bounded number of checks.
fn polling_machine() -> Value {
    json!({
        "StartAt": "CheckWorkers",
        "States": {
            "CheckWorkers": {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {
                    "FunctionName": "status-fn",
                    "Payload": {"backfill.$": "$.backfill", "check.$": "$.attempts"}
                },
                "ResultSelector": {"done.$": "$.Payload.done"},
                "ResultPath": "$.status",
                "Next": "Done?"
            },
            "Done?": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.status.done", "BooleanEquals": true, "Next": "Stopped"},
                    {"Variable": "$.attempts", "NumericGreaterThanEquals": 4, "Next": "GaveUp"}
                ],
                "Default": "Count"
            },
            "Count": {
                "Type": "Pass",
                "Parameters": {
                    "backfill.$": "$.backfill",
                    "attempts.$": "States.MathAdd($.attempts, 1)"
                },
                "Next": "Pause"
            },
            "Pause": {"Type": "Wait", "Seconds": 30, "Next": "CheckWorkers"},
            "Stopped": {"Type": "Succeed"},
            "GaveUp": {
                "Type": "Fail",
                "Error": "Backfill.StopTimedOut",
                "CausePath": "States.Format('workers of {} still running after {} checks', $.backfill, $.attempts)"
            }
        }
    })
}

#[tokio::test]
async fn polling_loop_ends_when_the_task_reports_done() {
    let clock = clock();
    let fake = Fake::default().on("status-fn", |n, _| {
        Ok(json!({"done": n == 3, "workers": 3 - n}))
    });
    let exec = run(
        &polling_machine(),
        json!({"backfill": "b1", "attempts": 0}),
        &fake,
        &clock,
    )
    .await;

    assert_eq!(
        exec.outcome,
        Outcome::Succeeded(json!({"backfill": "b1", "attempts": 2, "status": {"done": true}}))
    );
    let checks: Vec<Value> = fake.calls().into_iter().map(|c| c.payload).collect();
    assert_eq!(
        checks,
        [0, 1, 2]
            .map(|n| json!({"backfill": "b1", "check": n}))
            .to_vec()
    );
    assert_eq!(clock.sleeps(), secs(&[30, 30]));
    assert_eq!(
        exec.states_entered(),
        [
            "CheckWorkers",
            "Done?",
            "Count",
            "Pause",
            "CheckWorkers",
            "Done?",
            "Count",
            "Pause",
            "CheckWorkers",
            "Done?",
            "Stopped"
        ]
    );
    assert_eq!(
        exec.history.last().unwrap().elapsed,
        Duration::from_secs(60)
    );
}

#[tokio::test]
async fn polling_loop_fails_when_the_counter_runs_out() {
    let clock = clock();
    let fake = Fake::default().on("status-fn", |_, _| Ok(json!({"done": false})));
    let exec = run(
        &polling_machine(),
        json!({"backfill": "b1", "attempts": 0}),
        &fake,
        &clock,
    )
    .await;

    assert_eq!(
        exec.outcome,
        Outcome::Failed {
            error: "Backfill.StopTimedOut".into(),
            cause: "workers of b1 still running after 4 checks".into()
        }
    );
    assert_eq!(fake.calls().len(), 5);
    assert_eq!(clock.sleeps(), secs(&[30, 30, 30, 30]));
    assert_eq!(exec.states_entered().last(), Some(&"GaveUp"));
}

/// One Task; catchers lead to `Z` (a Pass), which exists only when one does (validation
/// refuses unreachable states).
fn task_with(retry: Value, catch: Value) -> Value {
    let mut definition = json!({
        "StartAt": "Call",
        "States": {
            "Call": {"Type": "Task", "Resource": STOP_ARN, "Retry": retry, "Catch": catch, "End": true}
        }
    });
    if definition.to_string().contains("\"Z\"") {
        definition["States"]["Z"] = json!({"Type": "Pass", "End": true});
    }
    definition
}

const STOP_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:stop";

#[tokio::test]
async fn retry_backs_off_exponentially_up_to_max_delay() {
    let clock = clock();
    let fake = Fake::default().on(STOP_ARN, |n, _| match n {
        1..=4 => Err(TaskFailure::new("Retryable", format!("throttled {n}"))),
        _ => Ok(json!({"stopped": true})),
    });
    let retry = json!([{"ErrorEquals": ["Retryable"], "IntervalSeconds": 2, "BackoffRate": 3,
                        "MaxAttempts": 4, "MaxDelaySeconds": 10}]);
    let exec = run(&task_with(retry, json!([])), json!({}), &fake, &clock).await;

    assert_eq!(exec.outcome, Outcome::Succeeded(json!({"stopped": true})));
    assert_eq!(clock.sleeps(), secs(&[2, 6, 10, 10]));
    let scheduled_at: Vec<u64> = exec
        .history
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TaskScheduled { .. }))
        .map(|e| e.elapsed.as_secs())
        .collect();
    assert_eq!(scheduled_at, [0, 2, 8, 18, 28]);
    let retries: Vec<(u64, Duration)> = exec
        .history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::RetryScheduled {
                attempt,
                delay,
                error,
                ..
            } if error == "Retryable" => Some((*attempt, *delay)),
            _ => None,
        })
        .collect();
    assert_eq!(
        retries,
        (1..=4).zip(secs(&[2, 6, 10, 10])).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn retry_defaults_and_exhaustion_fail_with_the_handlers_error() {
    let clock = clock();
    let fake = Fake::default().on(STOP_ARN, |n, _| {
        Err(TaskFailure::new("Retryable", format!("try {n}")))
    });
    let exec = run(
        &task_with(json!([{"ErrorEquals": ["States.ALL"]}]), json!([])),
        json!({}),
        &fake,
        &clock,
    )
    .await;

    // Defaults: 3 retries, 1 s doubling.
    assert_eq!(clock.sleeps(), secs(&[1, 2, 4]));
    assert_eq!(fake.calls().len(), 4);
    assert_eq!(
        exec.outcome,
        Outcome::Failed {
            error: "Retryable".into(),
            cause: "try 4".into()
        }
    );

    // MaxAttempts 0: never retried.
    let clock = VirtualClock::new();
    let fake = Fake::default().on(STOP_ARN, |_, _| Err(TaskFailure::new("Retryable", "")));
    let retry =
        json!([{"ErrorEquals": ["Retryable"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"]}]);
    let exec = run(&task_with(retry, json!([])), json!({}), &fake, &clock).await;
    assert_eq!(fake.calls().len(), 1);
    assert!(failed("Retryable")(&exec.outcome));
}

/// The scenario of the Step Functions guide: errors A, B, C, B, B against two retriers.
#[tokio::test]
async fn each_retrier_counts_its_own_attempts_then_catch_applies() {
    let clock = clock();
    let fake = Fake::default().on(STOP_ARN, |n, _| {
        let error = ["ErrorA", "ErrorB", "ErrorC", "ErrorB", "ErrorB"][n - 1];
        Err(TaskFailure::new(error, "boom"))
    });
    let retry = json!([
        {"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 2},
        {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5}
    ]);
    let catch = json!([{"ErrorEquals": ["States.ALL"], "Next": "Z"}]);
    let exec = run(&task_with(retry, catch), json!({"keep": 1}), &fake, &clock).await;

    assert_eq!(clock.sleeps(), secs(&[1, 2, 5, 4]));
    assert_eq!(
        exec.outcome,
        Outcome::Succeeded(json!({"Error": "ErrorB", "Cause": "boom"}))
    );
    assert_eq!(exec.states_entered(), ["Call", "Z"]);
}

#[tokio::test]
async fn catch_routes_by_error_and_places_the_error_with_result_path() {
    let definition = |catch: Value| {
        let mut definition = json!({
            "StartAt": "Call",
            "States": {
                "Call": {"Type": "Task", "Resource": STOP_ARN, "Catch": catch, "Next": "Done"},
                "Done": {"Type": "Succeed"}
            }
        });
        for (name, state) in [
            ("Never", json!({"Type": "Fail", "Error": "wrong catcher"})),
            ("Report", json!({"Type": "Pass", "End": true})),
        ] {
            if catch.to_string().contains(name) {
                definition["States"][name] = state;
            }
        }
        definition
    };
    let fake = || {
        Fake::default().on(STOP_ARN, |_, _| {
            Err(TaskFailure::new("Backfill.NotFound", "no backfill b9"))
        })
    };
    let input = json!({"backfill": "b9"});

    let catch = json!([
        {"ErrorEquals": ["Retryable"], "Next": "Never"},
        {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Report"},
        {"ErrorEquals": ["States.ALL"], "Next": "Never"}
    ]);
    let exec = run(
        &definition(catch),
        input.clone(),
        &fake(),
        &VirtualClock::new(),
    )
    .await;
    assert_eq!(
        exec.outcome,
        Outcome::Succeeded(
            json!({"backfill": "b9", "error": {"Error": "Backfill.NotFound", "Cause": "no backfill b9"}})
        )
    );
    assert!(exec.history.iter().any(|e| e.kind
        == EventKind::ErrorCaught {
            state: "Call".into(),
            error: "Backfill.NotFound".into(),
            next: "Report".into()
        }));

    // ResultPath null keeps the input as it was; no ResultPath replaces it with the error.
    let catch =
        json!([{"ErrorEquals": ["Backfill.NotFound"], "ResultPath": null, "Next": "Report"}]);
    let exec = run(
        &definition(catch),
        input.clone(),
        &fake(),
        &VirtualClock::new(),
    )
    .await;
    assert_eq!(exec.outcome, Outcome::Succeeded(input.clone()));
    let catch = json!([{"ErrorEquals": ["Backfill.NotFound"], "Next": "Report"}]);
    let exec = run(
        &definition(catch),
        input.clone(),
        &fake(),
        &VirtualClock::new(),
    )
    .await;
    assert_eq!(
        exec.outcome,
        Outcome::Succeeded(json!({"Error": "Backfill.NotFound", "Cause": "no backfill b9"}))
    );

    // No catcher matches: the execution fails with the handler's error and cause.
    let catch = json!([{"ErrorEquals": ["Retryable"], "Next": "Never"}]);
    let exec = run(&definition(catch), input, &fake(), &VirtualClock::new()).await;
    assert_eq!(
        exec.outcome,
        Outcome::Failed {
            error: "Backfill.NotFound".into(),
            cause: "no backfill b9".into()
        }
    );
}

#[tokio::test]
async fn retry_comes_before_catch() {
    let clock = clock();
    let fake = Fake::default().on(STOP_ARN, |n, _| match n {
        1 => Err(TaskFailure::new("Retryable", "once")),
        _ => Ok(json!("ok")),
    });
    let exec = run(
        &task_with(
            json!([{"ErrorEquals": ["Retryable"]}]),
            json!([{"ErrorEquals": ["States.ALL"], "Next": "Z"}]),
        ),
        json!({}),
        &fake,
        &clock,
    )
    .await;
    assert_eq!(exec.outcome, Outcome::Succeeded(json!("ok")));
    assert_eq!(exec.states_entered(), ["Call"]);
}

#[tokio::test]
async fn runtime_errors_are_neither_retried_nor_caught() {
    let definition = json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task", "Resource": STOP_ARN,
                "Parameters": {"id.$": "$.missing"},
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}],
                "End": true
            },
            "Z": {"Type": "Pass", "End": true}
        }
    });
    let fake = Fake::default().on(STOP_ARN, |_, _| Ok(json!({})));
    let clock = VirtualClock::new();
    let exec = run(&definition, json!({}), &fake, &clock).await;
    let Outcome::Failed { error, cause } = &exec.outcome else {
        panic!("{:?}", exec.outcome)
    };
    assert_eq!(error, errors::RUNTIME);
    assert!(
        cause.contains("'$.missing'") && cause.contains("'id.$'") && cause.contains("'Call'"),
        "{cause}"
    );
    assert!(fake.calls().is_empty());
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn lambda_invoke_wraps_the_result_and_result_selector_picks_from_it() {
    let definition = json!({
        "StartAt": "Raw",
        "States": {
            "Raw": {
                "Type": "Task", "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:1:function:f", "Payload.$": "$"},
                "ResultPath": "$.raw",
                "Next": "Selected"
            },
            "Selected": {
                "Type": "Task", "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:1:function:f", "Payload": {"literal": 1}},
                "ResultSelector": {"x.$": "$.Payload.x", "code.$": "$.StatusCode"},
                "ResultPath": "$.selected",
                "Next": "Plain"
            },
            "Plain": {
                "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "InputPath": "$.selected",
                "ResultPath": "$.plain",
                "End": true
            }
        }
    });
    let fake = Fake::default().on("arn:aws:lambda:us-east-1:1:function:f", |_, _| {
        Ok(json!({"x": 5, "y": [1]}))
    });
    let exec = run(
        &definition,
        json!({"in": true}),
        &fake,
        &VirtualClock::new(),
    )
    .await;

    let handler_output = json!({"x": 5, "y": [1]});
    assert_eq!(
        exec.outcome,
        Outcome::Succeeded(json!({
            "in": true,
            "raw": {"Payload": handler_output, "StatusCode": 200, "ExecutedVersion": "$LATEST"},
            "selected": {"x": 5, "code": 200},
            "plain": handler_output
        }))
    );
    let calls = fake.calls();
    assert_eq!(calls[0].resource, LAMBDA_INVOKE);
    assert_eq!(calls[0].payload, json!({"in": true}));
    assert_eq!(calls[1].payload, json!({"literal": 1}));
    assert_eq!(
        calls[2],
        Call {
            resource: "arn:aws:lambda:us-east-1:1:function:f".into(),
            function: "arn:aws:lambda:us-east-1:1:function:f".into(),
            payload: json!({"x": 5, "code": 200})
        }
    );
}

/// The stop path runs executions in spawned tasks: the future must be Send.
#[test]
fn executions_can_be_spawned() {
    fn is_send<T: Send>(_: &T) {}
    let (definition, fake, clock) = (polling_machine(), Fake::default(), VirtualClock::new());
    let execution = execute(&definition, json!({}), &fake, &clock);
    is_send(&execution);
}
