//! Static checks: what validate() refuses (naming the state) and the Task list it returns.

use serde_json::{json, Value};

use super::Fake;
use crate::{execute, validate, AslError, TaskRef, VirtualClock, LAMBDA_INVOKE};

fn two_states(first: Value) -> Value {
    json!({"StartAt": "A", "States": {"A": first, "B": {"Type": "Succeed"}}})
}

/// The state and message of an Invalid error (panics on anything else).
fn invalid(definition: &Value) -> (Option<String>, String) {
    match validate(definition) {
        Err(AslError::Invalid { state, message }) => (state, message),
        other => panic!("expected Invalid, got {other:?} for {definition}"),
    }
}

fn unsupported(definition: &Value) -> (Option<String>, String) {
    match validate(definition) {
        Err(AslError::Unsupported { state, feature }) => (state, feature),
        other => panic!("expected Unsupported, got {other:?} for {definition}"),
    }
}

#[test]
fn dangling_transitions_are_caught_and_name_the_state() {
    let (state, message) = invalid(&two_states(json!({"Type": "Pass", "Next": "Nowhere"})));
    assert_eq!(state.as_deref(), Some("A"));
    assert!(message.contains("'Nowhere'"), "{message}");

    let catch = json!({"Type": "Task", "Resource": "fn", "End": true,
                       "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Lost"}]});
    assert!(invalid(&two_states(catch)).1.contains("'Lost'"));
    let choice = json!({"Type": "Choice", "Default": "Gone",
                        "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "B"}]});
    assert!(invalid(&two_states(choice)).1.contains("'Gone'"));
    let (state, message) = invalid(&json!({"StartAt": "X", "States": {"A": {"Type": "Succeed"}}}));
    assert_eq!(state, None);
    assert!(message.contains("StartAt"), "{message}");
}

#[test]
fn validate_lists_the_task_functions() {
    let definition = json!({
        "StartAt": "Stop",
        "States": {
            "Stop": {
                "Type": "Task", "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:1:function:stop", "Payload.$": "$"},
                "Next": "Status"
            },
            "Status": {
                "Type": "Task", "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName.$": "$.fn", "Payload": {}},
                "Next": "Plain"
            },
            "Plain": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:finish", "End": true}
        }
    });
    let refs = validate(&definition).unwrap();
    assert_eq!(
        refs,
        [
            TaskRef {
                state: "Plain".into(),
                resource: "arn:aws:lambda:us-east-1:1:function:finish".into(),
                function: Some("arn:aws:lambda:us-east-1:1:function:finish".into()),
            },
            TaskRef {
                state: "Status".into(),
                resource: LAMBDA_INVOKE.into(),
                function: None,
            },
            TaskRef {
                state: "Stop".into(),
                resource: LAMBDA_INVOKE.into(),
                function: Some("arn:aws:lambda:us-east-1:1:function:stop".into()),
            },
        ]
    );
}

