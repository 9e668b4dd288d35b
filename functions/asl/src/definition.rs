//! Reads a definition into typed states once, refusing what the interpreter does not support
//! and what Step Functions would reject, so that a run only meets data-dependent failures.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::choice::{parse_branch, Branch};
use super::graph::check_graph;
use super::path::Path;
use super::template::{dynamic, Template};
use super::{errors, time, AslError, LAMBDA_INVOKE};

pub(crate) struct Machine {
    pub start_at: String,
    pub states: BTreeMap<String, State>,
    pub timeout: Option<Duration>,
}

pub(crate) struct State {
    /// `None` stands for `null`: the effective input (or output) is `{}`.
    pub input_path: Option<Path>,
    pub output_path: Option<Path>,
    pub next: Transition,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transition {
    Next(String),
    End,
    /// Choice, Succeed and Fail decide for themselves.
    Own,
}

pub(crate) enum Kind {
    Task(Box<Task>),
    Pass {
        parameters: Option<Template>,
        result: Option<Value>,
        result_path: Option<Path>,
    },
    Wait(WaitFor),
    Choice {
        branches: Vec<Branch>,
        default: Option<String>,
    },
    Succeed,
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
}

pub(crate) enum Text {
    Literal(String),
    Dynamic(Template),
}

pub(crate) enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(SystemTime),
    TimestampPath(Path),
}

pub(crate) struct Task {
    pub resource: String,
    pub lambda_invoke: bool,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: Option<Path>,
    pub timeout: Option<Duration>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

pub(crate) struct Retrier {
    pub errors: Vec<String>,
    pub interval: f64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay: Option<f64>,
    pub full_jitter: bool,
}

pub(crate) struct Catcher {
    pub errors: Vec<String>,
    pub next: String,
    pub result_path: Option<Path>,
}

const COMMON: &[&str] = &["Type", "Comment"];
const FLOW: &[&str] = &["Next", "End", "InputPath", "OutputPath"];
/// Fields Step Functions knows that this interpreter does not implement: refused by name.
const UNSUPPORTED_FIELDS: &[&str] = &[
    "Arguments",
    "Output",
    "Assign",
    "QueryLanguage",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "Credentials",
    "Items",
    "ItemsPath",
    "ItemProcessor",
    "Iterator",
    "Branches",
];

fn allowed_fields(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Task" => &[
            "Resource",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "TimeoutSeconds",
            // Only meaningful for activities and callbacks, which never run here.
            "HeartbeatSeconds",
            "Retry",
            "Catch",
        ],
        "Pass" => &["Parameters", "Result", "ResultPath"],
        "Wait" => &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
        "Choice" => &["Choices", "Default", "InputPath", "OutputPath"],
        "Succeed" => &["InputPath", "OutputPath"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        _ => return None,
    })
}

/// Field access that turns every problem into an error naming the state.
struct Fields<'a> {
    state: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn invalid(&self, message: impl Into<String>) -> AslError {
        AslError::Invalid {
            state: Some(self.state.to_owned()),
            message: message.into(),
        }
    }

    fn string(&self, key: &str) -> Result<Option<&'a str>, AslError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(format!("{key} must be a string"))),
        }
    }

    /// InputPath/OutputPath/ResultPath: absent is `$`, `null` discards.
    fn path_or_null(&self, key: &str) -> Result<Option<Path>, AslError> {
        match self.map.get(key) {
            None => Ok(Some(Path::parse("$").expect("root path"))),
            Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => self.path(key, s).map(Some),
            Some(_) => Err(self.invalid(format!("{key} must be a path string or null"))),
        }
    }

    fn path(&self, key: &str, text: &str) -> Result<Path, AslError> {
        Path::parse(text).map_err(|why| self.invalid(format!("{key}: {why}")))
    }

    fn template(&self, key: &str) -> Result<Option<Template>, AslError> {
        self.map
            .get(key)
            .map(|value| match value {
                Value::Object(_) => {
                    Template::parse(value).map_err(|why| self.invalid(format!("{key}: {why}")))
                }
                _ => Err(self.invalid(format!("{key} must be an object"))),
            })
            .transpose()
    }

    fn number(&self, key: &str, min: f64) -> Result<Option<f64>, AslError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(n) if n >= min => Ok(Some(n)),
                _ => Err(self.invalid(format!("{key} must be a number of at least {min}"))),
            },
        }
    }

    fn integer(&self, key: &str, min: u64) -> Result<Option<u64>, AslError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n >= min => Ok(Some(n)),
                _ => Err(self.invalid(format!("{key} must be an integer of at least {min}"))),
            },
        }
    }
}

