//! Intrinsic functions (`States.Format('{}-x', $.id)`): parsed once when the definition is
//! read, so an unknown function or a syntax error is a definition error, not a failed run.

use serde_json::Value;

use super::path::{kind, Path};
use super::{errors, Fault};

/// Step Functions allows ten levels of nested intrinsics.
const MAX_NESTING: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Format,
    StringToJson,
    JsonToString,
    MathAdd,
    Array,
    ArrayLength,
    ArrayGetItem,
    ArrayContains,
    JsonMerge,
    Uuid,
}

impl Function {
    fn by_name(name: &str) -> Option<Function> {
        Some(match name {
            "States.Format" => Function::Format,
            "States.StringToJson" => Function::StringToJson,
            "States.JsonToString" => Function::JsonToString,
            "States.MathAdd" => Function::MathAdd,
            "States.Array" => Function::Array,
            "States.ArrayLength" => Function::ArrayLength,
            "States.ArrayGetItem" => Function::ArrayGetItem,
            "States.ArrayContains" => Function::ArrayContains,
            "States.JsonMerge" => Function::JsonMerge,
            "States.UUID" => Function::Uuid,
            _ => return None,
        })
    }

    /// Allowed argument counts (min, max).
    fn arity(self) -> (usize, usize) {
        match self {
            Function::Format => (1, usize::MAX),
            Function::Array => (0, usize::MAX),
            Function::StringToJson | Function::JsonToString | Function::ArrayLength => (1, 1),
            Function::MathAdd | Function::ArrayGetItem | Function::ArrayContains => (2, 2),
            Function::JsonMerge => (3, 3),
            Function::Uuid => (0, 0),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A quoted literal, kept with its escapes: States.Format must tell `\{` from a `{}` hole.
    Text(String),
    Literal(Value),
    Path(Path),
    Call(Call),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    name: String,
    function: Function,
    args: Vec<Arg>,
}

/// Whether a `.$` value is an intrinsic call rather than a path.
pub(crate) fn looks_like_call(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

impl Call {
    pub(crate) fn parse(text: &str) -> Result<Call, String> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            at: 0,
        };
        let call = parser
            .call(0)
            .map_err(|why| format!("intrinsic '{text}': {why}"))?;
        parser.skip_spaces();
        if parser.at != parser.chars.len() {
            return Err(format!(
                "intrinsic '{text}': unexpected text after the call"
            ));
        }
        Ok(call)
    }

    pub(crate) fn eval(&self, input: &Value, context: &Value) -> Result<Value, Fault> {
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(match arg {
                Arg::Text(raw) => Value::String(unescape(raw)),
                Arg::Literal(value) => value.clone(),
                Arg::Path(path) => path.resolve(input, context).cloned().ok_or_else(|| {
                    Fault::runtime(format!(
                        "the JSONPath '{path}' given to {} could not be found in the input",
                        self.name
                    ))
                })?,
                Arg::Call(call) => call.eval(input, context)?,
            });
        }
        self.apply(values)
            .map_err(|why| Fault::new(errors::INTRINSIC_FAILURE, format!("{}: {why}", self.name)))
    }

