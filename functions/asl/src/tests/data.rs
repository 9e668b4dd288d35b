//! Input and output processing: paths, Parameters with intrinsics, the context object,
//! ResultPath, path errors, Wait's variants and Fail's dynamic error.

use std::time::Duration;

use serde_json::{json, Value};

use super::{run, secs, Fake};
use crate::{errors, execute_with, Clock, EventKind, Options, Outcome, TaskFailure, VirtualClock};

fn pass(state: Value) -> Value {
    let mut state = state;
    state["Type"] = json!("Pass");
    state["End"] = json!(true);
    json!({"StartAt": "P", "States": {"P": state}})
}

async fn output(definition: &Value, input: Value) -> Outcome {
    run(definition, input, &Fake::default(), &VirtualClock::new())
        .await
        .outcome
}

#[tokio::test]
async fn parameters_with_intrinsics_and_the_context_object() {
    let definition = pass(json!({
        "Parameters": {
            "greeting.$": "States.Format('stop {} ({} workers) \\{ok\\}', $.id, $.workers)",
            "parsed.$": "States.StringToJson($.doc)",
            "text.$": "States.JsonToString($.obj)",
            "next.$": "States.MathAdd($.workers, -1)",
            "list.$": "States.Array($.id, States.MathAdd(1, 2), 'x')",
            "nested": {"first.$": "$.items[0]", "spaced.$": "$['key with space']", "lit": [1, 2]},
            "input.$": "$$.Execution.Input.id",
            "state.$": "$$.State.Name",
            "execution.$": "$$.Execution.Name",
            "entered.$": "$$.State.EnteredTime",
            "retries.$": "$$.State.RetryCount"
        }
    }));
    let input = json!({
        "id": "b1", "workers": 3, "doc": "{\"a\": [true]}", "obj": {"k": "v"},
        "items": ["first", "second"], "key with space": 7
    });
    let clock =
        VirtualClock::starting_at(std::time::UNIX_EPOCH + Duration::from_millis(1_714_564_800_250));
    let options = Options {
        execution_name: "stop-b1".into(),
        ..Options::default()
    };
    let exec = execute_with(&definition, input, &Fake::default(), &clock, &options)
        .await
        .unwrap();
    assert_eq!(
        exec.outcome,
        Outcome::Succeeded(json!({
            "greeting": "stop b1 (3 workers) {ok}",
            "parsed": {"a": [true]},
            "text": "{\"k\":\"v\"}",
            "next": 2,
            "list": ["b1", 3, "x"],
            "nested": {"first": "first", "spaced": 7, "lit": [1, 2]},
            "input": "b1",
            "state": "P",
            "execution": "stop-b1",
            "entered": "2024-05-01T12:00:00.250Z",
            "retries": 0
        }))
    );
}

#[tokio::test]
async fn input_result_and_output_paths() {
    let input = json!({"a": {"b": 1}, "keep": "x"});
    // ResultPath creates the objects on its way.
    let definition = pass(json!({"InputPath": "$.a", "ResultPath": "$.r.s"}));
    assert_eq!(
        output(&definition, input.clone()).await,
        Outcome::Succeeded(json!({"a": {"b": 1}, "keep": "x", "r": {"s": {"b": 1}}}))
    );
    // Result replaces the effective input; OutputPath selects from the combined output.
    let definition =
        pass(json!({"Result": {"fixed": true}, "ResultPath": "$.r", "OutputPath": "$.r"}));
    assert_eq!(
        output(&definition, input.clone()).await,
        Outcome::Succeeded(json!({"fixed": true}))
    );
    // ResultPath null discards the result; InputPath null gives {} to Parameters.
    let definition = pass(json!({"Result": 1, "ResultPath": null}));
    assert_eq!(
        output(&definition, input.clone()).await,
        Outcome::Succeeded(input.clone())
    );
    let definition = pass(json!({"InputPath": null, "Parameters": {"all.$": "$"}}));
    assert_eq!(
        output(&definition, input.clone()).await,
        Outcome::Succeeded(json!({"all": {}}))
    );
    // OutputPath null gives {}.
    let definition = pass(json!({"OutputPath": null}));
    assert_eq!(
        output(&definition, input).await,
        Outcome::Succeeded(json!({}))
    );
}

