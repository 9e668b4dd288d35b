//! The emulator against a small Python runtime client.

use super::*;
use std::os::unix::fs::PermissionsExt;

/// A custom runtime in Python, as a Lambda bootstrap would be: `MODE` picks how it behaves
/// at init; each event says what to do with it.
const RUNTIME: &str = r#"#!/usr/bin/env python3
import json, os, sys, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
def post(path, body, headers={}):
    req = urllib.request.Request(api + path, data=json.dumps(body).encode(), method="POST", headers=headers)
    return urllib.request.urlopen(req).status
mode = os.environ.get("MODE", "serve")
if mode == "init-error":
    post("/init/error", {"errorType": "Runtime.ConfigError", "errorMessage": "TABLE is not set"},
         {"Lambda-Runtime-Function-Error-Type": "Runtime.ConfigError"})
    sys.exit(1)
if mode == "hang":
    time.sleep(60)
if mode == "exit":
    print("error: configuration: TABLE is not set", file=sys.stderr)
    sys.exit(3)
while True:
    with urllib.request.urlopen(api + "/invocation/next") as r:
        headers = {k.lower(): v for k, v in r.headers.items()}
        event = json.load(r)
    rid = headers["lambda-runtime-aws-request-id"]
    if "crash" in event:
        sys.exit(event["crash"])
    if "sleep" in event:
        time.sleep(event["sleep"])
    if "fail" in event:
        post("/invocation/" + rid + "/error", {"errorType": "NonRetryable", "errorMessage": event["fail"]},
             {"Lambda-Runtime-Function-Error-Type": "NonRetryable"})
    else:
        env = {k: os.environ.get(k) for k in event.get("env", [])}
        post("/invocation/" + rid + "/response", {"event": event, "headers": headers, "env": env})
"#;

fn runtime_script(dir: &Path) -> PathBuf {
    let path = dir.join("echo-fn");
    std::fs::write(&path, RUNTIME).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn spawned(mode: &str, timeouts: (Duration, Duration)) -> (RuntimeApi, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut api = RuntimeApi::start()
        .unwrap()
        .with_timeouts(timeouts.0, timeouts.1);
    api.spawn_function(
        runtime_script(dir.path()),
        [
            ("MODE", mode),
            ("CUSTOM", "yes"),
            ("AWS_REGION", "eu-west-1"),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (api, dir)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

const DEFAULT: (Duration, Duration) = (RuntimeApi::INIT_TIMEOUT, RuntimeApi::INVOKE_TIMEOUT);

#[test]
fn invocations_carry_the_lambda_headers_and_environment() {
    let (api, _dir) = spawned("serve", DEFAULT);
    assert_eq!(api.function_name(), Some("echo-fn"));
    let event = json!({"n": 1, "env": [
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_RUNTIME_API", "AWS_REGION", "CUSTOM", "HOME"
    ]});
    let started_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let first = block_on(api.invoke(&event)).unwrap().expect_ok();
    let second = block_on(api.invoke(&json!({"n": 2}))).unwrap().expect_ok();

    assert_eq!(first["event"], event);
    assert_eq!(second["event"], json!({"n": 2}));
    let headers = &first["headers"];
    let id = headers["lambda-runtime-aws-request-id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    assert_ne!(
        Some(id),
        second["headers"]["lambda-runtime-aws-request-id"].as_str()
    );
    assert_eq!(
        headers["lambda-runtime-invoked-function-arn"],
        "arn:aws:lambda:eu-west-1:123456789012:function:echo-fn"
    );
    assert!(headers["lambda-runtime-trace-id"]
        .as_str()
        .unwrap()
        .starts_with("Root=1-"));
    let deadline: u64 = headers["lambda-runtime-deadline-ms"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let limit = RuntimeApi::INVOKE_TIMEOUT.as_millis() as u64;
    assert!(deadline >= started_ms + limit && deadline < started_ms + limit + 10_000);
    assert_eq!(
        first["env"],
        json!({
            "AWS_LAMBDA_FUNCTION_NAME": "echo-fn",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_RUNTIME_API": api.address().to_string(),
            "AWS_REGION": "eu-west-1",
            "CUSTOM": "yes",
            // The environment is Lambda's, not the test's.
            "HOME": null,
        })
    );
}

#[test]
fn a_reported_error_comes_back_with_its_type() {
    let (api, _dir) = spawned("serve", DEFAULT);
    let got = block_on(api.invoke(&json!({"fail": "backfill x was stopped"}))).unwrap();
    assert_eq!(
        got.expect_err(),
        (
            "NonRetryable".to_string(),
            "backfill x was stopped".to_string()
        )
    );
    // The function goes on serving.
    assert_eq!(
        block_on(api.invoke(&json!({}))).unwrap().expect_ok()["event"],
        json!({})
    );
}

#[test]
fn init_failures_name_the_reason_and_show_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut api = RuntimeApi::start().unwrap();
    let e = api
        .spawn_function(runtime_script(dir.path()), [("MODE", "init-error")])
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, RuntimeApiError::Init { .. }), "{text}");
    assert!(
        text.contains("init/error Runtime.ConfigError: TABLE is not set"),
        "{text}"
    );
    // Later invocations say the same, and a second process is refused.
    let again = block_on(api.invoke(&json!({}))).unwrap_err().to_string();
    assert!(again.contains("Runtime.ConfigError"), "{again}");
    let busy = api.spawn_function("/bin/true", [("A", "b")]).unwrap_err();
    assert!(matches!(busy, RuntimeApiError::AlreadyRunning(_)), "{busy}");

    let mut api = RuntimeApi::start().unwrap();
    let e = api
        .spawn_function(runtime_script(dir.path()), [("MODE", "exit")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("exited with status 3 before asking for an invocation"),
        "{e}"
    );
    assert!(e.contains("error: configuration: TABLE is not set"), "{e}");

    let mut api = RuntimeApi::start()
        .unwrap()
        .with_timeouts(Duration::from_millis(300), RuntimeApi::INVOKE_TIMEOUT);
    let e = api
        .spawn_function(runtime_script(dir.path()), [("MODE", "hang")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("did not ask for an invocation within 300ms"),
        "{e}"
    );
}

#[test]
fn a_crash_or_a_timeout_fails_the_invocation() {
    let (api, _dir) = spawned(
        "serve",
        (RuntimeApi::INIT_TIMEOUT, Duration::from_millis(500)),
    );
    let e = block_on(api.invoke(&json!({"sleep": 3})))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no answer within 500ms"), "{e}");

    let (api, _dir) = spawned("serve", DEFAULT);
    let e = block_on(api.invoke(&json!({"crash": 7}))).unwrap_err();
    assert!(
        matches!(&e, RuntimeApiError::Invoke { reason, .. } if reason.contains("exited with status 7")),
        "{e}"
    );
    let e = block_on(api.invoke(&json!({}))).unwrap_err().to_string();
    assert!(e.contains("exited with status 7"), "{e}");
}

#[test]
fn invoking_without_a_function_is_an_error() {
    let api = RuntimeApi::start().unwrap();
    let e = block_on(api.invoke(&json!({}))).unwrap_err();
    assert!(matches!(e, RuntimeApiError::NoFunction), "{e}");
}