    fn apply(&self, mut values: Vec<Value>) -> Result<Value, String> {
        match self.function {
            Function::Format => {
                let template = match (&self.args[0], &values[0]) {
                    (Arg::Text(raw), _) => raw.clone(),
                    // A template read from the input has no escapes: every `{}` is a hole.
                    (_, Value::String(s)) => s.replace('\\', "\\\\"),
                    (_, other) => return Err(format!("the template is a {}", kind(other))),
                };
                format(&template, &values[1..])
            }
            Function::StringToJson => match &values[0] {
                Value::String(s) => {
                    serde_json::from_str(s).map_err(|e| format!("not JSON text: {e}"))
                }
                other => Err(format!("expects a string, got a {}", kind(other))),
            },
            Function::JsonToString => Ok(Value::String(values[0].to_string())),
            Function::MathAdd => {
                // Step Functions rounds non-integer operands to the nearest integer.
                let int = |v: &Value| match v.as_f64() {
                    Some(f) if f.abs() < 9.0e15 => Ok(f.round() as i64),
                    _ => Err(format!("expects numbers, got {v}")),
                };
                Ok(Value::from(int(&values[0])? + int(&values[1])?))
            }
            Function::Array => Ok(Value::Array(values)),
            Function::ArrayLength => match &values[0] {
                Value::Array(items) => Ok(Value::from(items.len())),
                other => Err(format!("expects an array, got a {}", kind(other))),
            },
            Function::ArrayGetItem => match (&values[0], values[1].as_u64()) {
                (Value::Array(items), Some(i)) => items
                    .get(i as usize)
                    .cloned()
                    .ok_or_else(|| format!("index {i} is out of bounds")),
                _ => Err("expects an array and a non-negative integer".into()),
            },
            Function::ArrayContains => match &values[0] {
                Value::Array(items) => Ok(Value::Bool(items.contains(&values[1]))),
                other => Err(format!("expects an array, got a {}", kind(other))),
            },
            Function::JsonMerge => {
                if values[2] != Value::Bool(false) {
                    return Err("only a shallow merge (third argument false) is supported".into());
                }
                let second = values.swap_remove(1);
                match (&mut values[0], second) {
                    (Value::Object(a), Value::Object(b)) => {
                        a.extend(b);
                        Ok(values.swap_remove(0))
                    }
                    _ => Err("expects two objects".into()),
                }
            }
            Function::Uuid => {
                let mut bytes: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
                bytes[6] = (bytes[6] & 0x0f) | 0x40;
                bytes[8] = (bytes[8] & 0x3f) | 0x80;
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                Ok(Value::String(format!(
                    "{}-{}-{}-{}-{}",
                    &hex[..8],
                    &hex[8..12],
                    &hex[12..16],
                    &hex[16..20],
                    &hex[20..]
                )))
            }
        }
    }
}