pub(crate) fn parse(definition: &Value) -> Result<Machine, AslError> {
    let top = |message: String| AslError::Invalid {
        state: None,
        message,
    };
    let root = definition
        .as_object()
        .ok_or_else(|| top("the definition must be a JSON object".into()))?;
    for key in root.keys() {
        match key.as_str() {
            "StartAt" | "States" | "Comment" | "Version" | "TimeoutSeconds" => {}
            "QueryLanguage" if root[key] == "JSONPath" => {}
            "QueryLanguage" => {
                return Err(AslError::Unsupported {
                    state: None,
                    feature: format!("QueryLanguage {}", root[key]),
                })
            }
            other => return Err(top(format!("unknown top-level field '{other}'"))),
        }
    }
    let start_at = root
        .get("StartAt")
        .and_then(Value::as_str)
        .ok_or_else(|| top("StartAt must be a string".into()))?
        .to_owned();
    let timeout = match root.get("TimeoutSeconds") {
        None => None,
        Some(v) => Some(Duration::from_secs(
            v.as_u64()
                .filter(|n| *n > 0)
                .ok_or_else(|| top("TimeoutSeconds must be a positive integer".into()))?,
        )),
    };
    let states_map = root
        .get("States")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| top("States must be a non-empty object".into()))?;
    let mut states = BTreeMap::new();
    for (name, value) in states_map {
        states.insert(name.clone(), parse_state(name, value)?);
    }
    let machine = Machine {
        start_at,
        states,
        timeout,
    };
    check_graph(&machine)?;
    Ok(machine)
}

fn parse_state(name: &str, value: &Value) -> Result<State, AslError> {
    let map = value.as_object().ok_or_else(|| AslError::Invalid {
        state: Some(name.to_owned()),
        message: "a state must be an object".into(),
    })?;
    let f = Fields { state: name, map };
    let kind_name = f
        .string("Type")?
        .ok_or_else(|| f.invalid("Type is missing"))?;
    let Some(own) = allowed_fields(kind_name) else {
        return Err(AslError::Unsupported {
            state: Some(name.to_owned()),
            feature: format!("states of Type {kind_name}"),
        });
    };
    let flows = !matches!(kind_name, "Choice" | "Succeed" | "Fail");
    for key in map.keys() {
        let known = COMMON.contains(&key.as_str())
            || own.contains(&key.as_str())
            || (flows && FLOW.contains(&key.as_str()));
        if known {
            continue;
        }
        if UNSUPPORTED_FIELDS.contains(&key.as_str()) {
            return Err(AslError::Unsupported {
                state: Some(name.to_owned()),
                feature: format!("the field {key}"),
            });
        }
        return Err(f.invalid(format!(
            "field '{key}' is not allowed in a {kind_name} state"
        )));
    }
    let next = if flows {
        match (f.string("Next")?, map.get("End")) {
            (Some(next), None) => Transition::Next(next.to_owned()),
            (None, Some(Value::Bool(true))) => Transition::End,
            _ => return Err(f.invalid("exactly one of Next and \"End\": true is required")),
        }
    } else {
        Transition::Own
    };
    let kind = match kind_name {
        "Task" => Kind::Task(Box::new(parse_task(&f)?)),
        "Pass" => Kind::Pass {
            parameters: f.template("Parameters")?,
            result: map.get("Result").cloned(),
            result_path: f.path_or_null("ResultPath")?,
        },
        "Wait" => parse_wait(&f)?,
        "Choice" => {
            let choices = map
                .get("Choices")
                .and_then(Value::as_array)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| f.invalid("Choices must be a non-empty array"))?;
            let branches = choices
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    parse_branch(c).map_err(|why| f.invalid(format!("Choices[{i}]: {why}")))
                })
                .collect::<Result<_, _>>()?;
            Kind::Choice {
                branches,
                default: f.string("Default")?.map(str::to_owned),
            }
        }
        "Succeed" => Kind::Succeed,
        _ => Kind::Fail {
            error: text(&f, "Error", "ErrorPath")?,
            cause: text(&f, "Cause", "CausePath")?,
        },
    };
    let (input_path, output_path) = match kind {
        Kind::Fail { .. } => (None, None),
        _ => (f.path_or_null("InputPath")?, f.path_or_null("OutputPath")?),
    };
    Ok(State {
        input_path,
        output_path,
        next,
        kind,
    })
}

