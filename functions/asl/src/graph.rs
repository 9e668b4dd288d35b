//! Checks of a definition as a graph (every target exists, every state is reachable and can
//! end), and the list of its Task states.

use std::collections::BTreeSet;

use serde_json::Value;

use super::definition::{Kind, Machine, State, Transition};
use super::template::Template;
use super::{AslError, TaskRef};

/// Where each state can go next (Next, Default, Choices and Catch targets).
fn targets(state: &State) -> Vec<&str> {
    let mut out = Vec::new();
    if let Transition::Next(next) = &state.next {
        out.push(next.as_str());
    }
    match &state.kind {
        Kind::Choice { branches, default } => {
            out.extend(branches.iter().map(|b| b.next.as_str()));
            out.extend(default.as_deref());
        }
        Kind::Task(task) => out.extend(task.catch.iter().map(|c| c.next.as_str())),
        _ => {}
    }
    out
}

pub(crate) fn check_graph(machine: &Machine) -> Result<(), AslError> {
    if !machine.states.contains_key(&machine.start_at) {
        return Err(AslError::Invalid {
            state: None,
            message: format!("StartAt names '{}', which is not a state", machine.start_at),
        });
    }
    for (name, state) in &machine.states {
        if let Some(missing) = targets(state)
            .into_iter()
            .find(|t| !machine.states.contains_key(*t))
        {
            return Err(AslError::Invalid {
                state: Some(name.clone()),
                message: format!("transition to '{missing}', which is not a state"),
            });
        }
    }
    let mut reached = BTreeSet::from([machine.start_at.as_str()]);
    let mut todo = vec![machine.start_at.as_str()];
    while let Some(name) = todo.pop() {
        for target in targets(&machine.states[name]) {
            if reached.insert(target) {
                todo.push(target);
            }
        }
    }
    if let Some(name) = machine
        .states
        .keys()
        .find(|n| !reached.contains(n.as_str()))
    {
        return Err(AslError::Invalid {
            state: Some(name.clone()),
            message: "the state is unreachable from StartAt".into(),
        });
    }
    // A state from which no terminal state can be reached can only loop until the guard stops
    // it: Step Functions accepts such machines, but ours must all terminate.
    let terminal = |s: &State| {
        s.next == Transition::End || matches!(s.kind, Kind::Succeed | Kind::Fail { .. })
    };
    let mut ends: BTreeSet<&str> = machine
        .states
        .iter()
        .filter(|(_, s)| terminal(s))
        .map(|(n, _)| n.as_str())
        .collect();
    loop {
        let before = ends.len();
        for (name, state) in &machine.states {
            if targets(state).iter().any(|t| ends.contains(t)) {
                ends.insert(name);
            }
        }
        if ends.len() == before {
            break;
        }
    }
    if let Some(name) = machine.states.keys().find(|n| !ends.contains(n.as_str())) {
        return Err(AslError::Invalid {
            state: Some(name.clone()),
            message: "no terminal state (End, Succeed or Fail) can be reached from this state"
                .into(),
        });
    }
    Ok(())
}

/// The Task states, by name, with what the invoker will be asked to run.
pub(crate) fn task_refs(machine: &Machine) -> Vec<TaskRef> {
    machine
        .states
        .iter()
        .filter_map(|(name, state)| match &state.kind {
            Kind::Task(task) => Some(TaskRef {
                state: name.clone(),
                resource: task.resource.clone(),
                function: if task.lambda_invoke {
                    match &task.parameters {
                        Some(Template::Literal(Value::Object(p))) => p.get("FunctionName"),
                        Some(Template::Object(fields)) => {
                            fields.iter().find_map(|(k, t)| match t {
                                Template::Literal(v) if k == "FunctionName" => Some(v),
                                _ => None,
                            })
                        }
                        _ => None,
                    }
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                } else {
                    Some(task.resource.clone())
                },
            }),
            _ => None,
        })
        .collect()
}
