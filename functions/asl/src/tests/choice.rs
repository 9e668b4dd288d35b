//! Every Choice operator, through a real execution of a one-rule Choice state.

use serde_json::{json, Value};

use super::{run, Fake};
use crate::{errors, Outcome, VirtualClock};

fn input() -> Value {
    json!({
        "s": "beta", "other": "beta", "n": 5, "m": 5, "f": 2.5, "b": true, "z": null,
        "t": "2024-05-01T12:00:00Z", "list": [1]
    })
}

/// Whether `rule` sends the input to its Next, or the error the execution failed with.
async fn decide(rule: Value, input: Value) -> Result<bool, String> {
    let mut rule = rule;
    rule["Next"] = json!("Yes");
    let definition = json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [rule], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": true, "End": true},
            "No": {"Type": "Pass", "Result": false, "End": true}
        }
    });
    match run(&definition, input, &Fake::default(), &VirtualClock::new())
        .await
        .outcome
    {
        Outcome::Succeeded(Value::Bool(b)) => Ok(b),
        Outcome::Succeeded(other) => panic!("unexpected output {other}"),
        Outcome::Failed { error, .. } => Err(error),
    }
}

fn cmp(variable: &str, operator: &str, operand: Value) -> Value {
    let mut rule = json!({"Variable": variable});
    rule[operator] = operand;
    rule
}

#[tokio::test]
async fn comparison_operators() {
    let cases: Vec<(&str, &str, Value, bool)> = vec![
        ("$.s", "StringEquals", json!("beta"), true),
        ("$.s", "StringEquals", json!("alpha"), false),
        ("$.s", "StringEqualsPath", json!("$.other"), true),
        ("$.s", "StringLessThan", json!("gamma"), true),
        ("$.s", "StringLessThan", json!("beta"), false),
        ("$.s", "StringLessThanEquals", json!("beta"), true),
        ("$.s", "StringGreaterThan", json!("alpha"), true),
        ("$.s", "StringGreaterThanEquals", json!("c"), false),
        ("$.s", "StringGreaterThanEqualsPath", json!("$.other"), true),
        ("$.s", "StringMatches", json!("b*a"), true),
        ("$.s", "StringMatches", json!("a*"), false),
        ("$.n", "NumericEquals", json!(5), true),
        ("$.n", "NumericEquals", json!(5.0), true),
        ("$.n", "NumericEquals", json!(4), false),
        ("$.n", "NumericEqualsPath", json!("$.m"), true),
        ("$.n", "NumericLessThan", json!(6), true),
        ("$.n", "NumericLessThan", json!(5), false),
        ("$.n", "NumericLessThanEquals", json!(5), true),
        ("$.n", "NumericLessThanPath", json!("$.f"), false),
        ("$.f", "NumericGreaterThan", json!(2), true),
        ("$.f", "NumericGreaterThan", json!(2.5), false),
        ("$.f", "NumericGreaterThanEquals", json!(2.5), true),
        ("$.n", "NumericGreaterThanEqualsPath", json!("$.m"), true),
        ("$.b", "BooleanEquals", json!(true), true),
        ("$.b", "BooleanEquals", json!(false), false),
        ("$.b", "BooleanEqualsPath", json!("$.b"), true),
        (
            "$.t",
            "TimestampEquals",
            json!("2024-05-01T14:00:00+02:00"),
            true,
        ),
        (
            "$.t",
            "TimestampLessThan",
            json!("2025-01-01T00:00:00Z"),
            true,
        ),
        (
            "$.t",
            "TimestampGreaterThanEquals",
            json!("2024-05-01T12:00:00.001Z"),
            false,
        ),
        ("$.t", "TimestampLessThanEqualsPath", json!("$.t"), true),
        // A type mismatch is false, not an error.
        ("$.n", "StringEquals", json!("5"), false),
        ("$.s", "NumericEquals", json!(5), false),
        (
            "$.s",
            "TimestampEquals",
            json!("2024-05-01T12:00:00Z"),
            false,
        ),
        ("$.z", "BooleanEquals", json!(false), false),
        // Context-object variables.
        (
            "$$.Execution.Name",
            "StringEquals",
            json!("local-execution"),
            true,
        ),
        ("$$.State.Name", "StringEquals", json!("C"), true),
    ];
    for (variable, operator, operand, expected) in cases {
        let rule = cmp(variable, operator, operand.clone());
        assert_eq!(
            decide(rule, input()).await,
            Ok(expected),
            "{variable} {operator} {operand}"
        );
    }
}