fn text(f: &Fields, literal: &str, dynamic_key: &str) -> Result<Option<Text>, AslError> {
    match (f.string(literal)?, f.string(dynamic_key)?) {
        (Some(_), Some(_)) => Err(f.invalid(format!("{literal} and {dynamic_key} are exclusive"))),
        (Some(s), None) => Ok(Some(Text::Literal(s.to_owned()))),
        (None, Some(s)) => dynamic(s)
            .map(|t| Some(Text::Dynamic(t)))
            .map_err(|why| f.invalid(format!("{dynamic_key}: {why}"))),
        (None, None) => Ok(None),
    }
}

fn parse_wait(f: &Fields) -> Result<Kind, AslError> {
    let mut found = Vec::new();
    if let Some(n) = f.integer("Seconds", 0)? {
        found.push(WaitFor::Seconds(n));
    }
    if let Some(p) = f.string("SecondsPath")? {
        found.push(WaitFor::SecondsPath(f.path("SecondsPath", p)?));
    }
    if let Some(t) = f.string("Timestamp")? {
        let at =
            time::parse(t).ok_or_else(|| f.invalid(format!("Timestamp '{t}' is not ISO 8601")))?;
        found.push(WaitFor::Timestamp(at));
    }
    if let Some(p) = f.string("TimestampPath")? {
        found.push(WaitFor::TimestampPath(f.path("TimestampPath", p)?));
    }
    match found.len() {
        1 => Ok(Kind::Wait(found.remove(0))),
        _ => Err(
            f.invalid("exactly one of Seconds, SecondsPath, Timestamp, TimestampPath is required")
        ),
    }
}

