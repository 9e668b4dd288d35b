//! Payload templates (Parameters, ResultSelector): JSON whose fields named `x.$` are replaced by
//! the value of a path, a context-object path or an intrinsic, at any depth.

use serde_json::{Map, Value};

use super::intrinsic::{looks_like_call, Call};
use super::path::Path;
use super::Fault;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path(Path),
    Call(Call),
}

/// A dynamic value: what a `.$` field or Fail's ErrorPath/CausePath holds.
pub(crate) fn dynamic(text: &str) -> Result<Template, String> {
    if looks_like_call(text) {
        Call::parse(text).map(Template::Call)
    } else {
        Path::parse(text).map(Template::Path)
    }
}

impl Template {
    pub(crate) fn parse(value: &Value) -> Result<Template, String> {
        Ok(match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                for (key, value) in map {
                    let field = match key.strip_suffix(".$") {
                        Some(name) => match value {
                            Value::String(text) => (
                                name.to_owned(),
                                dynamic(text).map_err(|why| format!("field '{key}': {why}"))?,
                            ),
                            _ => {
                                return Err(format!(
                                    "field '{key}' must be a string holding a path or an intrinsic"
                                ))
                            }
                        },
                        None => (key.clone(), Template::parse(value)?),
                    };
                    if fields.iter().any(|(name, _)| *name == field.0) {
                        return Err(format!("field '{}' is given twice", field.0));
                    }
                    fields.push(field);
                }
                if fields
                    .iter()
                    .all(|(_, t)| matches!(t, Template::Literal(_)))
                {
                    Template::Literal(value.clone())
                } else {
                    Template::Object(fields)
                }
            }
            Value::Array(items) => {
                let items = items
                    .iter()
                    .map(Template::parse)
                    .collect::<Result<Vec<_>, _>>()?;
                if items.iter().all(|t| matches!(t, Template::Literal(_))) {
                    Template::Literal(value.clone())
                } else {
                    Template::Array(items)
                }
            }
            other => Template::Literal(other.clone()),
        })
    }

    /// The template filled from `input` (and the context object for `$$` paths).
    pub(crate) fn eval(&self, input: &Value, context: &Value) -> Result<Value, Fault> {
        self.eval_field(input, context, None)
    }

    fn eval_field(
        &self,
        input: &Value,
        context: &Value,
        field: Option<&str>,
    ) -> Result<Value, Fault> {
        Ok(match self {
            Template::Literal(value) => value.clone(),
            Template::Object(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (name, template) in fields {
                    map.insert(name.clone(), template.eval_field(input, context, Some(name))?);
                }
                Value::Object(map)
            }
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.eval_field(input, context, field))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Path(path) => path.resolve(input, context).cloned().ok_or_else(|| {
                let whose = if path.is_context() { "context object" } else { "input" };
                Fault::runtime(match field {
                    Some(name) => format!(
                        "the JSONPath '{path}' specified for the field '{name}.$' could not be found in the {whose}"
                    ),
                    None => format!("the JSONPath '{path}' could not be found in the {whose}"),
                })
            })?,
            Template::Call(call) => call.eval(input, context)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_nested_fields_and_keeps_literals() {
        let t = Template::parse(&json!({
            "FunctionName": "f",
            "Payload": {"id.$": "$.id", "all.$": "$", "list": [{"n.$": "$$.State.Name"}, 1]},
            "msg.$": "States.Format('id={}', $.id)"
        }))
        .unwrap();
        let out = t
            .eval(&json!({"id": 3}), &json!({"State": {"Name": "S"}}))
            .unwrap();
        assert_eq!(
            out,
            json!({"FunctionName": "f", "Payload": {"id": 3, "all": {"id": 3}, "list": [{"n": "S"}, 1]}, "msg": "id=3"})
        );
        assert_eq!(
            Template::parse(&json!({"a": [1]})).unwrap(),
            Template::Literal(json!({"a": [1]}))
        );
    }

    #[test]
    fn refuses_malformed_fields_and_names_the_missing_path() {
        assert!(Template::parse(&json!({"a.$": 1})).is_err());
        assert!(Template::parse(&json!({"a.$": "nope"})).is_err());
        assert!(Template::parse(&json!({"a.$": "$.x", "a": 1})).is_err());
        let t = Template::parse(&json!({"x.$": "$.missing"})).unwrap();
        let fault = t.eval(&json!({}), &json!({})).unwrap_err();
        assert!(
            fault.cause.contains("'$.missing'") && fault.cause.contains("'x.$'"),
            "{}",
            fault.cause
        );
    }
}
