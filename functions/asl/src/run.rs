//! Runs a parsed machine: one state at a time, with Step Functions' order of input and output
//! processing (InputPath → Parameters → task → ResultSelector → ResultPath → OutputPath) and of
//! error handling (the first matching retrier, then the first matching catcher).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use super::definition::{Kind, Machine, Retrier, State, Task, Text, Transition, WaitFor};
use super::path::{kind, Path};
use super::TaskInvoker;
use super::{errors, time, Clock, EventKind, Execution, Fault, HistoryEvent, Options, Outcome};

enum Step {
    Next(String, Value),
    End(Value),
    Fail(Fault),
}

struct Runner<'a> {
    machine: &'a Machine,
    invoker: &'a dyn TaskInvoker,
    clock: &'a dyn Clock,
    options: &'a Options,
    started: SystemTime,
    input: Value,
    // A Mutex, not a RefCell: the execution future must stay Send.
    history: Mutex<Vec<HistoryEvent>>,
}

pub(crate) async fn execute(
    machine: &Machine,
    input: Value,
    invoker: &dyn TaskInvoker,
    clock: &dyn Clock,
    options: &Options,
) -> Execution {
    let runner = Runner {
        machine,
        invoker,
        clock,
        options,
        started: clock.now(),
        input,
        history: Mutex::new(Vec::new()),
    };
    runner.record(EventKind::ExecutionStarted {
        input: runner.input.clone(),
    });
    let outcome = match machine.timeout {
        None => runner.run().await,
        Some(limit) => tokio::select! {
            biased;
            _ = clock.deadline(limit) => runner.fail(Fault::new(
                errors::TIMEOUT,
                format!("the execution ran longer than its TimeoutSeconds ({} s)", limit.as_secs()),
            )),
            outcome = runner.run() => outcome,
        },
    };
    let history = runner
        .history
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    Execution { outcome, history }
}

/// `value` at `path` (InputPath, OutputPath); `None` (null) gives `{}`.
fn select(path: &Option<Path>, value: &Value, field: &str) -> Result<Value, Fault> {
    match path {
        None => Ok(Value::Object(Map::new())),
        Some(path) => path.get(value).cloned().ok_or_else(|| {
            Fault::runtime(format!(
                "invalid path '{path}' in {field}: it does not resolve in the {}",
                kind(value)
            ))
        }),
    }
}

/// ResultPath: `result` placed into the state's raw input; `None` (null) keeps the input.
fn place(path: &Option<Path>, raw: Value, result: Value) -> Result<Value, Fault> {
    match path {
        None => Ok(raw),
        Some(path) => path
            .set(raw, result)
            .map_err(|why| Fault::new(errors::RESULT_PATH_MATCH_FAILURE, why)),
    }
}

impl Retrier {
    /// The wait before retry number `done + 1`.
    fn delay(&self, done: u64) -> Duration {
        let mut seconds = self.interval * self.backoff_rate.powf(done as f64);
        if let Some(max) = self.max_delay {
            seconds = seconds.min(max);
        }
        // Step Functions caps a retry interval well below a year; this also keeps f64 sane.
        seconds = seconds.min(31_622_400.0);
        if self.full_jitter {
            seconds *= fastrand::f64();
        }
        Duration::from_secs_f64(seconds)
    }
}