/// Fills the `{}` holes of a raw (still escaped) template.
fn format(raw: &str, args: &[Value]) -> Result<Value, String> {
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    let mut next_arg = args.iter();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                match next_arg.next() {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                        out.push_str(&v.to_string())
                    }
                    Some(other) => return Err(format!("cannot format a {}", kind(other))),
                    None => return Err("more {} placeholders than arguments".into()),
                }
            }
            c => out.push(c),
        }
    }
    if next_arg.next().is_some() {
        return Err("more arguments than {} placeholders".into());
    }
    Ok(Value::String(out))
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn skip_spaces(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth >= MAX_NESTING {
            return Err(format!("more than {MAX_NESTING} nested intrinsics"));
        }
        self.skip_spaces();
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.at += 1;
        }
        let name: String = self.chars[start..self.at].iter().collect();
        let function = Function::by_name(&name)
            .ok_or_else(|| format!("{name} is not a supported intrinsic function"))?;
        self.skip_spaces();
        if self.peek() != Some('(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.at += 1;
        let mut args = Vec::new();
        self.skip_spaces();
        if self.peek() == Some(')') {
            self.at += 1;
        } else {
            loop {
                args.push(self.arg(depth)?);
                self.skip_spaces();
                match self.peek() {
                    Some(',') => self.at += 1,
                    Some(')') => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(format!("expected ',' or ')' in the arguments of {name}")),
                }
            }
        }
        let (min, max) = function.arity();
        if args.len() < min || args.len() > max {
            return Err(format!("{name} does not take {} arguments", args.len()));
        }
        if function == Function::Format && matches!(args[0], Arg::Literal(_)) {
            return Err("the first argument of States.Format must be a string".into());
        }
        Ok(Call {
            name,
            function,
            args,
        })
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        self.skip_spaces();
        match self.peek() {
            Some('\'') => {
                self.at += 1;
                let mut raw = String::new();
                loop {
                    match self.peek() {
                        None => return Err("unterminated string".into()),
                        Some('\'') => {
                            self.at += 1;
                            return Ok(Arg::Text(raw));
                        }
                        Some('\\') => match self.chars.get(self.at + 1) {
                            Some(&c @ ('\'' | '{' | '}' | '\\')) => {
                                raw.push('\\');
                                raw.push(c);
                                self.at += 2;
                            }
                            _ => return Err("an open escape '\\' in a string".into()),
                        },
                        Some(c) => {
                            raw.push(c);
                            self.at += 1;
                        }
                    }
                }
            }
            Some('$') => {
                let start = self.at;
                let mut quote = None;
                while let Some(c) = self.peek() {
                    match quote {
                        Some(q) if c == q => quote = None,
                        Some(_) => {}
                        None if c == '\'' || c == '"' => quote = Some(c),
                        None if c == ',' || c == ')' || c.is_whitespace() => break,
                        None => {}
                    }
                    self.at += 1;
                }
                let text: String = self.chars[start..self.at].iter().collect();
                Path::parse(&text).map(Arg::Path)
            }
            Some('S') => self.call(depth + 1).map(Arg::Call),
            Some(_) => {
                let start = self.at;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                {
                    self.at += 1;
                }
                let text: String = self.chars[start..self.at].iter().collect();
                match serde_json::from_str::<Value>(&text) {
                    Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                        Ok(Arg::Literal(v))
                    }
                    _ => Err(format!(
                        "'{text}' is not an argument (string, number, path or call)"
                    )),
                }
            }
            None => Err("missing argument".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(text: &str, input: Value) -> Result<Value, Fault> {
        Call::parse(text)
            .unwrap()
            .eval(&input, &json!({"State": {"Name": "S"}}))
    }

    #[test]
    fn evaluates_the_supported_functions() {
        let input = json!({"id": 7, "name": "x", "doc": "{\"a\":[1]}", "list": [1, 2]});
        let cases = [
            ("States.Format('{}-{} \\{\\}', $.name, $.id)", json!("x-7 {}")),
            ("States.Format('in {}', $$.State.Name)", json!("in S")),
            ("States.StringToJson($.doc)", json!({"a": [1]})),
            ("States.JsonToString($.list)", json!("[1,2]")),
            ("States.MathAdd($.id, -2)", json!(5)),
            ("States.MathAdd(1.6, 1)", json!(3)),
            ("States.Array($.id, 'a', true, null)", json!([7, "a", true, null])),
            ("States.ArrayLength($.list)", json!(2)),
            ("States.ArrayGetItem(States.Array(4, 5), 1)", json!(5)),
            ("States.ArrayContains($.list, 2)", json!(true)),
            (
                "States.JsonMerge(States.StringToJson($.doc), States.StringToJson('{\"b\": 1}'), false)",
                json!({"a": [1], "b": 1}),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(eval(text, input.clone()).unwrap(), expected, "{text}");
        }
        let uuid = eval("States.UUID()", json!({})).unwrap();
        assert_eq!(uuid.as_str().unwrap().len(), 36);
    }

    #[test]
    fn refuses_bad_calls_when_parsed_and_reports_bad_values_when_run() {
        for bad in [
            "States.Nope(1)",
            "States.Format('a', ",
            "States.MathAdd(1)",
            "States.Format('\\n')",
            "States.Array(1) extra",
            "States.Array(@)",
        ] {
            assert!(Call::parse(bad).is_err(), "{bad}");
        }
        let fault = eval("States.Format('{} {}', $.a)", json!({"a": 1})).unwrap_err();
        assert_eq!(fault.error, errors::INTRINSIC_FAILURE);
        let fault = eval("States.StringToJson($.missing)", json!({})).unwrap_err();
        assert_eq!(fault.error, errors::RUNTIME);
        assert!(fault.cause.contains("$.missing"), "{}", fault.cause);
    }
}
