//! The JSONPath subset Step Functions' reference paths need: `$`, `$.a.b`, `$.a[0]`, `$['key']`,
//! and the same rooted at the context object (`$$.Execution.Input`). Anything fancier (`..`,
//! `[*]`, filters) is refused when the definition is read, so a run never meets it.

use std::fmt;

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed reference path; keeps its text for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path {
    text: String,
    context: bool,
    segments: Vec<Segment>,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    /// Parses `$…` or `$$…`; the error says what is wrong with the text.
    pub(crate) fn parse(text: &str) -> Result<Path, String> {
        let (context, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (false, rest)
        } else {
            return Err(format!("path '{text}' does not start with '$'"));
        };
        let bad = |why: &str| Err(format!("path '{text}': {why}"));
        let chars: Vec<char> = rest.chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    let name: String = chars[start..i].iter().collect();
                    if name.is_empty() {
                        return bad("empty name (recursive descent '..' is not supported)");
                    }
                    if name == "*" || name.contains(['*', '?', '(', ')', ']', '\'', '"']) {
                        return bad("wildcards and filters are not supported");
                    }
                    segments.push(Segment::Key(name));
                }
                '[' => {
                    i += 1;
                    match chars.get(i) {
                        Some(&quote @ ('\'' | '"')) => {
                            i += 1;
                            let mut name = String::new();
                            loop {
                                match chars.get(i) {
                                    None => return bad("unterminated quoted name"),
                                    Some('\\') if chars.get(i + 1).is_some() => {
                                        name.push(chars[i + 1]);
                                        i += 2;
                                    }
                                    Some(&c) if c == quote => {
                                        i += 1;
                                        break;
                                    }
                                    Some(&c) => {
                                        name.push(c);
                                        i += 1;
                                    }
                                }
                            }
                            segments.push(Segment::Key(name));
                        }
                        Some(c) if c.is_ascii_digit() => {
                            let start = i;
                            while i < chars.len() && chars[i].is_ascii_digit() {
                                i += 1;
                            }
                            let digits: String = chars[start..i].iter().collect();
                            match digits.parse() {
                                Ok(n) => segments.push(Segment::Index(n)),
                                Err(_) => return bad("array index out of range"),
                            }
                        }
                        _ => return bad("only [n] and ['name'] subscripts are supported"),
                    }
                    if chars.get(i) != Some(&']') {
                        return bad("expected ']'");
                    }
                    i += 1;
                }
                c => return bad(&format!("unexpected '{c}'")),
            }
        }
        Ok(Path {
            text: text.to_owned(),
            context,
            segments,
        })
    }

    /// True for `$$…`, which reads the context object instead of the input.
    pub(crate) fn is_context(&self) -> bool {
        self.context
    }

    /// The value the path selects in `root`, if it resolves.
    pub(crate) fn get<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        self.segments
            .iter()
            .try_fold(root, |value, segment| match segment {
                Segment::Key(key) => value.as_object()?.get(key),
                Segment::Index(index) => value.as_array()?.get(*index),
            })
    }

    /// Resolves against the input, or the context object for `$$` paths.
    pub(crate) fn resolve<'v>(&self, input: &'v Value, context: &'v Value) -> Option<&'v Value> {
        self.get(if self.context { context } else { input })
    }

    /// ResultPath semantics: `root` with `value` placed at the path; missing objects on the way
    /// are created. Fails when the path goes through something that is not an object (or an
    /// array with that index), as Step Functions' States.ResultPathMatchFailure does.
    pub(crate) fn set(&self, root: Value, value: Value) -> Result<Value, String> {
        fn place(node: &mut Value, rest: &[Segment], value: Value) -> Result<(), String> {
            let Some((first, rest)) = rest.split_first() else {
                *node = value;
                return Ok(());
            };
            let child = match (first, node) {
                (Segment::Key(key), Value::Object(map)) => map
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new())),
                (Segment::Index(index), Value::Array(items)) => match items.get_mut(*index) {
                    Some(item) => item,
                    None => return Err(format!("index {index} is past the end of the array")),
                },
                (Segment::Key(key), other) => {
                    return Err(format!("cannot set '{key}' in a {}", kind(other)))
                }
                (Segment::Index(index), other) => {
                    return Err(format!("cannot set [{index}] in a {}", kind(other)))
                }
            };
            place(child, rest, value)
        }
        let mut root = root;
        place(&mut root, &self.segments, value)
            .map_err(|why| format!("ResultPath '{}': {why}", self.text))?;
        Ok(root)
    }
}

/// The JSON type name, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_reads_the_supported_forms() {
        let doc = json!({"a": {"b": [10, {"c d": true}]}, "x": 1});
        let read = |p: &str| Path::parse(p).unwrap().get(&doc).cloned();
        assert_eq!(read("$"), Some(doc.clone()));
        assert_eq!(read("$.x"), Some(json!(1)));
        assert_eq!(read("$.a.b[0]"), Some(json!(10)));
        assert_eq!(read("$['a'][\"b\"][1]['c d']"), Some(json!(true)));
        assert_eq!(read("$.a.b[2]"), None);
        assert_eq!(read("$.x.y"), None);
        assert!(Path::parse("$$.Execution.Input").unwrap().is_context());
        for bad in [
            "a.b",
            "$..a",
            "$.a[*]",
            "$.*",
            "$[?(@.a)]",
            "$.a[",
            "$.",
            "$x",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn set_creates_objects_and_refuses_scalars() {
        let p = |s: &str| Path::parse(s).unwrap();
        assert_eq!(p("$").set(json!({"a": 1}), json!(2)).unwrap(), json!(2));
        assert_eq!(
            p("$.r.s").set(json!({"a": 1}), json!(2)).unwrap(),
            json!({"a": 1, "r": {"s": 2}})
        );
        assert_eq!(
            p("$.l[1]").set(json!({"l": [0, 0]}), json!(5)).unwrap(),
            json!({"l": [0, 5]})
        );
        assert!(p("$.a.b").set(json!({"a": "text"}), json!(1)).is_err());
        assert!(p("$.a").set(json!("text"), json!(1)).is_err());
        assert!(p("$.l[3]").set(json!({"l": []}), json!(1)).is_err());
    }
}