#[test]
fn graph_checks() {
    let unreachable = json!({"StartAt": "A", "States": {
        "A": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"}}});
    assert_eq!(invalid(&unreachable).0.as_deref(), Some("Orphan"));
    let endless = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Wait", "Seconds": 1, "Next": "A"}}});
    let (state, message) = invalid(&endless);
    assert!(state.is_some() && message.contains("terminal"), "{message}");
    assert!(invalid(&two_states(
        json!({"Type": "Pass", "Next": "B", "End": true})
    ))
    .1
    .contains("End"));
    assert!(invalid(&two_states(json!({"Type": "Pass"})))
        .1
        .contains("End"));
}

#[test]
fn malformed_choice_rules() {
    let choice =
        |rule: Value| two_states(json!({"Type": "Choice", "Choices": [rule], "Default": "B"}));
    let cases = [
        json!({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "B"}),
        json!({"Variable": "$.a", "Next": "B"}),
        json!({"StringEquals": "x", "Next": "B"}),
        json!({"Variable": "$.a", "StringEquals": "x"}),
        json!({"Variable": "$.a", "NumericEquals": "1", "Next": "B"}),
        json!({"Variable": "$.a", "BooleanEquals": "true", "Next": "B"}),
        json!({"Variable": "$.a", "TimestampEquals": "yesterday", "Next": "B"}),
        json!({"Variable": "$.a", "StringMatchesPath": "$.b", "Next": "B"}),
        json!({"Variable": "$.a", "NumericEqualz": 1, "Next": "B"}),
        json!({"Variable": "$.a", "StringEqualsPath": "b", "Next": "B"}),
        json!({"Variable": "$..a", "IsPresent": true, "Next": "B"}),
        json!({"And": [], "Next": "B"}),
        json!({"Not": {"Variable": "$.a", "IsNull": true, "Next": "B"}, "Next": "B"}),
        json!({"Variable": "$.a", "And": [{"Variable": "$.a", "IsNull": true}], "Next": "B"}),
    ];
    for rule in cases {
        let (state, message) = invalid(&choice(rule.clone()));
        assert_eq!(state.as_deref(), Some("A"), "{rule}");
        assert!(message.starts_with("Choices[0]"), "{rule}: {message}");
    }
    assert!(
        invalid(&two_states(json!({"Type": "Choice", "Choices": []})))
            .1
            .contains("Choices")
    );
}

#[test]
fn unsupported_features_are_named() {
    let (state, feature) = unsupported(&two_states(
        json!({"Type": "Parallel", "Branches": [], "Next": "B"}),
    ));
    assert_eq!(state.as_deref(), Some("A"));
    assert!(feature.contains("Parallel"), "{feature}");
    let (_, feature) = unsupported(&two_states(
        json!({"Type": "Pass", "Assign": {}, "Next": "B"}),
    ));
    assert!(feature.contains("Assign"), "{feature}");
    let mut jsonata = two_states(json!({"Type": "Pass", "Next": "B"}));
    jsonata["QueryLanguage"] = json!("JSONata");
    assert_eq!(unsupported(&jsonata).0, None);
    let callback = json!({"Type": "Task", "Resource": format!("{LAMBDA_INVOKE}.waitForTaskToken"),
                          "Parameters": {"FunctionName": "f"}, "Next": "B"});
    assert!(unsupported(&two_states(callback))
        .1
        .contains("waitForTaskToken"));
    let event = json!({"Type": "Task", "Resource": LAMBDA_INVOKE,
                       "Parameters": {"FunctionName": "f", "InvocationType": "Event"}, "Next": "B"});
    assert!(unsupported(&two_states(event)).1.contains("InvocationType"));
    let intrinsic =
        json!({"Type": "Pass", "Parameters": {"h.$": "States.Hash($.a, 'SHA-1')"}, "Next": "B"});
    assert!(invalid(&two_states(intrinsic)).1.contains("States.Hash"));
}

#[test]
fn malformed_fields() {
    let task = |extra: Value| {
        let mut state = json!({"Type": "Task", "Resource": "fn", "Next": "B"});
        state
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        two_states(state)
    };
    let cases = [
        json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}),
        json!({"Retry": [{"ErrorEquals": ["States.ALL", "X"]}]}),
        json!({"Retry": [{"ErrorEquals": []}]}),
        json!({"Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}),
        json!({"Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 0}]}),
        json!({"Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "SOME"}]}),
        json!({"Retry": [{"ErrorEquals": ["X"], "Typo": 1}]}),
        json!({"Catch": [{"ErrorEquals": ["X"]}]}),
        json!({"TimeoutSeconds": 0}),
        json!({"InputPath": "$.a[*]"}),
        json!({"ResultPath": 3}),
        json!({"Parameters": {"x.$": 3}}),
        json!({"Parameters": {"x.$": "States.Format('{}'"}}),
        json!({"ResultSelector": "nope"}),
        json!({"Seconds": 3}),
    ];
    for extra in cases {
        let (state, message) = invalid(&task(extra.clone()));
        assert_eq!(state.as_deref(), Some("A"), "{extra}: {message}");
    }
    let wait = two_states(
        json!({"Type": "Wait", "Seconds": 1, "Timestamp": "2024-01-01T00:00:00Z", "Next": "B"}),
    );
    assert!(invalid(&wait).1.contains("exactly one"));
    let lambda = two_states(
        json!({"Type": "Task", "Resource": LAMBDA_INVOKE, "Parameters": {"Payload": {}}, "Next": "B"}),
    );
    assert!(invalid(&lambda).1.contains("FunctionName"));
}

#[test]
fn errors_display_the_state() {
    let err = validate(&two_states(json!({"Type": "Pass", "Next": "Nowhere"}))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid state machine definition (state 'A'): transition to 'Nowhere', which is not a state"
    );
    let err = validate(&two_states(json!({"Type": "Map", "Next": "B"}))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the local ASL interpreter does not support states of Type Map (state 'A')"
    );
}

#[tokio::test]
async fn execute_refuses_what_validate_refuses() {
    let definition = two_states(json!({"Type": "Pass", "Next": "Nowhere"}));
    let result = execute(
        &definition,
        json!({}),
        &Fake::default(),
        &VirtualClock::new(),
    )
    .await;
    assert!(matches!(result, Err(AslError::Invalid { .. })));
}