fn failure(outcome: Outcome) -> (String, String) {
    match outcome {
        Outcome::Failed { error, cause } => (error, cause),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn paths_that_do_not_resolve_fail_with_states_runtime_naming_path_and_state() {
    let input = json!({"a": {"b": 1}, "s": "text"});
    for (state, path) in [
        (json!({"InputPath": "$.nope"}), "$.nope"),
        (json!({"Parameters": {"x.$": "$.a.c"}}), "$.a.c"),
        (json!({"OutputPath": "$.a[0]"}), "$.a[0]"),
        (
            json!({"Parameters": {"x.$": "$$.Execution.Nope"}}),
            "$$.Execution.Nope",
        ),
    ] {
        let (error, cause) = failure(output(&pass(state), input.clone()).await);
        assert_eq!(error, errors::RUNTIME);
        assert!(
            cause.contains(&format!("'{path}'")) && cause.contains("'P'"),
            "{cause}"
        );
    }
    // ResultPath through a string is States.ResultPathMatchFailure.
    let (error, cause) =
        failure(output(&pass(json!({"ResultPath": "$.s.t"})), input.clone()).await);
    assert_eq!(error, errors::RESULT_PATH_MATCH_FAILURE);
    assert!(cause.contains("$.s.t") && cause.contains("'P'"), "{cause}");
    // A failing intrinsic is States.IntrinsicFailure.
    let state = json!({"Parameters": {"x.$": "States.StringToJson($.s)"}});
    let (error, _) = failure(output(&pass(state), input).await);
    assert_eq!(error, errors::INTRINSIC_FAILURE);
}

#[tokio::test]
async fn a_task_result_path_failure_can_be_caught() {
    let definition = json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task", "Resource": "fn", "ResultPath": "$.s.t",
                "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "ResultPath": "$.error", "Next": "Z"}],
                "End": true
            },
            "Z": {"Type": "Pass", "End": true}
        }
    });
    let fake = Fake::default().on("fn", |_, _| Ok(json!(1)));
    let exec = run(
        &definition,
        json!({"s": "text"}),
        &fake,
        &VirtualClock::new(),
    )
    .await;
    let Outcome::Succeeded(out) = exec.outcome else {
        panic!("{:?}", exec.outcome)
    };
    assert_eq!(out["error"]["Error"], errors::RESULT_PATH_MATCH_FAILURE);
    assert_eq!(out["s"], "text");
}

#[tokio::test]
async fn wait_seconds_path_and_timestamps() {
    let definition = json!({
        "StartAt": "ByPath",
        "States": {
            "ByPath": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Until"},
            "Until": {"Type": "Wait", "Timestamp": "2024-05-01T12:01:00Z", "Next": "UntilPath"},
            "UntilPath": {"Type": "Wait", "TimestampPath": "$.at", "Next": "Past"},
            "Past": {"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z", "End": true}
        }
    });
    let start = crate::time::parse("2024-05-01T12:00:00Z").unwrap();
    let clock = VirtualClock::starting_at(start);
    let input = json!({"delay": 15, "at": "2024-05-01T12:02:30+00:00"});
    let exec = run(&definition, input.clone(), &Fake::default(), &clock).await;
    assert_eq!(exec.outcome, Outcome::Succeeded(input));
    assert_eq!(clock.sleeps(), secs(&[15, 45, 90, 0]));
    assert_eq!(clock.now(), start + Duration::from_secs(150));
    let waits = exec
        .history
        .iter()
        .filter(|e| matches!(e.kind, EventKind::WaitStarted { .. }))
        .count();
    assert_eq!(waits, 4);

    let bad = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.d", "End": true}}});
    let (error, _) = failure(output(&bad, json!({"d": "soon"})).await);
    assert_eq!(error, errors::RUNTIME);
    let (error, _) = failure(output(&bad, json!({"d": -1})).await);
    assert_eq!(error, errors::RUNTIME);
}

#[tokio::test]
async fn fail_takes_error_and_cause_from_paths() {
    let definition = json!({
        "StartAt": "F",
        "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.detail.why"}}
    });
    let outcome = output(
        &definition,
        json!({"e": "Backfill.Conflict", "detail": {"why": "running"}}),
    )
    .await;
    assert_eq!(
        outcome,
        Outcome::Failed {
            error: "Backfill.Conflict".into(),
            cause: "running".into()
        }
    );
    let (error, _) = failure(output(&definition, json!({"e": 1, "detail": {"why": "x"}})).await);
    assert_eq!(error, errors::RUNTIME);
    let bare = json!({"StartAt": "F", "States": {"F": {"Type": "Fail"}}});
    assert_eq!(
        output(&bare, json!({})).await,
        Outcome::Failed {
            error: String::new(),
            cause: String::new()
        }
    );
}

#[tokio::test]
async fn retry_count_reaches_the_context_object() {
    let definition = json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task", "Resource": "fn",
                "Parameters": {"try.$": "$$.State.RetryCount"},
                "Retry": [{"ErrorEquals": ["Retryable"], "MaxAttempts": 2}],
                "End": true
            }
        }
    });
    let fake = Fake::default().on("fn", |n, _| match n {
        1 | 2 => Err(TaskFailure::new("Retryable", "")),
        _ => Ok(json!("done")),
    });
    let exec = run(&definition, json!({}), &fake, &VirtualClock::new()).await;
    assert_eq!(exec.outcome, Outcome::Succeeded(json!("done")));
    let tries: Vec<Value> = fake
        .calls()
        .into_iter()
        .map(|c| c.payload["try"].clone())
        .collect();
    assert_eq!(tries, [json!(0), json!(1), json!(2)]);
}