impl Runner<'_> {
    fn record(&self, kind: EventKind) {
        let elapsed = self
            .clock
            .now()
            .duration_since(self.started)
            .unwrap_or_default();
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history.push(HistoryEvent { elapsed, kind });
    }

    fn fail(&self, fault: Fault) -> Outcome {
        self.record(EventKind::ExecutionFailed {
            error: fault.error.clone(),
            cause: fault.cause.clone(),
        });
        Outcome::Failed {
            error: fault.error,
            cause: fault.cause,
        }
    }

    /// The context object (`$$`) while `state` runs.
    fn context(&self, state: &str, entered: SystemTime, retry_count: u64) -> Value {
        let machine_id = format!(
            "arn:aws:states:local:000000000000:stateMachine:{}",
            self.options.state_machine_name
        );
        json!({
            "Execution": {
                "Id": format!(
                    "arn:aws:states:local:000000000000:execution:{}:{}",
                    self.options.state_machine_name, self.options.execution_name
                ),
                "Input": self.input,
                "Name": self.options.execution_name,
                "StartTime": time::format(self.started),
            },
            "State": {
                "Name": state,
                "EnteredTime": time::format(entered),
                "RetryCount": retry_count,
            },
            "StateMachine": { "Id": machine_id, "Name": self.options.state_machine_name },
        })
    }

    async fn run(&self) -> Outcome {
        let mut name = self.machine.start_at.clone();
        let mut input = self.input.clone();
        let mut transitions = 0;
        loop {
            transitions += 1;
            if transitions > self.options.max_transitions {
                return self.fail(Fault::runtime(format!(
                    "the execution exceeded {} state transitions (entering state '{name}')",
                    self.options.max_transitions
                )));
            }
            let state = &self.machine.states[&name];
            self.record(EventKind::StateEntered {
                state: name.clone(),
                input: input.clone(),
            });
            match self.step(&name, state, input).await {
                Step::Next(next, output) => {
                    self.record(EventKind::StateExited {
                        state: name,
                        output: output.clone(),
                    });
                    name = next;
                    input = output;
                }
                Step::End(output) => {
                    self.record(EventKind::StateExited {
                        state: name,
                        output: output.clone(),
                    });
                    self.record(EventKind::ExecutionSucceeded {
                        output: output.clone(),
                    });
                    return Outcome::Succeeded(output);
                }
                Step::Fail(fault) => return self.fail(fault),
            }
        }
    }

    async fn step(&self, name: &str, state: &State, raw: Value) -> Step {
        let entered = self.clock.now();
        if let Kind::Task(task) = &state.kind {
            return self.task(name, state, task, raw, entered).await;
        }
        let context = self.context(name, entered, 0);
        let result = match &state.kind {
            Kind::Fail { error, cause } => {
                let error = self.text(error, &raw, &context);
                let cause = self.text(cause, &raw, &context);
                return match (error, cause) {
                    (Ok(error), Ok(cause)) => Step::Fail(Fault { error, cause }),
                    (Err(fault), _) | (_, Err(fault)) => Step::Fail(fault.in_state(name)),
                };
            }
            Kind::Choice { branches, default } => {
                self.choose(state, branches, default.as_deref(), &raw, &context)
            }
            Kind::Wait(wait) => self.wait(name, state, wait, &raw, &context).await,
            Kind::Pass {
                parameters,
                result,
                result_path,
            } => (|| {
                let effective = select(&state.input_path, &raw, "InputPath")?;
                let effective = match parameters {
                    Some(template) => template.eval(&effective, &context)?,
                    None => effective,
                };
                let result = result.clone().unwrap_or(effective);
                let output = place(result_path, raw.clone(), result)?;
                Ok((None, select(&state.output_path, &output, "OutputPath")?))
            })(),
            Kind::Succeed => select(&state.input_path, &raw, "InputPath")
                .and_then(|effective| select(&state.output_path, &effective, "OutputPath"))
                .map(|output| (None, output)),
            Kind::Task(_) => unreachable!("handled above"),
        };
        match result {
            Err(fault) => Step::Fail(fault.in_state(name)),
            Ok((Some(next), output)) => Step::Next(next, output),
            Ok((None, output)) => match (&state.next, &state.kind) {
                (Transition::Next(next), _) => Step::Next(next.clone(), output),
                _ => Step::End(output),
            },
        }
    }

    fn text(&self, text: &Option<Text>, raw: &Value, context: &Value) -> Result<String, Fault> {
        match text {
            None => Ok(String::new()),
            Some(Text::Literal(s)) => Ok(s.clone()),
            Some(Text::Dynamic(template)) => match template.eval(raw, context)? {
                Value::String(s) => Ok(s),
                other => Err(Fault::runtime(format!(
                    "ErrorPath/CausePath must give a string, not a {}",
                    kind(&other)
                ))),
            },
        }
    }

    /// The Choice's next state and output.
    fn choose(
        &self,
        state: &State,
        branches: &[super::choice::Branch],
        default: Option<&str>,
        raw: &Value,
        context: &Value,
    ) -> Result<(Option<String>, Value), Fault> {
        let effective = select(&state.input_path, raw, "InputPath")?;
        let mut next = None;
        for branch in branches {
            if branch.rule.eval(&effective, context)? {
                next = Some(branch.next.clone());
                break;
            }
        }
        let next = next.or_else(|| default.map(str::to_owned)).ok_or_else(|| {
            Fault::new(
                errors::NO_CHOICE_MATCHED,
                "no choice rule matched and there is no Default",
            )
        })?;
        Ok((
            Some(next),
            select(&state.output_path, &effective, "OutputPath")?,
        ))
    }

    async fn wait(
        &self,
        name: &str,
        state: &State,
        wait: &WaitFor,
        raw: &Value,
        context: &Value,
    ) -> Result<(Option<String>, Value), Fault> {
        let effective = select(&state.input_path, raw, "InputPath")?;
        let resolve = |path: &Path| {
            path.resolve(&effective, context).ok_or_else(|| {
                Fault::runtime(format!("invalid path '{path}': it does not resolve"))
            })
        };
        let until = |at: SystemTime| at.duration_since(self.clock.now()).unwrap_or_default();
        let duration = match wait {
            WaitFor::Seconds(n) => Duration::from_secs(*n),
            WaitFor::SecondsPath(path) => match resolve(path)?.as_u64() {
                Some(n) => Duration::from_secs(n),
                None => {
                    return Err(Fault::runtime(format!(
                        "SecondsPath '{path}' is not a non-negative integer"
                    )))
                }
            },
            WaitFor::Timestamp(at) => until(*at),
            WaitFor::TimestampPath(path) => match resolve(path)?.as_str().and_then(time::parse) {
                Some(at) => until(at),
                None => {
                    return Err(Fault::runtime(format!(
                        "TimestampPath '{path}' is not an ISO 8601 timestamp"
                    )))
                }
            },
        };
        self.record(EventKind::WaitStarted {
            state: name.to_owned(),
            duration,
        });
        self.clock.sleep(duration).await;
        Ok((None, select(&state.output_path, &effective, "OutputPath")?))
    }

    async fn task(
        &self,
        name: &str,
        state: &State,
        task: &Task,
        raw: Value,
        entered: SystemTime,
    ) -> Step {
        // Per retrier: retries so far (the backoff exponent) and, per error name, retries so far
        // (what MaxAttempts caps), as the ASL specification's ErrorA/ErrorB example describes.
        let mut retries = vec![(0u64, HashMap::<String, u64>::new()); task.retry.len()];
        let mut retry_count = 0;
        loop {
            let context = self.context(name, entered, retry_count);
            let fault = match self.attempt(name, state, task, &raw, &context).await {
                Ok(output) => {
                    return match &state.next {
                        Transition::Next(next) => Step::Next(next.clone(), output),
                        _ => Step::End(output),
                    }
                }
                Err(fault) => fault,
            };
            if let Some(i) = task.retry.iter().position(|r| fault.matches(&r.errors)) {
                // Only the first matching retrier counts, even when it is exhausted.
                let retrier = &task.retry[i];
                let (total, by_error) = &mut retries[i];
                let done = by_error.entry(fault.error.clone()).or_default();
                if *done < retrier.max_attempts {
                    let delay = retrier.delay(*total);
                    *done += 1;
                    *total += 1;
                    retry_count += 1;
                    self.record(EventKind::RetryScheduled {
                        state: name.to_owned(),
                        error: fault.error.clone(),
                        attempt: *total,
                        delay,
                    });
                    self.clock.sleep(delay).await;
                    continue;
                }
            }
            let Some(catcher) = task.catch.iter().find(|c| fault.matches(&c.errors)) else {
                return Step::Fail(fault);
            };
            let error_output = json!({"Error": fault.error, "Cause": fault.cause});
            return match place(&catcher.result_path, raw, error_output) {
                Ok(output) => {
                    self.record(EventKind::ErrorCaught {
                        state: name.to_owned(),
                        error: fault.error,
                        next: catcher.next.clone(),
                    });
                    Step::Next(catcher.next.clone(), output)
                }
                Err(fault) => Step::Fail(fault.in_state(name)),
            };
        }
    }

    /// One try of a Task: its output, or the fault Retry and Catch will look at.
    async fn attempt(
        &self,
        name: &str,
        state: &State,
        task: &Task,
        raw: &Value,
        context: &Value,
    ) -> Result<Value, Fault> {
        let at = |fault: Fault| fault.in_state(name);
        let effective = select(&state.input_path, raw, "InputPath").map_err(at)?;
        let effective = match &task.parameters {
            Some(template) => template.eval(&effective, context).map_err(at)?,
            None => effective,
        };
        let (function, payload) = if task.lambda_invoke {
            let Value::Object(mut params) = effective else {
                return Err(at(Fault::runtime(
                    "lambda:invoke Parameters must give an object",
                )));
            };
            let function = match params.remove("FunctionName") {
                Some(Value::String(f)) => f,
                other => {
                    return Err(at(Fault::runtime(format!(
                        "Parameters.FunctionName must be a string, got {}",
                        other.unwrap_or(Value::Null)
                    ))))
                }
            };
            (
                function,
                params.remove("Payload").unwrap_or_else(|| json!({})),
            )
        } else {
            (task.resource.clone(), effective)
        };
        self.record(EventKind::TaskScheduled {
            state: name.to_owned(),
            resource: task.resource.clone(),
            function: function.clone(),
            payload: payload.clone(),
        });
        let call = self.invoker.invoke(&task.resource, &function, payload);
        let result = match task.timeout {
            None => call.await.map_err(Fault::from),
            Some(limit) => tokio::select! {
                biased;
                _ = self.clock.deadline(limit) => Err(Fault::new(
                    errors::TIMEOUT,
                    format!("the task did not finish within its TimeoutSeconds ({} s)", limit.as_secs()),
                )),
                result = call => result.map_err(Fault::from),
            },
        };
        let result = match result {
            Ok(output) => {
                self.record(EventKind::TaskSucceeded {
                    state: name.to_owned(),
                    output: output.clone(),
                });
                output
            }
            Err(fault) => {
                self.record(EventKind::TaskFailed {
                    state: name.to_owned(),
                    error: fault.error.clone(),
                    cause: fault.cause.clone(),
                });
                return Err(fault);
            }
        };
        let result = if task.lambda_invoke {
            json!({"Payload": result, "StatusCode": 200, "ExecutedVersion": "$LATEST"})
        } else {
            result
        };
        let selected = match &task.result_selector {
            Some(template) => template.eval(&result, context).map_err(at)?,
            None => result,
        };
        let output = place(&task.result_path, raw.clone(), selected).map_err(at)?;
        select(&state.output_path, &output, "OutputPath").map_err(at)
    }
}