fn parse_task(f: &Fields) -> Result<Task, AslError> {
    let resource = f
        .string("Resource")?
        .ok_or_else(|| f.invalid("Resource is missing"))?;
    let lambda_invoke = resource == LAMBDA_INVOKE;
    if resource.starts_with(LAMBDA_INVOKE) && !lambda_invoke {
        return Err(AslError::Unsupported {
            state: Some(f.state.to_owned()),
            feature: format!("the resource {resource} (only the request-response lambda:invoke)"),
        });
    }
    let parameters = f.template("Parameters")?;
    if lambda_invoke {
        let params = f.map.get("Parameters").and_then(Value::as_object);
        let params = params.ok_or_else(|| f.invalid("lambda:invoke needs Parameters"))?;
        if !params.contains_key("FunctionName") && !params.contains_key("FunctionName.$") {
            return Err(f.invalid("lambda:invoke needs Parameters.FunctionName"));
        }
        for key in params.keys() {
            let base = key.strip_suffix(".$").unwrap_or(key);
            match base {
                "FunctionName" | "Payload" | "Qualifier" | "ClientContext" | "LogType" => {}
                "InvocationType" if params[key] == "RequestResponse" => {}
                _ => {
                    return Err(AslError::Unsupported {
                        state: Some(f.state.to_owned()),
                        feature: format!("the lambda:invoke parameter {key} = {}", params[key]),
                    })
                }
            }
        }
    }
    let timeout = f.integer("TimeoutSeconds", 1)?.map(Duration::from_secs);
    f.integer("HeartbeatSeconds", 1)?;
    let mut retry = Vec::new();
    for (i, r) in list(f, "Retry")?.iter().enumerate() {
        let sub = object(f, "Retry", i, r)?;
        let jitter = sub.string("JitterStrategy")?;
        if !matches!(jitter, None | Some("FULL" | "NONE")) {
            return Err(f.invalid(format!("Retry[{i}]: JitterStrategy must be FULL or NONE")));
        }
        only(
            f,
            "Retry",
            i,
            &sub,
            &[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ],
        )?;
        retry.push(Retrier {
            errors: error_names(f, "Retry", i, &sub)?,
            interval: sub.integer("IntervalSeconds", 1)?.unwrap_or(1) as f64,
            max_attempts: sub.integer("MaxAttempts", 0)?.unwrap_or(3),
            backoff_rate: sub.number("BackoffRate", 1.0)?.unwrap_or(2.0),
            max_delay: sub.integer("MaxDelaySeconds", 1)?.map(|n| n as f64),
            full_jitter: jitter == Some("FULL"),
        });
    }
    let mut catch = Vec::new();
    for (i, c) in list(f, "Catch")?.iter().enumerate() {
        let sub = object(f, "Catch", i, c)?;
        only(
            f,
            "Catch",
            i,
            &sub,
            &["ErrorEquals", "Next", "ResultPath", "Comment"],
        )?;
        catch.push(Catcher {
            errors: error_names(f, "Catch", i, &sub)?,
            next: sub
                .string("Next")?
                .ok_or_else(|| f.invalid(format!("Catch[{i}] needs a Next")))?
                .to_owned(),
            result_path: sub.path_or_null("ResultPath")?,
        });
    }
    for (field, errors) in [
        ("Retry", retry.iter().map(|r| &r.errors).collect::<Vec<_>>()),
        ("Catch", catch.iter().map(|c| &c.errors).collect()),
    ] {
        let last = errors.len().saturating_sub(1);
        for (i, names) in errors.iter().enumerate() {
            if names.iter().any(|n| n == errors::ALL) && (names.len() > 1 || i != last) {
                return Err(f.invalid(format!(
                    "{field}[{i}]: States.ALL must be alone in ErrorEquals and in the last entry"
                )));
            }
        }
    }
    Ok(Task {
        resource: resource.to_owned(),
        lambda_invoke,
        parameters,
        result_selector: f.template("ResultSelector")?,
        result_path: f.path_or_null("ResultPath")?,
        timeout,
        retry,
        catch,
    })
}

fn list<'a>(f: &Fields<'a>, key: &str) -> Result<&'a [Value], AslError> {
    match f.map.get(key) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(f.invalid(format!("{key} must be an array"))),
    }
}

fn object<'a>(
    f: &Fields<'a>,
    key: &str,
    i: usize,
    value: &'a Value,
) -> Result<Fields<'a>, AslError> {
    let map = value
        .as_object()
        .ok_or_else(|| f.invalid(format!("{key}[{i}] must be an object")))?;
    Ok(Fields {
        state: f.state,
        map,
    })
}

fn only(f: &Fields, key: &str, i: usize, sub: &Fields, allowed: &[&str]) -> Result<(), AslError> {
    match sub.map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(f.invalid(format!("{key}[{i}]: field '{k}' is not allowed"))),
        None => Ok(()),
    }
}

fn error_names(f: &Fields, key: &str, i: usize, sub: &Fields) -> Result<Vec<String>, AslError> {
    sub.map
        .get("ErrorEquals")
        .and_then(Value::as_array)
        .filter(|names| !names.is_empty())
        .and_then(|names| {
            names
                .iter()
                .map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| {
            f.invalid(format!(
                "{key}[{i}]: ErrorEquals must be a non-empty array of strings"
            ))
        })
}
