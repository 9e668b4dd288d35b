//! Timeouts (a task's, the machine's), the guard against endless loops, and real waiting.

use std::time::Duration;

use serde_json::json;

use super::{clock, failed, run, task_with, Fake, STOP_ARN};
use crate::{errors, execute, execute_with, EventKind, FastClock, Options, Outcome, VirtualClock};

#[tokio::test]
async fn task_timeout_is_states_timeout_and_task_failed_does_not_match_it() {
    let clock = clock();
    let fake = Fake::default()
        .on(STOP_ARN, |_, _| Ok(json!("late")))
        .taking(STOP_ARN, &clock, Duration::from_secs(100));
    let mut definition = task_with(
        json!([
            {"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 5},
            {"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 3, "MaxAttempts": 1}
        ]),
        json!([{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Z"}]),
    );
    definition["States"]["Call"]["TimeoutSeconds"] = json!(10);
    let exec = run(&definition, json!({}), &fake, &clock).await;

    // 10 s, a 3 s backoff, 10 s again; then caught.
    assert_eq!(fake.calls().len(), 2);
    assert_eq!(clock.elapsed(), Duration::from_secs(23));
    let Outcome::Succeeded(output) = &exec.outcome else {
        panic!("{:?}", exec.outcome)
    };
    assert_eq!(output["timeout"]["Error"], errors::TIMEOUT);

    // A fast handler is not timed out.
    let clock = self::clock();
    let fake = Fake::default()
        .on(STOP_ARN, |_, _| Ok(json!("quick")))
        .taking(STOP_ARN, &clock, Duration::from_secs(9));
    let exec = run(&definition, json!({}), &fake, &clock).await;
    assert_eq!(exec.outcome, Outcome::Succeeded(json!("quick")));
}

#[tokio::test]
async fn machine_timeout_fails_the_execution() {
    let definition = json!({
        "StartAt": "Pause",
        "TimeoutSeconds": 60,
        "States": {"Pause": {"Type": "Wait", "Seconds": 100, "End": true}}
    });
    let clock = VirtualClock::new();
    let exec = run(&definition, json!({}), &Fake::default(), &clock).await;
    assert!(failed(errors::TIMEOUT)(&exec.outcome), "{:?}", exec.outcome);
    assert_eq!(clock.elapsed(), Duration::from_secs(60));
    assert!(matches!(
        exec.history.last().unwrap().kind,
        EventKind::ExecutionFailed { .. }
    ));
}

#[tokio::test]
async fn endless_loops_stop_at_the_transition_cap() {
    let definition = json!({
        "StartAt": "Again?",
        "States": {
            "Again?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}],
                "Default": "Spin"
            },
            "Spin": {"Type": "Pass", "Next": "Again?"},
            "Done": {"Type": "Succeed"}
        }
    });
    let exec = run(
        &definition,
        json!({}),
        &Fake::default(),
        &VirtualClock::new(),
    )
    .await;
    let Outcome::Failed { error, cause } = &exec.outcome else {
        panic!("{:?}", exec.outcome)
    };
    assert_eq!(error, errors::RUNTIME);
    assert!(cause.contains("25000"), "{cause}");
    assert_eq!(exec.states_entered().len(), 25_000);

    let options = Options {
        max_transitions: 10,
        ..Options::default()
    };
    let exec = execute_with(
        &definition,
        json!({}),
        &Fake::default(),
        &VirtualClock::new(),
        &options,
    )
    .await
    .unwrap();
    assert!(failed(errors::RUNTIME)(&exec.outcome));
    assert_eq!(exec.states_entered().len(), 10);
}

#[tokio::test]
async fn a_fast_clock_really_waits_but_shortly() {
    let definition = json!({
        "StartAt": "Pause",
        "States": {"Pause": {"Type": "Wait", "Seconds": 2, "End": true}}
    });
    let started = std::time::Instant::now();
    let exec = execute(
        &definition,
        json!({"a": 1}),
        &Fake::default(),
        &FastClock::new(0.001),
    )
    .await
    .unwrap();
    assert_eq!(exec.outcome, Outcome::Succeeded(json!({"a": 1})));
    assert!(started.elapsed() < Duration::from_secs(1));
}