#[tokio::test]
async fn type_tests_and_presence() {
    let cases: Vec<(&str, &str, bool, bool)> = vec![
        ("$.s", "IsPresent", true, true),
        ("$.missing", "IsPresent", true, false),
        ("$.missing", "IsPresent", false, true),
        ("$.list[3]", "IsPresent", true, false),
        ("$.z", "IsPresent", true, true),
        ("$.z", "IsNull", true, true),
        ("$.s", "IsNull", true, false),
        ("$.s", "IsNull", false, true),
        ("$.n", "IsNumeric", true, true),
        ("$.f", "IsNumeric", true, true),
        ("$.s", "IsNumeric", true, false),
        ("$.s", "IsNumeric", false, true),
        ("$.s", "IsString", true, true),
        ("$.b", "IsBoolean", true, true),
        ("$.n", "IsBoolean", true, false),
        ("$.t", "IsTimestamp", true, true),
        ("$.s", "IsTimestamp", true, false),
    ];
    for (variable, operator, operand, expected) in cases {
        let rule = cmp(variable, operator, json!(operand));
        assert_eq!(
            decide(rule, input()).await,
            Ok(expected),
            "{variable} {operator} {operand}"
        );
    }
}

#[tokio::test]
async fn and_or_not() {
    let is_beta = json!({"Variable": "$.s", "StringEquals": "beta"});
    let big = json!({"Variable": "$.n", "NumericGreaterThan": 10});
    let cases = [
        (
            json!({"And": [is_beta, {"Variable": "$.n", "NumericEquals": 5}]}),
            true,
        ),
        (json!({"And": [is_beta, big]}), false),
        (json!({"Or": [big, is_beta]}), true),
        (json!({"Or": [big, {"Not": is_beta}]}), false),
        (json!({"Not": big}), true),
        // And stops at the first false rule, so a later missing path is not evaluated.
        (
            json!({"And": [big, {"Variable": "$.missing", "NumericEquals": 1}]}),
            false,
        ),
        (
            json!({"And": [
                {"Variable": "$.missing", "IsPresent": false},
                {"Or": [{"Not": {"Variable": "$.b", "BooleanEquals": false}}, big]}
            ]}),
            true,
        ),
    ];
    for (rule, expected) in cases {
        assert_eq!(decide(rule.clone(), input()).await, Ok(expected), "{rule}");
    }
}

#[tokio::test]
async fn missing_paths_are_runtime_errors_and_no_match_without_default_fails() {
    let runtime = Err(errors::RUNTIME.to_owned());
    let missing_variable = cmp("$.missing", "NumericEquals", json!(1));
    assert_eq!(decide(missing_variable, input()).await, runtime);
    let missing_operand = cmp("$.s", "StringEqualsPath", json!("$.missing"));
    assert_eq!(decide(missing_operand, input()).await, runtime);

    let definition = json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Yes"}]},
            "Yes": {"Type": "Succeed"}
        }
    });
    let exec = run(&definition, input(), &Fake::default(), &VirtualClock::new()).await;
    let Outcome::Failed { error, cause } = exec.outcome else {
        panic!("{:?}", exec.outcome)
    };
    assert_eq!(error, errors::NO_CHOICE_MATCHED);
    assert!(cause.contains("'C'"), "{cause}");
}

#[tokio::test]
async fn choice_applies_input_and_output_paths() {
    let definition = json!({
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "InputPath": "$.inner",
                "OutputPath": "$.keep",
                "Choices": [{"Variable": "$.go", "BooleanEquals": true, "Next": "Done"}]
            },
            "Done": {"Type": "Succeed"}
        }
    });
    let input = json!({"inner": {"go": true, "keep": {"k": 1}}, "outer": 0});
    let exec = run(&definition, input, &Fake::default(), &VirtualClock::new()).await;
    assert_eq!(exec.outcome, Outcome::Succeeded(json!({"k": 1})));
}
